"""Alembic entry point for volume's migrations; the logic lives in nubes.core.db.migrate."""

from alembic import context

from nubes.core.db.migrate import run_env

run_env(context)
