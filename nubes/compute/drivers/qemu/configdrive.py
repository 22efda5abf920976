"""The config drive: an ISO 9660 image, volume label ``config-2``, as Nova writes it.

``openstack/latest/`` (and the dated ``openstack/2018-08-27/``, the newest version Nova's
metadata names) hold ``meta_data.json``, ``user_data`` (the instance's user data, decoded from
base64; absent when there is none), ``network_data.json``, ``vendor_data.json`` and
``vendor_data2.json``. The image is written by pycdlib (pure Python) with Rock Ridge and
Joliet names, as genisoimage does for Nova (``-J -r -V config-2``).

The documents are the metadata API's (``nubes.compute.metadata.content``): an instance reads the
same description of itself from the drive as from 169.254.169.254.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from nubes.compute.metadata.content import meta_data, network_data, tap_name, user_data

__all__ = ["VERSIONS", "files", "meta_data", "network_data", "read_iso", "tap_name", "user_data", "write_iso"]

VERSIONS = ("latest", "2018-08-27")


def files(instance: dict[str, Any], network_info: list[dict[str, Any]],
          admin_password: str | None = None) -> dict[str, bytes]:
    """The drive's files: {path: content}."""
    out: dict[str, bytes] = {}
    md = json.dumps(meta_data(instance, admin_password=admin_password)).encode()
    nd = json.dumps(network_data(network_info)).encode()
    ud = user_data(instance)
    for version in VERSIONS:
        base = f"openstack/{version}"
        out[f"{base}/meta_data.json"] = md
        out[f"{base}/network_data.json"] = nd
        out[f"{base}/vendor_data.json"] = b"{}"
        out[f"{base}/vendor_data2.json"] = b"{}"
        if ud is not None:
            out[f"{base}/user_data"] = ud
    return out


def _iso_name(part: str, is_dir: bool) -> str:
    name = "".join(c if c.isalnum() else "_" for c in part.upper())
    return name[:31] if is_dir else f"{name[:30]};1"


def write_iso(path: Path, contents: dict[str, bytes]) -> None:
    """Write ``contents`` as an ISO 9660 image labelled ``config-2`` (blocking)."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=4, joliet=3, rock_ridge="1.09", vol_ident="config-2")
    made: set[str] = set()
    try:
        for rel in sorted(contents):
            parts = rel.split("/")
            for i in range(1, len(parts)):
                d = "/".join(parts[:i])
                if d not in made:
                    iso_path = "/" + "/".join(_iso_name(p, True) for p in parts[:i])
                    iso.add_directory(iso_path, rr_name=parts[i - 1], joliet_path="/" + d)
                    made.add(d)
            iso_path = "/" + "/".join([*(_iso_name(p, True) for p in parts[:-1]), _iso_name(parts[-1], False)])
            data = contents[rel]
            iso.add_fp(io.BytesIO(data), len(data), iso_path, rr_name=parts[-1], joliet_path="/" + rel)
        tmp = path.with_name(path.name + ".part")
        iso.write(str(tmp))
        os.replace(tmp, path)
    finally:
        iso.close()


def read_iso(path: Path) -> dict[str, bytes]:
    """The files of a config drive by their Rock Ridge names (for checks and tests)."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.open(str(path))
    out: dict[str, bytes] = {}
    try:
        for root, _dirs, names in iso.walk(rr_path="/"):
            for name in names:
                rr = f"{root.rstrip('/')}/{name}"
                buf = io.BytesIO()
                iso.get_file_from_iso_fp(buf, rr_path=rr)
                out[rr.lstrip("/")] = buf.getvalue()
        out["__label__"] = iso.pvd.volume_identifier.decode().strip().encode()
    finally:
        iso.close()
    return out
