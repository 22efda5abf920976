"""Declarative base with a naming convention, and column types that behave alike on every backend."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import MetaData, String, Text, TypeDecorator
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_base(service: str) -> type[DeclarativeBase]:
    """Each service gets its own metadata so its tables and migrations stay its own."""

    class Base(DeclarativeBase):
        metadata = MetaData(naming_convention=NAMING, info={"service": service})

    return Base


class JSONText(TypeDecorator):
    """JSON stored as text: portable across SQLite, MariaDB and PostgreSQL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.MEDIUMTEXT())
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"))

    def process_result_value(self, value: str | None, dialect) -> Any:
        if value is None:
            return None
        if value == "{}":        # the common case, without the parser (lists of thousands of rows)
            return {}
        if value == "[]":
            return []
        return json.loads(value)


class UTCDateTime(TypeDecorator):
    """Datetimes stored naive in UTC and returned tz-aware in UTC."""

    from sqlalchemy import DateTime as _DateTime

    impl = _DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "mysql":
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(self._DateTime())

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def Id(length: int = 64) -> String:  # noqa: N802 - reads like a type in models
    return String(length)
