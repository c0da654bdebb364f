"""Empty stores of every SQL engine, cheap enough to make one per Hypothesis example.

Import both fixtures into a test module (``from tests._sql_stores import admin,
fresh``) and ask for ``fresh``: the test runs once per engine. SQLite runs on
a new file under ``tmp_path``. PostgreSQL runs on ``CUSTSERVICE_PG_URL``, in a
schema of the test's own, emptied for each store and dropped afterwards;
MariaDB (or MySQL) on ``CUSTSERVICE_MYSQL_URL``, in a database of its own.
When a server cannot be reached its tests are skipped with the reason, or
fail if ``CUSTSERVICE_REQUIRE_PG=1`` or ``CUSTSERVICE_REQUIRE_MYSQL=1``.

``kit_postgres_url`` and ``kit_mariadb_url`` (import them with ``kit_postgres``
and ``kit_mariadb``) give each test of a class the URL of an empty store in a
schema (a database) of the class's own, put back as new before each test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from conftest import MYSQL_SERVER
from tests._reliability import SERVER, pg_admin, with_options

from custservice import Case, Customer, Interaction, Store
from custservice.storage.sql.mysql import open_mysql_store
from custservice.storage.sql.postgresql import open_postgres_store
from custservice.storage.sql.sqlite import open_sqlite_store

__all__ = [
    "Fresh",
    "Pristine",
    "Records",
    "admin",
    "fill",
    "fresh",
    "kit_mariadb",
    "kit_mariadb_url",
    "kit_postgres",
    "kit_postgres_url",
]

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


# --- one database per test class, put back as new before each test ----------------------
#
# The conformance kit asks for a fresh, empty store in each of its hundred-odd tests. A new
# schema (a new database on MariaDB) and its tables cost a third of a second to most of
# one each time; the store's own tables, emptied and given back the rows a new store
# starts with, cost milliseconds and are the same store as far as the kit can tell. The
# first store opened creates the tables, as a new one does, and the rows it starts with
# are kept to restore.


class Pristine:
    """A store's database, created once, that :meth:`restore` puts back as it was new.

    Attributes:
        url: the URL of the store; each open gives a store on the same tables.
    """

    def __init__(self, url: str, clear: Callable[[], None]) -> None:
        self.url = url
        self._clear = clear

    def restore(self) -> str:
        """Empty every table of the store, give back the rows it began with; the URL."""
        self._clear()
        return self.url


def _rows_of(cursor: Any, tables: list[str], quote: Callable[[str], str]) -> list[Any]:
    """Each table's name, column names and rows."""
    kept = []
    for table in tables:
        cursor.execute(f"SELECT * FROM {quote(table)}")
        kept.append((table, [d[0] for d in cursor.description], cursor.fetchall()))
    return kept


def _referrers_first(tables: list[str], links: list[tuple[str, str]]) -> list[str]:
    """``tables`` ordered so that each comes before the tables its foreign keys name."""
    out: list[str] = []
    left = list(tables)
    while left:
        ready = [t for t in left if not any(b == t and a in left and a != t for a, b in links)]
        assert ready, f"foreign keys in a cycle among {left}"
        out += ready
        left = [t for t in left if t not in ready]
    return out


def _refill(cursor: Any, kept: Iterable[Any], quote: Callable[[str], str], mark: str) -> None:
    for table, columns, rows in kept:
        if rows:
            names = ", ".join(f"{mark}{c}{mark}" for c in columns)
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({marks})", rows)


@pytest.fixture(scope="class")
def kit_postgres() -> Iterator[Pristine]:
    """A PostgreSQL schema of the test class's own, dropped after its last test."""
    conn = pg_admin()
    conn.execute("SET lock_timeout = '60s'")  # a failed test's open reader never hangs the run
    schema = f"cs_kit_{uuid.uuid4().hex[:12]}"
    url = with_options(SERVER, schema=schema)
    try:
        with open_postgres_store(url):
            pass  # creates the tables, as the first store on a new schema does
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY tablename",
                (schema,),
            )
        ]

        # DELETE, in an order no foreign key objects to: TRUNCATE writes new files for
        # every table and costs ten times as much on tables this small.
        links = conn.execute(
            "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint"
            " WHERE contype = 'f' AND connamespace = %s::regnamespace",
            (schema,),
        ).fetchall()
        tables = _referrers_first(tables, [(a.split(".")[-1], b.split(".")[-1]) for a, b in links])
        assert not conn.execute(
            "SELECT 1 FROM pg_sequences WHERE schemaname = %s", (schema,)
        ).fetchall(), "a table counts with a sequence: reset it too"

        def quote(name: str) -> str:
            return f'"{schema}"."{name}"'

        cursor = conn.cursor()
        kept = _rows_of(cursor, tables, quote)

        def clear() -> None:
            with conn.transaction():
                for table in tables:
                    conn.execute(f"DELETE FROM {quote(table)}")
                _refill(cursor, reversed(kept), quote, '"')

        yield Pristine(url, clear)
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


@pytest.fixture(scope="class")
def kit_mariadb(mysql_admin: Any) -> Iterator[Pristine]:
    """A MariaDB (or MySQL) database of the test class's own, dropped after its last test."""
    database = f"cs_kit_{uuid.uuid4().hex[:12]}"
    cursor = mysql_admin.cursor()
    cursor.execute(f"CREATE DATABASE `{database}`")
    url = urlsplit(MYSQL_SERVER)._replace(path=f"/{database}", query="max_size=4").geturl()
    try:
        with open_mysql_store(url):
            pass  # creates the tables, as the first store on a new database does
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
            " ORDER BY table_name",
            (database,),
        )
        tables = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = %s"
            " AND extra LIKE %s",
            (database, "%auto_increment%"),
        )
        # DELETE leaves a counter where it was: a new store would start it again.
        assert cursor.fetchone()[0] == 0, "a table counts with AUTO_INCREMENT: reset it too"

        def quote(name: str) -> str:
            return f"`{database}`.`{name}`"

        kept = _rows_of(cursor, tables, quote)

        def clear() -> None:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            cursor.execute("BEGIN")
            try:
                for table in tables:
                    cursor.execute(f"DELETE FROM {quote(table)}")
                _refill(cursor, kept, quote, "`")
                cursor.execute("COMMIT")
            finally:
                cursor.execute("SET FOREIGN_KEY_CHECKS = 1")

        yield Pristine(url, clear)
    finally:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cursor.close()


@pytest.fixture
def kit_postgres_url(kit_postgres: Pristine) -> str:
    """The URL of an empty store, as new, in the class's PostgreSQL schema."""
    return kit_postgres.restore()


@pytest.fixture
def kit_mariadb_url(kit_mariadb: Pristine) -> str:
    """The URL of an empty store, as new, in the class's MariaDB database."""
    return kit_mariadb.restore()
