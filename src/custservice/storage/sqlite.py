"""The SQLite backend (``sqlite:///path``): the embedded default, on the stdlib ``sqlite3``.

Open one with ``open_store("sqlite:///relative/path.db")`` or
``open_store("sqlite:////absolute/path.db")`` (four slashes: the scheme's
three, then the root of the absolute path); ``sqlite:///:memory:`` gives a
private in-memory database. Options go in the query string:
``?busy_timeout=10`` (seconds to wait for another process's write,
default 5), ``?synchronous=normal`` (faster commits that may lose the
last transactions, never the file's consistency, on a power cut; the
default ``full`` loses nothing that committed) and ``?cache_mb=64`` (the
page cache, in MiB).

The file:

- runs in WAL mode (readers never wait for writers), with foreign keys
  enforced and ``secure_delete`` on, so erased data is overwritten, not just
  unlinked from the b-tree. ``forget`` checkpoints the WAL into the file when
  its transaction commits, and ``close`` checkpoints and removes it, so the
  bytes of a forgotten customer do not linger in either file. (Neither waits
  for another connection reading the file: the WAL is then emptied once that
  reader is done, at the latest when the last connection closes.)
- is marked with ``PRAGMA application_id`` (:data:`APPLICATION_ID`) and its
  schema version with ``PRAGMA user_version``. A new file is initialised;
  an older schema is migrated, all steps of :data:`MIGRATIONS` in one
  transaction; a newer schema, another application's database, or a file
  that is not SQLite at all is refused with a :class:`StorageError` and left
  exactly as it was.
- keeps each record as its ``to_json`` text, beside the columns that index
  it: ``id``, ``customer_id``, ``opened_at`` (UTC microseconds) and
  ``version``. The change feed is a table written in the same transaction as
  each change.

Writes run in ``BEGIN IMMEDIATE`` transactions: processes sharing a file
take turns (waiting up to the busy timeout), and a save from a stale version
fails with :class:`ConcurrencyError`, never with "database is locked".

Threads: a store holds one connection, guarded by one lock, so the threads
of a web application can share it. Each operation holds the lock while it
talks to SQLite; a :meth:`~SQLiteStore.transaction` block holds it until
the block ends, so other threads wait for it, as with the in-memory store.
``all()``, ``for_customer()`` and ``events.since()`` read in pages (keyset
pagination, one short query per page): they hold no lock and no open
statement between pages, so an iterator left half-read blocks nobody, and
writes between pages, from any thread, are safe. Each page is consistent;
the whole iteration is not a snapshot (a record saved meanwhile may be seen
in its new version).

No ``sqlite3`` exception reaches a caller: every call to the driver goes
through one boundary (:meth:`SQLiteStore._guard`) that turns driver errors
into :class:`DuplicateError`, :class:`NotFound` or :class:`StorageError`.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import islice
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qsl, unquote

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
    from ..analytics.scorecard import Scorecard, ScorecardQuery

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SQLiteStore", "open_sqlite_store"]

R = TypeVar("R", Customer, Interaction, Case)

APPLICATION_ID = 0x63737663
"""``PRAGMA application_id`` of every custservice database (the bytes ``csvc``)."""

Migration = Sequence[str | Callable[[sqlite3.Connection], None]]
"""One schema step: SQL statements, or functions given the connection, run in order."""

MIGRATIONS: list[Migration] = [
    (
        # 1: customers, interactions, cases and the change feed.
        """CREATE TABLE customers (
            id TEXT PRIMARY KEY,
            opened_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX customers_opened ON customers (opened_at, id)",
        """CREATE TABLE interactions (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            opened_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX interactions_customer ON interactions (customer_id, opened_at, id)",
        "CREATE INDEX interactions_opened ON interactions (opened_at, id)",
        """CREATE TABLE cases (
            id TEXT PRIMARY KEY,
            customer_id TEXT NOT NULL REFERENCES customers (id),
            opened_at INTEGER NOT NULL,
            version INTEGER NOT NULL,
            data TEXT NOT NULL
        )""",
        "CREATE INDEX cases_customer ON cases (customer_id, opened_at, id)",
        "CREATE INDEX cases_opened ON cases (opened_at, id)",
        """CREATE TABLE events (
            position INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL,
            action TEXT NOT NULL,
            record_id TEXT NOT NULL,
            customer_id TEXT NOT NULL,
            version INTEGER
        )""",
        # forget finds a customer's entries through their records' ids: without an
        # index it would scan the feed. Ids are time-ordered, so this index grows at
        # its end, where one on customer_id would take a random place per entry.
        "CREATE INDEX events_record ON events (record_id)",
    ),
]
"""The schema's history: step ``n`` takes a file from ``user_version`` ``n`` to ``n + 1``.

Append a step to change the schema; never edit a released one. Opening a
file runs every step it lacks, and sets ``user_version``, in one transaction.
"""

PAGE = 500
"""Rows per query when iterating: memory stays bounded, queries stay few."""

_BATCH = 5000
"""Records encoded and inserted per ``executemany`` in ``add_many``."""

_TABLE: dict[Kind, str] = {"customer": "customers", "interaction": "interactions", "case": "cases"}
_EVENT_SQL = (
    "INSERT INTO events (kind, action, record_id, customer_id, version) VALUES (?, ?, ?, ?, ?)"
)
_FORGET_EVENTS_SQL = """
    DELETE FROM events WHERE customer_id = ?1 AND record_id IN (
        SELECT ?1
        UNION ALL SELECT id FROM interactions WHERE customer_id = ?1
        UNION ALL SELECT id FROM cases WHERE customer_id = ?1
    )"""
_micros = _codec.micros
_INT64_MAX = 2**63 - 1
"""The largest integer SQLite stores; Python's are unbounded."""
_BUSY_TIMEOUT_MAX = (2**31 - 1) // 1000
"""The longest busy timeout SQLite takes, in seconds (it counts milliseconds in a C int)."""


def open_sqlite_store(url: str) -> SQLiteStore:
    """Open the SQLite store a ``sqlite://`` URL names (the ``sqlite`` entry point).

    Args:
        url: ``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` or
            ``sqlite:///:memory:``, optionally with ``?busy_timeout=SECONDS``,
            ``?synchronous=full|normal`` and ``?cache_mb=MIB``.

    Raises:
        StorageError: the URL is malformed, or the file cannot be opened, is
            not a custservice database, or has a newer schema.

    Examples:
        >>> with open_sqlite_store("sqlite:///:memory:") as store:
        ...     store.customers.count()
        0
    """
    path, options = _parse_url(url)
    return SQLiteStore(path, **options)


def _parse_url(url: str) -> tuple[str, dict[str, Any]]:
    forms = "expected sqlite:///relative.db, sqlite:////absolute/path.db or sqlite:///:memory:"
    head, _, query = url.partition("?")
    scheme, sep, rest = head.partition("://")
    if scheme != "sqlite" or not sep or not rest.startswith("/") or len(rest) < 2:
        raise StorageError(f"malformed SQLite URL {url!r}: {forms}")
    path = unquote(rest[1:])
    options: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "busy_timeout":
            try:
                options["busy_timeout"] = float(value)
            except ValueError:
                raise StorageError(
                    f"busy_timeout must be a number of seconds, got {value!r}"
                ) from None
        elif key == "synchronous":
            options["synchronous"] = value
        elif key == "cache_mb":
            try:
                options["cache_mb"] = int(value)
            except ValueError:
                raise StorageError(
                    f"cache_mb must be a whole number of MiB, got {value!r}"
                ) from None
        else:
            raise StorageError(
                f"unknown SQLite URL option {key!r}; "
                "known options: busy_timeout, synchronous, cache_mb"
            )
    return path, options


class _Repository(Generic[R]):
    """The records of one kind, in their own table."""

    def __init__(self, store: SQLiteStore, cls: type[R]) -> None:
        self._store = store
        self._cls: type[R] = cls
        self._kind: Kind = _common.KIND_OF[cls]
        table = _TABLE[self._kind]
        self._owner_column = "id" if cls is Customer else "customer_id"
        if cls is Customer:
            self._insert = f"INSERT INTO {table} (id, opened_at, version, data) VALUES (?, ?, ?, ?)"
        else:
            self._insert = (
                f"INSERT INTO {table} (id, customer_id, opened_at, version, data) "
                "VALUES (?, ?, ?, ?, ?)"
            )
        self._update = (
            f"UPDATE {table} SET version = version + 1, opened_at = ?, data = ? "
            f"WHERE id = ? AND version = ? AND {self._owner_column} = ?"
        )
        self._current = f"SELECT version, {self._owner_column} FROM {table} WHERE id = ?"
        self._get = f"SELECT data FROM {table} WHERE id = ?"
        self._count = f"SELECT count(*) FROM {table}"
        self._table = table

    # -- writing ------------------------------------------------------------------

    def add(self, record: R) -> R:
        """Store a new record; returns it with ``version`` 1.

        Raises:
            DuplicateError: a record with this id is already stored.
            NotFound: (interactions, cases) the customer is not stored.
            ValidationError: ``record`` is not of this repository's type.
        """
        store = self._store
        with store.transaction(), store._guard(lambda: record) as conn:
            _common.check_record(record, self._cls)
            stored = replace(record, version=1)
            row, event = self._row(stored, 1)
            conn.execute(self._insert, row)
            conn.execute(_EVENT_SQL, event)
        return stored

    def add_many(self, records: Iterable[R]) -> int:
        """Store many new records in one transaction (the bulk path); returns how many.

        All or nothing, even inside an enclosing transaction: if one fails,
        none of them is stored. ``records`` is read in batches, so a
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
        batch: list[R] = []
        start = 0
        count = 0

        def failed() -> R | None:
            # executemany stops at the failing row; the rows before it were inserted.
            index = store._conn.total_changes - start
            return batch[index] if 0 <= index < len(batch) else None

        items = iter(records)
        with store.transaction(), store._guard(failed) as conn:
            conn.execute("SAVEPOINT add_many")
            try:
                while batch := list(islice(items, _BATCH)):
                    rows: list[tuple[Any, ...]] = []
                    events = []
                    for record in batch:
                        if type(record) is not cls:
                            _common.check_record(record, cls)
                        rid, owner, opened, text = columns(record, 1)
                        rows.append(
                            (rid, opened, 1, text) if customers else (rid, owner, opened, 1, text)
                        )
                        events.append((kind, "add", rid, owner, 1))
                    start = conn.total_changes
                    conn.executemany(self._insert, rows)
                    batch = []
                    conn.executemany(_EVENT_SQL, events)
                    count += len(rows)
            except BaseException:
                conn.execute("ROLLBACK TO add_many")
                conn.execute("RELEASE add_many")
                raise
            conn.execute("RELEASE add_many")
        return count

    def save(self, record: R) -> R:
        """Store a changed record, only if nobody saved it since it was read.

        Raises:
            ConcurrencyError: the stored version differs from ``record.version``.
            NotFound: no record has this id.
            ValidationError: the record would move to another customer.
        """
        _common.check_record(record, self._cls)
        store = self._store
        with store.transaction(), store._guard() as conn:
            stored = replace(record, version=record.version + 1)
            record_id, owner, opened, text = _codec.columns(stored)
            # A version SQLite cannot hold (beyond 64 bits) matches no row: -1 never does.
            expected = record.version if record.version <= _INT64_MAX else -1
            changed = conn.execute(
                self._update, (opened, text, record_id, expected, owner)
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
            conn.execute(_EVENT_SQL, (self._kind, "save", record_id, owner, stored.version))
        return stored

    def _row(self, record: R, version: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The table row and the change-feed row that add ``record`` as ``version``."""
        rid, owner, opened, text = _codec.columns(record, version)
        row = (
            (rid, opened, version, text)
            if self._cls is Customer
            else (rid, owner, opened, version, text)
        )
        return row, (self._kind, "add", rid, owner, version)

    # -- reading ------------------------------------------------------------------

    def get(self, id: uuid.UUID) -> R:
        """The stored record with this id.

        Raises:
            NotFound: no record has this id.
        """
        _common.check_id(id)
        with self._store._guard() as conn:
            row = conn.execute(self._get, (str(id),)).fetchone()
        if row is None:
            raise NotFound(self._kind, id)
        return self._decode([row])[0]

    def count(self) -> int:
        """How many records are stored."""
        with self._store._guard() as conn:
            return int(conn.execute(self._count).fetchone()[0])

    def all(self) -> Iterator[R]:
        """Every record, oldest first (by opening time, ties by id), read in pages."""
        return self._pages([], [])

    def for_customer(
        self,
        customer_id: uuid.UUID,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Iterator[R]:
        """A customer's records, oldest first by opening time (ties by id), read in pages.

        The window is ``since <= opened_at < until``; either bound may be ``None``.

        Raises:
            ValidationError: ``customer_id`` is not a UUID, or a bound is naive.
        """
        _common.check_id(customer_id, "customer_id")
        since, until = _common.window(since, until)
        where = [f"{self._owner_column} = ?"]
        params: list[Any] = [str(customer_id)]
        if since is not None:
            where.append("opened_at >= ?")
            params.append(_micros(since))
        if until is not None:
            where.append("opened_at < ?")
            params.append(_micros(until))
        return self._pages(where, params)

    def _pages(self, where: list[str], params: list[Any]) -> Iterator[R]:
        # The first page is read now, so a closed store fails at the call, as in memory.
        first = self._page(where, params, None)
        return self._follow(where, params, first)

    def _follow(self, where: list[str], params: list[Any], rows: list[Any]) -> Iterator[R]:
        return _common.keyset_pages(
            rows, self._decode, lambda after: self._page(where, params, after), PAGE
        )

    def _page(
        self, where: list[str], params: list[Any], after: tuple[int, str] | None
    ) -> list[Any]:
        if after is not None:
            where = [*where, "(opened_at, id) > (?, ?)"]
            params = [*params, after[0], after[1]]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        sql = f"SELECT data FROM {self._table}{clause} ORDER BY opened_at, id LIMIT {PAGE}"
        with self._store._guard() as conn:
            return conn.execute(sql, params).fetchall()

    def _decode(self, rows: list[Any]) -> list[R]:
        return _common.decode_rows(self._cls, self._kind, rows, "file")


class _Events:
    """The change feed, in the ``events`` table."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        """Entries with a position greater than ``position``, in order, read in pages.

        Raises:
            ValidationError: ``position`` is not a whole number.
        """
        position = min(max(integer(position, "position"), 0), _INT64_MAX)
        first = self._page(position)
        return self._follow(first)

    def latest(self) -> int:
        """The position of the newest entry (0 when there is none)."""
        with self._store._guard() as conn:
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return 0 if row is None else int(row[0])

    def _follow(self, rows: list[Any]) -> Iterator[ChangeEvent]:
        UUID = uuid.UUID
        while True:
            for position, kind, action, record_id, customer_id, version in rows:
                yield ChangeEvent(
                    position, kind, action, UUID(record_id), UUID(customer_id), version
                )
            if len(rows) < PAGE:
                return
            rows = self._page(rows[-1][0])

    def _page(self, position: int) -> list[Any]:
        with self._store._guard() as conn:
            return conn.execute(
                "SELECT position, kind, action, record_id, customer_id, version FROM events "
                f"WHERE position > ? ORDER BY position LIMIT {PAGE}",
                (position,),
            ).fetchall()


class SQLiteStore:
    """A store in one SQLite file; see the module documentation.

    Args:
        path: the database file (created if missing), or ``":memory:"``.
        busy_timeout: seconds to wait for another connection's write lock
            before giving up with a :class:`StorageError`.
        synchronous: ``"full"`` (the default: a committed transaction
            survives a power cut) or ``"normal"`` (faster commits; the last
            transactions may be lost on a power cut, the file stays sound).
        cache_mb: the most memory, in MiB, SQLite may use to cache pages of
            this file (bulk ingest into big indexes needs it).

    Raises:
        StorageError: the file cannot be opened, is not a custservice
            database, or has a schema newer than this version of the library.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "full",
        cache_mb: int = 64,
    ) -> None:
        self._path = os.fspath(path)
        if synchronous.lower() not in ("full", "normal"):
            raise StorageError(f"synchronous must be 'full' or 'normal', got {synchronous!r}")
        if not 0 <= busy_timeout <= _BUSY_TIMEOUT_MAX:  # also refuses NaN
            raise StorageError(
                f"busy_timeout must be a number of seconds from 0 to {_BUSY_TIMEOUT_MAX}"
            )
        if isinstance(cache_mb, bool) or not isinstance(cache_mb, int) or cache_mb < 1:
            raise StorageError(
                f"cache_mb must be a whole number of MiB, 1 or more, got {cache_mb!r}"
            )
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._depth = 0
        self._erased = False
        self._closed = True  # until the file is open and checked
        try:
            self._conn = sqlite3.connect(
                self._path,
                timeout=busy_timeout,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=256,
            )
        except (sqlite3.Error, ValueError) as exc:  # ValueError: a NUL character in the path
            raise StorageError(f"cannot open the SQLite database {self._path!r}: {exc}") from exc
        try:
            with self._guard(opening=True) as conn:
                conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute(f"PRAGMA synchronous = {synchronous.upper()}")
                conn.execute(f"PRAGMA cache_size = {-1024 * cache_mb}")
                self._prepare(conn)
        except BaseException:
            self._conn.close()
            raise
        self._closed = False
        self._customers: _Repository[Customer] = _Repository(self, Customer)
        self._interactions: _Repository[Interaction] = _Repository(self, Interaction)
        self._cases: _Repository[Case] = _Repository(self, Case)
        self._events = _Events(self)

    @property
    def path(self) -> str:
        """The database file's path, as given (``":memory:"`` for an in-memory database)."""
        return self._path

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

        The outermost block is one ``BEGIN IMMEDIATE`` transaction: it takes
        the file's write lock when it starts (waiting up to the busy
        timeout), and holds this store's lock until it ends. An inner block
        joins the outer one. An exception rolls everything back, change-feed
        entries included, and propagates.

        Raises:
            StorageError: the store is closed, or the write lock could not be
                had within the busy timeout.
        """
        with self._lock:
            self._check_open()
            if self._depth == 0:
                with self._guard() as conn:
                    conn.execute("BEGIN IMMEDIATE")
                self._erased = False
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._finish("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._finish("COMMIT")

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them, and their change-feed entries.

        One ``forget`` entry is appended to the feed. With ``secure_delete``
        on, the erased rows are overwritten with zeros; when the transaction
        commits, the WAL is checkpointed into the file and truncated, so the
        data does not linger there either.

        Raises:
            NotFound: no such customer is stored.
        """
        _common.check_id(customer_id, "customer_id")
        cid = str(customer_id)
        with self.transaction(), self._guard() as conn:
            if conn.execute("SELECT 1 FROM customers WHERE id = ?", (cid,)).fetchone() is None:
                raise NotFound("customer", customer_id)
            # A record never changes customer (save refuses it), so every entry about
            # this customer names the customer or one of their stored records.
            conn.execute(_FORGET_EVENTS_SQL, (cid,))
            conn.execute("DELETE FROM interactions WHERE customer_id = ?", (cid,))
            conn.execute("DELETE FROM cases WHERE customer_id = ?", (cid,))
            conn.execute("DELETE FROM customers WHERE id = ?", (cid,))
            conn.execute(_EVENT_SQL, ("customer", "forget", cid, cid, None))
            self._erased = True

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data (``to_dict`` form), from one snapshot.

        Raises:
            NotFound: no such customer is stored.
        """
        with self._lock:
            self._check_open()
            if self._depth:
                return _common.export(self, customer_id)
            with self._guard() as conn:
                conn.execute("BEGIN")  # a read transaction: one consistent snapshot
            self._depth += 1
            try:
                return _common.export(self, customer_id)
            finally:
                self._depth -= 1
                self._finish("COMMIT")

    def scorecard_pushdown(self, query: ScorecardQuery) -> Scorecard | None:
        """The scorecard of everything stored, computed in SQL from one snapshot.

        :func:`custservice.analytics.scorecard` calls this when given the
        store; the figures are exactly those of streaming every record. With
        service targets, the cases are streamed and evaluated in Python while
        the interactions stay in SQL.

        Returns:
            The :class:`~custservice.analytics.Scorecard`, or ``None`` when this
            query is better streamed: SQLite older than 3.38, records spread
            over centuries grouped by period, or a group key SQL cannot read
            exactly.

        Raises:
            StorageError: the store is closed, or the database failed.
        """
        from ._scorecard_sql import sqlite_scorecard

        with self._lock:
            self._check_open()
            if self._depth:
                with self._guard() as conn:
                    return sqlite_scorecard(conn, query)
            with self._guard() as conn:
                conn.execute("BEGIN")  # a read transaction: one consistent snapshot
            self._depth += 1
            try:
                with self._guard() as conn:
                    return sqlite_scorecard(conn, query)
            finally:
                self._depth -= 1
                self._finish("COMMIT")

    def close(self) -> None:
        """Checkpoint the WAL into the file, remove it, and close; closing twice is harmless.

        Later operations raise :class:`StorageError`.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._depth == 0:
                    self._checkpoint()
            finally:
                self._conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self._path!r})"

    # -- internals ---------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("the store is closed")

    @contextmanager
    def _guard(
        self, failed: Callable[[], Any] | None = None, *, opening: bool = False
    ) -> Iterator[sqlite3.Connection]:
        """The one boundary with the driver: holds the lock, and turns ``sqlite3`` errors into ours.

        Args:
            failed: for an insert, returns the record being written when a
                constraint failed, so the error can name it.
            opening: the store is being opened (skip the closed check).
        """
        with self._lock:
            if not opening:
                self._check_open()
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise self._translate(exc, failed) from exc
            except UnicodeEncodeError as exc:
                raise ValidationError(
                    "text with unpaired surrogates cannot be stored", field="record"
                ) from exc

    def _translate(self, exc: sqlite3.Error, failed: Callable[[], Any] | None) -> CustServiceError:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if isinstance(exc, sqlite3.IntegrityError) and failed is not None:
            record = failed()
            if record is not None:
                kind = _common.KIND_OF[type(record)]
                if name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"):
                    return DuplicateError(kind, record.id)
                if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
                    return NotFound("customer", _common.owner(record))
        if name == "SQLITE_BUSY_SNAPSHOT":
            return StorageError(
                f"another connection wrote to {self._path!r} after this transaction read "
                "from it; nothing was changed: run the transaction again"
            )
        if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
            return StorageError(
                f"the database {self._path!r} stayed locked by another connection for longer "
                f"than the busy timeout ({self._busy_timeout:g} s); nothing was changed"
            )
        if name.startswith("SQLITE_NOTADB"):
            return StorageError(f"{self._path!r} is not a SQLite database; it was not changed")
        if name.startswith("SQLITE_CORRUPT"):
            return StorageError(f"the SQLite database {self._path!r} is corrupt")
        if isinstance(exc, sqlite3.ProgrammingError) and self._closed:
            return StorageError("the store is closed")
        return StorageError(f"SQLite failed on {self._path!r}: {exc}")

    def _finish(self, statement: str) -> None:
        """End the outermost transaction with ``COMMIT`` or ``ROLLBACK``."""
        erased, self._erased = self._erased, False
        conn = self._conn
        try:
            with self._guard(opening=True):
                conn.execute(statement)
        except StorageError:
            try:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # closed, or already rolled back by SQLite
            raise
        if erased and statement == "COMMIT":
            # Move the erased pages into the file and empty the WAL now, not at close.
            self._checkpoint()

    def _checkpoint(self) -> None:
        """Copy the WAL into the file and empty it, unless another connection is using it.

        Best effort, and without waiting: SQLite would wait the whole busy timeout for
        a reader elsewhere to finish, holding this store's lock all that time. The WAL
        is then emptied by a later checkpoint, at the latest when the last connection
        to the file closes.
        """
        conn = self._conn
        with suppress(sqlite3.Error):
            conn.execute("PRAGMA busy_timeout = 0")
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")

    # -- schema --------------------------------------------------------------------

    def _prepare(self, conn: sqlite3.Connection) -> None:
        """Check the file is ours and current; initialise or migrate it if needed."""
        latest = len(MIGRATIONS)
        version = self._schema_version(conn, latest)
        if version == latest:
            self._use_wal(conn)
            return
        self._use_wal(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = self._schema_version(conn, latest)  # another process may have done it
            for step in MIGRATIONS[version:]:
                for action in step:
                    if callable(action):
                        action(conn)
                    else:
                        conn.execute(action)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {latest}")
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, CustServiceError | sqlite3.Error):
                raise
            raise StorageError(
                f"migrating {self._path!r} from schema version {version} to {latest} failed "
                f"({type(exc).__name__}: {exc}); nothing was changed"
            ) from exc

    def _schema_version(self, conn: sqlite3.Connection, latest: int) -> int:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if app == APPLICATION_ID:
            if version > latest:
                raise StorageError(
                    f"{self._path!r} has schema version {version}, newer than this version of "
                    f"custservice understands ({latest}); upgrade custservice to open it"
                )
            return int(version)
        objects = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app == 0 and version == 0 and objects == 0:
            return 0  # a new, empty database
        raise StorageError(
            f"{self._path!r} is a SQLite database of another application "
            f"(application_id {app}); it was not changed"
        )

    def _use_wal(self, conn: sqlite3.Connection) -> None:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if mode.lower() not in ("wal", "memory"):
            conn.execute("PRAGMA journal_mode = WAL")
