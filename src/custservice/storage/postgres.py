"""The PostgreSQL backend (``postgresql://…``): the path for applications that outgrow one machine.

Open one with ``open_store("postgresql://user:password@host:5432/dbname")``
(``postgres://`` and ``postgresql+psycopg://`` name the same backend). It
needs the ``postgres`` extra: ``pip install "custservice[postgres]"``, which
brings psycopg 3 and psycopg-pool; without them, opening such a URL raises a
:class:`StorageError` that says so, and importing ``custservice`` still works.

Options go in the query string. These are the library's own:

- ``schema=NAME``: the PostgreSQL schema the tables live in (default
  ``public``; created if missing). Several stores, or test runs, can share a
  database, each in its own schema. The name is used exactly as written
  (letters, digits, ``_``; at most 63 characters).
- ``min_size=N`` (default 1) and ``max_size=N`` (default 10): the smallest and
  largest number of connections the store's pool keeps open.
- ``timeout=SECONDS`` (default 30): how long an operation waits for a free
  pooled connection before giving up with a :class:`StorageError`.

Every other option is a libpq connection parameter passed on unchanged
(``sslmode=require``, ``application_name=helpdesk``, ``connect_timeout=5``;
``connect_timeout`` defaults to 10 seconds here).

The schema:

- ``custservice_meta`` holds the application marker (``application =
  custservice``) and the schema version. A new schema is initialised; an
  older one is migrated, every step of :data:`MIGRATIONS` in one transaction,
  under an advisory lock so that processes starting together do not race. A
  newer schema, or a schema holding tables of ours' names that custservice did
  not create, is refused with a :class:`StorageError` and left untouched.
- each record is kept as its ``to_json`` text (a ``TEXT`` column), beside the
  columns that index it: ``id`` and ``customer_id`` (``UUID``), ``opened_at``
  (UTC microseconds, ``BIGINT``) and ``version``.
- the change feed is the ``events`` table, written in the same transaction as
  each change. Its positions come from a one-row counter, ``events_head``,
  that every writing transaction updates *before* its first write and holds
  until it commits. So writers to one schema take turns, positions follow
  commit order exactly (a reader that resumes from a position never misses an
  entry committed later with a smaller one, as it could with an identity
  column, whose values are handed out at insert time), and a rolled-back
  transaction leaves no gap. Reads never wait for writers.

Threads and processes: a store can be shared by the threads of an
application, and any number of processes, on any number of machines, can open
stores on the same schema. Each operation takes a connection from the pool
for its duration. A :meth:`~PostgresStore.transaction` block pins one
connection to the calling thread until the block ends: operations of that
thread inside the block run on it; other threads keep using other
connections, and do not see the block's changes until it commits. A save from
a stale version fails with :class:`ConcurrencyError`, from any process.

Streaming: ``all()`` and ``for_customer()`` read through a server-side cursor
(``DECLARE … CURSOR`` / ``FETCH``, :data:`PAGE` rows at a time) inside a
read-only transaction on a connection of their own, so an iteration is one
consistent snapshot and memory stays bounded. The connection goes back to the
pool when the iterator is exhausted, closed, or garbage-collected: an
iterator kept half-read holds one pooled connection. Inside a transaction
block they read the block's own connection in keyset pages (as the SQLite
backend does), so they see the block's changes. ``events.since()`` always
reads in keyset pages.

No psycopg exception reaches a caller: every call to the driver goes through
one boundary (:meth:`PostgresStore._guard`) that turns driver errors into
:class:`DuplicateError`, :class:`NotFound` or :class:`StorageError`. A lost
connection is a :class:`StorageError`; the transaction it was in is rolled
back by the server, the pool replaces the connection, and the next operation
works.

Features used, so users of PostgreSQL-compatible engines can judge: standard
SQL tables, indexes, foreign keys, ``UPDATE … RETURNING`` and data-modifying
``WITH`` (common table expressions), savepoints, ``COPY … FROM STDIN`` (text
format) for bulk ingest, SQL cursors (``DECLARE``/``FETCH``) in read-only
transactions, ``pg_advisory_xact_lock`` (only while migrating),
``INSERT … ON CONFLICT`` (only while migrating), transactional DDL (the
migration is one transaction), ``CREATE SCHEMA IF NOT EXISTS``,
``SET LOCAL search_path`` and ``information_schema.tables``. No identity
columns, sequences, triggers, stored procedures, ``LISTEN``/``NOTIFY`` or
extensions.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._records import replace
from .._validation import integer
from ..cases import Case
from ..customers import Customer
from ..errors import (
    ConcurrencyError,
    CustServiceError,
    DuplicateError,
    NotFound,
    StorageError,
    ValidationError,
)
from ..interactions import Interaction
from . import _codec, _common
from .protocols import ChangeEvent, Kind

if TYPE_CHECKING:
    import datetime as dt

    import psycopg
    import psycopg_pool

    from ..analytics.scorecard import Scorecard, ScorecardQuery

__all__ = ["APPLICATION", "MIGRATIONS", "PostgresStore", "open_postgres_store"]

R = TypeVar("R", Customer, Interaction, Case)

APPLICATION = "custservice"
"""The value of ``application`` in ``custservice_meta``: marks a schema as ours."""

Migration: TypeAlias = "Sequence[str | Callable[[psycopg.Connection[Any]], None]]"
"""One schema step: SQL statements, or functions given the connection, run in order.

Steps run with ``search_path`` set to the store's schema, so they name tables
without a schema.
"""

MIGRATIONS: list[Migration] = [
    (
        # 1: customers, interactions, cases and the change feed.
        """CREATE TABLE customers (
            id UUID PRIMARY KEY,
            opened_at BIGINT NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX customers_opened ON customers (opened_at, id)",
        """CREATE TABLE interactions (
            id UUID PRIMARY KEY,
            customer_id UUID NOT NULL REFERENCES customers (id),
            opened_at BIGINT NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX interactions_customer ON interactions (customer_id, opened_at, id)",
        "CREATE INDEX interactions_opened ON interactions (opened_at, id)",
        """CREATE TABLE cases (
            id UUID PRIMARY KEY,
            customer_id UUID NOT NULL REFERENCES customers (id),
            opened_at BIGINT NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX cases_customer ON cases (customer_id, opened_at, id)",
        "CREATE INDEX cases_opened ON cases (opened_at, id)",
        """CREATE TABLE events (
            position BIGINT PRIMARY KEY,
            kind TEXT NOT NULL,
            action TEXT NOT NULL,
            record_id UUID NOT NULL,
            customer_id UUID NOT NULL,
            version INTEGER
        )""",
        # forget deletes a customer's entries: without this it would scan the feed.
        "CREATE INDEX events_customer ON events (customer_id)",
        # The feed's counter: one row, updated first by every writing transaction.
        """CREATE TABLE events_head (
            singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
            position BIGINT NOT NULL
        )""",
        "INSERT INTO events_head (singleton, position) VALUES (TRUE, 0)",
    ),
]
"""The schema's history: step ``n`` takes a schema from version ``n`` to ``n + 1``.

Append a step to change the schema; never edit a released one. Opening a
store runs every step its schema lacks, and records the new version, in one
transaction.
"""

PAGE = 500
"""Rows per ``FETCH`` (or per page) when iterating: memory stays bounded, round trips few."""

_BATCH = 10_000
"""Records per ``COPY`` in ``add_many`` (and change-feed positions reserved at once)."""

_CHUNK = 500
"""Records encoded per write into a ``COPY``: the server parses one while the next is encoded."""

_TABLE: dict[Kind, str] = {"customer": "customers", "interaction": "interactions", "case": "cases"}
_KIND_OF_TABLE: dict[str, Kind] = {table: kind for kind, table in _TABLE.items()}
_OURS = ("custservice_meta", "customers", "interactions", "cases", "events", "events_head")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_INSTALL = 'the PostgreSQL backend needs psycopg: pip install "custservice[postgres]"'
_micros = _codec.micros


def open_postgres_store(url: str) -> PostgresStore:
    """Open the store a ``postgresql://`` URL names (the ``postgresql`` entry point).

    Args:
        url: ``postgresql://user:password@host:port/dbname``, optionally with
            ``?schema=NAME``, ``?min_size=N``, ``?max_size=N``,
            ``?timeout=SECONDS`` and any libpq connection parameter.
            ``postgres://`` and ``postgresql+psycopg://`` are accepted too.

    Raises:
        StorageError: psycopg is not installed, the URL is malformed, the
            server cannot be reached, or the schema is not a custservice
            schema or has a newer schema version.
    """
    conninfo, options = _parse_url(url)
    return PostgresStore(conninfo, **options)


def _driver() -> Any:
    """The psycopg module, or a :class:`StorageError` saying how to install it."""
    try:
        import psycopg
        import psycopg_pool  # noqa: F401  (checked here, used by the store)
    except ImportError as exc:
        raise StorageError(_INSTALL) from exc
    return psycopg


def _parse_url(url: str) -> tuple[str, dict[str, Any]]:
    scheme, sep, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres", "postgresql+psycopg") or not sep:
        raise StorageError(
            f"malformed PostgreSQL URL {_safe(url)!r}: expected postgresql://user@host:port/dbname"
        )
    try:
        parts = urlsplit("postgresql://" + rest)
    except ValueError as exc:  # an unbalanced "[" or "]" in the host
        raise StorageError(f"malformed PostgreSQL URL {_safe(url)!r}: {exc}") from None
    options: dict[str, Any] = {}
    libpq: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ("min_size", "max_size"):
            try:
                options[key] = int(value)
            except ValueError:
                raise StorageError(
                    f"{key} must be a whole number of connections, got {value!r}"
                ) from None
        elif key == "timeout":
            try:
                options["timeout"] = float(value)
            except ValueError:
                raise StorageError(f"timeout must be a number of seconds, got {value!r}") from None
        elif key == "schema":
            options["schema"] = value
        else:
            libpq.append((key, value))
    if not any(key == "connect_timeout" for key, _ in libpq):
        libpq.append(("connect_timeout", "10"))
    conninfo = urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(libpq), ""))
    return conninfo, options


def _safe(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<unparsable URL>"
    return url.replace(f":{password}@", ":***@") if password else url


def _key(exc: Exception) -> uuid.UUID | None:
    """The id named in a constraint violation's detail (``Key (id)=(…)``), if any."""
    detail = getattr(getattr(exc, "diag", None), "message_detail", None) or ""
    found = _UUID.search(detail)
    return uuid.UUID(found.group()) if found else None


class _Local(threading.local):
    """What a thread holds in a store: the connection of its open transaction block."""

    conn: psycopg.Connection[Any] | None = None
    depth: int = 0


class _Repository(Generic[R]):
    """The records of one kind, in their own table."""

    def __init__(self, store: PostgresStore, cls: type[R]) -> None:
        self._store: PostgresStore = store
        self._cls: type[R] = cls
        self._kind: Kind = _common.KIND_OF[cls]
        kind = self._kind
        self._table = table = f"{store._schema_sql}.{_TABLE[kind]}"
        events = f"{store._schema_sql}.events"
        owner = self._owner_column = "id" if cls is Customer else "customer_id"
        columns = (
            "id, opened_at, version, data"
            if cls is Customer
            else "id, customer_id, opened_at, version, data"
        )
        values = "%s, %s, 1, %s" if cls is Customer else "%s, %s, %s, 1, %s"
        # One statement stores the row and its change-feed entry.
        self._insert = (
            f"WITH added AS (INSERT INTO {table} ({columns}) VALUES ({values}) "
            f"RETURNING id, {owner} AS owner) "
            f"INSERT INTO {events} (position, kind, action, record_id, customer_id, version) "
            f"SELECT %s, '{kind}', 'add', id, owner, 1 FROM added"
        )
        self._copy = f"COPY {table} ({columns}) FROM STDIN"
        self._update = (
            f"WITH saved AS (UPDATE {table} SET version = version + 1, opened_at = %s, data = %s "
            f"WHERE id = %s AND version = %s AND {owner} = %s "
            f"RETURNING id, {owner} AS owner, version) "
            f"INSERT INTO {events} (position, kind, action, record_id, customer_id, version) "
            f"SELECT %s, '{kind}', 'save', id, owner, version FROM saved"
        )
        self._current = f"SELECT version, {owner} FROM {table} WHERE id = %s"
        self._get = f"SELECT data FROM {table} WHERE id = %s"
        self._exists = f"SELECT 1 FROM {table} WHERE id = %s"
        self._count = f"SELECT count(*) FROM {table}"

    # -- writing ------------------------------------------------------------------

    def add(self, record: R) -> R:
        """Store a new record; returns it with ``version`` 1.

        Raises:
            DuplicateError: a record with this id is already stored.
            NotFound: (interactions, cases) the customer is not stored.
            ValidationError: ``record`` is not of this repository's type.
        """
        _common.check_record(record, self._cls)
        store = self._store
        stored = replace(record, version=1)
        rid, owner, opened, text = _codec.columns(stored, 1)
        row: tuple[Any, ...] = (
            (rid, opened, text) if self._cls is Customer else (rid, owner, opened, text)
        )
        with store._writing(record) as conn:
            position = store._allocate(conn, 1)
            conn.execute(self._insert, (*row, position))
        return stored

    def add_many(self, records: Iterable[R]) -> int:
        """Store many new records in one transaction (the bulk path); returns how many.

        Rows and change-feed entries are sent with ``COPY … FROM STDIN``, in
        batches. All or nothing, even inside an enclosing transaction: if one
        fails, none of them is stored. ``records`` is read in batches, so a
        generator of millions is fine.

        Raises:
            DuplicateError: a record's id is already stored, or appears twice.
            NotFound: (interactions, cases) a record's customer is not stored.
            ValidationError: an item is not of this repository's type.
        """
        store = self._store
        cls = self._cls
        kind = self._kind
        columns = _codec.columns
        customers = cls is Customer
        copy_rows = self._copy
        copy_events = store._copy_events
        items = iter(records)
        total = 0
        with store._writing() as conn:
            while batch := list(islice(items, _BATCH)):
                # First a cheap pass: an error the reference would raise at some
                # record is raised once the records before it are written (one of
                # them may fail first); the write is all or nothing anyway.
                deferred: CustServiceError | None = None
                for at, record in enumerate(batch):
                    if type(record) is not cls and not isinstance(record, cls):
                        deferred = ValidationError(
                            f"expected a {cls.__name__}, got {type(record).__name__}",
                            field="record",
                        )
                        del batch[at:]
                        break
                if not customers and batch:
                    deferred = self._missing_owner(conn, batch) or deferred
                if batch:
                    first = store._allocate(conn, len(batch))
                    events: list[str] = []
                    with conn.cursor() as cursor:
                        with cursor.copy(copy_rows) as copy:
                            # Encode while the server parses what was sent before.
                            for start in range(0, len(batch), _CHUNK):
                                rows: list[str] = []
                                for record in islice(batch, start, start + _CHUNK):
                                    rid, owner, opened, text = columns(record, 1)
                                    # COPY's text format: JSON escapes every control
                                    # character, so only the backslash needs escaping.
                                    text = text.replace("\\", "\\\\")
                                    rows.append(
                                        f"{rid}\t{opened}\t1\t{text}\n"
                                        if customers
                                        else f"{rid}\t{owner}\t{opened}\t1\t{text}\n"
                                    )
                                    events.append(f"{kind}\tadd\t{rid}\t{owner}\t1\n")
                                copy.write("".join(rows))
                        with cursor.copy(copy_events) as copy:
                            copy.write("".join([f"{p}\t{e}" for p, e in enumerate(events, first)]))
                    total += len(batch)
                if deferred is not None:
                    raise deferred
        return total

    def _missing_owner(
        self, conn: psycopg.Connection[Any], batch: list[R]
    ) -> CustServiceError | None:
        """The error for the first record of ``batch`` whose customer is not stored, if any,
        and ``batch`` cut before it.

        Foreign keys are checked when a ``COPY`` ends, not row by row: looking
        first makes the error the one the records' order gives, as in the
        reference.
        """
        owners = [_codec.owner_text(_common.owner(r)) for r in batch]
        wanted = list(set(owners))
        found = {str(r[0]) for r in conn.execute(self._store._owners_sql, (wanted,))}
        if len(found) == len(wanted):
            return None
        at = next(i for i, owner in enumerate(owners) if owner not in found)
        record = batch[at]
        del batch[at:]
        if (
            any(r.id == record.id for r in batch)
            or conn.execute(self._exists, (str(record.id),)).fetchone()
        ):
            return DuplicateError(self._kind, record.id)  # the reference checks this first
        return NotFound("customer", uuid.UUID(owners[at]))

    def save(self, record: R) -> R:
        """Store a changed record, only if nobody saved it since it was read.

        Raises:
            ConcurrencyError: the stored version differs from ``record.version``.
            NotFound: no record has this id.
            ValidationError: the record would move to another customer.
        """
        _common.check_record(record, self._cls)
        store = self._store
        stored = replace(record, version=record.version + 1)
        record_id, owner, opened, text = _codec.columns(stored)
        with store._writing() as conn:
            position = store._allocate(conn, 1)
            changed = conn.execute(
                self._update, (opened, text, record_id, record.version, owner, position)
            ).rowcount
            if changed != 1:
                current = conn.execute(self._current, (record_id,)).fetchone()
                if current is None:
                    raise NotFound(self._kind, record.id)
                if current[0] != record.version:
                    raise ConcurrencyError(self._kind, record.id, record.version, current[0])
                raise ValidationError(
                    "a record cannot move to another customer", field="customer_id"
                )
        return stored

    # -- reading ------------------------------------------------------------------

    def get(self, id: uuid.UUID) -> R:
        """The stored record with this id.

        Raises:
            NotFound: no record has this id.
        """
        _common.check_id(id)
        with self._store._connection() as conn:
            row = conn.execute(self._get, (str(id),)).fetchone()
        if row is None:
            raise NotFound(self._kind, id)
        return self._decode([row])[0]

    def count(self) -> int:
        """How many records are stored."""
        with self._store._connection() as conn:
            row = conn.execute(self._count).fetchone()
        return int(row[0]) if row else 0

    def all(self) -> Iterator[R]:
        """Every record, oldest first (by opening time, ties by id), streamed."""
        return self._stream([], [])

    def for_customer(
        self,
        customer_id: uuid.UUID,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Iterator[R]:
        """A customer's records, oldest first by opening time (ties by id), streamed.

        The window is ``since <= opened_at < until``; either bound may be ``None``.

        Raises:
            ValidationError: ``customer_id`` is not a UUID, or a bound is naive.
        """
        _common.check_id(customer_id, "customer_id")
        since, until = _common.window(since, until)
        where = [f"{self._owner_column} = %s"]
        params: list[Any] = [str(customer_id)]
        if since is not None:
            where.append("opened_at >= %s")
            params.append(_micros(since))
        if until is not None:
            where.append("opened_at < %s")
            params.append(_micros(until))
        if self._store._local.conn is None:
            # Most histories fit in one page: one statement reads them, a snapshot in
            # itself, without the round trips of a cursor. Longer ones are streamed
            # through a cursor from the start, so the iteration stays one snapshot.
            rows = self._page(where, params, None)
            if len(rows) < PAGE:
                return iter(self._decode(rows))
        return self._stream(where, params)

    def _stream(self, where: list[str], params: list[Any]) -> Iterator[R]:
        """Server-side cursor on a connection of its own; keyset pages inside a transaction.

        The first rows are read now, so a closed store fails at the call.
        """
        store = self._store
        store._check_open()
        if store._local.conn is not None:
            return self._follow(where, params, self._page(where, params, None))
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        query = f"SELECT data FROM {self._table}{clause} ORDER BY opened_at, id"
        rows = store._cursor(query, params)
        next(rows)  # opened: from now on, closing the iterator gives the connection back
        return self._records(rows)

    def _records(self, pages: Generator[list[Any], None, None]) -> Iterator[R]:
        try:
            for rows in pages:
                yield from self._decode(rows)
        finally:
            pages.close()  # gives the connection back now, not when collected

    def _follow(self, where: list[str], params: list[Any], rows: list[Any]) -> Iterator[R]:
        return _common.keyset_pages(
            rows, self._decode, lambda after: self._page(where, params, after), PAGE
        )

    def _page(
        self, where: list[str], params: list[Any], after: tuple[int, str] | None
    ) -> list[Any]:
        if after is not None:
            where = [*where, "(opened_at, id) > (%s, %s)"]
            params = [*params, after[0], after[1]]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT data FROM {self._table}{clause} ORDER BY opened_at, id LIMIT {PAGE}"
        with self._store._connection() as conn:
            return conn.execute(sql, params).fetchall()

    def _decode(self, rows: list[Any]) -> list[R]:
        return _common.decode_rows(self._cls, self._kind, rows, "table")


class _Events:
    """The change feed, in the ``events`` table."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        schema = store._schema_sql
        self._latest = f"SELECT position FROM {schema}.events_head"
        self._select = (
            "SELECT position, kind, action, record_id, customer_id, version "
            f"FROM {schema}.events WHERE position > %s ORDER BY position LIMIT {PAGE}"
        )

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        """Entries with a position greater than ``position``, in order, read in pages.

        Raises:
            ValidationError: ``position`` is not a whole number.
        """
        first = self._page(integer(position, "position"))
        return self._follow(first)

    def latest(self) -> int:
        """The position of the newest entry (0 when there is none)."""
        with self._store._connection() as conn:
            row = conn.execute(self._latest).fetchone()
        return 0 if row is None else int(row[0])

    def _follow(self, rows: list[Any]) -> Iterator[ChangeEvent]:
        while True:
            for position, kind, action, record_id, customer_id, version in rows:
                yield ChangeEvent(position, kind, action, record_id, customer_id, version)
            if len(rows) < PAGE:
                return
            rows = self._page(rows[-1][0])

    def _page(self, position: int) -> list[Any]:
        with self._store._connection() as conn:
            return conn.execute(self._select, (position,)).fetchall()


class PostgresStore:
    """A store in one schema of a PostgreSQL database; see the module documentation.

    Args:
        conninfo: a libpq connection string or ``postgresql://`` URL (without
            this library's own options).
        schema: the schema the tables live in; created if missing.
        min_size: connections the pool keeps open even when idle.
        max_size: the most connections the pool opens.
        timeout: seconds an operation waits for a free connection before
            giving up with a :class:`StorageError`.

    Raises:
        StorageError: psycopg is not installed, the server cannot be reached,
            the schema holds tables custservice did not create, or its schema
            version is newer than this version of the library understands.
    """

    def __init__(
        self,
        conninfo: str,
        *,
        schema: str = "public",
        min_size: int = 1,
        max_size: int = 10,
        timeout: float = 30.0,
    ) -> None:
        psycopg = _driver()
        from psycopg_pool import ConnectionPool

        if not isinstance(schema, str) or not _NAME.match(schema):
            raise StorageError(
                f"schema must be a name of letters, digits and _ (at most 63), got {schema!r}"
            )
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise StorageError(f"min_size must be a whole number, 0 or more, got {min_size!r}")
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1:
            raise StorageError(f"max_size must be a whole number, 1 or more, got {max_size!r}")
        if max_size < min_size:
            raise StorageError(f"max_size ({max_size}) is smaller than min_size ({min_size})")
        if not 0 < timeout <= threading.TIMEOUT_MAX:  # also refuses NaN and infinity
            raise StorageError(
                f"timeout must be a number of seconds, more than 0 and at most "
                f"{threading.TIMEOUT_MAX:g}"
            )
        self._pg = psycopg
        self._schema = schema
        self._schema_sql = f'"{schema}"'
        self._timeout = timeout
        self._closed = True  # until the schema is checked and the pool open
        self._local = _Local()
        try:
            params = psycopg.conninfo.conninfo_to_dict(conninfo)
        except psycopg.Error as exc:
            raise StorageError(f"malformed PostgreSQL connection string: {exc}") from None
        self._where = (
            f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
            f"/{params.get('dbname') or params.get('user') or ''}"
        )
        self._display = (
            urlunsplit(
                ("postgresql", f"{params['user']}@" if params.get("user") else "", "", "", "")
            )
            + self._where
        )
        self._copy_events = (
            f"COPY {self._schema_sql}.events "
            "(position, kind, action, record_id, customer_id, version) FROM STDIN"
        )
        self._owners_sql = f"SELECT id FROM {self._schema_sql}.customers WHERE id = ANY(%s::uuid[])"
        self._allocate_sql = (
            f"UPDATE {self._schema_sql}.events_head SET position = position + %s RETURNING position"
        )
        # Check (and initialise or migrate) the schema on a connection of its own,
        # which gives a clear error if the server cannot be reached.
        try:
            first = psycopg.connect(conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise StorageError(
                f"cannot connect to PostgreSQL at {self._where}: {_message(exc)}"
            ) from exc
        try:
            self._prepare(first)
        finally:
            first.close()
        self._pool: psycopg_pool.ConnectionPool[Any] = ConnectionPool(
            conninfo,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            kwargs={"autocommit": True},
            open=False,
            name=f"custservice:{self._where}/{schema}",
        )
        try:
            self._pool.open(wait=True, timeout=max(timeout, 1.0))
        except psycopg.Error as exc:
            self._pool.close()
            raise StorageError(
                f"cannot open a pool of connections to PostgreSQL at {self._where}: {_message(exc)}"
            ) from exc
        self._closed = False
        self._customers: _Repository[Customer] = _Repository(self, Customer)
        self._interactions: _Repository[Interaction] = _Repository(self, Interaction)
        self._cases: _Repository[Case] = _Repository(self, Case)
        self._events = _Events(self)

    @property
    def schema(self) -> str:
        """The schema the tables live in."""
        return self._schema

    @property
    def customers(self) -> _Repository[Customer]:
        """The customers."""
        return self._customers

    @property
    def interactions(self) -> _Repository[Interaction]:
        """The interactions."""
        return self._interactions

    @property
    def cases(self) -> _Repository[Case]:
        """The cases."""
        return self._cases

    @property
    def events(self) -> _Events:
        """The change feed."""
        return self._events

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: every change inside the block lands, or none does.

        The outermost block takes a connection from the pool and pins it to
        the calling thread until the block ends; every operation of this
        thread inside the block runs on it, in one PostgreSQL transaction. An
        inner block joins the outer one. An exception rolls everything back,
        change-feed entries included, and propagates. An operation that fails
        inside the block (a :class:`DuplicateError`, say) undoes only itself,
        so it can be caught and the block carried on.

        The first change in the block makes other writers to the same schema
        wait until the block ends (see the module documentation): keep
        blocks short.

        Raises:
            StorageError: the store is closed, or the connection was lost.
        """
        local = self._local
        self._check_open()
        if local.depth:
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        conn = self._begin("BEGIN")
        local.conn, local.depth = conn, 1
        try:
            yield
        except BaseException:
            self._finish(conn, "ROLLBACK")
            raise
        self._finish(conn, "COMMIT")

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them, and their change-feed entries.

        One ``forget`` entry is appended to the feed. PostgreSQL keeps the
        old row versions on disk until ``VACUUM`` (or autovacuum) reclaims
        them, and in its write-ahead log and backups for as long as those are
        kept; see the privacy guide.

        Raises:
            NotFound: no such customer is stored.
        """
        _common.check_id(customer_id, "customer_id")
        cid = str(customer_id)
        s = self._schema_sql
        with self._writing() as conn:
            position = self._allocate(conn, 1)
            if (
                conn.execute(f"SELECT 1 FROM {s}.customers WHERE id = %s", (cid,)).fetchone()
                is None
            ):
                raise NotFound("customer", customer_id)
            conn.execute(f"DELETE FROM {s}.interactions WHERE customer_id = %s", (cid,))
            conn.execute(f"DELETE FROM {s}.cases WHERE customer_id = %s", (cid,))
            conn.execute(f"DELETE FROM {s}.customers WHERE id = %s", (cid,))
            conn.execute(f"DELETE FROM {s}.events WHERE customer_id = %s", (cid,))
            conn.execute(
                f"INSERT INTO {s}.events (position, kind, action, record_id, customer_id, version) "
                "VALUES (%s, 'customer', 'forget', %s, %s, NULL)",
                (position, cid, cid),
            )

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data (``to_dict`` form), from one snapshot.

        Raises:
            NotFound: no such customer is stored.
        """
        local = self._local
        self._check_open()
        if local.conn is not None:
            return _common.export(self, customer_id)
        conn = self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        local.conn, local.depth = conn, 1
        try:
            result = _common.export(self, customer_id)
        except BaseException:
            self._finish(conn, "ROLLBACK")
            raise
        self._finish(conn, "COMMIT")
        return result

    def scorecard_pushdown(self, query: ScorecardQuery) -> Scorecard | None:
        """The scorecard of everything stored, computed in SQL from one snapshot.

        :func:`custservice.analytics.scorecard` calls this when given the
        store; the figures are exactly those of streaming every record. With
        service targets, the cases are streamed (through a server-side
        cursor) and evaluated in Python while the interactions stay in SQL.
        Inside a transaction block it reads the block's connection, so it
        sees the block's changes.

        Returns:
            The :class:`~custservice.analytics.Scorecard`, or ``None`` when this
            query is better streamed: records spread over centuries grouped by
            period, or a group key SQL cannot read exactly.

        Raises:
            StorageError: the store is closed, or the server failed.
        """
        from ._scorecard_sql import postgres_scorecard

        local = self._local
        self._check_open()
        conn = local.conn
        if conn is not None:
            with self._guard():
                conn.execute("SAVEPOINT custservice_scorecard")
                try:
                    result = postgres_scorecard(conn, self._schema_sql, query)
                except BaseException:
                    if not conn.broken:
                        conn.execute("ROLLBACK TO SAVEPOINT custservice_scorecard")
                    raise
                conn.execute("RELEASE SAVEPOINT custservice_scorecard")
            return result
        conn = self._begin("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        local.conn, local.depth = conn, 1
        try:
            with self._guard():
                result = postgres_scorecard(conn, self._schema_sql, query)
        except BaseException:
            self._finish(conn, "ROLLBACK")
            raise
        self._finish(conn, "COMMIT")
        return result

    def close(self) -> None:
        """Close the pool's connections; closing twice is harmless.

        Later operations raise :class:`StorageError`. A connection still
        pinned by a transaction block or held by an iterator is closed when
        it is given back.
        """
        if self._closed:
            return
        self._closed = True
        with suppress(Exception):
            self._pool.close(timeout=5.0)

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self._display!r}, schema={self._schema!r})"

    # -- internals ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    def _borrow(self) -> psycopg.Connection[Any]:
        """A connection from the pool, for one operation or one transaction block."""
        self._check_open()
        with self._guard():
            conn: psycopg.Connection[Any] = self._pool.getconn()
        return conn

    def _begin(self, statement: str) -> psycopg.Connection[Any]:
        """A borrowed connection with a transaction begun by ``statement``; given back
        to the pool if beginning fails."""
        conn = self._borrow()
        try:
            with self._guard():
                conn.execute(statement)
        except BaseException:
            self._give_back(conn)
            raise
        return conn

    def _give_back(self, conn: psycopg.Connection[Any]) -> None:
        """Return a connection to the pool; a broken one makes the pool check the others."""
        broken = conn.broken or conn.closed
        if not broken and conn.info.transaction_status != self._pg.pq.TransactionStatus.IDLE:
            with suppress(Exception):
                conn.execute("ROLLBACK")
        with suppress(Exception):
            self._pool.putconn(conn)
        if broken and not self._closed:
            # The server may have restarted: drop every dead idle connection now,
            # so the next operation gets a live one.
            with suppress(Exception):
                self._pool.check()

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """For one read: the thread's transaction connection, or one borrowed for it."""
        self._check_open()
        conn = self._local.conn
        if conn is not None:
            with self._guard():
                yield conn
            return
        conn = self._borrow()
        try:
            with self._guard():
                yield conn
        finally:
            self._give_back(conn)

    @contextmanager
    def _writing(self, record: Any = None) -> Iterator[psycopg.Connection[Any]]:
        """For one change: its own transaction, or a savepoint in the thread's transaction.

        Args:
            record: for a single insert, the record written, so a constraint
                violation can name it.
        """
        self._check_open()
        conn = self._local.conn
        if conn is None:
            with self._guard(record), self.transaction():
                conn = self._local.conn
                assert conn is not None
                yield conn
            return
        with self._guard(record):
            conn.execute("SAVEPOINT custservice_op")
            try:
                yield conn
            except BaseException:
                if not conn.broken:
                    conn.execute("ROLLBACK TO SAVEPOINT custservice_op")
                    conn.execute("RELEASE SAVEPOINT custservice_op")
                raise
            conn.execute("RELEASE SAVEPOINT custservice_op")

    def _allocate(self, conn: psycopg.Connection[Any], n: int) -> int:
        """Reserve ``n`` change-feed positions; returns the first.

        Updating the one-row counter locks it until the transaction ends: the
        first write of every transaction does this, so writers take turns and
        positions follow commit order.
        """
        row = conn.execute(self._allocate_sql, (n,)).fetchone()
        assert row is not None
        return int(row[0]) - n + 1

    def _finish(self, conn: psycopg.Connection[Any], statement: str) -> None:
        """End the outermost block with ``COMMIT`` or ``ROLLBACK``; give back its connection."""
        local = self._local
        local.conn, local.depth = None, 0
        try:
            if statement == "COMMIT":
                with self._guard():
                    conn.execute("COMMIT")
            elif not conn.broken:
                with suppress(self._pg.Error):
                    conn.execute("ROLLBACK")
        finally:
            self._give_back(conn)

    def _cursor(self, query: str, params: list[Any]) -> Generator[list[Any], None, None]:
        """Pages of rows from a server-side cursor, on a connection of its own.

        Yields ``[]`` once it is open (the caller advances past it), then
        pages of at most :data:`PAGE` rows. Closing the generator, or losing
        it to the garbage collector, ends its transaction and gives the
        connection back.
        """
        conn = self._borrow()
        fetch = f"FETCH FORWARD {PAGE} FROM custservice_rows"
        try:
            with self._guard(), conn.pipeline():
                conn.execute("BEGIN READ ONLY")
                conn.execute(
                    f"DECLARE custservice_rows NO SCROLL CURSOR FOR {query}",
                    params,
                    prepare=False,
                )
                rows = conn.execute(fetch, prepare=False).fetchall()
            yield []
            while True:
                yield rows
                if len(rows) < PAGE:
                    return
                self._check_open()
                with self._guard():
                    rows = conn.execute(fetch, prepare=False).fetchall()
        finally:
            if not conn.broken:
                with suppress(Exception):
                    conn.execute("ROLLBACK")  # read only: ends the snapshot, closes the cursor
            self._give_back(conn)

    @contextmanager
    def _guard(self, record: Any = None) -> Iterator[None]:
        """The one boundary with the driver: turns psycopg errors into ours.

        Args:
            record: for a single insert, the record written, so a constraint
                violation can name it.
        """
        try:
            yield
        except CustServiceError:
            raise
        except UnicodeEncodeError as exc:
            raise ValidationError(
                "text with unpaired surrogates cannot be stored", field="record"
            ) from exc
        except self._pg.Error as exc:
            raise self._translate(exc, record) from exc

    def _translate(self, exc: Exception, record: Any) -> CustServiceError:
        errors = self._pg.errors
        from psycopg_pool import PoolClosed, PoolTimeout

        if isinstance(exc, errors.UniqueViolation):
            table = getattr(exc.diag, "table_name", None) or ""
            kind = _KIND_OF_TABLE.get(table)
            if record is not None and kind in (None, _common.KIND_OF.get(type(record))):
                return DuplicateError(_common.KIND_OF[type(record)], record.id)
            if kind is not None:
                return DuplicateError(kind, _key(exc))
        if isinstance(exc, errors.ForeignKeyViolation):
            if record is not None:
                return NotFound("customer", _common.owner(record))
            return NotFound("customer", _key(exc))
        if isinstance(exc, PoolClosed) or (
            self._closed and isinstance(exc, errors.OperationalError)
        ):
            return StorageError("the store is closed")
        if isinstance(exc, PoolTimeout):
            return StorageError(
                f"no connection to PostgreSQL at {self._where} became free within "
                f"{self._timeout:g} s; raise max_size, or close iterators left half-read; "
                "nothing was changed"
            )
        if isinstance(exc, errors.SerializationFailure | errors.DeadlockDetected):
            return StorageError(
                f"a concurrent transaction conflicted with this one ({_message(exc)}); "
                "it was rolled back, nothing was changed: try again"
            )
        if isinstance(exc, errors.OperationalError):
            return StorageError(
                f"lost the connection to PostgreSQL at {self._where} ({_message(exc)}); "
                "its transaction was rolled back: nothing was changed"
            )
        return StorageError(f"PostgreSQL at {self._where} failed: {_message(exc)}")

    # -- schema --------------------------------------------------------------------

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        """Check the schema is ours and current; initialise or migrate it if needed."""
        latest = len(MIGRATIONS)
        with self._guard():
            conn.execute("BEGIN")
            try:
                version = self._schema_version(conn, latest)
                if version < latest:
                    # Processes opening a new schema at once: one migrates, the
                    # others wait here, then find it done.
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key(),))
                    version = self._schema_version(conn, latest)
            except BaseException:
                with suppress(self._pg.Error):
                    conn.execute("ROLLBACK")
                raise
        if version == latest:
            with self._guard():
                conn.execute("COMMIT")
            return
        try:
            self._migrate(conn, version, latest)
            conn.execute("COMMIT")
        except BaseException as exc:
            with suppress(self._pg.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, CustServiceError):
                raise
            raise StorageError(
                f"migrating schema {self._schema!r} of {self._where} from schema version "
                f"{version} to {latest} failed ({type(exc).__name__}: "
                f"{_message(exc) if isinstance(exc, self._pg.Error) else exc}); "
                "nothing was changed"
            ) from exc

    def _migrate(self, conn: psycopg.Connection[Any], version: int, latest: int) -> None:
        s = self._schema_sql
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        conn.execute(f"SET LOCAL search_path TO {s}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS custservice_meta "
            "(key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO custservice_meta (key, value) VALUES ('application', %s) "
            "ON CONFLICT (key) DO NOTHING",
            (APPLICATION,),
        )
        for step in MIGRATIONS[version:]:
            for action in step:
                if callable(action):
                    action(conn)
                else:
                    conn.execute(action)
        conn.execute(
            "INSERT INTO custservice_meta (key, value) VALUES ('schema_version', %s) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(latest),),
        )

    def _schema_version(self, conn: psycopg.Connection[Any], latest: int) -> int:
        marks = ", ".join(["%s"] * len(_OURS))
        found = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                f"WHERE table_schema = %s AND table_name IN ({marks})",
                (self._schema, *_OURS),
            )
        }
        where = f"schema {self._schema!r} of the PostgreSQL database {self._where}"
        if "custservice_meta" in found:
            meta = dict(conn.execute(f"SELECT key, value FROM {self._schema_sql}.custservice_meta"))
            if meta.get("application") == APPLICATION:
                try:
                    version = int(meta.get("schema_version", 0))
                except ValueError:
                    version = -1
                if version > latest:
                    raise StorageError(
                        f"{where} has schema version {version}, newer than this version of "
                        f"custservice understands ({latest}); upgrade custservice to open it"
                    )
                if version >= 0:
                    return version
        elif not found:
            return 0  # nothing of ours or in our way: a new schema
        names = ", ".join(sorted(found))
        raise StorageError(
            f"{where} holds tables ({names}) of another application (no custservice marker); "
            "it was not changed"
        )

    def _lock_key(self) -> int:
        """The advisory lock that serialises migrations of this schema."""
        digest = hashlib.sha256(f"custservice migrate {self._schema}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)


def _message(exc: BaseException) -> str:
    """A driver error's primary message: never its detail, which may quote row data."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if primary:
        return str(primary)
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
