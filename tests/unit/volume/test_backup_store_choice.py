"""Where a new backup goes (``[volume] backup_store``): "auto" asks the catalog, the others are
taken as they are, a bad value is a configuration error; the worker is told the record's store."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from nubes.core.config import ConfigError
from nubes.volume.conf import VolumeConfig
from nubes.volume.db.models import Backup
from nubes.volume.service.backups import Backups, worker_record


class Catalog:
    def __init__(self, *types: str) -> None:
        self.types = types

    async def has(self, service_type: str) -> bool:
        return service_type in self.types


def backups(choice: str, clients) -> Backups:
    rt = SimpleNamespace(clients=clients)
    return Backups(SimpleNamespace(db=None, bus=None, rt=rt, conf=VolumeConfig(backup_store=choice)))


@pytest.mark.parametrize("choice, clients, expected", [
    ("auto", Catalog("volumev3", "object-store"), "object"),
    ("auto", Catalog("volumev3"), "directory"),
    ("auto", None, "directory"),
    ("directory", Catalog("object-store"), "directory"),
    ("object", Catalog(), "object"),
])
async def test_the_store_of_a_new_backup(choice, clients, expected):
    assert await backups(choice, clients).new_store() == expected


async def test_a_bad_choice_is_a_configuration_error():
    with pytest.raises(ConfigError, match="backup_store must be one of auto, object, directory"):
        await backups("swift", Catalog()).new_store()


def test_the_worker_is_told_the_store_container_and_account():
    parent = Backup(id="p", container="c1", service="nubes.volume.backup.swift", service_metadata="AUTH_a")
    row = Backup(id="b", volume_id="v", container="c2", service="nubes.volume.backup.swift",
                 service_metadata="AUTH_b", checksum=None)
    rec = worker_record(row, parent)
    assert (rec["store"], rec["container"], rec["account"]) == ("object", "c2", "AUTH_b")
    assert (rec["parent_container"], rec["parent_account"]) == ("c1", "AUTH_a")
    old = Backup(id="o", volume_id="v", container="c", service="nubes.volume.backup.directory")
    assert worker_record(old)["store"] == "directory" and worker_record(old)["account"] is None
