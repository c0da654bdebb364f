"""The stored form's codec: ``to_json``'s text, ``from_dict``'s objects, every field written.

The codec writes and reads records without cattrs, through functions
generated from the classes' fields; these properties hold it to the
converter over the shared strategies, and show that a field is written as
soon as a class has it, or refused when the codec cannot write its type.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import attrs
import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custservice import (
    Case,
    Channel,
    Customer,
    FixedClock,
    Interaction,
    LifecycleState,
    from_dict,
    to_dict,
    to_json,
)
from custservice._time import micros
from custservice.serialization import _codec
from custservice.serialization._codegen import generate
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 1, 5, 9)
RECORDS = st.one_of(cst.customers(), cst.interactions(), cst.cases())


def opened(record: Customer | Interaction | Case) -> pendulum.DateTime:
    return record.created_at if isinstance(record, Customer) else record.opened_at


def owner(record: Customer | Interaction | Case) -> uuid.UUID:
    return record.id if isinstance(record, Customer) else record.customer_id


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS)
def test_the_text_is_to_json_and_the_objects_are_from_dicts(
    record: Customer | Interaction | Case,
) -> None:
    text = _codec.encode(record)
    assert text == to_json(record)
    cls: Any = type(record)
    restored = from_dict(cls, json.loads(text))
    decoded = _codec.decode(cls, text)
    assert decoded == restored == record
    assert repr(decoded) == repr(restored)
    assert to_json(decoded) == text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS, st.integers(1, 2**40))
def test_columns_name_the_record_its_customer_and_its_opening(
    record: Customer | Interaction | Case, version: int
) -> None:
    rid, customer, at, text = _codec.columns(record, version)
    assert (rid, customer) == (str(record.id), str(owner(record)))
    assert at == micros(opened(record))
    # The row's text: the rest of the whole text, each field at its default left out.
    whole = {**to_dict(record), "version": version}
    kept = json.loads(text)
    assert not {"id", "customer_id", "version"} & kept.keys()
    assert kept == {k: v for k, v in whole.items() if k in kept}
    cls: Any = type(record)
    for key in whole.keys() - kept.keys() - {"id", "customer_id", "version"}:
        field = attrs.fields_dict(cls)[key]
        assert field.default is not attrs.NOTHING, key
    # The columns and the text make the record again, and a whole text reads the same.
    row = (text, rid, customer, version)
    expected = attrs.evolve(record, version=version)
    assert _codec.decode_rows(cls, [row]) == [expected]
    assert _codec.decode_rows(cls, [(_codec.encode(record, version), *row[1:])]) == [expected]


@settings(max_examples=60, deadline=None)
@given(cst.aware_datetimes())
def test_instants_count_exactly_like_the_librarys_own(at: pendulum.DateTime) -> None:
    assert _codec.micros(at) == micros(at)


def fields_written(value: object, data: object) -> list[str]:
    """The attrs fields of ``value``, and of every record inside it, missing from ``data``."""
    if isinstance(value, LifecycleState):
        assert isinstance(data, dict)
        return [f.name for f in attrs.fields(LifecycleState) if f.name not in data]
    if attrs.has(type(value)):
        assert isinstance(data, dict)
        missing = [
            f"{type(value).__name__}.{f.name}"
            for f in attrs.fields(type(value))
            if f.init and f.name not in data
        ]
        for f in attrs.fields(type(value)):
            if f.init and f.name in data:
                missing += fields_written(getattr(value, f.name), data[f.name])
        return missing
    if isinstance(value, tuple | list) and isinstance(data, list):
        return [m for v, d in zip(value, data, strict=True) for m in fields_written(v, d)]
    return []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RECORDS)
def test_every_field_of_every_stored_class_is_written(
    record: Customer | Interaction | Case,
) -> None:
    assert fields_written(record, json.loads(_codec.encode(record))) == []


@attrs.frozen
class TaggedCall(Interaction):
    """An interaction with one field more, as a new release of the class would have."""

    urgency: str | None = attrs.field(default=None, kw_only=True)
    labels: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)


@attrs.frozen
class OddCall(Interaction):
    """An interaction holding a value the stored form has no way to write."""

    weight: complex = attrs.field(default=0j, kw_only=True)


def tagged(clock: FixedClock) -> TaggedCall:
    call = Interaction.open(uuid.uuid4(), Channel.CHAT, clock=clock, topic="refund")
    return TaggedCall(
        **{f.name: getattr(call, f.name) for f in attrs.fields(Interaction)},
        urgency="high",
        labels=frozenset({"vip", "eu"}),
    )


def test_a_new_field_of_a_record_class_is_written_and_read() -> None:
    codec = generate(TaggedCall, "customer_id", "opened_at")
    call = tagged(FixedClock(T0))
    text = codec.text(call, call.version)
    assert text == to_json(call)
    assert json.loads(text)["urgency"] == "high"
    assert json.loads(codec.columns(call, call.version)[3])["labels"] == ["eu", "vip"]
    back = codec.decode(json.loads(text), {})
    assert type(back) is TaggedCall
    assert back == call
    assert (back.urgency, back.labels) == ("high", frozenset({"vip", "eu"}))


def test_a_field_the_stored_form_cannot_hold_is_refused_naming_it() -> None:
    with pytest.raises(TypeError, match=r"OddCall\.weight"):
        generate(OddCall, "customer_id", "opened_at")


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-01T01:30:00-04:00[America/New_York]",  # the first 01:30 of the night
        "2026-11-01T01:30:00-05:00[America/New_York]",  # the second (fold=1)
        "2026-04-05T01:45:00+11:00[Australia/Lord_Howe]",  # half-hour DST, first
        "2026-04-05T01:45:00+10:30[Australia/Lord_Howe]",  # and second
        "2026-01-05T09:00:00+05:45",  # a fixed offset, no zone name
        "2026-01-05T09:00:00+00:00",
        "2026-01-05T09:00:00.000001+00:00[UTC]",
    ],
)
def test_ambiguous_and_fixed_offset_times_read_exactly(text: str) -> None:
    at = from_dict(pendulum.DateTime, text)
    call = Interaction.open(uuid.uuid4(), Channel.PHONE, clock=FixedClock(at))
    stored = _codec.encode(call)
    decoded = _codec.decode(Interaction, stored)
    restored = from_dict(Interaction, json.loads(stored))
    assert decoded == restored
    assert decoded.opened_at.fold == restored.opened_at.fold
    assert decoded.opened_at.isoformat() == restored.opened_at.isoformat()
    assert _codec.encode(decoded) == stored


def test_a_page_of_rows_shares_equal_values() -> None:
    customer = uuid.uuid4()
    clock = FixedClock(T0)
    calls = [Interaction.open(customer, Channel.PHONE, clock=clock) for _ in range(3)]
    decoded = _codec.decode_many(Interaction, [_codec.encode(c) for c in calls])
    assert decoded == calls
    assert decoded[0].customer_id is decoded[2].customer_id


def test_text_of_another_shape_raises_what_the_backends_report() -> None:
    call = Interaction.open(uuid.uuid4(), Channel.PHONE, clock=FixedClock(T0))
    data = json.loads(_codec.encode(call))
    del data["channel"]
    with pytest.raises(KeyError):
        _codec.decode(Interaction, json.dumps(data))
    with pytest.raises(TypeError, match="cannot encode"):
        _codec.encode(object())  # type: ignore[arg-type]


def test_records_read_back_fire_apart_from_each_other() -> None:
    """Stored states without changes are read back sharing one empty history; firing from
    one of them changes neither that history nor any other record's."""
    calls = [Interaction.open(uuid.uuid4(), Channel.PHONE, clock=FixedClock(T0)) for _ in range(2)]
    first, second = _codec.decode_many(Interaction, [_codec.encode(c) for c in calls])
    later = T0.add(minutes=1)
    received = first.advance("receive", at=later)
    closed = second.advance("close", at=later.add(minutes=1))
    again = first.advance("close", at=later)
    assert [c.event for c in received.lifecycle.history] == ["receive"]
    assert [c.event for c in closed.lifecycle.history] == ["close"]
    assert [c.event for c in again.lifecycle.history] == ["close"]
    assert len(first.lifecycle.history) == len(second.lifecycle.history) == 0
    assert (first, second) == tuple(calls)


def test_a_page_of_bytes_reads_and_a_row_of_another_shape_raises() -> None:
    clock = FixedClock(T0)
    calls = [Interaction.open(uuid.uuid4(), Channel.EMAIL, clock=clock) for _ in range(3)]
    texts = [_codec.encode(c) for c in calls]
    assert _codec.decode_many(Interaction, [t.encode() for t in texts]) == calls
    assert _codec.decode_many(Interaction, iter(texts)) == calls
    assert _codec.decode_many(Interaction, []) == []
    with pytest.raises(json.JSONDecodeError, match="Expecting"):  # cut short
        _codec.decode_many(Interaction, [texts[0], texts[1][:-1]])
    with pytest.raises(json.JSONDecodeError, match="Extra data"):  # two in one row, none next
        _codec.decode_many(Interaction, [f"{texts[0]},{texts[1]}", "{}"])
    with pytest.raises(KeyError):  # one object, but not a record's
        _codec.decode_many(Interaction, [texts[0], "{}"])
