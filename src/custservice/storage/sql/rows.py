"""A record as the row a SQL table keeps: its stored form beside its typed columns."""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Set
from typing import Any

from ...cases import Case
from ...customers import Customer
from ...enums import CaseStatus, Factor
from ...feedback import Feedback
from ...interactions import Interaction
from ...serialization import _codec
from ...service_levels import FINISHED, reply_and_resolution, whole_history

__all__ = ["row"]

_micros = _codec.micros
Record = Customer | Interaction | Case


def _state(value: object) -> str:
    """A lifecycle state as text: an enum member's value (its name if not text), or itself."""
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name
    return str(value)


def _customer(c: Customer) -> dict[str, Any]:
    channel = c.preferred_channel
    return {
        "stage": _state(c.lifecycle.current),
        "segment": c.segment,
        "preferred_channel": None if channel is None else channel.value,
    }


def _interaction(i: Interaction) -> dict[str, Any]:
    received = i.received_at
    fb = i.feedback
    return {
        "channel": i.channel.value,
        "agent": i.agent,
        "stage": _state(i.lifecycle.current),
        "root_cause": None if i.root_cause is None else i.root_cause.value,
        "case_id": None if i.case_id is None else str(i.case_id),
        "resolved_at": None if i.resolved_at is None else _micros(i.resolved_at),
        "queue_wait": None if received is None else _micros(received) - _micros(i.opened_at),
        "handoffs": len(i.handoffs),
        "first_contact": i.first_contact_resolution,
        "feedback_score": None if fb is None else fb.score,
        "feedback_scale": None if fb is None else fb.scale.name,
        **_levels(fb),
        "feedback_verdict": None if fb is None else fb.verdict.value,
        "feedback_at": None if fb is None else _micros(fb.at),
        **_ratings(fb),
        "team": i.team,
        "tags": tags_text(i.tags),
    }


def tags_text(tags: Set[str]) -> str | None:
    """A record's tags as the typed column ``tags`` holds them: a JSON array of text,
    sorted, or ``NULL`` when it has none."""
    if not tags:
        return None
    return json.dumps(sorted(tags), ensure_ascii=False, separators=(",", ":"))


_LEVELS = ("low", "high", "adequate", "desired")
_NO_LEVELS = {f"feedback_scale_{level}": None for level in _LEVELS}
_INT64 = range(-(2**63), 2**63)


def _levels(fb: Feedback | None) -> dict[str, Any]:
    """The scale's levels; one beyond 64 bits is NULL (no such scale is told apart in SQL)."""
    if fb is None:
        return _NO_LEVELS
    scale = fb.scale
    return {
        f"feedback_scale_{level}": value if value in _INT64 else None
        for level, value in zip(
            _LEVELS, (scale.low, scale.high, scale.adequate, scale.desired), strict=True
        )
    }


_NO_RATINGS = {f"{factor.value}_verdict": None for factor in Factor}


def _ratings(fb: Feedback | None) -> dict[str, Any]:
    if fb is None or not fb.ratings:
        return _NO_RATINGS
    verdicts = fb.factor_verdicts
    return {
        f"{factor.value}_verdict": verdicts[factor].value if factor in verdicts else None
        for factor in Factor
    }


def _case(k: Case) -> dict[str, Any]:
    status = k.status
    solved = status in FINISHED
    whole = whole_history(k)
    first_reply, resolution = reply_and_resolution(whole)
    return {
        "status": status.value,
        "root_cause": None if k.root_cause is None else k.root_cause.value,
        "promised_by": None if k.promised_by is None else _micros(k.promised_by),
        "resolved_at": _micros(_latest_solve(k)) if solved else None,
        "priority": k.priority.value,
        "channel": None if k.channel is None else k.channel.value,
        "assignee": k.assignee,
        "team": k.team,
        "merged_into": None if k.merged_into is None else str(k.merged_into),
        "first_reply": first_reply,
        "resolution": resolution,
        "reopens": whole.reopens,
        "status_changed_at": whole.changed_at,
        "tags": tags_text(k.tags),
    }


def _latest_solve(k: Case) -> Any:
    category = k.pipeline.category
    for change in reversed(k.lifecycle.history):
        if category(change.target) is CaseStatus.SOLVED:
            return change.at
    return k.lifecycle.since


_TYPED: dict[type, Callable[[Any], dict[str, Any]]] = {
    Customer: _customer,
    Interaction: _interaction,
    Case: _case,
}


def row(record: Record, version: int) -> dict[str, Any]:
    """The row that stores ``record`` as ``version``: ids, opening time, stored text, typed
    columns."""
    rid, owner, opened, text = _codec.columns(record, version)
    values = {"id": rid, "opened_at": opened, "version": version, "data": text}
    if not isinstance(record, Customer):
        values["customer_id"] = owner
    typed = _TYPED.get(type(record))
    if typed is None:  # a subclass: its base class's columns
        typed = next(f for cls, f in _TYPED.items() if isinstance(record, cls))
    values.update(typed(record))
    return values
