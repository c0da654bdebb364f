"""The columns of each kind of export, and the one flat row of each record.

Each kind has a fixed list of columns, in a fixed order, each with the
Python type of its values (``None`` is a value of every column). A column is
*personal* when it may hold personal data: it is left out unless asked for.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Collection
from typing import Any, Literal, Union

import pendulum

from .._time import in_zone, micros
from ..analytics.case_measures import case_metrics
from ..cases import Case
from ..customers import Customer
from ..enums import Factor
from ..interactions import Interaction

__all__ = [
    "COLUMNS",
    "ExportKind",
    "RECORD_TYPES",
    "Scalar",
    "ROWS",
    "instant",
    "text_list",
]

ExportKind = Literal["cases", "interactions", "customers"]
"""What an export holds: one row per case, interaction or customer."""

Scalar = Union[str, int, float, bool, pendulum.Date, pendulum.DateTime, None]  # noqa: UP007
"""A value in an exported row: text, a whole number, a float, ``True``/``False``,
a date, an instant in UTC, or ``None``."""

RECORD_TYPES: dict[str, type[Any]] = {
    "cases": Case,
    "interactions": Interaction,
    "customers": Customer,
}
"""The record each kind of export reads."""

_FACTORS = tuple(Factor)


def instant(value: dt.datetime | None, field: str) -> pendulum.DateTime | None:
    """An aware instant in UTC, as every exported instant is."""
    if value is None:
        return None
    if value.tzinfo is pendulum.UTC and isinstance(value, pendulum.DateTime):
        return value  # already so: the conversion is most of a row's cost
    return in_zone(value, "UTC", field)


def text_list(values: Collection[str]) -> str:
    """A set of texts (tags, likes) as one cell: a JSON array, sorted, so it reads back
    exactly whatever the texts hold (commas, quotes, newlines)."""
    if not values:
        return "[]"
    return json.dumps(sorted(values), ensure_ascii=False, separators=(",", ":"))


def _seconds(start: dt.datetime, end: dt.datetime | None) -> float | None:
    return None if end is None else (micros(end) - micros(start)) / 1_000_000


def _value(member: Any) -> str | None:
    return None if member is None else str(member.value)


# (name, type, personal), in export order.
_CASE_COLUMNS: tuple[tuple[str, type, bool], ...] = (
    ("id", str, False),
    ("customer_id", str, False),
    ("version", int, False),
    ("opened_at", dt.datetime, False),
    ("status", str, False),
    ("status_since", dt.datetime, False),
    ("priority", str, False),
    ("channel", str, False),
    ("assignee", str, False),
    ("team", str, False),
    ("tags", str, False),
    ("root_cause", str, False),
    ("promised_by", dt.datetime, False),
    ("updates", int, False),
    ("replies", int, False),
    ("first_reply_at", dt.datetime, False),
    ("first_reply_seconds", float, False),
    ("solved_at", dt.datetime, False),
    ("resolution_seconds", float, False),
    ("reopens", int, False),
    ("assignments", int, False),
    ("priority_changes", int, False),
    ("subject", str, True),
)


def _case_row(case: Case, personal: bool) -> dict[str, Scalar]:
    # The desk's measures of a case are case_metrics' own, in calendar time.
    measured = case_metrics(case)
    reply, resolution = measured.first_reply, measured.full_resolution
    first_reply = None if reply is None else case.opened_at + reply.calendar
    solved_at = None if resolution is None else case.opened_at + resolution.calendar
    replies, reopens = measured.replies, measured.reopens
    row: dict[str, Scalar] = {
        "id": str(case.id),
        "customer_id": str(case.customer_id),
        "version": case.version,
        "opened_at": instant(case.opened_at, "opened_at"),
        "status": case.status.value,
        "status_since": instant(case.lifecycle.since, "status_since"),
        "priority": case.priority.value,
        "channel": _value(case.channel),
        "assignee": case.assignee,
        "team": case.team,
        "tags": text_list(case.tags),
        "root_cause": _value(case.root_cause),
        "promised_by": instant(case.promised_by, "promised_by"),
        "updates": len(case.updates),
        "replies": replies,
        "first_reply_at": instant(first_reply, "first_reply_at"),
        "first_reply_seconds": _seconds(case.opened_at, first_reply),
        "solved_at": instant(solved_at, "solved_at"),
        "resolution_seconds": _seconds(case.opened_at, solved_at),
        "reopens": reopens,
        "assignments": len(case.assignments),
        "priority_changes": len(case.priority_changes),
    }
    if personal:
        row["subject"] = case.subject
    return row


_INTERACTION_COLUMNS: tuple[tuple[str, type, bool], ...] = (
    ("id", str, False),
    ("customer_id", str, False),
    ("case_id", str, False),
    ("version", int, False),
    ("channel", str, False),
    ("opened_at", dt.datetime, False),
    ("stage", str, False),
    ("stage_since", dt.datetime, False),
    ("agent", str, False),
    ("team", str, False),
    ("tags", str, False),
    ("root_cause", str, False),
    ("received_at", dt.datetime, False),
    ("wait_seconds", float, False),
    ("handoffs", int, False),
    ("resolved_at", dt.datetime, False),
    ("resolution_seconds", float, False),
    ("first_contact_resolution", bool, False),
    ("feedback_at", dt.datetime, False),
    ("feedback_score", int, False),
    ("feedback_scale", str, False),
    ("feedback_scale_low", int, False),
    ("feedback_scale_high", int, False),
    ("feedback_verdict", str, False),
    *((f"ratings.{f.value}", int, False) for f in _FACTORS),
    *((f"factor_verdicts.{f.value}", str, False) for f in _FACTORS),
    ("topic", str, True),
    ("feedback_comment", str, True),
)


def _interaction_row(interaction: Interaction, personal: bool) -> dict[str, Scalar]:
    received = interaction.received_at
    fb = interaction.feedback
    row: dict[str, Scalar] = {
        "id": str(interaction.id),
        "customer_id": str(interaction.customer_id),
        "case_id": None if interaction.case_id is None else str(interaction.case_id),
        "version": interaction.version,
        "channel": interaction.channel.value,
        "opened_at": instant(interaction.opened_at, "opened_at"),
        "stage": interaction.stage.value,
        "stage_since": instant(interaction.lifecycle.since, "stage_since"),
        "agent": interaction.agent,
        "team": interaction.team,
        "tags": text_list(interaction.tags),
        "root_cause": _value(interaction.root_cause),
        "received_at": instant(received, "received_at"),
        "wait_seconds": _seconds(interaction.opened_at, received),
        "handoffs": len(interaction.handoffs),
        "resolved_at": instant(interaction.resolved_at, "resolved_at"),
        "resolution_seconds": _seconds(interaction.opened_at, interaction.resolved_at),
        "first_contact_resolution": interaction.first_contact_resolution,
    }
    if fb is None:
        row.update(_NO_FEEDBACK)
    else:
        scale = fb.scale
        row["feedback_at"] = instant(fb.at, "feedback.at")
        row["feedback_score"] = fb.score
        row["feedback_scale"] = scale.name
        row["feedback_scale_low"] = scale.low
        row["feedback_scale_high"] = scale.high
        row["feedback_verdict"] = fb.verdict.value
        ratings = fb.ratings
        for f in _FACTORS:
            row[f"ratings.{f.value}"] = ratings.get(f)
        for f in _FACTORS:
            score = ratings.get(f)
            row[f"factor_verdicts.{f.value}"] = (
                None if score is None else scale.classify(score).value
            )
    if personal:
        row["topic"] = interaction.topic
        row["feedback_comment"] = None if fb is None else fb.comment
    return row


_NO_FEEDBACK: dict[str, Scalar] = {
    name: None
    for name, _, personal in _INTERACTION_COLUMNS
    if name.startswith(("feedback_", "ratings.", "factor_verdicts.")) and not personal
}

_CUSTOMER_COLUMNS: tuple[tuple[str, type, bool], ...] = (
    ("id", str, False),
    ("version", int, False),
    ("created_at", dt.datetime, False),
    ("stage", str, False),
    ("stage_since", dt.datetime, False),
    ("segment", str, False),
    ("preferred_channel", str, False),
    ("own_expectations", int, False),
    ("name", str, True),
    ("email", str, True),
    ("phone", str, True),
    ("birthday", dt.date, True),
    ("timezone", str, True),
    ("likes", str, True),
    ("dislikes", str, True),
    ("hobbies", str, True),
)


def _customer_row(customer: Customer, personal: bool) -> dict[str, Scalar]:
    row: dict[str, Scalar] = {
        "id": str(customer.id),
        "version": customer.version,
        "created_at": instant(customer.created_at, "created_at"),
        "stage": customer.stage.value,
        "stage_since": instant(customer.lifecycle.since, "stage_since"),
        "segment": customer.segment,
        "preferred_channel": _value(customer.preferred_channel),
        "own_expectations": len(customer.expectations),
    }
    if personal:
        row["name"] = customer.name
        row["email"] = customer.email
        row["phone"] = customer.phone
        row["birthday"] = customer.birthday
        row["timezone"] = customer.timezone
        row["likes"] = text_list(customer.likes)
        row["dislikes"] = text_list(customer.dislikes)
        row["hobbies"] = text_list(customer.hobbies)
    return row


COLUMNS: dict[str, tuple[tuple[str, type, bool], ...]] = {
    "cases": _CASE_COLUMNS,
    "interactions": _INTERACTION_COLUMNS,
    "customers": _CUSTOMER_COLUMNS,
}
"""Each kind's fixed columns: ``(name, type of its values, personal)``, in order."""

ROWS: dict[str, Callable[[Any, bool], dict[str, Scalar]]] = {
    "cases": _case_row,
    "interactions": _interaction_row,
    "customers": _customer_row,
}
"""Each kind's row builder: ``(record, personal_data) -> row`` of its fixed columns."""
