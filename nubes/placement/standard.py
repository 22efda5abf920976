"""The standard resource classes and traits shipped in data/ (os-resource-classes and os-traits names)."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

_DATA = Path(__file__).parent / "data"
CUSTOM_PATTERN = re.compile(r"^CUSTOM_[A-Z0-9_]+$")
SHARES_VIA_AGGREGATE = "MISC_SHARES_VIA_AGGREGATE"


@functools.cache
def resource_classes() -> tuple[str, ...]:
    return tuple(json.loads((_DATA / "standard_resource_classes.json").read_text())["names"])


@functools.cache
def traits() -> frozenset[str]:
    return frozenset(json.loads((_DATA / "standard_traits.json").read_text())["names"])


def is_custom(name: str) -> bool:
    return bool(CUSTOM_PATTERN.match(name)) and len(name) <= 255
