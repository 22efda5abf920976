"""The image service's policy layer (Glance's ``api/v2/policy.py``): every rule is checked here.

An ``ImagePolicy`` is made per request by the handler and handed to the service, which calls it
once it has read the image (inside its transaction, so what is checked is what is changed).
A caller that fails a rule on an image it may not even get answers 404, so the existence of
other projects' private images never leaks; otherwise 403 with Glance's message.
"""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext
from nubes.core.exceptions import PolicyNotAuthorized
from nubes.image import policies
from nubes.image.exceptions import ImageForbidden, ImageNotFound
from nubes.image.service.records import ImageRecord


def deny(rule: str) -> PolicyNotAuthorized:
    return PolicyNotAuthorized(rule, f"Policy doesn't allow {rule} to be performed.")


def target(ctx: RequestContext, image: ImageRecord, is_member: bool) -> dict[str, Any]:
    return {"id": image.id, "project_id": image.owner, "owner": image.owner,
            "visibility": image.visibility,
            "member_id": ctx.project_id if is_member else None}


class ImagePolicy:
    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx

    def image(self, rule: str, image: ImageRecord, is_member: bool) -> None:
        tgt = target(self.ctx, image, is_member)
        if self.ctx.allowed(rule, tgt):
            return
        if rule == policies.GET_IMAGE or not self.ctx.allowed(policies.GET_IMAGE, tgt):
            raise ImageNotFound(image.id)
        raise deny(rule)

    def member(self, rule: str, image: ImageRecord, member_id: str | None) -> None:
        tgt = target(self.ctx, image, False)
        tgt["member_id"] = member_id
        if not self.ctx.allowed(rule, tgt):
            raise deny(rule)

    def new_image(self, proposed: dict[str, Any]) -> None:
        if not self.ctx.allowed(policies.ADD_IMAGE, proposed):
            if proposed.get("owner") != self.ctx.project_id:
                owner = proposed.get("owner")
                raise ImageForbidden(f"You are not permitted to create images owned by '{owner}'")
            raise deny(policies.ADD_IMAGE)
        self._visibility(proposed.get("visibility"), proposed)

    def visibility(self, visibility: str | None, image: ImageRecord, is_member: bool) -> None:
        self._visibility(visibility, target(self.ctx, image, is_member))

    def _visibility(self, visibility: str | None, tgt: dict[str, Any]) -> None:
        if visibility == "public" and not self.ctx.allowed(policies.PUBLICIZE_IMAGE, tgt):
            raise deny(policies.PUBLICIZE_IMAGE)
        if visibility == "community" and not self.ctx.allowed(policies.COMMUNITIZE_IMAGE, tgt):
            raise deny(policies.COMMUNITIZE_IMAGE)

    def listing(self) -> None:
        self.plain(policies.GET_IMAGES)

    def plain(self, rule: str) -> None:
        """A rule about no image in particular (the caller's project is the target)."""
        if not self.ctx.allowed(rule, {"project_id": self.ctx.project_id}):
            raise deny(rule)


class MetadefPolicy:
    """The policy of metadata definitions, on a namespace (``project_id`` its owner)."""

    def __init__(self, ctx: RequestContext) -> None:
        self.ctx = ctx

    @staticmethod
    def _target(ns: Any) -> dict[str, Any]:
        return {"project_id": ns.owner, "owner": ns.owner, "visibility": ns.visibility,
                "namespace": ns.namespace}

    def namespace(self, rule: str, ns: Any) -> None:
        tgt = self._target(ns)
        if self.ctx.allowed(rule, tgt):
            return
        get = policies.GET_METADEF_NAMESPACE
        if rule == get or not self.ctx.allowed(get, tgt):
            from nubes.image.service.metadefs import not_found

            raise not_found(ns.namespace)
        raise deny(rule)

    def new_namespace(self, ns: Any) -> None:
        if not self.ctx.allowed(policies.ADD_METADEF_NAMESPACE, self._target(ns)):
            raise deny(policies.ADD_METADEF_NAMESPACE)

    def plain(self, rule: str) -> None:
        if not self.ctx.allowed(rule, {"project_id": self.ctx.project_id}):
            raise deny(rule)
