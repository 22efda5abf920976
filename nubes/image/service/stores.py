"""The configured stores: parse the [image] stores list into drivers, pick the default, find by id."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nubes.core.config import ConfigError
from nubes.image.drivers.base import ImageStore
from nubes.image.drivers.registry import DRIVERS

STAGING_STORE_ID = "os_glance_staging_store"
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")


@dataclass(frozen=True)
class StoreSpec:
    id: str
    path: Path
    description: str = ""
    driver: str = "filesystem"


def parse_stores(entries: list[Any], state_dir: Path) -> list[StoreSpec]:
    """Entries are tables {id, path, description, driver} or text "id" / "id=/path"."""
    specs: list[StoreSpec] = []
    for entry in entries:
        if isinstance(entry, dict):
            sid = str(entry.get("id", "")).strip()
            path = str(entry.get("path", "") or "").strip()
            desc = str(entry.get("description", "") or "")
            driver = str(entry.get("driver", "filesystem"))
        else:
            sid, _, path = str(entry).partition("=")
            sid, path, desc, driver = sid.strip(), path.strip(), "", "filesystem"
        if not _ID.match(sid) or sid == STAGING_STORE_ID:
            raise ConfigError(f"[image] stores: invalid store id {sid!r}")
        if driver not in DRIVERS:
            raise ConfigError(f"[image] stores: store {sid!r} has unknown driver {driver!r}; "
                              f"known: {', '.join(sorted(DRIVERS))}")
        if any(s.id == sid for s in specs):
            raise ConfigError(f"[image] stores: store id {sid!r} is listed twice")
        root = Path(path).expanduser() if path else state_dir / "images" / sid
        specs.append(StoreSpec(sid, root.resolve(), desc, driver))
    if not specs:
        raise ConfigError("[image] stores: at least one store is needed")
    return specs


class Stores:
    def __init__(self, conf: Any, state_dir: Path) -> None:
        specs = parse_stores(list(conf.stores), state_dir)
        kw = {"write_chunk_size": conf.write_chunk_size, "read_chunk_size": conf.read_chunk_size,
              "fsync": conf.fsync, "direct_io": conf.direct_io}
        self.by_id: dict[str, ImageStore] = {
            s.id: DRIVERS[s.driver](s.id, s.path, s.description, **kw) for s in specs}
        self.default_id = conf.default_store or specs[0].id
        if self.default_id not in self.by_id:
            raise ConfigError(f"[image] default_store {self.default_id!r} is not one of the stores "
                              f"({', '.join(self.by_id)})")
        staging = Path(conf.staging_dir).expanduser() if conf.staging_dir else state_dir / "image-staging"
        self.staging: ImageStore = DRIVERS["filesystem"](STAGING_STORE_ID, staging.resolve(),
                                                         "staging area for image import", **kw)

    def get(self, store_id: str) -> ImageStore | None:
        return self.by_id.get(store_id)

    @property
    def default(self) -> ImageStore:
        return self.by_id[self.default_id]

    def all(self) -> list[ImageStore]:
        return [*self.by_id.values(), self.staging]
