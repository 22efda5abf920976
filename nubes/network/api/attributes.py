"""What each resource accepts on create and update, and how a request body is checked against it.

A resource lists its attributes as :class:`Attr` rows (Neutron's RESOURCE_ATTRIBUTE_MAP
in small): whether POST and PUT may set it, its default and its validator. ``parse``
turns ``{"network": {...}}`` into a dict of checked, converted values, or raises a 400 with
the message Neutron gives for the same mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from nubes.core.context import RequestContext
from nubes.network.api.validators import Validator
from nubes.network.exceptions import BadRequest

MISSING: Any = object()


@dataclass(frozen=True)
class Attr:
    name: str
    validate: Validator | None = None
    post: bool = True
    put: bool = True
    required: bool = False
    default: Any = MISSING               # a value, or a callable taking no argument
    # Setting it goes through the policy rule "<action>_<resource>:<name>" (provider
    # attributes, shared, router:external, binding:*): admin-only by default.
    policy: bool = False


def read_only(*names: str) -> list[Attr]:
    """Attributes a client sees but never sets (refused with Neutron's message, not as unknown)."""
    return [Attr(n, post=False, put=False) for n in names]


STANDARD_READ_ONLY = ("id", "status", "created_at", "updated_at", "revision_number")


def _default(attr: Attr) -> Any:
    return attr.default() if callable(attr.default) else attr.default


def envelope(body: Any, resource: str) -> dict[str, Any]:
    if not isinstance(body, dict) or resource not in body:
        raise BadRequest(f"Unable to find '{resource}' in request body")
    item = body[resource]
    if not isinstance(item, dict):
        raise BadRequest(f"Invalid input for {resource}. Reason: '{item}' is not a dictionary.")
    return item


def parse(item: dict[str, Any], attrs: Sequence[Attr], *, create: bool) -> dict[str, Any]:
    """Checked values of a create (with defaults filled in) or an update (only what was sent)."""
    known = {a.name: a for a in attrs}
    unknown = [k for k in item if k not in known and k not in ("tenant_id", "project_id")]
    if unknown:
        raise BadRequest(f"Unrecognized attribute(s) '{', '.join(sorted(unknown))}'")
    out: dict[str, Any] = {}
    for attr in attrs:
        if attr.name not in item:
            if create and attr.required:
                raise BadRequest(f"Failed to parse request. Required attribute '{attr.name}' not specified")
            if create and attr.default is not MISSING:
                out[attr.name] = _default(attr)
            continue
        if create and not attr.post:
            raise BadRequest(f"Attribute '{attr.name}' not allowed in POST")
        if not create and not attr.put:
            raise BadRequest(f"Cannot update read-only attribute {attr.name}")
        value = item[attr.name]
        if attr.validate is not None:
            try:
                value = attr.validate(value)
            except ValueError as exc:
                raise BadRequest(f"Invalid input for {attr.name}. Reason: {exc}.") from None
        out[attr.name] = value
    return out


def owner(ctx: RequestContext, item: dict[str, Any]) -> str:
    """The project a new resource belongs to; only admins may name another project."""
    tenant, project = item.get("tenant_id"), item.get("project_id")
    if tenant is not None and project is not None and tenant != project:
        raise BadRequest("'project_id' and 'tenant_id' do not match")
    wanted = project if project is not None else tenant
    if wanted is None:
        if not ctx.project_id:
            raise BadRequest("'project_id' must be given when the token has no project scope")
        return ctx.project_id
    if not isinstance(wanted, str) or not wanted or len(wanted) > 255:
        raise BadRequest(f"Invalid input for project_id. Reason: '{wanted}' is not a valid string.")
    if wanted != ctx.project_id and not ctx.is_admin:
        raise BadRequest("Specifying 'project_id' or 'tenant_id' other than the authenticated project "
                         "in request requires admin privileges")
    return wanted


def enforce_attrs(ctx: RequestContext, action: str, resource: str, values: dict[str, Any],
                  attrs: Sequence[Attr], target: dict[str, Any], *, sent: Callable[[str], bool]) -> None:
    """Check "<action>_<resource>:<attr>" for every policy-guarded attribute the caller set."""
    failed = [f"rule:{action}_{resource}:{a.name}" for a in attrs
              if a.policy and sent(a.name) and not ctx.allowed(f"{action}_{resource}:{a.name}", target)]
    if failed:
        from nubes.network.exceptions import PolicyNotAuthorized

        raise PolicyNotAuthorized(" and ".join([f"rule:{action}_{resource}", *failed]))
