"""The configured stores: parse the [image] stores list into drivers, pick the default, find by id."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nubes.core.config import ConfigError
from nubes.image.drivers.base import ImageStore
from nubes.image.drivers.filesystem import FilesystemStore
from nubes.image.drivers.registry import DRIVERS

STAGING_STORE_ID = "os_glance_staging_store"
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_COMMON = ("id", "type", "driver", "description")


@dataclass(frozen=True)
class StoreSpec:
    id: str
    driver: str = "filesystem"
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)   # the driver's own keys (path, container ...)


def parse_stores(entries: list[Any]) -> list[StoreSpec]:
    """Entries are tables {id, type, description, <the type's options>} or text "id" (a filesystem
    store), "id=/path" (one at that path) or "id:type" (Glance's enabled_backends form)."""
    specs: list[StoreSpec] = []
    for entry in entries:
        if isinstance(entry, dict):
            sid = str(entry.get("id", "")).strip()
            driver = str(entry.get("type", entry.get("driver", "filesystem"))).strip()
            desc = str(entry.get("description", "") or "")
            options = {k: v for k, v in entry.items() if k not in _COMMON}
        else:
            text = str(entry)
            sid, _, path = text.partition("=")
            sid, _, driver = sid.partition(":")
            sid, driver, desc = sid.strip(), driver.strip() or "filesystem", ""
            options = {"path": path.strip()} if path.strip() else {}
        if not _ID.match(sid) or sid == STAGING_STORE_ID:
            raise ConfigError(f"[image] stores: invalid store id {sid!r}")
        if driver not in DRIVERS:
            raise ConfigError(f"[image] stores: store {sid!r} has unknown type {driver!r}; "
                              f"known: {', '.join(sorted(DRIVERS))}")
        if any(s.id == sid for s in specs):
            raise ConfigError(f"[image] stores: store id {sid!r} is listed twice")
        specs.append(StoreSpec(sid, driver, desc, options))
    if not specs:
        raise ConfigError("[image] stores: at least one store is needed")
    return specs


def _check_places(stores: list[ImageStore]) -> None:
    """Two stores in one directory or container would each remove the other's data as leftovers."""
    owner: dict[str, str] = {}
    for store in stores:
        for place in getattr(store, "places", ()):
            if place in owner:
                raise ConfigError(f"[image] stores: {owner[place]!r} and {store.store_id!r} both keep "
                                  f"their data in {place}; each store needs its own")
            owner[place] = store.store_id


class Stores:
    def __init__(self, conf: Any, state_dir: Path, clients: Any = None) -> None:
        """``clients`` (nubes.core.clients.ServiceClients) reach the services a store keeps data in."""
        specs = parse_stores(list(conf.stores))
        self.by_id: dict[str, ImageStore] = {
            s.id: DRIVERS[s.driver].from_config(s.id, s.description, s.options, conf=conf,
                                                state_dir=state_dir, clients=clients)
            for s in specs}
        _check_places(list(self.by_id.values()))
        self.default_id = conf.default_store or specs[0].id
        if self.default_id not in self.by_id:
            raise ConfigError(f"[image] default_store {self.default_id!r} is not one of the stores "
                              f"({', '.join(self.by_id)})")
        staging = Path(conf.staging_dir).expanduser() if conf.staging_dir else state_dir / "image-staging"
        self.staging: ImageStore = FilesystemStore(
            STAGING_STORE_ID, staging.resolve(), "staging area for image import",
            write_chunk_size=conf.write_chunk_size, read_chunk_size=conf.read_chunk_size,
            fsync=conf.fsync, direct_io=conf.direct_io)

    def get(self, store_id: str) -> ImageStore | None:
        return self.by_id.get(store_id)

    @property
    def default(self) -> ImageStore:
        return self.by_id[self.default_id]

    def all(self) -> list[ImageStore]:
        return [*self.by_id.values(), self.staging]
