"""Helpers every backend shares: record kinds, windows, export."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .._time import aware
from ..cases import Case
from ..customers import Customer
from ..errors import StorageError, ValidationError
from ..interactions import Interaction
from .protocols import Kind, export_customer

Record = Customer | Interaction | Case
R = TypeVar("R", Customer, Interaction, Case)

export = export_customer
"""A store's ``export``, read through its repositories."""

KIND_OF: dict[type, Kind] = {Customer: "customer", Interaction: "interaction", Case: "case"}
TYPE_OF: dict[Kind, type] = {kind: cls for cls, kind in KIND_OF.items()}


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


def check_id(value: object, field: str = "id") -> uuid.UUID:
    """A ``ValidationError`` unless ``value`` is a UUID."""
    if not isinstance(value, uuid.UUID):
        raise ValidationError("expected a UUID", field=field)
    return value


def decode_rows(cls: type[R], kind: Kind, rows: list[Any], place: str) -> list[R]:
    """Records from rows whose first column is their stored JSON text.

    Raises:
        StorageError: a row is not what the library wrote (``place`` says
            where: "file", "table"); the decoder's message is not chained, as
            it may quote stored personal data.
    """
    from . import _codec

    try:
        return _codec.decode_many(cls, [row[0] for row in rows])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise StorageError(
            f"a stored {kind} could not be read ({type(exc).__name__}); "
            f"the {place} was changed by something other than custservice"
        ) from None


def keyset_pages(
    rows: list[Any],
    decode: Callable[[list[Any]], list[R]],
    page_after: Callable[[tuple[int, str]], list[Any]],
    page_size: int,
) -> Iterator[R]:
    """Records page by page, oldest first: each next page is read after the last
    record's ``(opened_at microseconds, id)``, so memory stays bounded."""
    from ._codec import micros

    while True:
        records = decode(rows)
        yield from records
        if len(rows) < page_size:
            return
        last = records[-1]
        rows = page_after((micros(opened(last)), str(last.id)))
