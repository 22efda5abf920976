"""Template text to a mapping: JSON or YAML, Heat's size limit and parse errors with the line
and column, and the format version detected from its top-level key."""

from __future__ import annotations

import json
from typing import Any

import yaml

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import versions

MAX_TEMPLATE_SIZE = 524288  # Heat's max_template_size, in bytes


class _Loader(yaml.SafeLoader):
    """Safe YAML where dates stay strings (``heat_template_version: 2016-10-14``), as in Heat."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))


def parse(text: str | bytes, url: str | None = None,
          max_size: int = MAX_TEMPLATE_SIZE) -> dict[str, Any]:
    if isinstance(text, bytes):
        size, text = len(text), text.decode("utf-8", errors="replace")
    else:
        size = len(text.encode("utf-8"))
    if size > max_size:
        raise exc.TemplateParseError(
            f"Template size ({size} bytes) exceeds maximum allowed size ({max_size} bytes).")
    # As Heat does: JSON first, then YAML (a superset), whose errors carry the line and column.
    try:
        tpl = json.loads(text)
    except ValueError:
        try:
            tpl = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            raise exc.TemplateParseError(
                f"Error parsing template {url or '[root stack]'} {e}",
                line=mark.line + 1 if mark else None,
                column=mark.column + 1 if mark else None) from None
        if tpl is None:
            tpl = {}
    if not isinstance(tpl, dict):
        raise exc.TemplateParseError("The template is not a JSON object or YAML mapping.")
    if not any(k in tpl for k in (versions.HOT_KEY, versions.AWS_KEY, versions.HEAT_CFN_KEY)):
        raise exc.TemplateParseError("Template format version not found.")
    return tpl


def detect_version(tpl: dict[str, Any]) -> versions.Version:
    keys = [k for k in (versions.HOT_KEY, versions.AWS_KEY, versions.HEAT_CFN_KEY) if k in tpl]
    if len(keys) != 1:
        raise exc.InvalidTemplateVersion(
            "Ambiguous versions (" + ", ".join(keys) + ")" if keys
            else "Template version was not provided")
    key = keys[0]
    value = str(tpl[key])
    table = versions.HOT_VERSIONS if key == versions.HOT_KEY else versions.CFN_VERSIONS[key]
    if value not in table:
        raise exc.InvalidTemplateVersion(
            f'"{value}". "{key}" should be one of: {", ".join(sorted(table))}')
    version = table[value]
    for section in tpl:
        if section not in version.sections:
            raise exc.InvalidTemplateSection(section)
    return version
