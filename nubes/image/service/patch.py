"""Image updates as Glance takes them: JSON-patch (drafts 4 and 10) on core and free-form properties.

Parsing and applying are pure functions over a plain ``Draft`` so they can be tested
without a database; the service layer loads the draft, applies, checks policy on what
changed and saves. Element paths on ``tags`` (``/tags/0``, ``/tags/-``) are accepted
on top of Glance's whole-list ``/tags``, because openstacksdk (and so the openstack CLI)
generates them when it diffs a tag list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from nubes.core.exceptions import BadRequest, UnsupportedMediaType
from nubes.image.exceptions import ImageConflict, ImageForbidden, ReadOnlyAttribute, ReservedAttribute
from nubes.image.service import schemas

CONTENT_TYPES = {"application/openstack-images-v2.0-json-patch": 4,
                 "application/openstack-images-v2.1-json-patch": 10}
OPERATIONS = ("add", "remove", "replace")
READ_ONLY = ("created_at", "updated_at", "status", "checksum", "size", "virtual_size", "direct_url",
             "self", "file", "schema", "id", "os_hash_algo", "os_hash_value", "stores")
RESERVED = ("location", "deleted", "deleted_at")
RESERVED_NAMESPACE = "os_glance"
CORE_ATTRIBUTES = ("name", "disk_format", "container_format", "visibility", "protected", "min_ram",
                   "min_disk", "owner", "os_hidden")


@dataclass
class Change:
    op: str
    path: list[str]
    value: Any = None
    draft: int = 10


@dataclass
class Draft:
    """The mutable part of an image while a patch is applied."""

    core: dict[str, Any]
    properties: dict[str, str | None]
    tags: list[str]
    changed: set[str] = field(default_factory=set)


def patch_version(content_type: str | None) -> int:
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype not in CONTENT_TYPES:
        raise UnsupportedMediaType(
            f"Content type {ctype or 'None'} is not supported; use one of "
            f"{', '.join(sorted(CONTENT_TYPES))}.", accept_patch=", ".join(sorted(CONTENT_TYPES)))
    return CONTENT_TYPES[ctype]


def _decode_pointer(pointer: Any) -> list[str]:
    if not isinstance(pointer, str) or not pointer.startswith("/"):
        raise BadRequest(f'Pointer `{pointer}` does not start with "/".')
    if re.search(r"/\s*?/", pointer[1:]):
        raise BadRequest(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise BadRequest(f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() == "/":
        raise BadRequest(f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise BadRequest(f'Pointer `{pointer}` contains "~" not part of a recognized escape sequence.')
    return [part.replace("~1", "/").replace("~0", "~").strip() for part in pointer.lstrip("/").split("/")]


def _op_and_path(raw: dict[str, Any], draft: int) -> tuple[str, Any]:
    if draft == 10:
        op = raw.get("op")
        if op is None:
            raise BadRequest("Unable to find `op` in JSON Schema change. It must be one of the "
                             f"following: {', '.join(OPERATIONS)}.")
        if op not in OPERATIONS:
            raise BadRequest(f"Invalid operation: `{op}`. It must be one of the following: "
                             f"{', '.join(OPERATIONS)}.")
        if "path" not in raw:
            raise BadRequest("Unable to find 'path' in JSON Schema change")
        return op, raw["path"]
    found = [k for k in OPERATIONS if k in raw]
    if len(found) != 1:
        raise BadRequest('Operation objects must contain exactly one member named "add", "remove", '
                         'or "replace".')
    return found[0], raw[found[0]]


def parse(body: Any, draft: int) -> list[Change]:
    if not isinstance(body, list):
        raise BadRequest("Request body must be a JSON array of operation objects.")
    changes = []
    for raw in body:
        if not isinstance(raw, dict):
            raise BadRequest("Operations must be JSON objects.")
        op, pointer = _op_and_path(raw, draft)
        path = _decode_pointer(pointer)
        depth_ok = len(path) == 1 or (path[0] == "tags" and len(path) == 2)
        if not depth_ok:
            raise BadRequest(f"Invalid JSON pointer for this resource: '/{'/'.join(path)}'")
        change = Change(op, path, draft=draft)
        if op != "remove":
            if "value" not in raw:
                raise BadRequest(f'Operation "{op}" requires a member named "value".')
            change.value = raw["value"]
        _check_path(change)
        changes.append(change)
    return changes


def _check_path(change: Change) -> None:
    root = change.path[0]
    if root in READ_ONLY:
        raise ReadOnlyAttribute(root)
    if root in RESERVED or root.startswith(RESERVED_NAMESPACE):
        raise ReservedAttribute(root)


def validate_value(schema: dict[str, Any], change: Change) -> None:
    if change.op == "remove":
        return
    root = change.path[0]
    partial = {root: [change.value] if len(change.path) == 2 else change.value}
    err = schemas.problem(schema, partial)
    if err:
        raise BadRequest(f"Provided object does not match schema 'image': {err}")


def apply(draft: Draft, changes: list[Change]) -> None:
    for change in changes:
        root = change.path[0]
        if root == "locations":
            raise ImageForbidden(f"It's not allowed to {_verb(change.op)} locations if locations "
                                 "are invisible.")
        if root == "tags":
            _apply_tags(draft, change)
        elif change.op == "remove":
            _remove(draft, root)
        elif change.op == "replace":
            _replace(draft, root, change.value)
        else:
            _add(draft, root, change)
        draft.changed.add(root)


def _verb(op: str) -> str:
    return {"add": "add", "remove": "remove", "replace": "update"}[op]


def _remove(draft: Draft, root: str) -> None:
    if root in CORE_ATTRIBUTES:
        raise ImageForbidden(f"Property {root} may not be removed.")
    if root not in draft.properties:
        raise ImageConflict(f"Property {root} does not exist.")
    del draft.properties[root]


def _replace(draft: Draft, root: str, value: Any) -> None:
    if root in CORE_ATTRIBUTES:
        draft.core[root] = value
    elif root in draft.properties:
        draft.properties[root] = value
    else:
        raise ImageConflict(f"Property {root} does not exist.")


def _add(draft: Draft, root: str, change: Change) -> None:
    exists = root in CORE_ATTRIBUTES or root in draft.properties
    if exists and change.draft == 4:
        raise ImageConflict(f"Property {root} already present.")
    if root in CORE_ATTRIBUTES:
        draft.core[root] = change.value
    else:
        draft.properties[root] = change.value


def _apply_tags(draft: Draft, change: Change) -> None:
    if len(change.path) == 1:
        if change.op == "remove":
            raise ImageForbidden("Property tags may not be removed.")
        draft.tags = list(dict.fromkeys(change.value))
        return
    index = change.path[1]
    tags = list(draft.tags)
    if index == "-" and change.op == "add":
        pos = len(tags)
    elif index.isdigit() and int(index) <= len(tags) - (0 if change.op == "add" else 1):
        pos = int(index)
    else:
        raise ImageConflict(f"Tag position {index} does not exist.")
    if change.op == "add":
        tags.insert(pos, change.value)
    elif change.op == "replace":
        tags[pos] = change.value
    else:
        del tags[pos]
    draft.tags = list(dict.fromkeys(tags))
