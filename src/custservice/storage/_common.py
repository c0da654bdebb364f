"""Helpers every backend shares: record kinds, windows, export."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .._time import aware
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus
from ..errors import StorageError, ValidationError
from ..interactions import Interaction
from ..service_levels import CaseFacts
from .protocols import CustomerRepository, EventFeed, Kind, LinkedRepository, export_customer

if TYPE_CHECKING:
    import logging

Record = Customer | Interaction | Case
R = TypeVar("R", Customer, Interaction, Case)
T = TypeVar("T")

export = export_customer
"""A store's ``export``, read through its repositories."""

KIND_OF: dict[type, Kind] = {Customer: "customer", Interaction: "interaction", Case: "case"}
TYPE_OF: dict[Kind, type] = {kind: cls for cls, kind in KIND_OF.items()}


def logger(name: str) -> logging.Logger:
    """The logger a module of the library logs on (pass its ``__name__``).

    Every such logger is below ``custservice``, which is given a
    :class:`logging.NullHandler` here, where a module first asks for a
    logger (so ``import custservice`` does not load :mod:`logging`): the
    library says nothing on stderr unless the application configures
    logging, and then its records propagate as usual.
    """
    import logging

    root = logging.getLogger("custservice")
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())
    return logging.getLogger(name)


def check_record(record: object, cls: type) -> None:
    """A ``ValidationError`` unless ``record`` is a ``cls``."""
    if not isinstance(record, cls):
        raise ValidationError(
            f"expected a {cls.__name__}, got {type(record).__name__}", field="record"
        )


def opened(record: Record) -> dt.datetime:
    """The record's own opening time, which orders records of one kind."""
    return record.created_at if isinstance(record, Customer) else record.opened_at


def owner(record: Record) -> uuid.UUID:
    """The id of the customer a record belongs to."""
    return record.id if isinstance(record, Customer) else record.customer_id


def window(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """Checked bounds of a ``since <= t < until`` window."""
    return (
        None if since is None else aware(since, "since"),
        None if until is None else aware(until, "until"),
    )


TENANT_LENGTH = 100
"""The longest tenant name, in characters."""


def check_tenant(value: object) -> str:
    """A tenant's name: a ``ValidationError`` unless ``value`` is a non-empty string of at
    most :data:`TENANT_LENGTH` characters."""
    if not isinstance(value, str):
        raise ValidationError(f"expected a string, got {type(value).__name__}", field="tenant")
    if not value or len(value) > TENANT_LENGTH:
        raise ValidationError(
            f"a tenant is named by 1 to {TENANT_LENGTH} characters, got {len(value)}",
            field="tenant",
        )
    if "\x00" in value:
        raise ValidationError("a tenant's name cannot hold a NUL character", field="tenant")
    return value


def check_scope(current: str | None, wanted: object) -> str:
    """The checked tenant a store scoped to ``current`` (``None``: unscoped) may be scoped to:
    a scope reaches no other tenant."""
    tenant = check_tenant(wanted)
    if current is not None and tenant != current:
        raise ValidationError(
            "a tenant's store reaches no other tenant: scope the unscoped store", field="tenant"
        )
    return tenant


def check_kind(value: object) -> Kind:
    """A kind of record: a ``ValidationError`` unless ``value`` is one."""
    if not isinstance(value, str) or value not in TYPE_OF:
        raise ValidationError(
            f"unknown kind {value!r}; expected one of {', '.join(TYPE_OF)}", field="kind"
        )
    return value


def check_id(value: object, field: str = "id") -> uuid.UUID:
    """A ``ValidationError`` unless ``value`` is a UUID."""
    if not isinstance(value, uuid.UUID):
        raise ValidationError("expected a UUID", field=field)
    return value


def decode_rows(cls: type[R], kind: Kind, rows: list[Any], place: str) -> list[R]:
    """Records from rows that begin with their stored text, their id, their customer's id
    and their version (as a SQL table keeps them).

    Raises:
        StorageError: a row is not what the library wrote (``place`` says
            where: "file", "table"); the decoder's message is not chained, as
            it may quote stored personal data.
    """
    from ..serialization import _codec

    return _read(kind, place, _codec.decode_rows, cls, rows)


def read_case_facts(
    rows: list[Any], at: int, place: str
) -> list[tuple[CaseFacts, CaseStatus, int]]:
    """What service targets read of the cases of rows whose first column is their stored
    JSON text, without building the cases: see
    :func:`~custservice.serialization._codec.case_facts_many`.

    Raises:
        StorageError: as :func:`decode_rows`.
    """
    from ..serialization import _codec

    return _read("case", place, _codec.case_facts_many, [row[0] for row in rows], at)


def _read(kind: Kind, place: str, read: Callable[..., list[T]], *args: Any) -> list[T]:
    """``read(*args)``, a stored record of another shape reported as a ``StorageError``
    (``place`` says where: "file", "table"); the decoder's message is not chained, as it
    may quote stored personal data."""
    try:
        return read(*args)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise StorageError(
            f"a stored {kind} could not be read ({type(exc).__name__}); "
            f"the {place} was changed by something other than custservice"
        ) from None


def while_open(items: Iterable[T], check_open: Callable[[], None]) -> Iterator[T]:
    """``items``, one at a time, while the store is open.

    Every step, the one that would end the iteration included, first calls
    ``check_open``: an iterator resumed after its store was closed raises
    :class:`StorageError`, as any other use of a closed store does, even with
    items read ahead still unread.
    """
    for item in items:
        check_open()
        yield item
    check_open()


def keyset_pages(
    rows: list[Any],
    decode: Callable[[list[Any]], list[R]],
    page_after: Callable[[tuple[int, str]], list[Any]],
    page_size: int,
    check_open: Callable[[], None] | None = None,
) -> Iterator[R]:
    """Records page by page, oldest first: each next page is read after the last
    record's ``(opened_at microseconds, id)``, so memory stays bounded.

    Nothing is held between pages (each page is one query, on a connection
    taken only for it), so an iterator left half-read holds nothing, and
    iterations nest freely. With ``check_open``, every step first calls it
    (see :func:`while_open`); without, the caller checks.
    """
    from ..serialization._codec import micros

    while True:
        records = decode(rows)
        yield from records if check_open is None else while_open(records, check_open)
        if len(rows) < page_size:
            return
        last = records[-1]
        rows = page_after((micros(opened(last)), str(last.id)))


class Repositories:
    """What every built-in store shares: its repositories by name, and closing on exit.

    A subclass sets ``_customers``, ``_interactions``, ``_cases`` and
    ``_events`` and defines ``close``.
    """

    _customers: CustomerRepository
    _interactions: LinkedRepository[Interaction]
    _cases: LinkedRepository[Case]
    _events: EventFeed

    @property
    def customers(self) -> CustomerRepository:
        """The customers."""
        return self._customers

    @property
    def interactions(self) -> LinkedRepository[Interaction]:
        """The interactions."""
        return self._interactions

    @property
    def cases(self) -> LinkedRepository[Case]:
        """The cases."""
        return self._cases

    @property
    def events(self) -> EventFeed:
        """The change feed."""
        return self._events

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
