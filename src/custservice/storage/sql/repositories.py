"""A SQL store's repositories: the records of one kind, in their own table.

Writes go through the store's transaction machinery (``_writing``, ``_allocate``,
``_log``); reads run one short query per keyset page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import chain, islice
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa

from ..._records import replace
from ...cases import Case
from ...customers import Customer
from ...errors import (
    ConcurrencyError,
    CustServiceError,
    DuplicateError,
    NotFound,
    ValidationError,
)
from ...interactions import Interaction
from ...serialization import _codec
from .. import _common
from ..protocols import Kind
from .fused import FusedWrites
from .schema import NO_TENANT, owner_column

if TYPE_CHECKING:
    from .store import SqlStore

__all__ = ["INT64_MAX", "PAGE", "SqlRepository"]

R = TypeVar("R", Customer, Interaction, Case)

PAGE = 500
"""Rows per query when iterating: memory stays bounded, queries stay few."""

INT64_MAX = 2**63 - 1
"""The largest whole number a column holds: larger versions and positions match no row."""

_BATCH = 5000
"""Records encoded and inserted per statement in ``add_many``."""

_TABLE: dict[Kind, str] = {"customer": "customers", "interaction": "interactions", "case": "cases"}
_KEPT_ON_SAVE = frozenset({"id", "customer_id", "version"})
"""Columns a save never sets from the record: the version is counted by the database."""
_micros = _codec.micros


class SqlRepository(Generic[R]):
    """The records of one kind, in their own table."""

    def __init__(self, store: SqlStore, cls: type[R]) -> None:
        self._store: SqlStore = store
        self._cls: type[R] = cls
        self._kind: Kind = _common.KIND_OF[cls]
        self._table = t = store._tables[_TABLE[self._kind]]
        self._owner = owner_column(t)
        self._tenant = store._writes_as
        # Unscoped, a lookup by id names every listed tenant, so that it still seeks the key.
        self._mine = (
            t.c.tenant.in_(sa.select(store._tables["tenants"].c.tenant))
            if store._tenant is None
            else t.c.tenant == store._tenant
        )
        # A record's text, then the columns that hold the rest of it.
        text = store.driver.id_text
        stored = (t.c.data, text(t.c.id), text(self._owner), t.c.version)
        self._get = (
            sa.select(*stored)
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
        self._page_sql = sa.select(*stored).order_by(t.c.opened_at, t.c.id)
        self._statements: dict[Hashable, tuple[Any, Any]] = {}
        self._fused = (
            FusedWrites(store._tables, t, self._kind, _KEPT_ON_SAVE)
            if store.driver.fused_writes
            else None
        )

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
            if self._fused is not None:
                self._fused.add(conn, values)
                store._enlist(conn)
                return stored
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
                    rows: list[dict[str, Any]] = []
                    first = store._allocate(conn, len(batch))
                    store._enlist(conn)
                    try:
                        with conn.begin_nested():
                            store.driver.bulk_insert(conn, self._table, self._rows(batch, rows))
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

    def _rows(self, batch: list[R], built: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The new rows of ``batch``, each kept in ``built`` too (for the change feed) as it
        is handed to the driver, which may send it before the next is built."""
        row = self._store.driver.row
        tenant = self._tenant
        keep = built.append
        for record in batch:
            values = row(record, 1)
            values["tenant"] = tenant
            keep(values)
            yield values

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
            for chunk in chunks(ids):
                taken |= {
                    str(v)
                    for v in conn.scalars(
                        sa.select(t.c.id).where(t.c.tenant == self._tenant, t.c.id.in_(chunk))
                    )
                }
            if self._cls is not Customer:
                for chunk in chunks(owners):
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
        owner = values["id"] if self._cls is Customer else values["customer_id"]
        # A version the database cannot hold (beyond 63 bits) matches no row: -1 never does.
        expected = record.version if record.version <= INT64_MAX else -1
        tenant = self._tenant
        if expected >= 0 and self._saved_at_once(values, tenant, expected, owner):
            return stored
        update = (
            sa.update(t)
            .where(
                t.c.tenant == sa.bindparam("_tenant"),
                t.c.id == values["id"],
                t.c.version == expected,
            )
            .where(self._owner == owner)
            .values({k: v for k, v in values.items() if k not in _KEPT_ON_SAVE})
            .values(version=t.c.version + 1)
        )
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

    def _saved_at_once(
        self, values: dict[str, Any], tenant: str, expected: int, owner: str
    ) -> bool:
        """The save as one statement, where the engine allows (see :mod:`.fused`): false,
        with nothing written, when the row is not there as expected; the full path then
        finds out why (another tenant's, another version, no such record)."""
        if self._fused is None:
            return False
        try:
            with self._store._writing() as conn:
                position = self._fused.save(
                    conn, values, tenant=tenant, expected=expected, owner=owner
                )
                if position is not None:
                    return True
                raise _Missed  # rolls back the counter it took: no gap in the feed
        except _Missed:
            return False

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
        return chain.from_iterable(records for _, records in self._by_tenant())

    def tagged(self) -> Iterator[tuple[str | None, R]]:
        """``all()``, each record with its tenant (``None``: no tenant)."""
        return chain.from_iterable(
            ((tenant, record) for record in records) for tenant, records in self._by_tenant()
        )

    def _by_tenant(self) -> Iterator[tuple[str | None, Iterator[R]]]:
        """Each tenant this store sees, in order, with its records: the first page of the
        first is read now, so a closed store fails at the call."""
        store = self._store
        if store._tenant is not None:
            return iter([(store._tenant, self._pages("mine", lambda: [self._mine], {}))])
        t = self._table
        with store._connection() as conn:
            tenants = sorted(conn.scalars(sa.select(store._tables["tenants"].c.tenant)))
        if not tenants:
            return iter([])

        def of(name: str) -> Iterator[R]:
            return self._pages(
                "tenant", lambda: [t.c.tenant == sa.bindparam("tenant")], {"tenant": name}
            )

        first = of(tenants[0])
        return chain(
            [(_tenant_of(tenants[0]), first)],
            ((_tenant_of(name), of(name)) for name in tenants[1:]),
        )

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
        params: dict[str, Any] = {"customer": str(customer_id)}
        if since is not None:
            params["since"] = _micros(since)
        if until is not None:
            params["until"] = _micros(until)
        return self._pages(
            ("customer", since is not None, until is not None),
            lambda: self._of_customer(since is not None, until is not None),
            params,
        )

    def _of_customer(self, since: bool, until: bool) -> list[Any]:
        """The conditions of ``for_customer``, its values bound: ``customer``, and the
        window's ``since`` and ``until`` when it has them."""
        t = self._table
        customer = sa.bindparam("customer", type_=t.c.id.type)
        mine = self._mine
        if self._store._tenant is None:
            # The tenants of this customer, not every tenant: the planner then expects the
            # customer's few rows and seeks them, rather than walking the whole table in
            # opening order to skip the sort (a table of tenants it has no statistics for
            # looks hundreds of rows long).
            customers = self._store._tables["customers"]
            one_of = self._store.driver.one_of
            listed = sa.select(self._store._tables["tenants"].c.tenant)
            mine = one_of(
                t.c.tenant,
                sa.select(customers.c.tenant).where(
                    one_of(customers.c.tenant, listed), customers.c.id == customer
                ),
            )
        where: list[Any] = [mine, self._owner == customer]
        if since:
            where.append(t.c.opened_at >= sa.bindparam("since", type_=t.c.opened_at.type))
        if until:
            where.append(t.c.opened_at < sa.bindparam("until", type_=t.c.opened_at.type))
        return where

    def _pages(
        self, key: Hashable, where: Callable[[], list[Any]], params: dict[str, Any]
    ) -> Iterator[R]:
        """The records the conditions ``where()`` select, in keyset pages; ``key`` names the
        conditions, whose values ``params`` binds.

        The statements are built once per key and kept: SQLAlchemy then finds their
        compiled form without walking them again on every call.
        """
        first_page, next_page = self._statements.get(key) or self._paged(key, where())
        # The first page is read now, so a closed store fails at the call, as in memory.
        first = self._page(first_page, params)
        return _common.keyset_pages(
            first,
            self._decode,
            lambda after: self._page(
                next_page, {**params, "after_at": after[0], "after_id": after[1]}
            ),
            PAGE,
            self._store._check_open,
        )

    def _paged(self, key: Hashable, where: list[Any]) -> tuple[Any, Any]:
        t = self._table
        # Typed as the columns: a bare str would be sent as VARCHAR, not PostgreSQL's UUID.
        after = sa.tuple_(
            sa.bindparam("after_at", type_=t.c.opened_at.type),
            sa.bindparam("after_id", type_=t.c.id.type),
        )
        statements = (
            self._page_sql.where(*where).limit(PAGE),
            self._page_sql.where(*where, sa.tuple_(t.c.opened_at, t.c.id) > after).limit(PAGE),
        )
        self._statements[key] = statements
        return statements

    def _page(self, statement: Any, params: dict[str, Any]) -> list[Any]:
        with self._store._connection() as conn:
            return list(conn.execute(statement, params).all())

    def _decode(self, rows: list[Any]) -> list[R]:
        return _common.decode_rows(self._cls, self._kind, rows, "database")


class _Missed(Exception):
    """A one-statement save found no row to write: the full path finds out why."""


def _tenant_of(name: str) -> str | None:
    return None if name == NO_TENANT else name


def chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
