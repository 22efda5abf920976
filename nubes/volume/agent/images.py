"""Images in and out of volumes, for the volume manager: over the image service's REST API with
the service token (``nubes.core.clients``), through a staging file of the backend.

Into a volume (``fetch``): the image's record, then its data streamed to
``<staging>/<volume id>.image``, inspected as it passes (``nubes.core.disk_formats``: data that
is not its ``disk_format``, or is unsafe, stops the download), checked against its checksum; the
manager then checks the virtual size against the volume and calls
``driver.copy_image_to_volume``. Out of a volume (``upload``): ``driver.copy_volume_to_image``
into ``<staging>/<volume id>.upload``, streamed to ``PUT /v2/images/{id}/file``. The staging
file goes in every path, and a manager that starts empties the staging directory (nothing is
under way then)."""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from nubes.core.concurrency import run_blocking
from nubes.core.disk_formats import DEFAULT_MAX_VIRTUAL_SIZE, StreamInspector, content_format, judge
from nubes.core.exceptions import ServiceUnavailable
from nubes.volume.drivers.base import VolumeDriverError

CHUNK = 1 << 20
GiB = 1024 ** 3
# Properties of an image that are not copied into a volume's image metadata as "properties"
# (they are its core attributes, or the image service's own bookkeeping).
NOT_PROPERTIES = {"id", "name", "status", "visibility", "protected", "owner", "created_at", "updated_at",
                  "file", "schema", "self", "locations", "direct_url", "tags", "os_hidden", "virtual_size",
                  "os_hash_algo", "os_hash_value", "stores", "size", "checksum", "container_format",
                  "disk_format", "min_disk", "min_ram"}


class ImageError(VolumeDriverError):
    pass


def staging_dir(pool_dir: Path) -> Path:
    return pool_dir.parent / f"{pool_dir.name}.staging"


def volume_image_metadata(image: dict[str, Any]) -> dict[str, str]:
    """Cinder's ``volume_image_metadata`` of a volume made from ``image``."""
    out = {"image_id": str(image["id"]), "image_name": str(image.get("name") or "")}
    for key in ("checksum", "container_format", "disk_format", "min_disk", "min_ram", "size"):
        if image.get(key) is not None:
            out[key] = str(image[key])
    for key, value in image.items():
        if key not in NOT_PROPERTIES and value is not None and not isinstance(value, (dict, list)):
            out[key] = str(value)
    return out


class ImageTransfer:
    def __init__(self, clients: Any, staging: Path) -> None:
        self.clients = clients
        self.staging = staging

    async def clean(self) -> None:
        """Remove every staging file (at start: no transfer is under way)."""
        if await run_blocking(self.staging.exists):
            await run_blocking(shutil.rmtree, self.staging, True)

    def _need_clients(self) -> Any:
        if self.clients is None:
            raise ImageError("this volume manager has no image service to talk to")
        return self.clients

    async def record(self, image_id: str) -> dict[str, Any]:
        clients = self._need_clients()
        try:
            r = await clients.request("image", "GET", f"/v2/images/{image_id}")
        except ServiceUnavailable as e:
            raise ImageError(e.message) from None
        if r.status_code != 200:
            raise ImageError(f"Image {image_id} could not be found.")
        return r.json()

    async def _data(self, image_id: str) -> AsyncIterator[bytes]:
        clients = self._need_clients()
        url = f"{await clients.endpoint('image')}/v2/images/{image_id}/file"
        token = await clients.tokens.service_token()
        async with clients.http.stream("GET", url, headers={"X-Auth-Token": token}, timeout=None) as r:
            if r.status_code == 204:
                raise ImageError(f"Image {image_id} has no data.")
            if r.status_code != 200:
                raise ImageError(f"Downloading image {image_id} failed: the image service answered "
                                 f"{r.status_code}.")
            async for chunk in r.aiter_bytes(CHUNK):
                yield chunk

    async def fetch(self, image: dict[str, Any], volume_id: str) -> tuple[Path, str, int | None]:
        """Download ``image`` (its record) to a staging file: (path, the format its data is, its
        virtual size in bytes). The caller removes the file (``discard``)."""
        image_id = str(image["id"])
        if image.get("status") != "active":
            raise ImageError(f"Image {image_id} is not active.")
        await run_blocking(self.staging.mkdir, parents=True, exist_ok=True)
        path = self.staging / f"{volume_id}.image"
        algo = image.get("os_hash_algo") if image.get("os_hash_value") else None
        want = image.get("os_hash_value") if algo else image.get("checksum")
        digest = hashlib.new(algo or "md5")
        inspector = StreamInspector()
        fh = await run_blocking(open, path, "wb")
        try:
            return await self._stream_into(fh, image, path, digest, inspector, want, algo)
        except BaseException:
            await self.discard(path)
            raise

    async def _stream_into(self, fh: Any, image: dict[str, Any], path: Path, digest: Any, inspector: Any,
                           want: str | None, algo: str | None) -> tuple[Path, str, int | None]:
        image_id, disk_format, judged = str(image["id"]), str(image.get("disk_format") or "raw"), 0
        try:
            try:
                async for chunk in self._data(image_id):
                    digest.update(chunk)
                    inspector.feed(chunk)
                    if inspector.examined != judged:        # stop as soon as what arrived is refused
                        judged = inspector.examined
                        self._judge(image_id, inspector.inspection, disk_format)
                    await run_blocking(fh.write, chunk)
            except ServiceUnavailable as e:
                raise ImageError(e.message) from None
            except OSError as e:
                raise ImageError(f"Image {image_id} could not be staged: {e}") from None
        finally:
            await run_blocking(fh.close)
        if want and digest.hexdigest() != want:
            raise ImageError(f"Image {image_id}: the data downloaded does not match its {algo or 'md5'} checksum.")
        inspection = inspector.finish()
        self._judge(image_id, inspection, disk_format)
        return path, content_format(disk_format), inspection.virtual_size

    @staticmethod
    def _judge(image_id: str, inspection: Any, disk_format: str) -> None:
        refused = judge(inspection, disk_format, require_match=True, max_virtual_size=DEFAULT_MAX_VIRTUAL_SIZE,
                        allow_encrypted=False)
        if refused is not None:
            raise ImageError(f"Image {image_id} cannot be used: {refused.message}")

    def upload_path(self, volume_id: str) -> Path:
        return self.staging / f"{volume_id}.upload"

    async def upload(self, image_id: str, path: Path) -> None:
        clients = self._need_clients()

        async def stream() -> AsyncIterator[bytes]:
            fh = await run_blocking(open, path, "rb")
            try:
                while chunk := await run_blocking(fh.read, CHUNK):
                    yield chunk
            finally:
                await run_blocking(fh.close)

        try:
            r = await clients.request("image", "PUT", f"/v2/images/{image_id}/file", content=stream(),
                                      headers={"Content-Type": "application/octet-stream"})
        except ServiceUnavailable as e:
            raise ImageError(e.message) from None
        if r.status_code != 204:
            raise ImageError(f"Upload to image {image_id} failed ({r.status_code}): {r.text[:200]}")

    async def delete_image(self, image_id: str) -> None:
        if self.clients is None:
            return
        try:
            await self.clients.request("image", "DELETE", f"/v2/images/{image_id}")
        except ServiceUnavailable:
            pass

    async def prepare_dir(self) -> None:
        await run_blocking(self.staging.mkdir, parents=True, exist_ok=True)

    @staticmethod
    async def discard(path: Path | None) -> None:
        if path is not None:
            await run_blocking(_unlink, path)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
