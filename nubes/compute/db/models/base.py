"""The compute service's declarative base and shared column types."""

from __future__ import annotations

from sqlalchemy import String

from nubes.core.db.base import make_base

Base = make_base("compute")

UUID = String(36)
