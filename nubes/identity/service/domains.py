"""Domains, and the input rules domains, projects, users and groups share (Keystone's schemas)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.context import RequestContext
from nubes.identity.db.models import Domain
from nubes.identity.db.queries import domains as domain_q
from nubes.identity.exceptions import (
    Conflict,
    Forbidden,
    NotFound,
    ProtectedResource,
    ValidationError,
)

DEFAULT_DOMAIN = "default"

# -- input rules ------------------------------------------------------------------------------

_TRUE = {True, "True", "TRUE", "true"}
_FALSE = {False, "False", "FALSE", "false"}
_ID = re.compile(r"^[a-zA-Z0-9-]+$")
MAX_TAGS = 80
# Keys the API computes itself: never stored in ``extra``.
READ_ONLY = frozenset({"id", "links"})


def invalid(field: str, why: str) -> ValidationError:
    return ValidationError(f"Invalid input for field '{field}': {why}.")


def strict_boolean(value: Any, field: str) -> bool:
    """Keystone's ``parameter_types.boolean`` (``enabled``, ``is_domain``, ``unrestricted``...):
    JSON true or false only; the string "True" is a 400, as Keystone's schema refuses it."""
    if value is True or value is False:
        return value
    raise invalid(field, f"{value!r} is not of type 'boolean' (use true or false, not a string)")


def boolean(value: Any, field: str) -> bool:
    """A lenient boolean for resource options: true/false, or one of their spellings as a string."""
    if isinstance(value, (bool, str)):
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
    raise invalid(field, f"{value!r} is not a boolean (use true or false)")


def text(value: Any, field: str, *, max_len: int | None = None) -> str:
    """A nullable free-text field; null becomes the empty string."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid(field, f"{value!r} is not a string")
    if max_len is not None and len(value) > max_len:
        raise invalid(field, f"it is longer than {max_len} characters")
    return value


def name(value: Any, field: str = "name", *, max_len: int = 64, strip: bool = False) -> str:
    if not isinstance(value, str):
        raise invalid(field, f"{value!r} is not a string")
    if strip:
        value = value.strip()
    if not value.strip():
        raise invalid(field, "it must not be empty")
    if len(value) > max_len:
        raise invalid(field, f"it is longer than {max_len} characters")
    return value


def ident(value: Any, field: str) -> str | None:
    """A nullable reference to another resource by id."""
    if value is None:
        return None
    if not isinstance(value, str) or not _ID.match(value) or len(value) > 64:
        raise invalid(field, f"{value!r} is not a valid id")
    return value


def tag(value: Any, field: str = "tags") -> str:
    if not isinstance(value, str):
        raise invalid(field, f"tag {value!r} is not a string")
    value = value.strip()
    if not value or len(value) > 255:
        raise invalid(field, f"tag {value!r} must be 1 to 255 characters long")
    if "/" in value or "," in value:
        raise invalid(field, f"tag {value!r} must not contain '/' or ','")
    return value


def tags(value: Any, field: str = "tags") -> list[str]:
    if not isinstance(value, list):
        raise invalid(field, f"{value!r} is not a list of tags")
    out = [tag(t, field) for t in value]
    if len(out) > MAX_TAGS:
        raise invalid(field, f"there are {len(out)} tags; at most {MAX_TAGS} are allowed")
    if len(set(out)) != len(out):
        raise invalid(field, "the tags must be unique")
    return out


def options(value: Any, allowed: dict[str, str], current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge resource options into ``current``: null removes an option. ``allowed`` maps name -> type."""
    if not isinstance(value, dict):
        raise invalid("options", f"{value!r} is not an object")
    out = dict(current or {})
    for key, v in value.items():
        kind = allowed.get(key)
        if kind is None:
            raise invalid("options", f"unknown option {key!r}; known options: {', '.join(sorted(allowed))}")
        if v is None:
            out.pop(key, None)
        elif kind == "bool":
            out[key] = boolean(v, f"options.{key}")
        elif kind == "rules":
            if not (isinstance(v, list) and all(
                    isinstance(rule, list) and all(isinstance(m, str) for m in rule) for rule in v)):
                raise invalid(f"options.{key}", "expected a list of lists of method names")
            out[key] = v
    return out


def extra(body: dict[str, Any], known: set[str] | frozenset[str],
          current: dict[str, Any] | None = None) -> dict[str, Any]:
    """Attributes the API does not know are kept and shown back, as Keystone does."""
    out = dict(current or {})
    out.update({k: v for k, v in body.items() if k not in known and k not in READ_ONLY})
    return out


def require_some(body: dict[str, Any], kind: str) -> None:
    if not body:
        raise ValidationError(f"Invalid input for field '{kind}': at least one attribute must be given.")


def require_same_id(body: dict[str, Any], resource_id: str) -> None:
    if "id" in body and body["id"] != resource_id:
        raise ValidationError("Cannot change ID")


def domain_for_new(ctx: RequestContext, body: dict[str, Any]) -> str:
    """The domain of a new project, user or group: the body's, the token's domain, or the default."""
    given = ident(body.get("domain_id"), "domain_id")
    return given or ctx.domain_id or DEFAULT_DOMAIN


# Resource options of projects and domains.
RESOURCE_OPTIONS = {"immutable": "bool"}


def check_immutable_update(kind: str, resource_id: str, current: dict[str, Any],
                           body: dict[str, Any]) -> None:
    """An immutable resource accepts only the update that clears the flag."""
    if not (current or {}).get("immutable"):
        return
    opts = body.get("options")
    if (set(body) == {"options"} and isinstance(opts, dict) and set(opts) == {"immutable"}
            and opts["immutable"] in (None, *_FALSE)):
        return
    raise ProtectedResource(f"Unable to update immutable {kind} resource: `{resource_id}. "
                            "Set resource option \"immutable\" to false first.")


def check_immutable_delete(kind: str, resource_id: str, current: dict[str, Any]) -> None:
    if (current or {}).get("immutable"):
        raise ProtectedResource(f"Unable to delete immutable {kind} resource: `{resource_id}. "
                                "Set resource option \"immutable\" to false first.")


# -- domains ------------------------------------------------------------------------------------

DOMAIN_FIELDS = frozenset({"name", "description", "enabled", "tags", "options", "explicit_domain_id"})


async def get(s: AsyncSession, domain_id: str) -> Domain:
    domain = await s.get(Domain, domain_id)
    if domain is None:
        raise NotFound("domain", domain_id)
    return domain


def _duplicate(domain_name: str) -> Conflict:
    return Conflict("domain", "it is not permitted to have two projects acting as domains with "
                              f"the same name: {domain_name}")


async def create(s: AsyncSession, body: dict[str, Any]) -> Domain:
    if "name" not in body:
        raise ValidationError("'name' is a required property")
    domain_name = name(body["name"], strip=True)
    domain_id = uuid.uuid4().hex
    if body.get("explicit_domain_id") is not None:
        domain_id = body["explicit_domain_id"]
        try:
            if not isinstance(domain_id, str) or len(domain_id) > 64:
                raise ValueError(domain_id)
            uuid.UUID(domain_id)
        except ValueError:
            raise ValidationError("Domain ID does not conform to required UUID format.") from None
        if await s.get(Domain, domain_id) is not None:
            raise Conflict("domain", f"Duplicate ID, {domain_id}")
    row = Domain(
        id=domain_id, name=domain_name, description=text(body.get("description"), "description"),
        enabled=strict_boolean(body.get("enabled", True), "enabled"),
        tags=tags(body["tags"]) if body.get("tags") is not None else [],
        options=options(body["options"], RESOURCE_OPTIONS) if body.get("options") is not None else {},
        extra=extra(body, DOMAIN_FIELDS))
    if await domain_q.by_name(s, domain_name) is not None:
        raise _duplicate(domain_name)
    s.add(row)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(domain_name) from None
    return row


async def update(s: AsyncSession, domain: Domain, body: dict[str, Any]) -> bool:
    """Apply a PATCH; returns True when the domain went from enabled to disabled."""
    require_some(body, "domain")
    require_same_id(body, domain.id)
    check_immutable_update("domain", domain.id, domain.options, body)
    was_enabled = domain.enabled
    if "name" in body:
        new_name = name(body["name"], strip=True)
        if new_name != domain.name:
            other = await domain_q.by_name(s, new_name)
            if other is not None and other.id != domain.id:
                raise _duplicate(new_name)
            domain.name = new_name
    if "description" in body:
        domain.description = text(body["description"], "description")
    if "enabled" in body:
        domain.enabled = strict_boolean(body["enabled"], "enabled")
    if "tags" in body:
        domain.tags = tags(body["tags"]) if body["tags"] is not None else []
    if "options" in body:
        domain.options = options(body["options"] or {}, RESOURCE_OPTIONS, domain.options)
    domain.extra = extra(body, DOMAIN_FIELDS, domain.extra)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(domain.name) from None
    return was_enabled and not domain.enabled


async def delete(s: AsyncSession, domain: Domain) -> None:
    """Delete a disabled domain and everything it owns, as Keystone does."""
    check_immutable_delete("domain", domain.id, domain.options)
    if domain.enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    await domain_q.delete_contents(s, domain.id)
    await s.delete(domain)
    await s.flush()
