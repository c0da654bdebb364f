"""to_dict/from_dict/to_json/from_json: exact round trips, and only ValidationError on junk."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pendulum
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custservice import (
    SATISFACTION_10,
    BusinessCalendar,
    Case,
    Customer,
    ExpectationBand,
    Expectations,
    Feedback,
    Interaction,
    ScoreScale,
    ValidationError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from custservice.testing import strategies as cst

ROUND_TRIPS = [
    (Customer, cst.customers()),
    (Interaction, cst.interactions()),
    (Case, cst.cases()),
    (BusinessCalendar, cst.calendars()),
    (Feedback, cst.feedback()),
    (ExpectationBand, cst.expectation_bands()),
    (Expectations, cst.expectations()),
    (ScoreScale, cst.score_scales()),
]


def _name(value: object) -> str:
    return getattr(value, "__name__", "")


@pytest.mark.parametrize(("cls", "strategy"), ROUND_TRIPS, ids=_name)
@given(data=st.data())
def test_round_trip_is_exact(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    obj = data.draw(strategy)
    assert from_dict(cls, to_dict(obj)) == obj
    again = from_json(cls, to_json(obj))
    assert again == obj
    assert to_json(again) == to_json(obj)  # same zones, same offsets, same text


@given(cst.feedback())
def test_plain_data_is_json_native(fb: Feedback) -> None:
    data = to_dict(fb)
    assert json.loads(json.dumps(data)) == data


def test_datetimes_keep_their_zone() -> None:
    at = pendulum.datetime(2026, 10, 25, 1, 30, tz="Europe/London").add(hours=1)
    fb = Feedback(7, SATISFACTION_10, at=at)
    text = to_json(fb)
    assert "[Europe/London]" in text
    back = from_json(Feedback, text)
    assert back.at.tz.name == "Europe/London"
    assert back.at.utcoffset() == at.utcoffset()


def test_durations_are_iso_8601() -> None:
    band = ExpectationBand(
        "speed",
        "first_response",
        adequate=pendulum.duration(hours=4),
        desired=pendulum.duration(minutes=30, seconds=1.5),
    )
    data = to_dict(band)
    assert (data["adequate"], data["desired"]) == ("PT4H", "PT30M1.5S")


def test_every_problem_is_listed_with_its_path() -> None:
    with pytest.raises(ValidationError) as info:
        from_dict(
            Feedback,
            {
                "score": "nine",
                "scale": {"low": 1, "high": 10, "adequate": 6},
                "at": "2026-01-01T10:00",
                "ratings": {"speed": 11, "warmth": 3},
                "surprise": True,
            },
        )
    paths = {p.path: p.message for p in info.value.problems}
    assert paths["$.score"].startswith("expected a whole number")
    assert paths["$.scale.desired"] == "required field missing"
    assert "naive" in paths["$.at"]
    assert "not a Factor" in paths["$.ratings.warmth"]
    assert "unexpected fields: surprise" in paths["$"]


def test_domain_rules_are_checked_on_the_way_in() -> None:
    data = to_dict(Feedback(5, SATISFACTION_10, at=pendulum.datetime(2026, 1, 1)))
    data["score"] = 0
    data["ratings"] = {"speed": 12}
    with pytest.raises(ValidationError) as info:
        from_dict(Feedback, data)
    assert {p.path for p in info.value.problems} == {"$.score", "$.ratings.speed"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _mutations(valid: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Valid data with one field replaced by junk, or dropped."""
    keys = st.sampled_from(sorted(valid))
    replace = st.tuples(keys, json_values).map(lambda kv: {**valid, kv[0]: kv[1]})
    drop = keys.map(lambda k: {key: v for key, v in valid.items() if key != k})
    return replace | drop


@pytest.mark.parametrize(("cls", "strategy"), ROUND_TRIPS, ids=_name)
@given(data=st.data())
def test_junk_raises_only_validation_error(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    valid = to_dict(data.draw(strategy))
    junk = data.draw(json_values | _mutations(valid))
    try:
        obj = from_dict(cls, junk)
    except ValidationError as exc:
        problems = exc.problems
        assert problems
    else:
        assert isinstance(obj, cls)


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_junk_json_raises_only_validation_error(text: str | bytes) -> None:
    with contextlib.suppress(ValidationError):
        from_json(Feedback, text)


def test_deeply_nested_input_is_refused_cleanly() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ValidationError):
        from_json(Feedback, deep)
