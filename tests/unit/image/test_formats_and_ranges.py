"""The image service's inspecting tap (what it refuses, and when), and Range headers read as Glance does."""

import struct
from types import SimpleNamespace

import pytest

from nubes.core.exceptions import BadRequest, RangeNotSatisfiable
from nubes.image.conf import ImageConfig
from nubes.image.exceptions import InvalidImageData
from nubes.image.service import formats
from nubes.image.service.data import parse_range


def qcow2_header(virtual: int, backing: bytes = b"") -> bytes:
    head = (b"QFI\xfb" + struct.pack(">IQII", 3, 512 if backing else 0, len(backing), 16)
            + struct.pack(">QIIQQIIQ", virtual, 0, 0, 0, 0x10000, 1, 0, 0)
            + struct.pack(">QQQII", 0, 0, 0, 4, 104))
    return (head.ljust(512, b"\0") + backing).ljust(4096, b"\0")


def image(disk_format: str, container_format: str = "bare"):
    return SimpleNamespace(id="img-1", disk_format=disk_format, container_format=container_format)


async def run(data: bytes, img, conf=None, chunk: int = 64 * 1024):
    """Stream ``data`` through a tap; what came out, the tap, and how many bytes were let through."""
    async def gen():
        for i in range(0, len(data), chunk):
            yield data[i:i + chunk]
    tap = formats.InspectingTap(gen(), img, conf or ImageConfig())
    out = bytearray()
    try:
        async for piece in tap:
            out += piece
    except InvalidImageData as e:
        raise Refused(bytes(out), e) from None
    return bytes(out), tap, len(out)


class Refused(Exception):
    def __init__(self, passed: bytes, error: InvalidImageData) -> None:
        self.passed, self.error = passed, error


async def test_the_tap_passes_data_through_and_reads_the_virtual_size():
    data = qcow2_header(10 << 30) + b"x" * (1 << 20)
    out, tap, _ = await run(data, image("qcow2"))
    assert out == data and tap.virtual_size == 10 << 30
    out, tap, _ = await run(b"\0" * 5000, image("raw"))
    assert tap.virtual_size == 5000


async def test_qcow2_data_as_vmdk_is_refused_before_most_of_it_passes():
    data = qcow2_header(1 << 30) + bytes(8 << 20)
    with pytest.raises(Refused) as r:
        await run(data, image("vmdk"))
    assert r.value.error.status == 400
    assert "does not match disk_format: the data is qcow2, disk_format is vmdk" in r.value.error.message
    assert len(r.value.passed) < 512 * 1024          # refused once the head was seen, not at the end


async def test_raw_data_as_qcow2_is_refused_at_the_end():
    with pytest.raises(Refused) as r:
        await run(bytes(1 << 20), image("qcow2"))
    assert "the data is raw, disk_format is qcow2" in r.value.error.message


async def test_a_backing_file_is_refused_whatever_the_container():
    data = qcow2_header(1 << 20, backing=b"/etc/passwd")
    for img in (image("qcow2"), image("qcow2", "ovf"), image("raw", "compressed")):
        with pytest.raises(Refused) as r:
            await run(data, img)
        assert "safety check" in r.value.error.message and "/etc/passwd" in r.value.error.message


async def test_containers_are_not_matched_and_kernels_are_raw():
    out, tap, _ = await run(qcow2_header(1 << 20), image("vmdk", "ova"))     # an archive: not matched
    assert tap.virtual_size is None
    await run(b"\x7fELF" + bytes(9000), image("aki", "aki"))
    with pytest.raises(Refused):
        await run(qcow2_header(1 << 20), image("ami", "ami"))


async def test_the_virtual_size_cap_and_the_match_switch():
    conf = ImageConfig(image_virtual_size_cap=1 << 30)
    with pytest.raises(Refused) as r:
        await run(qcow2_header(2 << 30), image("qcow2"), conf)
    assert ("virtual size (2147483648 bytes) is over this cloud's limit of 1073741824 bytes"
            in r.value.error.message)
    await run(qcow2_header(2 << 30), image("qcow2"), ImageConfig(image_virtual_size_cap=0))
    lax = ImageConfig(require_image_format_match=False)
    await run(qcow2_header(1 << 20), image("vmdk"), lax)                      # logged, accepted
    with pytest.raises(Refused):                                            # but never unsafe data
        await run(qcow2_header(1 << 20, backing=b"x"), image("vmdk"), lax)


@pytest.mark.parametrize("header,expected", [
    ("bytes=0-4", (0, 5, 4)), ("bytes=3-", (3, 7, 9)), ("bytes=-2", (8, 2, 9)),
    ("bytes=5-100", (5, 5, 9)), ("bytes=-50", (0, 10, 9)), ("bytes=9-9", (9, 1, 9)),
])
def test_ranges(header, expected):
    assert parse_range(header, 10) == expected


@pytest.mark.parametrize("header", ["bytes=10-", "bytes=4-2", "chunks=0-1", "bytes=-", "bytes=-0"])
def test_unsatisfiable(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 10)


def test_multiple_ranges_are_refused():
    with pytest.raises(BadRequest, match="multiple ranges"):
        parse_range("bytes=0-1,3-4", 10)
