"""Images of servers: createImage, and the image a shelve keeps.

As Nova does, the API creates the image record in the image service with the caller's token
(queued, no data yet), owned by the server's project: the properties the server inherited from
its image (less the non-inheritable ones), ``image_type``, ``instance_uuid``, ``user_id``,
``base_image_ref``, and the caller's extra metadata; private to that project, or ``shared``
with ``instance_owner`` when someone of another project (an admin) asks. The server's host then
takes the snapshot (``driver.snapshot()``), sets the disk and container formats and uploads the
data with the service token; a snapshot that fails removes the record again.
"""

from __future__ import annotations

import logging
from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.db.models import Instance
from nubes.compute.service.server_actions import ServerActions
from nubes.compute.service.server_actions_rules import RULES

LOG = logging.getLogger(__name__)
JSON = {"Content-Type": "application/json"}
# Nova's [DEFAULT] non_inheritable_image_properties, and what never carries over.
NOT_INHERITED = {"cache_in_nova", "bittorrent", "img_signature", "img_signature_hash_method",
                 "img_signature_certificate_uuid", "img_signature_key_type", "image_id", "image_size",
                 "image_name"}
TOP_LEVEL = ("min_ram", "min_disk", "disk_format", "container_format")


def message_of(r: Any) -> str:
    """What another service said in a failed answer, in one line."""
    try:
        body = r.json()
    except ValueError:
        return r.text.strip()[:300]
    if isinstance(body, dict):
        inner = next(iter(body.values()), body) if len(body) == 1 else body
        for source in (inner, body):
            if isinstance(source, dict) and source.get("message"):
                return str(source["message"]).split("<br")[0].strip()
    return str(body)[:300]


def image_record(row: Instance, ctx: RequestContext, name: str, image_type: str,
                 extra: dict[str, str] | None = None) -> dict[str, Any]:
    """The image-service body of a snapshot of ``row`` (Nova's ``_create_image``)."""
    body: dict[str, Any] = {"name": name, "owner": row.project_id}
    props: dict[str, str] = {}
    for key, value in (row.system_metadata or {}).items():
        if value is None or value == "":
            continue
        key = key.removeprefix("image_")
        if key in NOT_INHERITED or key.startswith("os_glance"):
            continue
        if key in TOP_LEVEL:
            if key in ("min_ram", "min_disk"):
                body[key] = int(value)
            continue
        props[key] = str(value)
    image = (row.request or {}).get("image") or {}
    for key in ("min_ram", "min_disk"):
        if image.get(key) is not None:
            body[key] = max(int(image[key]), int(body.get(key, 0)))
    props.update({"instance_uuid": row.id, "user_id": str(ctx.user_id), "image_type": image_type,
                  "base_image_ref": row.image_ref or ""})
    if ctx.project_name:
        props["owner_project_name"] = ctx.project_name
    if ctx.user_name:
        props["owner_user_name"] = ctx.user_name
    if ctx.project_id != row.project_id:
        body["visibility"] = "shared"
        props["instance_owner"] = row.project_id
    else:
        body["visibility"] = "private"
    props.update(extra or {})
    body.update({k: v for k, v in props.items() if k not in body})
    return body


async def create_image(clients: Any, ctx: RequestContext, body: dict[str, Any]) -> str:
    r = await clients.request("image", "POST", "/v2/images", token=ctx.auth_token, json=body, headers=JSON)
    if r.status_code == 201:
        return r.json()["id"]
    why = message_of(r)
    if r.status_code in (403,):
        raise exc.Forbidden(f"The image service refused to create the image: {why}")
    if r.status_code == 413:
        raise exc.OverQuota(f"Quota exceeded for images: {why}")
    raise exc.BadRequest(f"The image service refused to create the image ({r.status_code}): {why}")


async def delete_image(clients: Any, image_id: str, token: str | None = None) -> None:
    r = await clients.request("image", "DELETE", f"/v2/images/{image_id}", token=token)
    if r.status_code not in (204, 404):
        LOG.warning("removing image %s: the image service answered %s", image_id, r.status_code)


async def image_url(clients: Any, image_id: str) -> str:
    """Nova's ``generate_image_url``: the image service's endpoint, then /images/<id>."""
    base = (await clients.endpoint("image")).rstrip("/")
    return f"{base}/images/{image_id}"


class Snapshots:
    def __init__(self, state: Any, actions: ServerActions) -> None:
        self.state = state
        self.actions = actions

    @property
    def clients(self) -> Any:
        return self.state.rt.clients

    async def create_image(self, ctx: RequestContext, instance_id: str, name: str,
                           metadata: dict[str, str]) -> str:
        """createImage: the record now, the data from the host; returns the image id."""
        rule = RULES["createImage"]
        row = await self.actions.precheck(ctx, instance_id, rule)
        async with self.state.db.reader() as s:
            await self.state.quotas.check_metadata(s, row.project_id, len(metadata))
        image_id = await create_image(self.clients, ctx, image_record(row, ctx, name, "snapshot", metadata))
        try:
            begun = await self.actions.begin(ctx, instance_id, rule,
                                             pending=("snapshot", {"image_id": image_id}))
        except BaseException:
            await delete_image(self.clients, image_id)
            raise
        await self.actions.to_host(begun, "snapshot", {"image_id": image_id})
        LOG.info("snapshot %s of instance %s requested", image_id, instance_id)
        return image_id

    async def create_backup(self, ctx: RequestContext, instance_id: str, name: str, backup_type: str,
                            rotation: int, metadata: dict[str, str]) -> str:
        """createBackup: a snapshot whose image says ``image_type: backup`` and its ``backup_type``;
        once uploaded, the host rotates the server's backups of that type to the newest ``rotation``."""
        rule = RULES["createBackup"]
        row = await self.actions.precheck(ctx, instance_id, rule)
        async with self.state.db.reader() as s:
            await self.state.quotas.check_metadata(s, row.project_id, len(metadata))
        extra = {**metadata, "backup_type": backup_type}
        image_id = await create_image(self.clients, ctx, image_record(row, ctx, name, "backup", extra))
        args = {"image_id": image_id, "backup_type": backup_type, "rotation": rotation}
        try:
            begun = await self.actions.begin(ctx, instance_id, rule, pending=("backup", args))
        except BaseException:
            await delete_image(self.clients, image_id)
            raise
        await self.actions.to_host(begun, "backup", args)
        LOG.info("backup %s (%s, rotation %d) of instance %s requested", image_id, backup_type, rotation,
                 instance_id)
        return image_id
