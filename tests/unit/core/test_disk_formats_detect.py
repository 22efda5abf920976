"""The format inspector recognises each format, reads its virtual size as QEMU does, finds what is unsafe."""

from __future__ import annotations

import struct

import subprocess

import pytest

from nubes.core.disk_formats import inspect_bytes, inspect_file
from tests import disk_images as di


@pytest.mark.parametrize("fmt,qemu_fmt,options,subformat", [
    ("qcow2", "qcow2", (), "v3"),
    ("qcow2", "qcow2", ("compat=0.10",), "v2"),
    ("vmdk", "vmdk", ("subformat=monolithicSparse",), "monolithicSparse"),
    ("vmdk", "vmdk", ("subformat=streamOptimized",), "streamOptimized"),
    ("vhd", "vpc", (), "dynamic"),
    ("vhd", "vpc", ("subformat=fixed",), "fixed"),
    ("vhdx", "vhdx", (), None),
    ("vdi", "vdi", (), "dynamic"),
    ("vdi", "vdi", ("static=on",), "static"),
    ("ploop", "parallels", (), None),
])
def test_images_qemu_img_makes_are_recognised_and_safe(tmp_path, fmt, qemu_fmt, options, subformat):
    path = di.make(tmp_path, "disk", qemu_fmt, "10M", *options)
    found = inspect_file(path)
    assert found.format == fmt and found.unsafe == []
    assert found.finding.subformat == subformat
    assert found.virtual_size == di.virtual_size(path, qemu_fmt)


def test_raw_data_is_raw_and_its_size_is_its_virtual_size():
    for data in (bytes(3000), b"plain text, not a disk" * 50, b"\x7fELF" + bytes(60000), b""):
        found = inspect_bytes(data)
        assert found.format == "raw" and found.findings == [] and found.virtual_size == len(data)


def test_a_qcow2_with_a_backing_file_is_unsafe(tmp_path):
    path = di.make(tmp_path, "b.qcow2", "qcow2", "10M", "backing_file=/etc/hosts", "backing_fmt=raw")
    found = inspect_file(path)
    assert found.format == "qcow2"
    assert found.unsafe == ["the qcow2 image has a backing file ('/etc/hosts')"]


def test_a_qcow2_with_an_external_data_file_is_unsafe(tmp_path):
    path = di.make(tmp_path, "d.qcow2", "qcow2", "10M", f"data_file={tmp_path / 'data.raw'}",
                   "data_file_raw=on")
    found = inspect_file(path)
    assert any("external data file (incompatible feature bit 2)" in u for u in found.unsafe)
    assert any("names an external data file" in u and "data.raw" in u for u in found.unsafe)
    # either sign alone is enough: the feature bit without the name, the name without the bit
    data = bytearray(path.read_bytes())
    bit_only = bytearray(data)
    at = bit_only.index(b"DATA", 104)
    struct.pack_into(">I", bit_only, at, 0x12345678)          # an unknown (ignorable) extension
    assert inspect_bytes(bytes(bit_only)).unsafe == ["the qcow2 image has an external data file "
                                                     "(incompatible feature bit 2)"]
    name_only = bytearray(data)
    struct.pack_into(">Q", name_only, 72, 0)
    assert [u for u in inspect_bytes(bytes(name_only)).unsafe if "data file" in u] == [
        f"the qcow2 image names an external data file ('{tmp_path / 'data.raw'}')"]


def test_broken_or_unknown_qcow2_headers_are_unsafe(tmp_path):
    good = di.make(tmp_path, "g.qcow2", "qcow2").read_bytes()

    def edit(offset: int, fmt: str, value: int) -> bytes:
        data = bytearray(good)
        struct.pack_into(fmt, data, offset, value)
        return bytes(data)

    cases = {
        "version 1": (edit(4, ">I", 1), "header has version 1"),
        "version 4": (edit(4, ">I", 4), "header has version 4"),
        "cluster": (edit(20, ">I", 30), "impossible cluster size"),
        "feature": (edit(72, ">Q", 1 << 20), "incompatible features this cloud does not know"),
        "corrupt": (edit(72, ">Q", 2), "is marked corrupt"),
        "encryption": (edit(32, ">I", 7), "unknown encryption method"),
        "length": (edit(100, ">I", 8), "impossible length"),
        "size": (edit(24, ">Q", 1 << 63), "QEMU cannot represent"),
        "truncated": (good[:40], "header is truncated (40 bytes)"),
        "v3 truncated": (good[:90], "version 3 header is truncated"),
    }
    for name, (data, why) in cases.items():
        found = inspect_bytes(data)
        assert found.format == "qcow2", name
        assert any(why in u for u in found.unsafe), (name, found.unsafe)


def test_an_encrypted_qcow2_says_so(tmp_path):
    path = tmp_path / "luks.qcow2"
    # qemu-img times its key derivation in CPU time and gives up ("Unable to get accurate CPU
    # usage") when a loaded machine lets it measure none: at 10 ms often, at 100 ms sometimes.
    for attempt in range(5):
        try:
            di.qemu_img("create", "-q", "--object", "secret,id=s0,data=secret", "-f", "qcow2", "-o",
                        "encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=100", str(path), "1M")
            break
        except subprocess.CalledProcessError as e:
            if "accurate CPU usage" not in e.stderr or attempt == 4:
                raise AssertionError(f"qemu-img create: {e.stderr}") from e
    found = inspect_file(path)
    assert found.format == "qcow2" and found.finding.encrypted and found.unsafe == []


def test_a_vmdk_naming_another_file_is_unsafe(tmp_path):
    sparse = di.make(tmp_path, "s.vmdk", "vmdk", "10M", "subformat=monolithicSparse").read_bytes()
    passwd = di.replace_in_descriptor(sparse, b'"s.vmdk"', b'"/etc/passwd"')
    assert inspect_bytes(passwd).unsafe == ["the vmdk image has an extent that names a path ('/etc/passwd')"]
    flat = di.replace_in_descriptor(sparse, b'SPARSE "s.vmdk"', b'FLAT "other-image" 0')
    assert "FLAT extent ('other-image')" in inspect_bytes(flat).unsafe[0]
    two = di.replace_in_descriptor(sparse, b'RW 20480 SPARSE "s.vmdk"',
                                   b'RW 1 SPARSE "s.vmdk"\nRW 1 SPARSE "t"')
    assert inspect_bytes(two).unsafe == ["the vmdk image has 2 extents in its descriptor (one, the file "
                                         "itself, is allowed)"]
    parent = di.replace_in_descriptor(sparse, b"parentCID=ffffffff",
                                      b'parentCID=1234\nparentFileNameHint="/x"')
    assert any("parent disk" in u for u in inspect_bytes(parent).unsafe)
    junk = di.replace_in_descriptor(sparse, b"# Extent description", b"!!! not a descriptor line")
    assert any("neither a key nor an extent" in u for u in inspect_bytes(junk).unsafe)


def test_a_vmdk_header_of_capacity_zero_is_unsafe(tmp_path):
    data = bytearray(di.make(tmp_path, "s.vmdk", "vmdk", "10M").read_bytes())
    struct.pack_into("<Q", data, 12, 0)
    assert inspect_bytes(bytes(data)).unsafe == [
        "the vmdk image header has capacity 0, which makes QEMU open the extents its descriptor names"]


def test_vmdk_descriptor_files_are_unsafe(tmp_path):
    for sub in ("monolithicFlat", "twoGbMaxExtentSparse", "twoGbMaxExtentFlat"):
        path = di.make(tmp_path, f"{sub}.vmdk", "vmdk", "10M", f"subformat={sub}")
        found = inspect_file(path)
        assert found.format == "vmdk" and found.finding.subformat == sub
        assert "descriptor without data of its own" in found.unsafe[-1]


def test_a_vmdk_footer_is_read_and_must_agree_with_the_header(tmp_path):
    sparse = di.make(tmp_path, "s.vmdk", "vmdk", "10M").read_bytes()
    found = inspect_bytes(di.with_footer(sparse))
    assert found.format == "vmdk" and found.unsafe == [] and found.virtual_size == 10 << 20
    moved = inspect_bytes(di.with_footer(sparse, descriptor_offset=40))
    assert moved.unsafe == ["the vmdk image has a footer that points at another descriptor than its header"]
    assert "too short for one" in inspect_bytes(di.with_footer(sparse)[:1024]).unsafe[0]
    no_eos = di.with_footer(sparse)[:-512] + b"\x01" * 512
    assert "end-of-stream marker" in inspect_bytes(no_eos).unsafe[0]


def test_an_iso_is_recognised_and_an_iso_with_a_qcow2_header_is_two_formats(tmp_path):
    plain = di.iso()
    found = inspect_bytes(bytes(plain))
    assert found.format == "iso" and found.finding.subformat == "iso9660" and found.virtual_size == len(plain)
    assert inspect_bytes(bytes(di.iso(udf=True))).finding.subformat == "iso9660+udf"
    qcow = di.make(tmp_path, "q.qcow2", "qcow2", "10M").read_bytes()
    hidden = bytearray(plain)
    hidden[:32 * 1024] = qcow[:32 * 1024]                 # the system area holds a qcow2 header
    found = inspect_bytes(bytes(hidden))
    assert found.ambiguous and found.format is None
    assert sorted(f.format for f in found.findings) == ["iso", "qcow2"]


def test_differencing_disks_and_qed_are_unsafe(tmp_path):
    vhd = bytearray(di.make(tmp_path, "d.vhd", "vpc").read_bytes())
    struct.pack_into(">I", vhd, 60, 4)
    assert inspect_bytes(bytes(vhd)).unsafe == [
        "the vhd image is a differencing disk: it names a parent file"]
    vdi = bytearray(di.make(tmp_path, "d.vdi", "vdi").read_bytes())
    struct.pack_into("<I", vdi, 0x4C, 4)
    assert inspect_bytes(bytes(vdi)).unsafe == [
        "the vdi image is of image type 'differencing', which names a parent image"]
    qed = inspect_file(di.make(tmp_path, "e.qed", "qed"))
    assert qed.format == "qed" and qed.virtual_size == 10 << 20 and "QED image" in qed.unsafe[0]


def test_truncated_headers_are_unsafe_not_errors():
    for magic, why in ((b"QFI\xfb\0\0\0\x03", "header is truncated"),
                       (b"KDMV\x01\0\0\0", "header is truncated"),
                       (b"vhdxfile", "no region table"), (b"WithoutFreeSpace", "header is truncated")):
        found = inspect_bytes(magic)
        assert len(found.findings) == 1 and why in found.findings[0].unsafe[0], (magic, found)
