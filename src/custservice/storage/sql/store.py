"""The one SQL store every engine shares, on SQLAlchemy Core 2.

Repositories (``repositories.py``), the change feed (``feed.py``), optimistic
concurrency, forget and export, snapshot reads and the schema's upgrades are
written once, for every engine. An engine
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
a smaller one), and a rolled-back transaction leaves no gap. Where the engine
allows, a change of one record is one statement that takes the counter
first (:mod:`.fused`), so the counter is held for as short a time as can be.

Tenants: :meth:`SqlStore.scoped` gives a view of the store that reads and
writes one tenant's rows, on the store's own connections and transactions;
every statement it makes names the tenant, which leads every key and index.
"""

from __future__ import annotations

import copy
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

import sqlalchemy as sa

from ...cases import Case
from ...customers import Customer
from ...errors import CustServiceError, NotFound, StorageError, ValidationError
from ...interactions import Interaction
from .. import _common
from ..protocols import Kind
from . import schema as _schema
from .driver import BEGIN, Driver, first_line
from .feed import SqlFeed
from .pins import Pins
from .repositories import PAGE, SqlRepository
from .schema import NO_TENANT
from .snapshot import Beside, Snapshot

__all__ = ["PAGE", "Snapshot", "SqlStore"]


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
        self._local = Pins()
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
        self._customers: SqlRepository[Customer] = SqlRepository(self, Customer)
        self._interactions: SqlRepository[Interaction] = SqlRepository(self, Interaction)
        self._cases: SqlRepository[Case] = SqlRepository(self, Case)
        self._events = SqlFeed(self)

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

    def tenant_records(
        self, kind: Kind
    ) -> Iterator[tuple[str | None, Customer | Interaction | Case]]:
        """Every record of ``kind`` with its tenant, as ``all()`` reads them, in pages (see
        :meth:`~custservice.storage.protocols.TenantScoped.tenant_records`).

        Raises:
            ValidationError: ``kind`` is not ``"customer"``, ``"interaction"`` or ``"case"``.
        """
        checked = _common.check_kind(kind)
        if checked == "customer":
            return self._customers.tagged()
        if checked == "interaction":
            return self._interactions.tagged()
        return self._cases.tagged()

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
        # A snapshot of the store's own (not a block's, which sees its own writes) may
        # read beside itself, on a second connection (see .snapshot).
        own = self._owns_engine and self._local.get().conn is None
        with self._pinned(snapshot=True) as conn, self._guard():
            beside = None
            if own and not self._engine.dialect.is_async:
                begin = partial(self._begin, snapshot=True)
                beside = Beside(conn, self.driver, self._engine, self._head, begin)
            try:
                yield Snapshot(conn, self._scoped_tables(), self._tenant, beside=beside)
            finally:
                if beside is not None:
                    beside.close()

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
