"""Rebuild (a new image, and what else the request changes) and rescue, as Nova checks them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nubes.core.context import RequestContext
from nubes.compute import exceptions as exc
from nubes.compute.db.models import Instance
from nubes.compute.db.queries import keypairs as qk
from nubes.compute.service import server_inputs as inputs
from nubes.compute.service.server_actions import ServerActions
from nubes.compute.service.server_actions_metadata import set_metadata
from nubes.compute.service.server_actions_rules import RULES
from nubes.compute.service.server_create import password

UNSET: Any = object()


@dataclass
class RebuildRequest:
    image_ref: str
    admin_password: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)     # display_name, access_ip_v4... (columns)
    metadata: dict[str, str] | None = None                    # None: kept
    key_name: Any = UNSET                                      # UNSET: kept; None: removed
    user_data: Any = UNSET
    preserve_ephemeral: bool = False


def image_system_metadata(img: dict[str, Any], image_id: str) -> dict[str, str]:
    """The ``image_*`` keys an instance keeps of its image (as at boot)."""
    props = inputs.image_summary(img)["properties"]
    out = {f"image_{k}": str(v) for k, v in props.items() if not isinstance(v, list | dict)}
    for key in ("min_ram", "min_disk", "disk_format", "container_format"):
        if img.get(key) is not None:
            out[f"image_{key}"] = str(img[key])
    out.update(image_base_image_ref=image_id, kernel_id=str(props.get("kernel_id", "")),
               ramdisk_id=str(props.get("ramdisk_id", "")))
    return out


def _image_id(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1]


class Rebuilds:
    def __init__(self, state: Any, actions: ServerActions) -> None:
        self.state = state
        self.actions = actions

    async def _image(self, ctx: RequestContext, image_id: str, missing: str) -> dict[str, Any]:
        r = await self.state.rt.clients.request("image", "GET", f"/v2/images/{image_id}", token=ctx.auth_token)
        if r.status_code in (400, 403, 404):
            raise exc.BadRequest(missing)
        if r.status_code != 200:
            raise exc.BadRequest(f"Can not check the image {image_id} (the image service answered "
                                 f"{r.status_code}).")
        return r.json()

    async def rebuild(self, ctx: RequestContext, instance_id: str, req: RebuildRequest, *,
                      zero_disk_allowed: bool) -> str:
        """Start the rebuild; returns the admin password the guest gets. ``zero_disk_allowed``: the
        API layer's decision that this caller may boot an image on a flavor without a root disk."""
        rule = RULES["rebuild"]
        row = await self.actions.precheck(ctx, instance_id, rule)
        image_id = _image_id(req.image_ref)
        img = await self._image(ctx, image_id, "Cannot find image for rebuild")
        inputs.check_image(img, row.flavor, zero_disk_allowed=zero_disk_allowed)
        admin_password = req.admin_password or password()

        async def apply(s: Any, row: Instance) -> None:
            if req.metadata is not None:
                await self.state.quotas.check_metadata(s, row.project_id, len(req.metadata))
                set_metadata(row, req.metadata, replace=True)
            if req.key_name is not UNSET:
                row.key_name, row.key_data = req.key_name, None
                if req.key_name is not None:
                    kp = await qk.get(s, row.user_id, req.key_name)
                    if kp is None:
                        raise exc.BadRequest("Invalid key_name provided.")
                    row.key_data = kp.public_key
            if req.user_data is not UNSET:
                row.user_data = req.user_data
            for key, value in req.changes.items():
                setattr(row, key, value)
            row.image_ref = image_id
            request = dict(row.request or {})
            request["image"] = inputs.image_summary(img)
            row.request = request
            system = {k: v for k, v in (row.system_metadata or {}).items()
                      if not k.startswith("image_") and k not in ("kernel_id", "ramdisk_id")}
            system.update(image_system_metadata(img, image_id))
            row.system_metadata = system

        args = {"admin_password": admin_password, "preserve_ephemeral": req.preserve_ephemeral,
                "image": inputs.image_summary(img)}
        begun = await self.actions.begin(ctx, instance_id, rule, mutate=apply, pending=("rebuild", args))
        await self.actions.to_host(begun, "rebuild", args)
        return admin_password

    async def rescue(self, ctx: RequestContext, instance_id: str, admin_password: str | None,
                     rescue_image_ref: str | None) -> str:
        rule = RULES["rescue"]
        row = await self.actions.precheck(ctx, instance_id, rule)
        image_id = rescue_image_ref or row.image_ref
        img = await self._image(ctx, image_id, f"Image {image_id} could not be found.") if image_id else {}
        admin_password = admin_password or password()
        args = {"admin_password": admin_password, "image": inputs.image_summary(img) if img else {}}
        begun = await self.actions.begin(ctx, instance_id, rule, pending=("rescue", args))
        await self.actions.to_host(begun, "rescue", args)
        return admin_password
