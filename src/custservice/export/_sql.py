"""Exports of interactions from a SQL store, read from the table's typed columns.

A store of the shared SQL core (it offers ``sql_snapshot()``) keeps beside
each record's stored form typed columns derived from it on every write: ids,
instants in microseconds, enum values, the queue wait, handoffs, the
feedback's score, scale and verdicts, tags. An export of its interactions
reads those columns and parses the stored JSON only for the few values the
table lacks (when the stage began, the factors' ratings, the attributes, and
the personal fields when asked), instead of rebuilding every record. The
rows are the ones :func:`~custservice.export.export_rows` builds from the
records, value for value; a property test holds them equal on every
built-in store.

Pages are read as the repositories read them: each tenant in turn, by
opening time then id, one short snapshot per page, so nothing is held
between pages and memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import pendulum
import sqlalchemy as sa

from .._desk import attribute_from_data
from ..enums import Factor
from ..errors import ValidationError
from ._columns import Scalar, instant

__all__ = ["PAGE", "interaction_attributes", "interaction_rows", "sql_source"]

PAGE = 2000
"""Rows per query: few round trips, and memory for only this many."""

_FACTORS = tuple(f.value for f in Factor)
_NO_TENANT = ""

Snapshots = Callable[[], AbstractContextManager[Any]]


def sql_source(source: object) -> Snapshots | None:
    """The ``sql_snapshot`` method of a store of the shared SQL core, or ``None``."""
    snapshot = getattr(source, "sql_snapshot", None)
    return snapshot if callable(snapshot) else None


_EPOCH_UTC = pendulum.DateTime(1970, 1, 1, tzinfo=pendulum.UTC)
_add = dt.datetime.__add__  # the stdlib's, which keeps the class: a pendulum.DateTime in UTC


def _at(micros: int | None, field: str) -> pendulum.DateTime | None:
    """An instant kept as microseconds since 1970, in UTC, as :func:`instant` gives it."""
    if micros is None:
        return None
    try:
        at: pendulum.DateTime = _add(_EPOCH_UTC, dt.timedelta(microseconds=micros))
    except OverflowError:
        raise ValidationError(
            "an instant with no time in UTC between the years 1 and 9999", field=field
        ) from None
    return at


def _since(text: str, field: str) -> pendulum.DateTime | None:
    """A stored instant (ISO 8601 with its offset, the zone in brackets) in UTC."""
    return instant(dt.datetime.fromisoformat(text.partition("[")[0]), field)


def _tenants(snap: Any) -> list[str]:
    """The tenants whose records ``snap`` sees, in the order ``all()`` reads them."""
    if snap.tenant is not None:
        return [snap.tenant]
    names = snap.connection.scalars(sa.select(snap.tables["tenants"].c.tenant))
    return sorted(names)


def _pages(
    snapshots: Snapshots, columns: Callable[[Any], list[Any]]
) -> Iterator[tuple[str, list[Any]]]:
    """Every row of ``interactions`` this store sees, a page at a time, with its tenant:
    each tenant's in turn, by opening time then id (as ``all()`` reads them)."""
    with snapshots() as snap:
        tenants = _tenants(snap)
    for tenant in tenants:
        after: tuple[int, str] | None = None
        while True:
            with snapshots() as snap:
                t = snap.tables["interactions"]
                query = (
                    sa.select(*columns(t))
                    .where(t.c.tenant == tenant)
                    .order_by(t.c.opened_at, t.c.id)
                    .limit(PAGE)
                )
                if after is not None:
                    # Typed as the columns: PostgreSQL's ids are UUIDs, not text.
                    bound = sa.tuple_(*after, types=[t.c.opened_at.type, t.c.id.type])
                    query = query.where(sa.tuple_(t.c.opened_at, t.c.id) > bound)
                page = list(snap.connection.execute(query).all())
            if page:
                yield tenant, page
            if len(page) < PAGE:
                break
            last = page[-1]
            after = (last.opened_at, last.id)


def _stored_attributes(t: Any, dialect: str) -> Any:
    """The column of each row's attributes as stored, JSON text: pulled out of the stored
    form by SQLite, which keeps the text exactly, so the whole record is not parsed here;
    the stored form itself elsewhere (PostgreSQL's JSON functions refuse some text a
    record may hold, a NUL escaped)."""
    if dialect == "sqlite":
        return sa.func.json_extract(t.c.data, "$.attributes")
    return t.c.data


def interaction_attributes(snapshots: Snapshots) -> Iterator[dict[str, Any]]:
    """Each stored interaction's attributes, read from its stored form (for the first
    pass that finds the attribute columns)."""
    loads = json.loads
    with snapshots() as snap:
        dialect = snap.dialect
    whole = dialect != "sqlite"

    def columns(t: Any) -> list[Any]:
        return [t.c.opened_at, t.c.id, _stored_attributes(t, dialect).label("held")]

    for _, page in _pages(snapshots, columns):
        for _, _, text in page:
            if text is None or text == "{}":
                continue
            held = loads(text)
            if whole:
                held = held.get("attributes")
            if held:
                yield {
                    name: attribute_from_data(value, f"attributes.{name}")
                    for name, value in held.items()
                }


_PARTS = ("lifecycle.since", "feedback", "attributes", "topic")
"""What a row needs of the stored form beyond the typed columns, by path."""


def _stored_parts(t: Any, dialect: str) -> Any:
    """A JSON array of :data:`_PARTS` pulled out of each row's stored form by SQLite, which
    keeps the text of each exactly; the stored form itself elsewhere."""
    if dialect == "sqlite":
        return sa.func.json_extract(t.c.data, *(f"$.{path}" for path in _PARTS))
    return t.c.data


def _parts_of(dialect: str) -> Callable[[str], list[Any]]:
    """How a row's :func:`_stored_parts` is read as the values of :data:`_PARTS`."""
    loads = json.loads
    if dialect == "sqlite":
        return loads

    def whole(text: str) -> list[Any]:
        data = loads(text)
        return [data["lifecycle"]["since"], data.get("feedback"), data.get("attributes"),
                data.get("topic")]  # fmt: skip

    return whole


def _typed(t: Any) -> list[Any]:
    return [
        t.c.id,
        t.c.customer_id,
        t.c.case_id,
        t.c.version,
        t.c.channel,
        t.c.opened_at,
        t.c.stage,
        t.c.agent,
        t.c.team,
        t.c.tags,
        t.c.root_cause,
        t.c.queue_wait,
        t.c.handoffs,
        t.c.resolved_at,
        t.c.feedback_at,
        t.c.feedback_verdict,
        *(t.c[f"{f}_verdict"] for f in _FACTORS),
    ]


def interaction_rows(
    snapshots: Snapshots,
    personal: bool,
    fit_attributes: Callable[[dict[str, Scalar], dict[str, Any]], None] | None,
) -> Iterator[dict[str, Scalar]]:
    """The rows of every interaction the store sees, each led by its tenant, as
    ``export_rows`` builds them from the records."""
    with snapshots() as snap:
        dialect = snap.dialect
    parts_of = _parts_of(dialect)
    at = _at
    no_feedback = {
        "feedback_at": None,
        "feedback_score": None,
        "feedback_scale": None,
        "feedback_scale_low": None,
        "feedback_scale_high": None,
        "feedback_verdict": None,
        **{f"ratings.{f}": None for f in _FACTORS},
        **{f"factor_verdicts.{f}": None for f in _FACTORS},
    }
    rating_columns = [f"ratings.{f}" for f in _FACTORS]
    verdict_columns = [f"factor_verdicts.{f}" for f in _FACTORS]

    def columns(t: Any) -> list[Any]:
        return [*_typed(t), _stored_parts(t, dialect).label("parts")]

    for tenant, page in _pages(snapshots, columns):
        tenant_value = None if tenant == _NO_TENANT else tenant
        for (rid, customer_id, case_id, version, channel, opened, stage, agent, team, tags,
             root_cause, wait, handoffs, resolved, feedback_at, feedback_verdict,
             *verdicts, text) in page:  # fmt: skip
            since, fb, held, topic = parts_of(text)
            row: dict[str, Scalar] = {
                "tenant": tenant_value,
                "id": str(rid),
                "customer_id": str(customer_id),
                "case_id": None if case_id is None else str(case_id),
                "version": version,
                "channel": channel,
                "opened_at": at(opened, "opened_at"),
                "stage": stage,
                "stage_since": _since(since, "stage_since"),
                "agent": agent,
                "team": team,
                "tags": tags or "[]",
                "root_cause": root_cause,
                "received_at": None if wait is None else at(opened + wait, "received_at"),
                "wait_seconds": None if wait is None else wait / 1_000_000,
                "handoffs": handoffs,
                "resolved_at": at(resolved, "resolved_at"),
                "resolution_seconds": None if resolved is None else (resolved - opened) / 1_000_000,
                "first_contact_resolution": resolved is not None and not handoffs,
            }
            if fb is None:
                row.update(no_feedback)
            else:
                scale = fb["scale"]
                ratings = fb.get("ratings") or {}
                row["feedback_at"] = at(feedback_at, "feedback.at")
                row["feedback_score"] = fb["score"]
                row["feedback_scale"] = scale["name"]
                row["feedback_scale_low"] = scale["low"]
                row["feedback_scale_high"] = scale["high"]
                row["feedback_verdict"] = feedback_verdict
                for column, rating in zip(rating_columns, _FACTORS, strict=True):
                    row[column] = ratings.get(rating)
                for column, verdict in zip(verdict_columns, verdicts, strict=True):
                    row[column] = verdict
            if personal:
                row["topic"] = topic
                row["feedback_comment"] = None if fb is None else fb.get("comment")
            if fit_attributes is not None:
                fit_attributes(row, held or {})
            yield row
