"""The inspector on a stream (the file's answers, early when it can, in bounded memory), and the rules."""

from __future__ import annotations

import struct

import pytest

from nubes.core.disk_formats import StreamInspector, inspect_bytes, inspect_file, judge
from nubes.core.disk_formats import inspector as insp_mod
from nubes.core.disk_formats.rules import MISMATCH, TOO_LARGE, UNDETECTABLE, UNSAFE
from tests import disk_images as di


def stream(data: bytes, chunk: int) -> StreamInspector:
    s = StreamInspector()
    for i in range(0, len(data), chunk):
        s.feed(data[i:i + chunk])
    s.finish()
    return s


@pytest.mark.parametrize("chunk", [511, 4096, 1 << 20, 64 << 20])
def test_a_stream_gives_the_answers_the_file_gives(tmp_path, chunk):
    images = [
        di.make(tmp_path, "a.qcow2", "qcow2"),
        di.make(tmp_path, "b.qcow2", "qcow2", "10M", "backing_file=/etc/hosts", "backing_fmt=raw"),
        di.make(tmp_path, "s.vmdk", "vmdk"),
        di.make(tmp_path, "v.vhd", "vpc", "10M", "subformat=fixed"),     # recognised by its last sector
        di.make(tmp_path, "x.vhdx", "vhdx"),                             # metadata region at 3 MiB
        di.make(tmp_path, "d.vdi", "vdi"),
    ]
    for path in images:
        want = inspect_file(path)
        got = stream(path.read_bytes(), chunk).inspection
        assert (got.format, got.virtual_size, got.unsafe) == (want.format, want.virtual_size,
                                                              want.unsafe), path
    footer = di.with_footer(images[2].read_bytes())
    assert stream(footer, chunk).inspection.unsafe == [] == inspect_bytes(footer).unsafe


def test_ranges_beyond_the_head_are_kept_as_they_pass(tmp_path):
    """A VMDK whose descriptor lies 3 MiB in: the probe asks for it when the head is read, and the
    inspector keeps exactly those bytes when they stream past."""
    sparse = bytearray(di.make(tmp_path, "s.vmdk", "vmdk").read_bytes())
    text = sparse[512:512 * 21]
    far = 6144                                                   # sectors: 3 MiB
    struct.pack_into("<Q", sparse, 28, far)
    data = bytes(sparse[:512]) + bytes(far * 512 - 512) + bytes(text) + bytes(1 << 20)
    s = StreamInspector()
    s.feed(data[:insp_mod.HEAD])
    assert s.inspection.pending == ["vmdk", "vhd"] and [(k.offset, k.end) for k in s.kept] == [
        (far * 512, far * 512 + 20 * 512)]
    for i in range(insp_mod.HEAD, len(data), 65536):
        s.feed(data[i:i + 65536])
    found = s.finish()
    assert found.format == "vmdk" and found.finding.subformat == "monolithicSparse" and found.unsafe == []
    assert found.unsafe == inspect_bytes(data).unsafe


def test_a_data_file_cannot_hide_beyond_the_head():
    """A qcow2 of 2 MiB clusters may put its header extensions anywhere in its first cluster: one
    1.5 MiB extension, then the data-file name. The stream inspector follows the chain."""
    header = (b"QFI\xfb" + struct.pack(">IQII", 3, 0, 0, 21) + struct.pack(">QIIQQIIQ", 1 << 30, 0, 0, 0,
                                                                          4 << 20, 1, 0, 0)
              + struct.pack(">QQQII", 0, 0, 0, 4, 104))
    pad = 3 << 19
    data = (header + struct.pack(">II", 0x11111111, pad) + bytes(pad) + struct.pack(">II", 0x44415441, 9)
            + b"/dev/sda\0".ljust(16, b"\0") + bytes(8)).ljust(6 << 20, b"\0")
    want = ["the qcow2 image names an external data file ('/dev/sda\\x00')"]
    assert inspect_bytes(data).unsafe == want
    for chunk in (4096, 1 << 20):
        assert stream(data, chunk).inspection.unsafe == want


def test_what_cannot_be_kept_is_refused_not_misread(tmp_path, monkeypatch):
    sparse = bytearray(di.make(tmp_path, "s.vmdk", "vmdk").read_bytes())
    struct.pack_into("<Q", sparse, 28, 6144)                     # descriptor 3 MiB in
    data = bytes(sparse[:512]) + bytes(6144 * 512 - 512) + bytes(sparse[512:512 * 21]) + bytes(1 << 20)
    monkeypatch.setattr(insp_mod, "MAX_HELD", 1024)               # less than its 10 KiB
    found = stream(data, 65536).inspection
    assert found.format == "vmdk" and len(found.unsafe) == 1
    assert found.unsafe[0].startswith(
        "the vmdk image cannot be inspected: bytes 3145728-3155968 streamed past")


def test_an_unsafe_image_is_known_long_before_the_stream_ends(tmp_path):
    path = di.make(tmp_path, "b.qcow2", "qcow2", "10G", "backing_file=/etc/hosts", "backing_fmt=raw")
    s = StreamInspector()
    data = path.read_bytes() + bytes(1 << 20)                # its clusters, as they would follow
    s.feed(data[:insp_mod.HEAD])
    assert not s.inspection.final and s.inspection.format == "qcow2"
    refusal = judge(s.inspection, "qcow2")
    assert refusal is not None and refusal.kind == UNSAFE and "/etc/hosts" in refusal.message


def test_a_long_stream_is_held_in_bounded_memory():
    s = StreamInspector()
    chunk = bytes(range(256)) * 4096                          # 1 MiB
    for _ in range(64):
        s.feed(chunk)
    found = s.finish()
    assert found.format == "raw" and found.virtual_size == 64 << 20
    assert len(s.head) == insp_mod.HEAD and len(s.tail) == insp_mod.TAIL and s.kept == []


def test_raw_is_only_known_at_the_end():
    s = StreamInspector()
    s.feed(bytes(insp_mod.HEAD + 10))
    assert s.inspection.format is None and judge(s.inspection, "qcow2") is None
    assert judge(s.finish(), "qcow2").kind == MISMATCH


def test_the_rules(tmp_path):
    qcow = inspect_file(di.make(tmp_path, "q.qcow2", "qcow2", "2G"))
    raw = inspect_bytes(bytes(4096))
    assert judge(qcow, "qcow2") is None and judge(raw, "raw") is None
    mismatch = judge(qcow, "vmdk")
    assert mismatch.kind == MISMATCH and mismatch.message == (
        "Image content does not match disk_format: the data is qcow2, disk_format is vmdk.")
    assert judge(qcow, "iso").kind == MISMATCH and judge(qcow, "raw").kind == MISMATCH
    assert judge(raw, "qcow2").kind == MISMATCH
    for kernelish in ("aki", "ari", "ami"):
        assert judge(raw, kernelish) is None and judge(qcow, kernelish).kind == MISMATCH
    assert judge(qcow, "vmdk", require_match=False) is None
    big = judge(qcow, "qcow2", max_virtual_size=1 << 30)
    assert big.kind == TOO_LARGE and "2147483648 bytes" in big.message
    assert judge(qcow, "qcow2", max_virtual_size=None) is None
    hidden = bytearray(di.iso())
    hidden[:4096] = (tmp_path / "q.qcow2").read_bytes()[:4096]
    assert judge(inspect_bytes(bytes(hidden)), "iso").kind == UNDETECTABLE
    flat_type = di.replace_in_descriptor(di.make(tmp_path, "s.vmdk", "vmdk").read_bytes(),
                                         b'createType="monolithicSparse"', b'createType="vmfsSparse"')
    refusal = judge(inspect_bytes(flat_type), "vmdk")
    assert refusal.kind == UNSAFE and "createType 'vmfsSparse', which is not allowed" in refusal.message
    assert judge(inspect_bytes(flat_type), "vmdk", vmdk_allowed_types=["vmfsSparse"]) is None


def test_encryption_is_the_caller_s_choice(tmp_path):
    data = bytearray(di.make(tmp_path, "q.qcow2", "qcow2", "1M").read_bytes())
    struct.pack_into(">I", data, 32, 1)                       # encryption method 1 (AES)
    found = inspect_bytes(bytes(data))
    assert found.finding.encrypted and judge(found, "qcow2") is None
    assert "is encrypted" in judge(found, "qcow2", allow_encrypted=False).message
