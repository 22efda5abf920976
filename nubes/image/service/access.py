"""Who may see an image (Glance's database-layer visibility), and what the service asks the policy.

Glance decides in two layers. The database layer decides whether an image exists for the caller
at all (admins -- the policy's ``context_is_admin`` -- see everything; others see public and
community images, their own, and shared images they are a member of, whatever the member
status): ``can_see``. The policy layer, in the API (``nubes.image.api.policy``), then decides
each action; the service calls it through the ``Authorizer`` the API handler passes, once the
image is read inside the service's transaction, and never evaluates a rule itself.
"""

from __future__ import annotations

from typing import Any, Protocol

from nubes.core.context import RequestContext
from nubes.image.service.records import ImageRecord


class Authorizer(Protocol):
    """The API layer's policy decisions for one request; each method raises to refuse."""

    def image(self, rule: str, image: ImageRecord, is_member: bool) -> None:
        """``rule`` on an existing image: 404 when the caller may not even get it, else 403."""

    def member(self, rule: str, image: ImageRecord, member_id: str | None) -> None:
        """``rule`` on the image's membership of ``member_id``."""

    def new_image(self, proposed: dict[str, Any]) -> None:
        """Creating an image with this owner and visibility."""

    def visibility(self, visibility: str | None, image: ImageRecord, is_member: bool) -> None:
        """Making an image public or community."""

    def listing(self) -> None:
        """Listing images at all."""


def can_see(ctx: RequestContext, image: ImageRecord, is_member: bool) -> bool:
    if ctx.is_admin:
        return True
    if image.visibility in ("public", "community"):
        return True
    if ctx.project_id and image.owner == ctx.project_id:
        return True
    return image.visibility == "shared" and is_member
