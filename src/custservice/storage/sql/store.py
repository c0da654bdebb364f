"""The one SQL store every engine shares, on SQLAlchemy Core 2.

Repositories, optimistic concurrency, the change feed, forget and export,
snapshot reads and the schema's upgrades are written here once. An engine
module gives a :class:`Driver`: what its driver does differently (how it
begins a transaction, its bulk path, how its errors read, where it keeps
the schema version).

Connections: an engine whose store shares one connection between threads
(SQLite: one file handle, writers take turns anyway) holds it under one
lock; other engines take a pooled connection per operation. A
:meth:`SqlStore.transaction` block pins its connection to the calling
thread until it ends, and every operation of that thread inside the block
runs on it, so a thread never holds two connections at once. Iterators
read in keyset pages, one short query per page, holding no connection
between pages: an iterator left half-read blocks nobody.

Change-feed positions come from a one-row counter, ``events_head``, that
every writing transaction updates before its first write and holds until
it commits: writers take turns, positions follow commit order exactly (a
reader resuming from a position never misses an entry committed later with
a smaller one), and a rolled-back transaction leaves no gap.

Tenants: :meth:`SqlStore.scoped` gives a view of the store that reads and
writes one tenant's rows, on the store's own connections and transactions;
every statement it makes names the tenant, which leads every key and index.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from itertools import chain, islice
from typing import Any, Generic, TypeVar

import attrs
import sqlalchemy as sa

from ..._records import replace
from ..._validation import integer
from ...cases import Case
from ...customers import Customer
from ...errors import (
    ConcurrencyError,
    CustServiceError,
    DuplicateError,
    NotFound,
    StorageError,
    ValidationError,
)
from ...interactions import Interaction
from ...serialization import _codec
from .. import _common
from ..protocols import ChangeEvent, Kind
from . import schema as _schema
from .driver import BEGIN, Driver, first_line
from .schema import NO_TENANT

__all__ = ["PAGE", "Snapshot", "SqlStore"]

R = TypeVar("R", Customer, Interaction, Case)

PAGE = 500
"""Rows per query when iterating: memory stays bounded, queries stay few."""

_BATCH = 5000
"""Records encoded and inserted per statement in ``add_many``."""

_TABLE: dict[Kind, str] = {"customer": "customers", "interaction": "interactions", "case": "cases"}
_INT64_MAX = 2**63 - 1
_KEPT_ON_SAVE = frozenset({"id", "customer_id", "version"})
"""Columns a save never sets from the record: the version is counted by the database."""
_micros = _codec.micros


@attrs.frozen
class Snapshot:
    """A read of a SQL store: its connection, inside a snapshot, and its tables.

    Attributes:
        connection: the SQLAlchemy connection to run queries on.
        tables: the store's tables by name (``schema.metadata`` describes them);
            of a tenant's store, its record tables and change feed are each a
            subquery of that tenant's rows, under the table's name, so queries
            written for the tables read only the tenant's.
        tenant: the tenant of a tenant's store (``None``: the store sees every tenant).
    """

    connection: sa.Connection
    tables: Mapping[str, Any]
    tenant: str | None = None

    @property
    def dialect(self) -> str:
        """The engine's name, as SQLAlchemy calls it (``"sqlite"``, ``"postgresql"``)."""
        return self.connection.dialect.name


class _Pin:
    """A transaction block's connection, how deep its blocks nest, whether it erased."""

    __slots__ = ("conn", "depth", "erased")

    def __init__(self, conn: sa.Connection | None) -> None:
        self.conn = conn
        self.depth = 0 if conn is None else 1
        self.erased = False


_UNPINNED = _Pin(None)


class _Local:
    """The transaction block each thread has pinned, or each asyncio task: the async
    store runs this code for many tasks on one thread."""

    def __init__(self) -> None:
        self._pins: dict[object, _Pin] = {}

    def get(self) -> _Pin:
        return self._pins.get(_caller(), _UNPINNED)

    def pin(self, conn: sa.Connection) -> _Pin:
        pin = self._pins[_caller()] = _Pin(conn)
        return pin

    def unpin(self) -> None:
        self._pins.pop(_caller(), None)


def _caller() -> object:
    """The running asyncio task, if any; else the thread."""
    loop = _running_loop()
    task = None if loop is None else asyncio.current_task(loop)
    return threading.get_ident() if task is None else task


_running_loop = asyncio.events._get_running_loop


class _Repository(Generic[R]):
    """The records of one kind, in their own table."""

    def __init__(self, store: SqlStore, cls: type[R]) -> None:
        self._store: SqlStore = store
        self._cls: type[R] = cls
        self._kind: Kind = _common.KIND_OF[cls]
        self._table = t = store._tables[_TABLE[self._kind]]
        self._owner = t.c.id if cls is Customer else t.c.customer_id
        self._tenant = store._writes_as
        # Unscoped, a lookup by id names every listed tenant, so that it still seeks the key.
        self._mine = (
            t.c.tenant.in_(sa.select(store._tables["tenants"].c.tenant))
            if store._tenant is None
            else t.c.tenant == store._tenant
        )
        self._get = (
            sa.select(t.c.data)
            .where(self._mine, t.c.id == sa.bindparam("id"))
            .order_by(t.c.tenant)
            .limit(1)
        )
        self._holder = (
            sa.select(t.c.tenant)
            .where(self._mine, t.c.id == sa.bindparam("id"))
            .order_by(t.c.tenant)
            .limit(1)
        )
        # A locking read sees the newest committed version at any isolation level (MySQL's
        # REPEATABLE READ would show the block's snapshot), so a stale save is named as one.
        self._current = (
            sa.select(t.c.version, self._owner)
            .where(t.c.tenant == sa.bindparam("tenant"), t.c.id == sa.bindparam("id"))
            .with_for_update()
        )
        counted = sa.select(sa.func.count()).select_from(t)
        self._count = counted if store._tenant is None else counted.where(self._mine)
        self._page_sql = sa.select(t.c.data).order_by(t.c.opened_at, t.c.id)

    # -- writing ------------------------------------------------------------------

    def add(self, record: R) -> R:
        """Store a new record; returns it with ``version`` 1.

        Raises:
            DuplicateError: a record with this id is already stored.
            NotFound: (interactions, cases) the customer is not stored.
            ValidationError: ``record`` is not of this repository's type.
        """
        _common.check_record(record, self._cls)
        stored = replace(record, version=1)
        store = self._store
        values = store.driver.row(stored, 1)
        values["tenant"] = self._tenant
        with store._writing(failed=lambda: self._failure([stored])) as conn:
            position = store._allocate(conn, 1)
            store._enlist(conn)
            store.driver.insert_rows(conn, self._table, [values])
            store._log(conn, [(position, self._kind, "add", values, 1)])
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
        items = iter(records)
        total = 0
        with store._writing() as conn:
            while batch := list(islice(items, _BATCH)):
                # An item of the wrong type fails once the records before it are written
                # (one of them may fail first, as in the reference); all or nothing anyway.
                deferred: CustServiceError | None = None
                for at, record in enumerate(batch):
                    if type(record) is not cls and not isinstance(record, cls):
                        deferred = ValidationError(
                            f"expected a {cls.__name__}, got {type(record).__name__}",
                            field="record",
                        )
                        del batch[at:]
                        break
                if batch:
                    row = store.driver.row
                    rows = [row(record, 1) for record in batch]
                    tenant = self._tenant
                    for values in rows:
                        values["tenant"] = tenant
                    first = store._allocate(conn, len(rows))
                    store._enlist(conn)
                    try:
                        with conn.begin_nested():
                            store.driver.bulk_insert(conn, self._table, rows)
                    except (sa.exc.DBAPIError, store._driver_error()) as exc:
                        # A bulk path may talk to the driver directly: either error.
                        failure = self._failure(batch)
                        if failure is None:
                            raise
                        raise failure from exc
                    store._log(conn, [(p, kind, "add", r, 1) for p, r in enumerate(rows, first)])
                    total += len(rows)
                if deferred is not None:
                    raise deferred
        return total

    def _failure(self, batch: list[R]) -> CustServiceError | None:
        """The error the reference gives for the first record of ``batch`` that cannot be
        added (its id is taken, or its customer missing), read after the insert failed."""
        store = self._store
        t = self._table
        ids = [str(r.id) for r in batch]
        customers = store._tables["customers"]
        owners = list({str(_common.owner(r)) for r in batch})
        with store._connection() as conn:
            taken = set()
            known = set()
            for chunk in _chunks(ids):
                taken |= {
                    str(v)
                    for v in conn.scalars(
                        sa.select(t.c.id).where(t.c.tenant == self._tenant, t.c.id.in_(chunk))
                    )
                }
            if self._cls is not Customer:
                for chunk in _chunks(owners):
                    known |= {
                        str(v)
                        for v in conn.scalars(
                            sa.select(customers.c.id).where(
                                customers.c.tenant == self._tenant, customers.c.id.in_(chunk)
                            )
                        )
                    }
        seen: set[str] = set()
        for record, rid in zip(batch, ids, strict=True):
            if rid in taken or rid in seen:
                return DuplicateError(self._kind, record.id)
            seen.add(rid)
            if self._cls is not Customer and str(_common.owner(record)) not in known:
                return NotFound("customer", _common.owner(record))
        return None

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
        values = store.driver.row(stored, stored.version)
        t = self._table
        # A version the database cannot hold (beyond 63 bits) matches no row: -1 never does.
        expected = record.version if record.version <= _INT64_MAX else -1
        update = (
            sa.update(t)
            .where(
                t.c.tenant == sa.bindparam("_tenant"),
                t.c.id == values["id"],
                t.c.version == expected,
            )
            .where(
                self._owner == (values["id"] if self._cls is Customer else values["customer_id"])
            )
            .values({k: v for k, v in values.items() if k not in _KEPT_ON_SAVE})
            .values(version=t.c.version + 1)
        )
        tenant = self._tenant
        with store._writing() as conn:
            position = store._allocate(conn, 1)
            changed = conn.execute(update, {"_tenant": tenant}).rowcount
            if changed != 1 and store._tenant is None:
                # Unscoped: the records of no tenant come first; else the first tenant's.
                holder = conn.execute(self._holder, {"id": values["id"]}).scalar()
                if holder is not None and holder != tenant:
                    tenant = holder
                    changed = conn.execute(update, {"_tenant": tenant}).rowcount
            values["tenant"] = tenant
            if changed != 1:
                current = conn.execute(
                    self._current, {"tenant": tenant, "id": values["id"]}
                ).first()
                if current is None:
                    raise NotFound(self._kind, record.id)
                if current[0] != record.version:
                    raise ConcurrencyError(self._kind, record.id, record.version, current[0])
                raise ValidationError(
                    "a record cannot move to another customer", field="customer_id"
                )
            store._log(conn, [(position, self._kind, "save", values, stored.version)])
        return stored

    # -- reading ------------------------------------------------------------------

    def get(self, id: uuid.UUID) -> R:
        """The stored record with this id.

        Raises:
            NotFound: no record has this id.
        """
        _common.check_id(id)
        with self._store._connection() as conn:
            found = conn.execute(self._get, {"id": str(id)}).first()
        if found is None:
            raise NotFound(self._kind, id)
        return self._decode([found])[0]

    def count(self) -> int:
        """How many records are stored."""
        with self._store._connection() as conn:
            return int(conn.execute(self._count).scalar_one())

    def all(self) -> Iterator[R]:
        """Every record, oldest first (by opening time, ties by id), read in pages; of
        several tenants, each tenant's in turn (no tenant's first, then by name)."""
        if self._store._tenant is not None:
            return self._pages([self._mine])
        t = self._table
        with self._store._connection() as conn:
            tenants = sorted(conn.scalars(sa.select(self._store._tables["tenants"].c.tenant)))
        return chain.from_iterable(self._pages([t.c.tenant == tenant]) for tenant in tenants)

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
        t = self._table
        where: list[Any] = [self._mine, self._owner == str(customer_id)]
        if since is not None:
            where.append(t.c.opened_at >= _micros(since))
        if until is not None:
            where.append(t.c.opened_at < _micros(until))
        return self._pages(where)

    def _pages(self, where: list[Any]) -> Iterator[R]:
        # The first page is read now, so a closed store fails at the call, as in memory.
        first = self._page(where, None)
        return _common.keyset_pages(
            first,
            self._decode,
            lambda after: self._page(where, after),
            PAGE,
            self._store._check_open,
        )

    def _page(self, where: list[Any], after: tuple[int, str] | None) -> list[Any]:
        t = self._table
        if after is not None:
            # Typed as the columns: a bare str would be sent as VARCHAR, not PostgreSQL's UUID.
            after_sql = sa.tuple_(*after, types=[t.c.opened_at.type, t.c.id.type])
            where = [*where, sa.tuple_(t.c.opened_at, t.c.id) > after_sql]
        with self._store._connection() as conn:
            return list(conn.execute(self._page_sql.where(*where).limit(PAGE)).all())

    def _decode(self, rows: list[Any]) -> list[R]:
        return _common.decode_rows(self._cls, self._kind, rows, "database")


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Events:
    """The change feed, in the ``events`` table."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        e = store._tables["events"]
        tenant = store._tenant
        mine = [] if tenant is None else [e.c.tenant == tenant]
        self._select = (
            sa.select(
                e.c.position,
                e.c.kind,
                e.c.action,
                e.c.record_id,
                e.c.customer_id,
                e.c.version,
                e.c.tenant,
            )
            .where(e.c.position > sa.bindparam("after"), *mine)
            .order_by(e.c.position)
        )
        self._latest = (
            sa.select(store._tables["events_head"].c.position)
            if tenant is None
            else sa.select(sa.func.max(e.c.position)).where(*mine)
        )

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        """Entries with a position greater than ``position``, in order, read in pages.

        Raises:
            ValidationError: ``position`` is not a whole number.
        """
        position = min(max(integer(position, "position"), 0), _INT64_MAX)
        return _common.while_open(self._follow(self._page(position)), self._store._check_open)

    def latest(self) -> int:
        """The position of the newest entry (0 when there is none)."""
        with self._store._connection() as conn:
            found = conn.execute(self._latest).scalar()
        return 0 if found is None else int(found)

    def _follow(self, rows: list[Any]) -> Iterator[ChangeEvent]:
        UUID = uuid.UUID
        while True:
            for position, kind, action, record_id, customer_id, version, tenant in rows:
                yield ChangeEvent(
                    position,
                    kind,
                    action,
                    UUID(str(record_id)),
                    UUID(str(customer_id)),
                    version,
                    tenant or None,
                )
            if len(rows) < PAGE:
                return
            rows = self._page(rows[-1][0])

    def _page(self, position: int) -> list[Any]:
        with self._store._connection() as conn:
            return list(conn.execute(self._select.limit(PAGE), {"after": position}).all())


class SqlStore(_common.Repositories):
    """A store in a SQL database, through SQLAlchemy Core; see the module documentation.

    Engine modules build it (``open_store("sqlite:///…")``); a host
    application passes its own SQLAlchemy ``Engine`` or ``Connection`` to
    :func:`custservice.storage.open_store` (see :mod:`.joined`).

    Args:
        engine: the SQLAlchemy engine to take connections from.
        driver: what the engine does differently.
        schema: the database schema holding the tables (``None``: the default).
        migrate: bring an older database to the current schema (otherwise
            an outdated one is a :class:`StorageError`).
        create: create the tables in a database that has none (otherwise
            such a database is a :class:`StorageError`, and nothing is created).
        connection: a host's connection to work on instead of connections of
            its own: every operation runs on it, inside the host's
            transaction when one is open (as a savepoint), and the store
            never commits, rolls back or closes it.
        owns_engine: close the engine's pool when the store closes (false
            for a host's engine).

    Attributes:
        migrated_from: the schema version the database had when the store
            opened it (the current version when nothing was upgraded; 0 for
            a database the store created).

    Raises:
        StorageError: the database cannot be reached, is another
            application's, or has a schema newer than this library knows.
    """

    def __init__(
        self,
        engine: sa.Engine,
        driver: Driver,
        *,
        schema: str | None = None,
        migrate: bool = True,
        create: bool = True,
        connection: sa.Connection | None = None,
        owns_engine: bool = True,
    ) -> None:
        self.driver = driver
        self._engine = engine
        self._owns_engine = owns_engine and connection is None
        if self._owns_engine:
            # SQLAlchemy logs statements and result rows whenever the application's logging
            # lets INFO through; rows hold personal data, so this engine never logs them.
            engine.logger = _statements()
        self._schema = schema
        self._tables = {t.name: t for t in _schema.metadata(schema).tables.values()}
        self._tenant: str | None = None  # a tenant's view: see scoped()
        self._writes_as = NO_TENANT
        self._root = self
        self._view_closed = False
        self._local = _Local()
        self._lock = threading.RLock()
        self._joined = connection
        self._shared: sa.Connection | None = connection
        self._closed = True  # until the schema is checked
        self.migrated_from = self._prepare(migrate=migrate, create=create)
        if driver.shared and self._shared is None and self._owns_engine:
            with self._guard():
                self._shared = engine.connect()
        self._closed = False
        head = self._tables["events_head"]
        self._bump = sa.update(head).values(position=head.c.position + sa.bindparam("n"))
        self._head = sa.select(head.c.position)
        self._bumped = self._bump.returning(head.c.position)
        # A read outside a transaction block is one statement: without BEGIN and the
        # pool's ROLLBACK it is one round trip, not three, where the driver allows.
        self._reads = engine
        if driver.autocommit_reads:
            self._reads = engine.execution_options(isolation_level="AUTOCOMMIT")
            self._reads.logger = engine.logger  # a logger of its own would log rows
        self._enlisting: sa.Executable | None = None
        self._repositories()

    def _repositories(self) -> None:
        self._customers: _Repository[Customer] = _Repository(self, Customer)
        self._interactions: _Repository[Interaction] = _Repository(self, Interaction)
        self._cases: _Repository[Case] = _Repository(self, Case)
        self._events = _Events(self)

    def scoped(self, tenant: str) -> SqlStore:
        """The store as ``tenant`` sees it: its records, written as its own (see
        :meth:`~custservice.storage.protocols.TenantScoped.scoped`).

        The scope shares this store's connections and transactions.

        Raises:
            ValidationError: ``tenant`` is not a non-empty string of at most 100
                characters, or is another tenant than a scoped store's own.
            StorageError: the store is closed.
        """
        tenant = _common.check_scope(self._tenant, tenant)
        if tenant == self._tenant:
            return self
        self._check_open()
        view = copy.copy(self)
        view._tenant = view._writes_as = tenant
        view._view_closed = False
        known = self._tables["tenants"]
        view._enlisting = sa.insert(known).from_select(
            ["tenant"],
            sa.select(sa.literal(tenant, known.c.tenant.type)).where(
                ~sa.exists().where(known.c.tenant == tenant)
            ),
        )
        view._repositories()
        return view

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: every change inside the block lands, or none does.

        The outermost block pins one connection to the calling thread until
        it ends; an inner block joins the outer one. An exception rolls
        everything back, change-feed entries included, and propagates. An
        operation that fails inside the block (a :class:`DuplicateError`,
        say) undoes only itself, so it can be caught and the block carried on.

        Raises:
            StorageError: the store is closed, or the database failed.
        """
        with self._pinned(snapshot=False):
            yield

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them, and their change-feed entries.

        One ``forget`` entry is appended to the feed.

        Raises:
            NotFound: no such customer is stored.
        """
        _common.check_id(customer_id, "customer_id")
        cid = str(customer_id)
        t = self._tables
        customers, interactions, cases, events = (
            t["customers"],
            t["interactions"],
            t["cases"],
            t["events"],
        )
        with self._writing() as conn:
            position = self._allocate(conn, 1)
            tenant = conn.execute(self._customers._holder, {"id": cid}).scalar()
            if tenant is None:
                raise NotFound("customer", customer_id)
            # A record never changes customer (save refuses it), so every entry about
            # this customer names the customer or one of their stored records.
            records = sa.union_all(
                sa.select(sa.literal(cid, customers.c.id.type)),
                sa.select(interactions.c.id).where(
                    interactions.c.tenant == tenant, interactions.c.customer_id == cid
                ),
                sa.select(cases.c.id).where(cases.c.tenant == tenant, cases.c.customer_id == cid),
            )
            conn.execute(
                sa.delete(events).where(
                    events.c.tenant == tenant,
                    events.c.customer_id == cid,
                    events.c.record_id.in_(records),
                )
            )
            for table in (interactions, cases):
                conn.execute(
                    sa.delete(table).where(table.c.tenant == tenant, table.c.customer_id == cid)
                )
            conn.execute(
                sa.delete(customers).where(customers.c.tenant == tenant, customers.c.id == cid)
            )
            self._log(
                conn,
                [
                    (
                        position,
                        "customer",
                        "forget",
                        {"id": cid, "customer_id": cid, "tenant": tenant},
                        None,
                    )
                ],
            )
            self._local.get().erased = True

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data (``to_dict`` form), from one snapshot.

        Raises:
            NotFound: no such customer is stored.
        """
        with self._pinned(snapshot=True):
            return _common.export(self, customer_id)

    @contextmanager
    def sql_snapshot(self) -> Iterator[Snapshot]:
        """One consistent, read-only view of everything stored, for queries of one's own.

        The analytics push their scorecards down through it; applications can
        too. Inside a :meth:`transaction` block it reads the block's own
        connection, so it sees the block's changes.

        Raises:
            StorageError: the store is closed, or the database failed.
        """
        with self._pinned(snapshot=True) as conn, self._guard():
            yield Snapshot(conn, self._scoped_tables(), self._tenant)

    def _scoped_tables(self) -> Mapping[str, Any]:
        """The tables as this store sees them: of a tenant's, its rows of each."""
        tenant = self._tenant
        if tenant is None:
            return self._tables
        views: dict[str, Any] = dict(self._tables)
        for name in (*_schema.RECORD_TABLES, "events"):
            table = self._tables[name]
            views[name] = sa.select(table).where(table.c.tenant == tenant).subquery(name)
        return views

    def close(self) -> None:
        """Close the store's connections; closing twice is harmless.

        Later operations raise :class:`StorageError`.
        """
        if self._root is not self:
            self._view_closed = True  # a tenant's view: the store stays open
            return
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if not self._owns_engine:
                return  # the host's engine or connection: left as it was
            shared = self._shared
            try:
                if shared is not None and self._local.get().conn is None:
                    with suppress(Exception):
                        self.driver.before_close(shared)
            finally:
                if shared is not None:
                    with suppress(Exception):
                        shared.close()
                self._engine.dispose()

    def __repr__(self) -> str:
        tenant = "" if self._tenant is None else f", tenant={self._tenant!r}"
        return f"{type(self).__name__}({self.driver.where!r}{tenant})"

    # -- connections and transactions ---------------------------------------------

    def _check_open(self) -> None:
        if self._root._closed or self._view_closed:
            raise StorageError("the store is closed")

    def _enlist(self, conn: sa.Connection) -> None:
        """List this store's tenant among the tenants with records, once: after the feed's
        counter is taken, so writers take turns here too."""
        if self._enlisting is not None:
            conn.execute(self._enlisting)

    @contextmanager
    def _connection(self) -> Iterator[sa.Connection]:
        """For one read: the thread's pinned connection, the shared one, or a pooled one."""
        self._check_open()
        pinned = self._local.get().conn
        if pinned is not None:
            with self._guard():
                yield pinned
            return
        if self._shared is not None:
            with self._lock, self._guard():
                self._check_open()
                conn = self._shared
                began = not conn.in_transaction()
                try:
                    yield conn
                finally:
                    # End only the transaction this read began: a host's stays open.
                    if began and conn.in_transaction():
                        conn.rollback()
            return
        with self._guard(), self._reads.connect() as conn:
            yield conn

    @contextmanager
    def _pinned(self, *, snapshot: bool) -> Iterator[sa.Connection]:
        """The thread's transaction: joined if one is open, else begun and pinned."""
        self._check_open()
        joined = self._local.get()
        if joined.conn is not None:
            joined.depth += 1
            try:
                yield joined.conn
            finally:
                joined.depth -= 1
            return
        with self._checkout() as conn:
            # Inside a host's transaction the block is a savepoint: the host commits.
            nested = self._joined is not None and conn.in_transaction()
            with self._guard():
                if nested:
                    self.driver.begin_hosted(conn, write=not snapshot)
                    transaction: sa.Transaction = conn.begin_nested()
                else:
                    transaction = self._begin(conn, snapshot)
            pin = self._local.pin(conn)
            try:
                yield conn
            except BaseException:
                self._local.unpin()
                with suppress(Exception):
                    transaction.rollback()
                raise
            self._local.unpin()
            with self._guard():
                transaction.commit()
            if pin.erased and not snapshot and self._owns_engine:
                with suppress(Exception):
                    self.driver.after_commit(conn, erased=True)

    def _begin(self, conn: sa.Connection, snapshot: bool) -> sa.Transaction:
        """Begin a transaction of the store's own, as a write or a snapshot read."""
        # Drivers that begin transactions themselves (SQLite) read how to begin here.
        conn.info[BEGIN] = "snapshot" if snapshot else "write"
        try:
            transaction = conn.begin()
            if not self._owns_engine:
                self.driver.begin_hosted(conn, write=not snapshot)
            if snapshot:
                self.driver.begin_snapshot(conn)
        finally:
            del conn.info[BEGIN]
        return transaction

    @contextmanager
    def _checkout(self) -> Iterator[sa.Connection]:
        """A connection for one transaction block: the shared one (locked) or a pooled one."""
        if self._shared is not None:
            with self._lock:
                self._check_open()
                yield self._shared
            return
        with self._guard():
            conn = self._engine.connect()
        try:
            yield conn
        finally:
            with suppress(Exception):
                conn.close()

    @contextmanager
    def _writing(
        self, failed: Callable[[], CustServiceError | None] | None = None
    ) -> Iterator[sa.Connection]:
        """For one change: its own transaction, or a savepoint in the thread's transaction.

        Args:
            failed: when the database refuses the change (a constraint), gives the
                error that names the record, if one does.
        """
        self._check_open()
        conn = self._local.get().conn
        try:
            if conn is None:
                with self._pinned(snapshot=False) as conn, self._guard():
                    yield conn
                return
            with self._guard():
                savepoint = conn.begin_nested()
                try:
                    yield conn
                except BaseException:
                    with suppress(Exception):
                        savepoint.rollback()
                    raise
                savepoint.commit()
        except sa.exc.IntegrityError as exc:
            error = failed() if failed is not None else None
            raise (error or self._translate(exc)) from exc

    def _allocate(self, conn: sa.Connection, n: int) -> int:
        """Reserve ``n`` change-feed positions; returns the first.

        Updating the one-row counter locks it until the transaction ends: the
        first write of every transaction does this, so writers take turns and
        positions follow commit order.
        """
        if conn.dialect.update_returning:  # one round trip instead of two
            return int(conn.execute(self._bumped, {"n": n}).scalar_one()) - n + 1
        conn.execute(self._bump, {"n": n})
        return int(conn.execute(self._head).scalar_one()) - n + 1

    def _log(
        self,
        conn: sa.Connection,
        entries: list[tuple[int, Kind, str, dict[str, Any], int | None]],
    ) -> None:
        """Append change-feed entries: ``(position, kind, action, row, version)``."""
        rows = [
            {
                "position": position,
                "kind": kind,
                "action": action,
                "record_id": values["id"],
                "customer_id": values.get("customer_id", values["id"]),
                "version": version,
                "tenant": values["tenant"],
            }
            for position, kind, action, values, version in entries
        ]
        if len(rows) > 1:  # add_many's: the engine's bulk path (COPY on PostgreSQL)
            self.driver.bulk_insert(conn, self._tables["events"], rows)
        else:
            self.driver.insert_rows(conn, self._tables["events"], rows)

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """The one boundary with the driver: its errors become ours."""
        try:
            yield
        except CustServiceError:
            raise
        except sa.exc.IntegrityError:
            raise  # _writing names the record first
        except UnicodeEncodeError as exc:
            raise ValidationError(
                "text with unpaired surrogates cannot be stored", field="record"
            ) from exc
        except (sa.exc.SQLAlchemyError, self._driver_error()) as exc:
            raise self._translate(exc) from exc

    def _driver_error(self) -> type[BaseException]:
        dbapi = getattr(self._engine.dialect, "dbapi", None)
        error: type[BaseException] = getattr(dbapi, "Error", sa.exc.SQLAlchemyError)
        return error

    def _translate(self, exc: BaseException) -> CustServiceError:
        original = getattr(exc, "orig", None) or exc
        found = self.driver.translate(original)
        if found is not None:
            return found
        if self._root._closed or isinstance(exc, sa.exc.ResourceClosedError):
            return StorageError("the store is closed")
        if isinstance(exc, sa.exc.TimeoutError):
            return StorageError(
                f"no connection to {self.driver.describe()} became free in time; "
                "nothing was changed"
            )
        if isinstance(exc, sa.exc.IntegrityError):
            return StorageError(
                f"{self.driver.describe()} refused a change: {first_line(original)}"
            )
        return StorageError(f"{self.driver.describe()} failed: {first_line(original)}")

    # -- schema --------------------------------------------------------------------

    def migrate(self) -> int:
        """Bring the database to the current schema, in one transaction; returns the
        schema version it had (the current one when there was nothing to do).

        On a host's connection the upgrade runs inside the host's transaction
        (a savepoint), on engines whose schema changes are transactional.

        Raises:
            StorageError: the store is closed, the database's schema is newer
                than this library knows, or the upgrade failed (nothing was
                changed).
        """
        self._check_open()
        return self._prepare(migrate=True, create=True)

    def _prepare(self, *, migrate: bool, create: bool) -> int:
        """Check the database is ours and current; initialise or upgrade it if allowed."""
        from . import migrations

        if self._joined is not None:
            with self._lock, self._guard():
                return migrations.prepare(self._joined, self, migrate=migrate, create=create)
        with self._guard(), self._engine.connect() as conn:
            return migrations.prepare(conn, self, migrate=migrate, create=create)


def _statements() -> Any:
    """A logger that logs nothing, for SQLAlchemy's statement and row logging."""
    silent = logging.Logger("custservice.sql")  # outside the logging tree: no config reaches it
    silent.disabled = True
    return silent
