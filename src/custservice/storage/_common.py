"""Helpers every backend shares: record kinds, windows, export."""

from __future__ import annotations

import datetime as dt
import uuid

from .._time import aware
from ..cases import Case
from ..customers import Customer
from ..errors import ValidationError
from ..interactions import Interaction
from .protocols import Kind, export_customer

Record = Customer | Interaction | Case

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
