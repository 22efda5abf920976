"""Scratch databases on the MariaDB and PostgreSQL servers of the test machine."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterator

import pytest

MARIADB = "mysql+pymysql://root@127.0.0.1:3306/{name}"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/{name}"


def _mariadb(sql: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", autocommit=True,
                           connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def _postgres(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(host="127.0.0.1", port=5432, user="postgres", database="postgres",
                                     timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextlib.contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    name = f"nubes_test_{uuid.uuid4().hex[:12]}"
    run = _mariadb if kind == "mariadb" else _postgres
    try:
        run(f"CREATE DATABASE {name}")
    except Exception as exc:  # the server is part of the test machine; say clearly if it is down
        pytest.fail(f"{kind} server on this machine is not reachable: {exc}")
    try:
        yield (MARIADB if kind == "mariadb" else POSTGRES).format(name=name)
    finally:
        if kind == "postgres":
            run(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        else:
            run(f"DROP DATABASE IF EXISTS {name}")
