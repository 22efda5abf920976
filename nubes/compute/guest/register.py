"""Register the test guest in the image service: a kernel (aki), a ramdisk (ari) and a small
raw root disk whose ``kernel_id``/``ramdisk_id``/``os_command_line`` properties link them,
as OpenStack's direct kernel boot expects. Talks to identity and image over their APIs with
the credentials of a ``clouds.yaml`` cloud; re-registering replaces nothing and reuses what
is there with the same content (by checksum)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from nubes.compute.guest.build import COMMAND_LINE, GuestFiles

NAME = "nubes-test-guest"
ROOT_DISK = b"\0" * (1024 * 1024)       # the guest runs from its initramfs; the disk stays empty


@dataclass(frozen=True)
class Registered:
    image_id: str
    kernel_id: str
    ramdisk_id: str


def _token(cloud: dict[str, Any]) -> tuple[str, str]:
    auth = cloud["auth"]
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": auth["username"], "domain": {"name": auth.get("user_domain_name", "Default")},
        "password": auth["password"]}}},
        "scope": {"project": {"name": auth["project_name"],
                              "domain": {"name": auth.get("project_domain_name", "Default")}}}}}
    r = httpx.post(f"{auth['auth_url'].rstrip('/')}/auth/tokens", json=body, timeout=30)
    r.raise_for_status()
    image = [e for s in r.json()["token"]["catalog"] if s["type"] == "image" for e in s["endpoints"]
             if e["interface"] == "public"]
    if not image:
        raise RuntimeError("no image service in the catalog")
    return r.headers["x-subject-token"], image[0]["url"].rstrip("/")


def _upload(client: httpx.Client, name: str, data: bytes, disk: str, container: str,
            **props: Any) -> str:
    checksum = hashlib.md5(data, usedforsecurity=False).hexdigest()
    found = client.get("/v2/images", params={"name": name}).json()["images"]
    for img in found:
        if img.get("checksum") == checksum and img["status"] == "active":
            if props:
                patch = [{"op": "add", "path": f"/{k}", "value": v} for k, v in props.items()
                         if img.get(k) != v]
                if patch:
                    client.patch(f"/v2/images/{img['id']}", json=patch, headers={
                        "Content-Type": "application/openstack-images-v2.1-json-patch"}).raise_for_status()
            return img["id"]
    r = client.post("/v2/images", json={"name": name, "disk_format": disk, "container_format": container,
                                         "visibility": "public", **props})
    r.raise_for_status()
    image_id = r.json()["id"]
    client.put(f"/v2/images/{image_id}/file", content=data,
               headers={"Content-Type": "application/octet-stream"}).raise_for_status()
    return image_id


def register(files: GuestFiles, clouds_yaml: Path, cloud: str = "nubes") -> Registered:
    conf = yaml.safe_load(clouds_yaml.read_text())["clouds"][cloud]
    token, url = _token(conf)
    with httpx.Client(base_url=url, headers={"X-Auth-Token": token}, timeout=300) as client:
        kernel = _upload(client, f"{NAME}-kernel", files.kernel.read_bytes(), "aki", "aki")
        ramdisk = _upload(client, f"{NAME}-ramdisk", files.initramfs.read_bytes(), "ari", "ari")
        image = _upload(client, NAME, ROOT_DISK, "raw", "bare", kernel_id=kernel, ramdisk_id=ramdisk,
                        os_command_line=COMMAND_LINE, hw_disk_bus="virtio", min_ram=64)
    return Registered(image, kernel, ramdisk)
