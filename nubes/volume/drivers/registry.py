"""The volume drivers nubes ships, by the name a backend's ``driver`` selects.

Drivers are imported by name when a backend needs one, so a node without a backend's tools
(or a tree without its module) still runs the others. Every driver class is built as
``cls(backend)`` with the backend's ``nubes.volume.conf.BackendConf``."""

from __future__ import annotations

import importlib

from nubes.volume.conf import BackendConf
from nubes.volume.drivers.base import VolumeDriver

DRIVERS: dict[str, str] = {"fake": "nubes.volume.drivers.fake:FakeDriver",
                           "file": "nubes.volume.drivers.file:FileDriver"}


def make_driver(backend: BackendConf) -> VolumeDriver:
    target = DRIVERS.get(backend.driver)
    if target is None:
        raise ValueError(f"backend {backend.name!r}: unknown volume driver {backend.driver!r}; "
                         f"choose one of {', '.join(sorted(DRIVERS))}")
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(backend)
