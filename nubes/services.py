"""The services this build of nubes runs, in start order (identity first: everyone needs it)."""

from __future__ import annotations

import importlib

from nubes.core.service import ServiceSpec

SERVICE_MODULES = [
    "identity",
    "image",
    "placement",
    "network",
    "compute",
    "volume",
    "object",
]


def all_specs() -> list[ServiceSpec]:
    return [importlib.import_module(f"nubes.{name}").SPEC for name in SERVICE_MODULES]
