"""The working desk: priorities, ownership and its history, tags and custom attributes."""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from functools import partial
from typing import Any

import attrs
import pendulum
import pytest
from conftest import allocated
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from custservice import (
    CASE_LIFECYCLE,
    AssignmentChange,
    Case,
    CaseStatus,
    Channel,
    FixedClock,
    Interaction,
    Priority,
    PriorityChange,
    ValidationError,
    Verdict,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from custservice.testing import strategies as cst

MINUTE = dt.timedelta(minutes=1)
SECOND = dt.timedelta(seconds=1)
NEW_KEYS = (
    "priority",
    "channel",
    "assignee",
    "team",
    "tags",
    "attributes",
    "assignments",
    "priority_changes",
)
"""The keys a case's stored form gained with the desk."""


def paths(error: pytest.ExceptionInfo[ValidationError]) -> list[str]:
    return [p.path for p in error.value.problems]


# --- Priority and Verdict: one ordering --------------------------------------------------------


@given(cst.priorities(), cst.priorities())
def test_priorities_order_by_their_place_in_the_enum(a: Priority, b: Priority) -> None:
    assert (a < b) == (a.rank < b.rank)
    assert (a <= b) == (a.rank <= b.rank)
    assert (a > b) == (a.rank > b.rank)
    assert (a >= b) == (a.rank >= b.rank)
    assert (a == b) == (a.rank == b.rank)


def test_priority_is_low_normal_high_urgent_with_string_values() -> None:
    assert sorted(Priority, reverse=True) == [
        Priority.URGENT,
        Priority.HIGH,
        Priority.NORMAL,
        Priority.LOW,
    ]
    assert [p.value for p in Priority] == ["low", "normal", "high", "urgent"]
    assert [p.rank for p in Priority] == [0, 1, 2, 3]
    assert Priority("high") is Priority.HIGH
    assert str(Priority.URGENT) == "urgent"
    assert max(Priority) is Priority.URGENT


@pytest.mark.parametrize("member", [Priority.HIGH, Verdict.SATISFIED])
def test_an_ordered_member_neither_equals_nor_orders_against_text_or_other_enums(
    member: Priority | Verdict,
) -> None:
    assert member != member.value
    for other in (member.value, 1, Verdict.DELIGHTED, Priority.URGENT):
        if type(other) is type(member):
            continue
        with pytest.raises(TypeError):
            member < other  # type: ignore[operator]  # noqa: B015
        with pytest.raises(TypeError):
            member >= other  # type: ignore[operator]  # noqa: B015
    assert len({member, member}) == 1


def test_verdict_keeps_its_ranks_and_order() -> None:
    assert [v.rank for v in Verdict] == [0, 1, 2]
    assert Verdict.DISSATISFIED < Verdict.SATISFIED < Verdict.DELIGHTED
    assert max(Verdict) is Verdict.DELIGHTED
    assert type(Priority.LOW).__mro__[1] is type(Verdict.SATISFIED).__mro__[1]  # one base


# --- opening and the new fields ---------------------------------------------------------------


def test_a_case_opens_at_normal_priority_unassigned_with_no_labels(desk_clock: FixedClock) -> None:
    case = Case.open(uuid.uuid4(), "Where is my parcel?", clock=desk_clock)
    assert case.priority is Priority.NORMAL
    assert (case.channel, case.assignee, case.team) == (None, None, None)
    assert case.tags == frozenset()
    assert case.attributes == {}
    assert case.assignments == ()
    assert case.priority_changes == ()


def test_a_case_opens_with_the_desk_fields_given(desk_case: Case) -> None:
    assert desk_case.channel is Channel.EMAIL
    assert desk_case.team == "billing"
    assert desk_case.tags == {"refund"}
    assert desk_case.attributes == {"order": 1234}
    assert desk_case.status is CaseStatus.OPEN
    opened = Case.open(uuid.uuid4(), "x", clock=FixedClock(desk_case.opened_at), priority="high")
    assert opened.priority is Priority.HIGH


def test_an_interaction_carries_a_team_tags_and_attributes(desk_clock: FixedClock) -> None:
    call = Interaction.open(
        uuid.uuid4(),
        Channel.PHONE,
        clock=desk_clock,
        team="tier 2",
        tags=["vip"],
        attributes={"callback": True},
    )
    assert (call.team, call.tags, call.attributes) == ("tier 2", {"vip"}, {"callback": True})
    call = call.tag("eu").untag("vip").with_attributes(region="eu").without_attributes("callback")
    assert (call.tags, call.attributes) == ({"eu"}, {"region": "eu"})
    assert from_json(Interaction, to_json(call)) == call


# --- assignments --------------------------------------------------------------------------------


def test_assigning_keeps_who_held_the_case_and_why(desk_case: Case, desk_clock: FixedClock) -> None:
    first = desk_clock.advance(MINUTE)
    case = desk_case.assign("ana", at=first, reason="first reply")
    second = desk_clock.advance(MINUTE)
    case = case.assign("bo", at=second, team="returns", reason="it is a return")
    third = desk_clock.advance(MINUTE)
    case = case.assign(None, at=third)
    assert (case.assignee, case.team) == (None, "returns")  # unassigned; the team is kept
    assert case.assignments == (
        AssignmentChange(
            first,
            "ana",
            "billing",
            previous_assignee=None,
            previous_team="billing",
            reason="first reply",
        ),
        AssignmentChange(
            second,
            "bo",
            "returns",
            previous_assignee="ana",
            previous_team="billing",
            reason="it is a return",
        ),
        AssignmentChange(third, None, "returns", previous_assignee="bo", previous_team="returns"),
    )


def test_an_assignment_that_changes_nothing_is_not_recorded(
    desk_case: Case, desk_clock: FixedClock
) -> None:
    case = desk_case.assign("ana", at=desk_clock.advance(MINUTE))
    assert case.assign("ana", at=desk_clock.advance(MINUTE)) is case
    assert case.assign("ana", at=desk_clock.now(), team="billing") is case
    assert desk_case.assign(None, at=desk_clock.now()) is desk_case


def test_a_closed_case_takes_no_assignment_or_priority_change(
    desk_case: Case, desk_clock: FixedClock
) -> None:
    at = desk_clock.advance(MINUTE)
    closed = desk_case.advance("solve", at=at).advance("close", at=at)
    for change in (
        partial(closed.assign, "ana", at=at),
        partial(closed.reprioritize, Priority.HIGH, at=at),
    ):
        with pytest.raises(ValidationError, match="closed") as info:
            change()
        assert paths(info) == ["status"]
    # Tags and attributes stay open to reporting after the case is closed.
    assert closed.tag("audited").tags == {"refund", "audited"}


def test_a_change_earlier_than_the_last_of_its_kind_or_the_opening_is_refused(
    desk_case: Case, desk_clock: FixedClock
) -> None:
    before_opening = desk_case.opened_at - SECOND
    for change in (
        partial(desk_case.assign, "ana", at=before_opening),
        partial(desk_case.reprioritize, Priority.HIGH, at=before_opening),
    ):
        with pytest.raises(ValidationError, match="earlier") as info:
            change()
        assert paths(info) == ["at"]
    later = desk_clock.advance(MINUTE)
    case = desk_case.assign("ana", at=later).reprioritize("urgent", at=later)
    with pytest.raises(ValidationError) as info:
        case.assign("bo", at=later - SECOND)
    assert paths(info) == ["at"]
    with pytest.raises(ValidationError) as info:
        case.reprioritize("low", at=later.in_timezone("Asia/Kolkata") - SECOND)
    assert paths(info) == ["at"]
    # At the same instant is not earlier.
    assert case.assign("bo", at=later).assignee == "bo"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda c, at: c.assign("", at=at), "assignee"),
        (lambda c, at: c.assign("x" * 201, at=at), "assignee"),
        (lambda c, at: c.assign(7, at=at), "assignee"),
        (lambda c, at: c.assign("ana", at=at, team="  "), "team"),
        (lambda c, at: c.assign("ana", at=at, reason=""), "reason"),
        (lambda c, at: c.assign("ana", at=pendulum.naive(2026, 3, 3)), "at"),
        (lambda c, at: c.reprioritize("critical", at=at), "priority"),
        (lambda c, at: c.reprioritize(Verdict.SATISFIED, at=at), "priority"),
        (lambda c, at: c.reprioritize(Priority.HIGH, at="tomorrow"), "at"),
        (lambda c, at: c.reprioritize(Priority.HIGH, at=at, reason=5), "reason"),
        (lambda c, at: c.tag(""), "tags"),
        (lambda c, at: c.tag(["a"]), "tags"),
        (lambda c, at: c.untag(3), "tags"),
        (lambda c, at: c.with_attributes(due=pendulum.naive(2026, 3, 3)), "attributes.due"),
        (lambda c, at: c.with_attributes(weight=math.nan), "attributes.weight"),
        (lambda c, at: c.with_attributes(weight=math.inf), "attributes.weight"),
        (lambda c, at: c.with_attributes(big=2**63), "attributes.big"),
        (lambda c, at: c.with_attributes(items=[1, 2]), "attributes.items"),
        (lambda c, at: c.with_attributes(price=dt.timedelta(1)), "attributes.price"),
        (lambda c, at: c.with_attributes(note="\ud800"), "attributes.note"),
        (lambda c, at: c.with_attributes(**{"not a name": 1}), "attributes"),
        (lambda c, at: c.without_attributes(1), "attributes"),
    ],
)
def test_every_bad_value_is_refused_naming_its_field(
    desk_case: Case, desk_clock: FixedClock, change: Any, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        change(desk_case, desk_clock.advance(MINUTE))
    assert paths(info) == [field]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"priority": "soon"}, ["priority"]),
        ({"channel": "pigeon"}, ["channel"]),
        ({"assignee": "", "team": 3}, ["assignee", "team"]),
        ({"tags": "vip"}, ["tags"]),
        ({"tags": {"", "x"}}, ["tags"]),
        ({"attributes": [("a", 1)]}, ["attributes"]),
        ({"attributes": {"a": object(), "1b": 2}}, ["attributes.a", "attributes"]),
        ({"assignments": "ana"}, ["assignments"]),
        ({"priority_changes": [Priority.HIGH]}, ["priority_changes"]),
    ],
)
def test_construction_refuses_bad_desk_fields_naming_each(
    desk_case: Case, changes: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(ValidationError) as info:
        attrs.evolve(desk_case, **changes)
    assert paths(info) == fields


def test_construction_refuses_histories_out_of_order_or_inconsistent(
    desk_case: Case, desk_clock: FixedClock
) -> None:
    a, b = desk_clock.advance(MINUTE), desk_clock.advance(MINUTE)
    case = desk_case.assign("ana", at=a).assign("bo", at=b)
    case = case.reprioritize("high", at=a).reprioritize("urgent", at=b)
    first, second = case.assignments
    bad_histories = {
        "assignments": [
            {"assignments": [second, first]},  # out of time order
            {"assignments": [first]},  # the last does not give the case's assignee
            {"assignments": [second]},  # the first change kept unknown: consistent
            {"assignments": [attrs.evolve(first, at=desk_case.opened_at - SECOND), second]},
            {"assignments": [first, attrs.evolve(second, previous_assignee="dana")]},
        ],
        "priority_changes": [
            {"priority_changes": list(reversed(case.priority_changes))},
            {"priority_changes": case.priority_changes[:1]},
            {"priority": Priority.LOW},
        ],
    }
    for field, variants in bad_histories.items():
        for changes in variants:
            if changes == {"assignments": [second]}:
                assert attrs.evolve(case, **changes).assignments == (second,)
                continue
            with pytest.raises(ValidationError) as info:
                attrs.evolve(case, **changes)
            assert set(paths(info)) == {field}, changes
    with pytest.raises(ValidationError, match="change the assignee or the team"):
        AssignmentChange(a, "ana", "billing", previous_assignee="ana", previous_team="billing")
    with pytest.raises(ValidationError, match="change the priority"):
        PriorityChange(a, Priority.HIGH, "high")


# --- histories as properties ---------------------------------------------------------------------

DESK_STEPS = st.lists(
    st.one_of(
        st.tuples(
            st.just("assign"),
            st.none() | st.sampled_from(["ana", "bo", "chidi"]),
            st.none() | st.sampled_from(["billing", "returns"]),
        ),
        st.tuples(st.just("reprioritize"), cst.priorities(), st.none()),
    ),
    max_size=25,
)


@given(steps=DESK_STEPS, gaps=st.lists(st.integers(0, 600), min_size=25, max_size=25))
def test_histories_say_who_held_the_case_when_and_at_what_priority(
    steps: list[tuple[Any, ...]], gaps: list[int]
) -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris"))
    case = Case.open(uuid.uuid4(), "x", clock=clock, team="billing")
    holders = [(case.opened_at, None, "billing")]
    priorities = [(case.opened_at, Priority.NORMAL)]
    for (kind, value, team), gap in zip(steps, gaps, strict=False):
        at = clock.advance(dt.timedelta(seconds=gap))
        if kind == "assign":
            case = case.assign(value, at=at, team=team)
            held = (value, holders[-1][2] if team is None else team)
            if held != holders[-1][1:]:
                holders.append((at, *held))
        else:
            case = case.reprioritize(value, at=at)
            if value is not priorities[-1][1]:
                priorities.append((at, value))
    assert [(a.at, a.assignee, a.team) for a in case.assignments] == holders[1:]
    assert [(a.previous_assignee, a.previous_team) for a in case.assignments] == [
        h[1:] for h in holders[:-1]
    ]
    assert [(c.at, c.priority) for c in case.priority_changes] == priorities[1:]
    assert [c.previous for c in case.priority_changes] == [p[1] for p in priorities[:-1]]
    assert (case.assignee, case.team, case.priority) == (*holders[-1][1:], priorities[-1][1])
    # What the methods build, the constructor accepts, and it reads back exactly.
    assert attrs.evolve(case) == case
    assert from_dict(Case, to_dict(case)) == case


def test_assigning_allocates_the_same_at_any_history_length(desk_clock: FixedClock) -> None:
    costs = []
    for n in (0, 20_000):
        case = Case.open(uuid.uuid4(), "x", clock=desk_clock)
        for i in range(n):
            case = case.assign(f"agent {i % 2}", at=desk_clock.advance(SECOND))
            case = case.reprioritize(("high", "low")[i % 2], at=desk_clock.now())
        costs.append(allocated(partial(case.assign, "dana", at=desk_clock.now())))
        costs.append(allocated(partial(case.assign, "eve", at=desk_clock.now())))  # branches
        costs.append(allocated(partial(case.reprioritize, "urgent", at=desk_clock.now())))
    # Bounded, not proportional: copying 20,000 entries would be 160,000 bytes.
    assert max(costs[3:]) <= max(costs[:3]) + 512, costs


# --- tags and attributes as laws ---------------------------------------------------------------


@given(cst.cases(), cst.tags(), cst.tags())
def test_tag_and_untag_are_set_union_and_difference(
    case: Case, added: frozenset[str], removed: frozenset[str]
) -> None:
    tagged = case.tag(*added)
    assert tagged.tags == case.tags | added
    assert tagged.tag(*added) == tagged  # idempotent
    assert tagged.untag(*removed).tags == (case.tags | added) - removed
    assert case.untag(*removed).untag(*removed) == case.untag(*removed)
    fresh = added - case.tags
    assert case.tag(*fresh).untag(*fresh) == case  # an inverse, for tags it did not have
    assert case.untag().tags == case.tags == case.tag().tags
    assert type(tagged.tags) is frozenset


@given(cst.cases(), cst.attributes(), st.lists(st.sampled_from(["order", "sku", "nope"])))
def test_with_attributes_merges_and_without_attributes_removes(
    case: Case, values: dict[str, Any], names: list[str]
) -> None:
    merged = case.with_attributes(**values)
    assert dict(merged.attributes) == {**case.attributes, **values}
    assert merged.with_attributes(**values) == merged
    removed = merged.without_attributes(*names)
    assert dict(removed.attributes) == {
        k: v for k, v in merged.attributes.items() if k not in names
    }
    assert removed.without_attributes(*names) == removed
    assert hash(merged) == hash(attrs.evolve(merged))  # hashable, and stable
    with pytest.raises(TypeError):
        merged.attributes["new"] = 1  # type: ignore[index]


# --- the stored and wire forms ------------------------------------------------------------------


def test_dates_and_instants_in_attributes_are_tagged_and_text_stays_text(
    desk_case: Case,
) -> None:
    at = pendulum.datetime(2026, 3, 1, 9, tz="Europe/Paris")
    case = desk_case.with_attributes(
        due=dt.date(2026, 3, 1), at=at, looks_like_a_date="2026-03-01", weight=2.0, n=2, ok=False
    )
    data = to_dict(case)
    assert data["attributes"] == {
        "order": 1234,
        "due": {"date": "2026-03-01"},
        "at": {"datetime": "2026-03-01T09:00:00+01:00[Europe/Paris]"},
        "looks_like_a_date": "2026-03-01",
        "weight": 2.0,
        "n": 2,
        "ok": False,
    }
    back = from_json(Case, to_json(case))
    assert back == case
    assert [type(v) for v in back.attributes.values()] == [
        int,
        pendulum.Date,
        pendulum.DateTime,
        str,
        float,
        int,
        bool,
    ]
    assert back.attributes["at"].timezone_name == "Europe/Paris"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"date": "soon"}, "$.attributes.due.date"),
        ({"datetime": "2026-03-01T09:00:00"}, "$.attributes.due.datetime"),
        ({"when": "2026-03-01"}, "$.attributes.due"),
        ([1], "$.attributes.due"),
        (2**64, "$.attributes.due"),
    ],
)
def test_a_malformed_attribute_in_data_is_refused_at_its_path(
    desk_case: Case, value: object, message: str
) -> None:
    data = to_dict(desk_case)
    data["attributes"]["due"] = value
    with pytest.raises(ValidationError) as info:
        from_dict(Case, data)
    assert paths(info) == [message]


@given(st.one_of(cst.cases(), cst.interactions()))
@settings(max_examples=40)
def test_desk_fields_round_trip_exactly_through_every_form(record: Case | Interaction) -> None:
    from custservice.serialization import _codec

    cls = type(record)
    text = to_json(record)
    assert from_json(cls, text) == record
    assert from_dict(cls, to_dict(record)) == record
    assert _codec.encode(record) == text
    decoded = _codec.decode(cls, text)
    assert decoded == record
    assert to_json(decoded) == text  # types kept too: 1.0 stays a float, a date a date


@given(cst.cases())
@settings(max_examples=30)
def test_a_case_stored_before_the_desk_reads_with_its_defaults(case: Case) -> None:
    from custservice.serialization import _codec

    old = {k: v for k, v in to_dict(case).items() if k not in NEW_KEYS}
    for read in (from_dict(Case, old), _codec.decode(Case, json.dumps(old))):
        assert read.priority is Priority.NORMAL
        assert (read.channel, read.assignee, read.team) == (None, None, None)
        assert (read.tags, read.attributes) == (frozenset(), {})
        assert read.assignments == read.priority_changes == ()
        assert read == attrs.evolve(
            case,
            priority=Priority.NORMAL,
            channel=None,
            assignee=None,
            team=None,
            tags=frozenset(),
            attributes={},
            assignments=(),
            priority_changes=(),
        )


def test_an_interaction_stored_before_the_desk_reads_with_its_defaults(
    desk_clock: FixedClock,
) -> None:
    from custservice.serialization import _codec

    call = Interaction.open(uuid.uuid4(), Channel.CHAT, clock=desk_clock)
    old = {k: v for k, v in to_dict(call).items() if k not in ("team", "tags", "attributes")}
    assert from_dict(Interaction, old) == call == _codec.decode(Interaction, json.dumps(old))


# --- a desk's day, as a state machine -----------------------------------------------------------


class DeskMachine(RuleBasedStateMachine):
    """Assignments, priority changes, tags, attributes, status changes and updates
    interleaved on one case, checked against a plain model after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="America/New_York"))
        self.case = Case.open(uuid.uuid4(), "Broken kettle", clock=self.clock, team="billing")
        self.holders: list[tuple[str | None, str | None]] = [(None, "billing")]
        self.levels = [Priority.NORMAL]
        self.tags: set[str] = set()
        self.attributes: dict[str, Any] = {}

    def later(self, seconds: int) -> pendulum.DateTime:
        return self.clock.advance(dt.timedelta(seconds=seconds))

    @property
    def closed(self) -> bool:
        return self.case.status is CaseStatus.CLOSED

    @rule(
        agent=st.none() | st.sampled_from(["ana", "bo"]),
        team=st.none() | st.sampled_from(["billing", "returns"]),
        seconds=st.integers(0, 3600),
    )
    def assign(self, agent: str | None, team: str | None, seconds: int) -> None:
        at = self.later(seconds)
        if self.closed:
            with pytest.raises(ValidationError):
                self.case.assign(agent, at=at, team=team)
            return
        self.case = self.case.assign(agent, at=at, team=team, reason="rota")
        held = (agent, self.holders[-1][1] if team is None else team)
        if held != self.holders[-1]:
            self.holders.append(held)

    @rule(priority=cst.priorities(), seconds=st.integers(0, 3600))
    def reprioritize(self, priority: Priority, seconds: int) -> None:
        at = self.later(seconds)
        if self.closed:
            with pytest.raises(ValidationError):
                self.case.reprioritize(priority, at=at)
            return
        self.case = self.case.reprioritize(priority, at=at)
        if priority is not self.levels[-1]:
            self.levels.append(priority)

    @rule(seconds=st.integers(1, 3600))
    def go_back_in_time(self, seconds: int) -> None:
        """Each kind of change is bounded by the last of its own kind, or the opening."""
        case, back = self.case, dt.timedelta(seconds=seconds)
        last = case.assignments[-1].at if case.assignments else case.opened_at
        with pytest.raises(ValidationError):
            case.assign("zed", at=last - back)
        last = case.priority_changes[-1].at if case.priority_changes else case.opened_at
        other = Priority.URGENT if case.priority is not Priority.URGENT else Priority.LOW
        with pytest.raises(ValidationError):
            case.reprioritize(other, at=last - back)

    @rule(added=cst.tags(2), removed=cst.tags(2))
    def retag(self, added: frozenset[str], removed: frozenset[str]) -> None:
        self.case = self.case.tag(*added).untag(*removed)
        self.tags = (self.tags | added) - removed

    @rule(values=cst.attributes(2), names=st.lists(st.sampled_from(["order", "due"])))
    def edit_attributes(self, values: dict[str, Any], names: list[str]) -> None:
        self.case = self.case.with_attributes(**values).without_attributes(*names)
        self.attributes = {k: v for k, v in {**self.attributes, **values}.items() if k not in names}

    @precondition(lambda self: not self.closed)
    @rule(data=st.data(), seconds=st.integers(0, 3600))
    def advance(self, data: st.DataObject, seconds: int) -> None:
        allowed = sorted(CASE_LIFECYCLE.allowed(self.case.lifecycle))
        event = data.draw(st.sampled_from(allowed))
        self.case = self.case.advance(event, at=self.later(seconds))

    @precondition(lambda self: not self.closed)
    @rule(seconds=st.integers(0, 3600), from_customer=st.booleans())
    def record_update(self, seconds: int, from_customer: bool) -> None:
        self.case = self.case.record_update(at=self.later(seconds), from_customer=from_customer)

    @invariant()
    def fields_follow_the_histories(self) -> None:
        case = self.case
        assert [(a.assignee, a.team) for a in case.assignments] == self.holders[1:]
        assert [(a.previous_assignee, a.previous_team) for a in case.assignments] == (
            self.holders[:-1]
        )
        assert [c.priority for c in case.priority_changes] == self.levels[1:]
        assert [c.previous for c in case.priority_changes] == self.levels[:-1]
        assert (case.assignee, case.team) == self.holders[-1]
        assert case.priority is self.levels[-1]
        assert case.tags == self.tags
        assert dict(case.attributes) == self.attributes

    @invariant()
    def histories_are_in_time_order(self) -> None:
        for history in (self.case.assignments, self.case.priority_changes):
            times = [self.case.opened_at.timestamp(), *(e.at.timestamp() for e in history)]
            assert times == sorted(times)

    @invariant()
    def it_rebuilds_and_reads_back_exactly(self) -> None:
        assert attrs.evolve(self.case) == self.case
        assert from_json(Case, to_json(self.case)) == self.case


TestDesk = DeskMachine.TestCase
TestDesk.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
