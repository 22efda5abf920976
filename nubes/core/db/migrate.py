"""Alembic migrations per service: each service has its own script directory and version table.

Services keep ``<service>/db/migrations/`` with the usual ``versions/`` folder and
an ``env.py`` that calls :func:`run_env`.  ``upgrade`` runs them on an async
engine; ``revision`` autogenerates a new revision from the service's models.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine

from nubes.core.db.session import Database


def _alembic_config(service: str, script_location: Path) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["service"] = service
    return cfg


def version_table(service: str) -> str:
    return f"alembic_version_{service}"


async def upgrade(db: Database, service: str, script_location: Path, metadata: MetaData) -> None:
    cfg = _alembic_config(service, script_location)
    script = ScriptDirectory.from_config(cfg)

    def _run(sync_conn: Any) -> None:
        def do_upgrade(rev: Any, _context: Any) -> Any:
            return script._upgrade_revs("heads", rev)

        with EnvironmentContext(cfg, script, fn=do_upgrade, destination_rev="heads") as env:
            env.configure(connection=sync_conn, target_metadata=metadata,
                          version_table=version_table(service), render_as_batch=True)
            with env.begin_transaction():
                env.run_migrations()

    async with db.engine.begin() as conn:
        await conn.run_sync(_run)


def run_env(context: Any) -> None:
    """Called from a service's migrations/env.py when the alembic command line runs it."""
    cfg = context.config
    service = cfg.attributes["service"]
    metadata = importlib.import_module(f"nubes.{service}.db.models").Base.metadata
    connection = cfg.attributes.get("connection")
    if connection is None:
        engine = create_engine(cfg.attributes["sync_url"])
        connection = engine.connect()
    context.configure(connection=connection, target_metadata=metadata,
                      version_table=version_table(service), render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def revision(service: str, message: str, sync_url: str) -> None:
    """Autogenerate a revision from the models against a database at the current head."""
    location = Path(importlib.import_module(f"nubes.{service}").__file__).parent / "db" / "migrations"
    cfg = _alembic_config(service, location)
    cfg.attributes["sync_url"] = sync_url
    command.upgrade(cfg, "heads")
    command.revision(cfg, message=message, autogenerate=True)
