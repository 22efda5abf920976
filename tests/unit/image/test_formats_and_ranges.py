"""Virtual sizes read from image headers, and Range headers read the way Glance reads them."""

import struct

import pytest

from nubes.core.exceptions import BadRequest, RangeNotSatisfiable
from nubes.image.service import formats
from nubes.image.service.data import parse_range


def qcow2_header(virtual: int, version: int = 3) -> bytes:
    return b"QFI\xfb" + struct.pack(">I", version) + b"\0" * 16 + struct.pack(">Q", virtual) + b"\0" * 64


def test_qcow2_virtual_size_from_header():
    assert formats.qcow2_virtual_size(qcow2_header(10 << 30)) == 10 << 30
    assert formats.virtual_size("qcow2", qcow2_header(12345), 999) == 12345
    assert formats.qcow2_virtual_size(b"QFI\xfb" + b"\0" * 4) is None          # truncated
    assert formats.qcow2_virtual_size(b"\0" * 64) is None                      # not qcow2
    assert formats.qcow2_virtual_size(qcow2_header(1, version=9)) is None      # unknown version


def test_raw_and_others():
    assert formats.virtual_size("raw", b"whatever", 4096) == 4096
    assert formats.virtual_size("iso", qcow2_header(5), 4096) is None
    assert formats.virtual_size("qcow2", b"not qcow2 at all" * 4, 64) is None


async def test_header_tap_passes_data_through():
    async def gen():
        for piece in (b"QF", b"I\xfb\0\0\0\x03", b"x" * 100):
            yield piece
    tap = formats.HeaderTap(gen())
    out = b"".join([c async for c in tap])
    assert out.startswith(b"QFI\xfb") and len(out) == 108 and tap.header == out[:32]


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
