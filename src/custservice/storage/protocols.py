"""What a storage backend must do, as ``typing.Protocol`` classes.

The domain never imports a backend; applications and analytics talk to a
:class:`Store` through these protocols, and the conformance kit
(:class:`custservice.testing.StoreConformance`) checks a backend keeps them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

import attrs

from ..cases import Case
from ..customers import Customer
from ..interactions import Interaction

__all__ = [
    "Action",
    "export_customer",
    "ChangeEvent",
    "CustomerRepository",
    "EventFeed",
    "Kind",
    "LinkedRepository",
    "Repository",
    "Store",
    "TenantScoped",
]

R = TypeVar("R")
Kind = Literal["customer", "interaction", "case"]
Action = Literal["add", "save", "forget"]


@attrs.frozen
class ChangeEvent:
    """One entry of a store's change feed.

    The feed says *what* changed, never the data itself, so it holds no
    personal data; read the record with ``get`` to see it. ``forget`` removes
    a customer's earlier entries and leaves one ``forget`` entry, so
    downstream copies can erase them too.

    Attributes:
        position: increases with every entry, in commit order; resume a
            reader with ``events.since(position)``.
        kind: ``"customer"``, ``"interaction"`` or ``"case"``.
        action: ``"add"``, ``"save"`` or ``"forget"``.
        record_id: the record's id (the customer's id for ``forget``).
        customer_id: the customer the record belongs to.
        version: the record's version after the change (``None`` for ``forget``).
        tenant: the tenant the record belongs to (``None``: no tenant).
    """

    position: int
    kind: Kind
    action: Action
    record_id: uuid.UUID
    customer_id: uuid.UUID
    version: int | None
    tenant: str | None = None


@runtime_checkable
class Repository(Protocol[R]):
    """Records of one kind, stored with optimistic concurrency."""

    def add(self, record: R) -> R:
        """Store a new record; returns it with ``version`` 1.

        Raises:
            DuplicateError: a record with this id is already stored.
            NotFound: (interactions, cases) the customer is not stored.
        """
        ...

    def add_many(self, records: Iterable[R]) -> int:
        """Store many new records in one transaction (the bulk path); returns how many.

        All or nothing: if one fails, none is stored.
        """
        ...

    def get(self, id: uuid.UUID) -> R:
        """The stored record with this id.

        Raises:
            NotFound: no record has this id.
        """
        ...

    def save(self, record: R) -> R:
        """Store a changed record, only if nobody saved it since it was read.

        Returns it with ``version + 1``.

        Raises:
            ConcurrencyError: the stored version differs from ``record.version``
                (checked first, so a stale copy is reported as stale).
            NotFound: no record has this id.
            ValidationError: (interactions, cases) the record names another
                customer than the stored one: a record never changes owner.
        """
        ...

    def count(self) -> int:
        """How many records are stored."""
        ...

    def all(self) -> Iterator[R]:
        """Every record, oldest first (by its own opening time, ties by id), streaming.

        A store that holds several tenants' records gives each tenant's in
        turn: the records of no tenant first, then each tenant's, tenants in
        the order of their names.
        """
        ...


@runtime_checkable
class CustomerRepository(Repository[Customer], Protocol):
    """The customers of a store."""


@runtime_checkable
class LinkedRepository(Repository[R], Protocol[R]):
    """Records that belong to a customer: interactions and cases."""

    def for_customer(
        self,
        customer_id: uuid.UUID,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
    ) -> Iterator[R]:
        """A customer's records, oldest first by opening time (ties by id), streaming.

        The window is ``since <= opened_at < until``; either bound may be ``None``.
        Times compare as instants, whatever zone each is in.
        """
        ...


@runtime_checkable
class EventFeed(Protocol):
    """The change feed: every add, save and forget, in commit order."""

    def since(self, position: int = 0) -> Iterator[ChangeEvent]:
        """Entries with a position greater than ``position``, in order.

        Positions increase in commit order and are never reused; they need
        not be consecutive (a backend may skip numbers, never go back).
        """
        ...

    def latest(self) -> int:
        """The position of the newest entry (0 when there is none)."""
        ...


@runtime_checkable
class Store(Protocol):
    """A place customers, interactions and cases are kept.

    Open one with :func:`custservice.open_store`. A store is a context
    manager that closes itself.
    """

    @property
    def customers(self) -> CustomerRepository:
        """The customers."""
        ...

    @property
    def interactions(self) -> LinkedRepository[Interaction]:
        """The interactions."""
        ...

    @property
    def cases(self) -> LinkedRepository[Case]:
        """The cases."""
        ...

    @property
    def events(self) -> EventFeed:
        """The change feed."""
        ...

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: every change inside the block lands, or none does.

        Transactions nest: an inner block joins the outer one.
        """
        ...

    def forget(self, customer_id: uuid.UUID) -> None:
        """Erase a customer and every record linked to them.

        Raises:
            NotFound: no such customer is stored.
        """
        ...

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything stored about a customer, as plain data (data portability).

        The shape is ``{"customer": ..., "interactions": [...], "cases": [...]}``:
        each record in its :func:`~custservice.to_dict` form, interactions and
        cases oldest first as ``for_customer`` yields them. A backend can
        build it from its own repositories with :func:`export_customer`.

        Raises:
            NotFound: no such customer is stored.
        """
        ...

    def close(self) -> None:
        """Release the store's resources; closing twice is harmless."""
        ...

    def __enter__(self) -> Store: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class TenantScoped(Protocol):
    """A store that keeps several tenants' records apart (every built-in store does).

    Records, change-feed entries, counts, exports and erasures of one tenant
    are reached through its scope, ``store.scoped(tenant)``; which tenant
    each record belongs to, through ``tenant_records(kind)``. Ids are unique
    within a tenant. The unscoped store sees every tenant: ``get`` finds a
    record of any tenant (of the first tenant holding the id, the records of
    no tenant first, then tenants in name order), ``save`` and ``forget``
    keep the record's tenant, and ``add`` writes records of no tenant (an
    interaction or case only for a customer of no tenant).
    """

    def scoped(self, tenant: str) -> Store:
        """The store as tenant ``tenant`` sees it: only that tenant's records, written as
        that tenant's; another tenant's id is :class:`~custservice.NotFound`.

        The scope shares its store's connections and transactions (a
        ``transaction()`` block of either holds the other's changes), and
        closing it closes only the scope. Feed positions stay global: a
        scope's feed skips other tenants' positions.

        Raises:
            ValidationError: ``tenant`` is not a non-empty string of at most
                100 characters, or is another tenant than a scoped store's own.
        """
        ...

    def tenant_records(
        self, kind: Kind
    ) -> Iterator[tuple[str | None, Customer | Interaction | Case]]:
        """Every record of ``kind`` this store sees, each with the tenant it belongs to.

        The records come as ``all()`` reads them: of a tenant's store, its
        own; of the unscoped store, each tenant's in turn, the records of no
        tenant first (their tenant ``None``), then tenants by name. For
        exports and copies that must say whose each record is.

        Args:
            kind: ``"customer"``, ``"interaction"`` or ``"case"``.

        Raises:
            ValidationError: ``kind`` is none of these.
        """
        ...


def export_customer(store: Store, customer_id: uuid.UUID) -> dict[str, Any]:
    """What :meth:`Store.export` returns, read through ``store``'s repositories.

    Backends use it to implement ``export``; third-party ones may too.
    """
    from ..serialization import to_dict

    customer = store.customers.get(customer_id)
    return {
        "customer": to_dict(customer),
        "interactions": [to_dict(i) for i in store.interactions.for_customer(customer_id)],
        "cases": [to_dict(c) for c in store.cases.for_customer(customer_id)],
    }
