"""Who may see and act on an image: Glance's visibility rules, then its policy, 404 before 403.

Glance checks in two layers. The database layer decides whether an image exists for the
caller at all (admins see everything; others see public and community images, their own,
and shared images they are a member of, whatever the member status). The policy layer
then checks the action; a caller who fails a policy on an image it cannot even see gets
404, so the existence of other projects' private images never leaks.
"""

from __future__ import annotations

from typing import Any

from nubes.core.context import RequestContext
from nubes.core.exceptions import PolicyNotAuthorized
from nubes.image import policies
from nubes.image.exceptions import ImageNotFound
from nubes.image.service.records import ImageRecord


def is_admin(ctx: RequestContext) -> bool:
    return bool(ctx.enforcer is not None and ctx.allowed(policies.CONTEXT_IS_ADMIN, {}))


def can_see(ctx: RequestContext, image: ImageRecord, is_member: bool) -> bool:
    if is_admin(ctx):
        return True
    if image.visibility in ("public", "community"):
        return True
    if ctx.project_id and image.owner == ctx.project_id:
        return True
    return image.visibility == "shared" and is_member


def target(ctx: RequestContext, image: ImageRecord, is_member: bool) -> dict[str, Any]:
    return {"id": image.id, "project_id": image.owner, "owner": image.owner,
            "visibility": image.visibility,
            "member_id": ctx.project_id if is_member else None}


def deny(rule: str) -> PolicyNotAuthorized:
    return PolicyNotAuthorized(rule, f"Policy doesn't allow {rule} to be performed.")


def enforce(ctx: RequestContext, rule: str, image: ImageRecord, is_member: bool) -> None:
    """Check ``rule`` on an existing image; 404 when the caller may not even see it."""
    tgt = target(ctx, image, is_member)
    if ctx.allowed(rule, tgt):
        return
    if rule == policies.GET_IMAGE or not ctx.allowed(policies.GET_IMAGE, tgt):
        raise ImageNotFound(image.id)
    raise deny(rule)


def enforce_new(ctx: RequestContext, rule: str, proposed: dict[str, Any]) -> None:
    """Check a rule about an image that does not exist yet (create)."""
    if not ctx.allowed(rule, proposed):
        raise deny(rule)


def enforce_visibility(ctx: RequestContext, visibility: str | None, tgt: dict[str, Any]) -> None:
    if visibility == "public" and not ctx.allowed(policies.PUBLICIZE_IMAGE, tgt):
        raise deny(policies.PUBLICIZE_IMAGE)
    if visibility == "community" and not ctx.allowed(policies.COMMUNITIZE_IMAGE, tgt):
        raise deny(policies.COMMUNITIZE_IMAGE)
