"""Every service's migrations build exactly the schema its models declare (nothing left to autogenerate)."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nubes.core.db import migrate
from nubes.core.db.session import Database
from nubes.services import all_specs

SPECS = [s for s in all_specs() if s.migrations is not None]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_migrations_match_models(spec, tmp_path):
    async def run() -> list:
        db = Database(f"sqlite:///{tmp_path / 'db.sqlite'}")
        metadata = spec.metadata()
        try:
            await migrate.upgrade(db, spec.name, spec.migrations, metadata)
            async with db.engine.connect() as conn:
                def diff(sync_conn):
                    ctx = MigrationContext.configure(sync_conn, opts={
                        "version_table": migrate.version_table(spec.name), "compare_type": True})
                    return compare_metadata(ctx, metadata)
                return await conn.run_sync(diff)
        finally:
            await db.close()

    differences = [d for d in asyncio.run(run())
                   if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name.startswith("alembic_"))]
    assert differences == [], f"{spec.name}: models and migrations differ: {differences}"
