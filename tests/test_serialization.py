"""to_dict/from_dict/to_json/from_json: exact round trips, and only ValidationError on junk."""

from __future__ import annotations

import contextlib
import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from custservice import (
    CUSTOMER_LIFECYCLE,
    SATISFACTION_10,
    Agent,
    BusinessCalendar,
    Case,
    Condition,
    Customer,
    EscalationRule,
    ExpectationBand,
    Expectations,
    Feedback,
    FixedClock,
    Interaction,
    LifecycleState,
    ScoreScale,
    ServiceTarget,
    SlaPolicies,
    SlaPolicy,
    SurveyPolicy,
    TargetStatus,
    ValidationError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from custservice.analytics import (
    DEFAULT_POLICY,
    DEFAULT_WEIGHTS,
    FollowUpPolicy,
    GroupBy,
    Health,
    HealthWeights,
    Scorecard,
    health,
    scorecard,
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
    (Condition, cst.conditions()),
    (SlaPolicy, cst.sla_policies()),
    (SlaPolicies, cst.sla_policy_sets()),
    (Agent, cst.agents()),
    (EscalationRule, cst.escalation_rules()),
    (SurveyPolicy, cst.survey_policies()),
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


# --- wrongly shaped input ---------------------------------------------------------------------


@st.composite
def _scorecards(draw: st.DrawFn) -> Scorecard:
    people, calls, tickets = draw(cst.customer_records(max_customers=2, max_interactions=3))
    by = draw(st.sampled_from([None, *GroupBy]))
    return scorecard(calls, tickets, by=by, customers=people)


@st.composite
def _healths(draw: st.DrawFn) -> Health:
    people, calls, tickets = draw(cst.customer_records(max_customers=1, max_interactions=3))
    return health(people[0], calls, tickets, at=pendulum.datetime(2300, 1, 1))


SHAPED = [
    *ROUND_TRIPS,
    (LifecycleState, cst.lifecycle_states(CUSTOMER_LIFECYCLE)),
    (ServiceTarget, cst.service_targets()),
    (TargetStatus, cst.target_statuses()),
    (HealthWeights, st.just(DEFAULT_WEIGHTS)),
    (FollowUpPolicy, st.just(DEFAULT_POLICY)),
    (Scorecard, _scorecards()),
    (Health, _healths()),
]
"""The record classes that serialize, each with a strategy for its values; the
smaller ones (``Handoff``, ``StateChange``, ``VerdictCounts``, ...) come nested in these."""

Step = str | int


def _plain(obj: object) -> Any:
    """``obj`` in its JSON form (lists, never tuples)."""
    return json.loads(to_json(obj))


def _nodes(node: Any, path: tuple[Step, ...] = ()) -> Iterator[tuple[tuple[Step, ...], Any]]:
    """Every node of plain data with its path, the root first."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _nodes(value, (*path, index))


def _replaced(data: Any, path: tuple[Step, ...], value: object) -> Any:
    """``data`` with the node at ``path`` replaced by ``value``; only the
    containers on the path are copied, ``data`` itself is left as it is."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    copied = copy.copy(data)
    copied[step] = _replaced(data[step], rest, value)
    return copied


def _path_text(path: tuple[Step, ...]) -> str:
    """``path`` written as the errors write it: ``$.lifecycle.history[1].at``."""
    out = "$"
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", step):
            out += f".{step}"
        else:
            out += f"[{json.dumps(step, ensure_ascii=False)}]"
    return out


def _problems(cls: type, data: object) -> dict[str, str]:
    """The problems ``from_dict`` and ``from_json`` find in ``data``, by path (both the same)."""
    with pytest.raises(ValidationError) as info:
        from_dict(cls, data)
    found = {p.path: p.message for p in info.value.problems}
    with pytest.raises(ValidationError) as again:
        from_json(cls, json.dumps(data))
    assert [(p.path, p.message) for p in again.value.problems] == [
        (p.path, p.message) for p in info.value.problems
    ]
    return found


NOT_A_LIST = (
    st.text(max_size=6)
    | st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=3), max_size=3)
    | st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
)
NOT_AN_OBJECT = (
    st.text(max_size=6)
    | st.lists(st.text(max_size=4) | st.integers(), max_size=3)
    | st.integers()
    | st.floats(allow_nan=False)
    | st.booleans()
)
FAST = settings(
    max_examples=min(100, settings.default.max_examples),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""At most 100 examples: there is one test per record class."""


@pytest.mark.parametrize(("cls", "strategy"), SHAPED, ids=_name)
@given(data=st.data())
@FAST
def test_a_wrongly_shaped_collection_is_refused_at_its_path(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """A string, an object or a number where a list belongs (or anything but an
    object where an object belongs), at any depth, is a problem at that path:
    never characters, keys or an empty collection taken in its place."""
    valid = _plain(data.draw(strategy))
    shaped = [
        (path, node)
        for path, node in _nodes(valid)
        # A custom attribute's date or instant is an object, but text or a number may
        # stand in its place: any of them is an attribute's value (a condition's value
        # on an attribute, or one of them for "in", likewise).
        if isinstance(node, dict | list)
        and path[-2:-1] != ("attributes",)
        and not (isinstance(node, dict) and "value" in path[-2:])
        # A plain enum's state is an object, but a state may be text too.
        and not (isinstance(node, dict) and set(node) == {"enum", "name"})
    ]
    path, node = data.draw(st.sampled_from(shaped))
    wrong = data.draw(NOT_A_LIST if isinstance(node, list) else NOT_AN_OBJECT)
    problems = _problems(cls, _replaced(valid, path, wrong))
    where = _path_text(path)
    assert where in problems, problems
    assert problems[where].startswith("expected "), problems[where]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hobbies", "chess"),
        ("likes", {"chess": 1, "go": 2}),
        ("dislikes", ""),
        ("expectations", {}),
    ],
)
def test_a_customer_profile_set_must_be_a_list(field: str, value: object) -> None:
    data = _plain(Customer.new("Ada", clock=FixedClock(pendulum.datetime(2026, 1, 5))))
    problems = _problems(Customer, {**data, field: value})
    assert problems == {f"$.{field}": f"expected a list, got {type(value).__name__}"}


# Values no scalar field accepts: each is refused wherever a scalar was.
NOT_A_SCALAR = st.lists(st.integers(), max_size=2) | st.dictionaries(
    st.text(max_size=3), st.none(), min_size=1, max_size=2
)


@pytest.mark.parametrize(("cls", "strategy"), SHAPED, ids=_name)
@given(data=st.data())
@FAST
def test_one_error_lists_every_corrupted_field(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """Corrupt several fields anywhere in the tree at once: one error names every one."""
    valid = _plain(data.draw(strategy))
    leaves = [path for path, node in _nodes(valid) if path and not isinstance(node, dict | list)]
    assume(leaves)
    chosen = data.draw(st.lists(st.sampled_from(leaves), min_size=1, max_size=5, unique=True))
    bad = valid
    for path in chosen:
        bad = _replaced(bad, path, data.draw(NOT_A_SCALAR))
    found = _problems(cls, bad)
    for path in chosen:
        where = _path_text(path)
        assert any(p == where or p.startswith((where + ".", where + "[")) for p in found), (
            where,
            found,
        )


def test_shape_and_domain_problems_are_listed_together() -> None:
    ada = Customer.new("Ada", clock=FixedClock(pendulum.datetime(2026, 1, 5)))
    ada = ada.advance("acquire", at=pendulum.datetime(2026, 1, 6))
    ada = ada.advance("retain", at=pendulum.datetime(2026, 1, 7))
    data = _plain(ada)
    data["name"] = 5  # the wrong type
    data["email"] = "not an address"  # a rule of the domain, on a sibling
    data["lifecycle"]["history"][1]["event"] = "fly"  # breaks the customer lifecycle
    data["expectations"] = [
        {"factor": "warmth", "metric": "", "adequate": [], "better": 3, "colour": "red"}
    ]
    problems = _problems(Customer, data)
    assert set(problems) == {
        "$.name",
        "$.email",
        "$.lifecycle.history[1].event",
        "$.expectations[0]",
        "$.expectations[0].factor",
        "$.expectations[0].metric",
        "$.expectations[0].adequate",
        "$.expectations[0].desired",
        "$.expectations[0].better",
    }
    assert problems["$.expectations[0]"] == "unexpected fields: colour"
    assert problems["$.expectations[0].desired"] == "required field missing"


def test_every_part_of_expectations_is_checked_at_once() -> None:
    problems = _problems(
        Expectations,
        {
            "defaults": "speed",
            "segments": {"gold tier": [{"factor": "speed"}], "": [], "vip": {}},
            "extra": 1,
        },
    )
    assert problems == {
        "$": "unexpected fields: extra",
        "$.defaults": "expected a list, got str",
        '$.segments["gold tier"][0].metric': "required field missing",
        '$.segments["gold tier"][0].adequate': "required field missing",
        '$.segments["gold tier"][0].desired': "required field missing",
        '$.segments[""]': "segment names must be non-empty strings",
        "$.segments.vip": "expected a list, got dict",
    }


def test_a_broken_history_is_named_by_a_well_formed_path() -> None:
    ada = Customer.new("Ada", clock=FixedClock(pendulum.datetime(2026, 1, 5)))
    ada = ada.advance("acquire", at=pendulum.datetime(2026, 1, 6))
    ada = ada.advance("retain", at=pendulum.datetime(2026, 1, 7))
    data = _plain(ada)
    data["lifecycle"]["history"][1]["source"] = "prospect"
    problems = _problems(Customer, data)
    assert "$.lifecycle.history[1].source" in problems, problems


def test_a_change_that_does_not_read_hides_no_other_break_in_the_history() -> None:
    at = pendulum.datetime(2026, 1, 5)
    state = CUSTOMER_LIFECYCLE.start(at)
    for day, event in enumerate(["acquire", "retain", "reward", "champion"], start=1):
        state = CUSTOMER_LIFECYCLE.fire(state, event, at=at.add(days=day))
    data = _plain(state)
    data["history"][0]["at"] = []  # cannot be read
    data["history"][2]["source"] = "new"  # does not follow on from the change before it
    problems = _problems(LifecycleState, data)
    assert set(problems) == {"$.history[0].at", "$.history[2].source"}, problems


WELL_FORMED = re.compile(r"\$(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[0-9]+\]|\[\"(?:[^\"\\]|\\.)*\"\])*")


@st.composite
def _deeply_mutated(draw: st.DrawFn, valid: Any) -> Any:
    """``valid`` with one to three nodes anywhere replaced by JSON values."""
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from([path for path, _ in _nodes(valid)]))
        valid = _replaced(valid, path, draw(json_values))
    return valid


@pytest.mark.parametrize(("cls", "strategy"), SHAPED, ids=_name)
@given(data=st.data())
@FAST
def test_every_path_is_well_formed(
    cls: type, strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    """``$``, then ``.name`` for fields and keys that are names, ``[3]`` for
    positions and ``["any key"]`` for other keys, as JSON writes strings."""
    bad = data.draw(_deeply_mutated(_plain(data.draw(strategy))))
    try:
        from_dict(cls, bad)
    except ValidationError as exc:
        for problem in exc.problems:
            assert WELL_FORMED.fullmatch(problem.path), problem
