"""Empty stores of every SQL engine, cheap enough to make one per Hypothesis example.

Import both fixtures into a test module (``from tests._sql_stores import admin,
fresh``) and ask for ``fresh``: the test runs once per engine. SQLite runs on
a new file under ``tmp_path``. PostgreSQL runs on ``CUSTSERVICE_PG_URL``, in a
schema of the test's own, emptied for each store and dropped afterwards;
MariaDB (or MySQL) on ``CUSTSERVICE_MYSQL_URL``, in a database of its own.
When a server cannot be reached its tests are skipped with the reason, or
fail if ``CUSTSERVICE_REQUIRE_PG=1`` or ``CUSTSERVICE_REQUIRE_MYSQL=1``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from tests._reliability import SERVER, pg_admin, with_options

from custservice import Case, Customer, Interaction, Store
from custservice.storage.sql.mysql import open_mysql_store
from custservice.storage.sql.postgresql import open_postgres_store
from custservice.storage.sql.sqlite import open_sqlite_store

__all__ = ["Fresh", "Records", "admin", "fill", "fresh"]

Fresh = Callable[[], AbstractContextManager[Store]]
"""Opens a new, empty store of the engine under test."""
Records = tuple[list[Customer], list[Interaction], list[Case]]
"""Customers, their interactions and their cases."""


def fill(store: Store, records: Records) -> Store:
    """``store``, holding ``records``."""
    people, calls, tickets = records
    store.customers.add_many(people)
    store.interactions.add_many(calls)
    store.cases.add_many(tickets)
    return store


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    """An autocommit connection to the PostgreSQL server."""
    conn = pg_admin()
    conn.execute("SET lock_timeout = '60s'")  # a failed test's open reader never hangs the run
    yield conn
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fresh]:
    """A factory of empty stores: a new file under ``tmp_path``, or a schema (database)
    of this test's own, emptied each time (cheaper than a new one for every example)."""
    if request.param == "sqlite":

        @contextmanager
        def sqlite_store() -> Iterator[Store]:
            path = tmp_path / f"{uuid.uuid4().hex}.db"
            with open_sqlite_store(f"sqlite:///{path}") as store:
                yield store

        yield sqlite_store
        return
    if request.param == "mariadb":
        url = request.getfixturevalue("mysql_url")
        cursor = request.getfixturevalue("mysql_admin").cursor()
        database = urlsplit(url).path.lstrip("/")
        kept: list[Store] = []

        @contextmanager
        def mariadb_store() -> Iterator[Store]:
            if not kept:
                kept.append(open_mysql_store(url))
            for table in ("events", "cases", "interactions", "customers"):
                cursor.execute(f"DELETE FROM `{database}`.{table}")
            yield kept[0]

        try:
            yield mariadb_store
        finally:
            for store in kept:
                store.close()
            cursor.close()
        return
    conn = request.getfixturevalue("admin")
    schema = f"cs_pushdown_{uuid.uuid4().hex[:12]}"
    tables = ", ".join(f'"{schema}".{t}' for t in ("events", "cases", "interactions", "customers"))
    opened: list[Store] = []

    @contextmanager
    def postgres_store() -> Iterator[Store]:
        if not opened:
            opened.append(open_postgres_store(with_options(SERVER, schema=schema)))
        conn.execute(f"TRUNCATE {tables}")
        yield opened[0]

    try:
        yield postgres_store
    finally:
        for store in opened:
            store.close()
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
