"""Helpers every backend shares: record kinds, windows, export."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from .._time import aware
from ..cases import Case
from ..customers import Customer
from ..errors import ValidationError
from ..interactions import Interaction
from .protocols import Kind, Store

Record = Customer | Interaction | Case

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


def export(store: Store, customer_id: uuid.UUID) -> dict[str, Any]:
    """Everything a store holds about a customer, in ``to_dict`` form."""
    from ..serialization import to_dict

    customer = store.customers.get(customer_id)
    return {
        "customer": to_dict(customer),
        "interactions": [to_dict(i) for i in store.interactions.for_customer(customer_id)],
        "cases": [to_dict(c) for c in store.cases.for_customer(customer_id)],
    }
