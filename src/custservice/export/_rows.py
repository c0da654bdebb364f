"""One flat row per record: the fixed columns of its kind, then its custom attributes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from .._desk import attribute_from_data
from ..errors import ValidationError
from ..storage.protocols import Kind, Store
from ._columns import COLUMNS, RECORD_TYPES, ROWS, ExportKind, Scalar, instant
from ._sql import interaction_attributes, interaction_rows, sql_source

__all__ = ["Layout", "export_columns", "export_rows", "layout"]

ATTRIBUTE_PREFIX = "attributes."
TENANT = "tenant"
"""The column an export of a store leads with: the tenant each record belongs to."""

# The types an attribute column may hold; a subclass is listed before its base.
_TYPES: tuple[type, ...] = (bool, int, float, dt.datetime, dt.date, str)
_NAMES = {bool: "bool", int: "int", float: "float", dt.datetime: "datetime", dt.date: "date"}


def _type_of(value: object) -> type:
    return next(t for t in _TYPES if isinstance(value, t))


def _unify(seen: type | None, found: type) -> type:
    """The one type of a column that holds values of ``seen`` and ``found``: whole numbers
    and floats make floats; any other mix is text."""
    if seen is None or seen is found:
        return found
    if {seen, found} <= {int, float}:
        return float
    return str


def as_text(value: Scalar) -> str:
    """A value as text: how CSV writes it, and how a text attribute column holds a value of
    another type."""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return instant(value, "attributes").isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _fit(value: Any, kind: type, field: str) -> Scalar:
    """``value`` as a value of an attribute column of type ``kind``."""
    if value is None:
        return None
    if kind is str:
        return as_text(value)
    found = _type_of(value)
    if found is kind:
        return instant(value, field) if kind is dt.datetime else value
    if kind is float and found is int:
        return float(value)
    raise ValidationError(
        f"a {_NAMES.get(found, 'text')} value in a column declared {_NAMES[kind]}", field=field
    )


@attrs.frozen
class Layout:
    """The columns of one export and how to fill them.

    Attributes:
        kind: what is exported.
        personal_data: whether personal columns are included.
        attributes: the custom attributes exported, by name, with the type of
            their column.
    """

    kind: ExportKind
    personal_data: bool
    attributes: tuple[tuple[str, type], ...]
    with_tenant: bool = False

    @property
    def columns(self) -> dict[str, type]:
        """Every column, in order, with the type of its values."""
        tenant: dict[str, type] = {TENANT: str} if self.with_tenant else {}
        fixed = {
            n: t for n, t, personal in COLUMNS[self.kind] if self.personal_data or not personal
        }
        return tenant | fixed | {ATTRIBUTE_PREFIX + n: t for n, t in self.attributes}

    def rows(self, records: Iterable[Any]) -> Iterator[dict[str, Scalar]]:
        """One row per record, streaming; with the tenant column, ``records`` are
        ``(tenant, record)`` pairs."""
        build = ROWS[self.kind]
        expected = RECORD_TYPES[self.kind]
        personal = self.personal_data
        wanted = [(n, ATTRIBUTE_PREFIX + n, t) for n, t in self.attributes]
        with_tenant = self.with_tenant
        tenant: str | None = None
        for item in records:
            if with_tenant:
                tenant, record = item
            else:
                record = item
            if not isinstance(record, expected):
                raise ValidationError(
                    f"expected {expected.__name__} records for an export of {self.kind}, "
                    f"got {type(record).__name__}",
                    field="source",
                )
            row = build(record, personal)
            if with_tenant:
                row = {TENANT: tenant} | row
            if wanted:
                held = record.attributes
                for name, column, kind in wanted:
                    row[column] = _fit(held.get(name), kind, column)
            yield row


def _kind(kind: object) -> ExportKind:
    if kind not in COLUMNS:
        raise ValidationError(
            f"unknown kind {kind!r}; expected one of {', '.join(COLUMNS)}", field="kind"
        )
    return kind  # type: ignore[return-value]


def _declared(kind: ExportKind, attributes: Mapping[str, type]) -> tuple[tuple[str, type], ...]:
    if not isinstance(attributes, Mapping):
        raise ValidationError("expected a mapping of attribute name to type", field="attributes")
    if attributes and kind == "customers":
        raise ValidationError("customers have no custom attributes", field="attributes")
    out = []
    for name, kind_ in attributes.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValidationError(f"{name!r} is not an attribute name", field="attributes")
        base = next((t for t in _TYPES if isinstance(kind_, type) and issubclass(kind_, t)), None)
        if base is None:
            raise ValidationError(
                "expected one of str, int, float, bool, datetime.date, datetime.datetime",
                field=f"attributes.{name}",
            )
        out.append((name, base))
    return tuple(out)


def _discovered(held: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, type], ...]:
    """Every attribute name of the records' attributes, sorted, with the one type of its
    column."""
    found: dict[str, type | None] = {}
    for attributes in held:
        for name, value in attributes.items():
            seen = found.get(name)
            found[name] = seen if value is None else _unify(seen, _type_of(value))
    # A column that only ever held None has no type to keep: it is text.
    return tuple((name, found[name] or str) for name in sorted(found))


_KIND: dict[str, Kind] = {"cases": "case", "interactions": "interaction", "customers": "customer"}


def _tagged(store: Store, kind: ExportKind) -> Iterable[tuple[str | None, Any]]:
    """A store's records of ``kind``, each with its tenant (``None`` for a store that keeps
    no tenants apart: its records are of no tenant)."""
    tenant_records = getattr(store, "tenant_records", None)
    if tenant_records is not None:
        tagged: Iterable[tuple[str | None, Any]] = tenant_records(_KIND[kind])
        return tagged
    return ((None, record) for record in getattr(store, kind).all())


def reader(
    source: Store | Iterable[Any], kind: ExportKind
) -> tuple[Callable[[], Iterable[Any]], bool]:
    """A function that reads the records afresh on each call, and whether it may be called
    twice (a one-shot iterator may not)."""
    if isinstance(source, Store):
        repository = getattr(source, kind)
        return repository.all, True
    if not isinstance(source, Iterable):
        raise ValidationError(
            f"expected a store or an iterable of records, got {type(source).__name__}",
            field="source",
        )
    return (lambda: source), iter(source) is not source


def layout(
    source: Store | Iterable[Any],
    kind: object,
    personal_data: bool,
    attributes: Mapping[str, type] | None,
) -> tuple[Layout, Iterator[dict[str, Scalar]]]:
    """The layout of an export and its rows (read from the start)."""
    checked = _kind(kind)
    if not isinstance(personal_data, bool):
        raise ValidationError("expected True or False", field="personal_data")
    read, again = reader(source, checked)
    # A SQL store's interactions are read from their typed columns (see _sql).
    snapshots = sql_source(source) if checked == "interactions" else None
    if attributes is not None:
        columns = _declared(checked, attributes)
    elif checked == "customers":
        columns = ()
    elif not again:
        raise ValidationError(
            "a one-shot iterator cannot be read twice to find the attributes: declare them "
            "(attributes={'name': str, ...}, or {} for none) or give a list or a store",
            field="attributes",
        )
    elif snapshots is not None:
        columns = _discovered(interaction_attributes(snapshots))
    else:
        columns = _discovered(record.attributes for record in read())
    if not isinstance(source, Store):
        plan = Layout(checked, personal_data, columns)
        return plan, plan.rows(read())
    plan = Layout(checked, personal_data, columns, with_tenant=True)
    if snapshots is None:
        return plan, plan.rows(_tagged(source, checked))
    return plan, interaction_rows(snapshots, personal_data, _attribute_filler(columns))


def _attribute_filler(
    columns: tuple[tuple[str, type], ...],
) -> Callable[[dict[str, Scalar], dict[str, Any]], None] | None:
    """What fills a row's attribute columns from a record's attributes as stored (plain
    data: a date or an instant a one-key object), as :meth:`Layout.rows` does from the
    record's own."""
    if not columns:
        return None
    wanted = [(n, ATTRIBUTE_PREFIX + n, t) for n, t in columns]

    def fill(row: dict[str, Scalar], stored: dict[str, Any]) -> None:
        for name, column, kind in wanted:
            value = stored.get(name)
            if value is not None:
                value = attribute_from_data(value, column)
            row[column] = _fit(value, kind, column)

    return fill


def export_rows(
    source: Store | Iterable[Any],
    *,
    kind: ExportKind,
    personal_data: bool = False,
    attributes: Mapping[str, type] | None = None,
) -> Iterator[dict[str, Scalar]]:
    """One flat row per case, interaction or customer, streaming: for BI tools and files.

    Every row has the same keys, in the same order (:func:`export_columns`):
    the fixed columns of its kind, then one ``attributes.NAME`` column per
    custom attribute. An export of a store leads with a ``tenant`` column:
    the tenant each record belongs to (``None`` for the records of no
    tenant), so the unscoped store's rows say whose they are and a scope's
    each carry its tenant. Ids are text, enums their values, instants aware
    ``pendulum.DateTime`` in UTC, durations seconds (a float), tags a JSON
    array of text, sorted; a value that is absent is ``None``.

    No personal data is exported unless ``personal_data=True``: not a
    customer's name, email, phone, birthday, time zone, likes, dislikes or
    hobbies, nor free text (a case's subject, an interaction's topic, a
    feedback comment). Custom attributes are exported as they are: keep
    personal data out of them, or leave them out with ``attributes={}``.

    Args:
        source: a store (its records of ``kind`` are read as ``all()`` reads
            them, with their tenants through ``tenant_records`` when it
            keeps tenants apart) or an iterable of records of that kind.
        kind: ``"cases"``, ``"interactions"`` or ``"customers"``.
        personal_data: include the personal columns.
        attributes: the attribute columns, by name, with the type of their
            values (``str``, ``int``, ``float``, ``bool``, ``datetime.date``,
            ``datetime.datetime``), in the order given; other attributes are
            left out. By default (``None``) they are found in a first pass
            over the source, which then is read twice: every name found,
            sorted, each typed by what it holds (whole numbers and floats
            make a float column, any other mix text). A one-shot iterator
            cannot be read twice: declare the attributes for it.

    Returns:
        An iterator of rows; only the counters of the first pass and one
        record at a time are held, so memory stays flat however many there
        are.

    Raises:
        ValidationError: an unknown ``kind``, a record of another kind, an
            invalid ``attributes`` declaration, a value that does not fit its
            declared column, or a one-shot iterator with attributes to find.

    Examples:
        >>> import pendulum
        >>> from custservice import Case, FixedClock
        >>> from custservice.export import export_rows
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris"))
        >>> case = Case.open(Customer.new("Ada", clock=clock).id, "Refund", clock=clock,
        ...                  priority="high", attributes={"order": 1042})
        >>> row = next(export_rows([case], kind="cases"))
        >>> row["opened_at"].isoformat(), row["priority"], row["attributes.order"]
        ('2026-03-02T08:00:00+00:00', 'high', 1042)
        >>> "subject" in row
        False
    """
    return layout(source, kind, personal_data, attributes)[1]


def export_columns(
    kind: ExportKind,
    *,
    personal_data: bool = False,
    attributes: Mapping[str, type] | None = None,
    with_tenant: bool = False,
) -> dict[str, type]:
    """The columns :func:`export_rows` gives, in order, with the Python type of their values.

    Types are ``str``, ``int``, ``float``, ``bool``, ``datetime.date`` and
    ``datetime.datetime`` (in UTC); every column may also hold ``None``.
    Parquet files have the matching Arrow types.

    Args:
        kind: ``"cases"``, ``"interactions"`` or ``"customers"``.
        personal_data: include the personal columns.
        attributes: the declared attribute columns, as for :func:`export_rows`
            (none by default).
        with_tenant: lead with the ``tenant`` column, as an export of a store
            does.

    Raises:
        ValidationError: an unknown ``kind`` or an invalid declaration.
    """
    checked = _kind(kind)
    declared = _declared(checked, attributes or {})
    if not isinstance(personal_data, bool):
        raise ValidationError("expected True or False", field="personal_data")
    if not isinstance(with_tenant, bool):
        raise ValidationError("expected True or False", field="with_tenant")
    return Layout(checked, personal_data, declared, with_tenant).columns
