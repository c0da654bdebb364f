"""The lifecycle engine: definitions, firing, histories, restoring, diagrams."""

from __future__ import annotations

import datetime as dt
import enum
import json
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pendulum
import pytest
from conftest import allocated
from hypothesis import given
from hypothesis import strategies as st
from tests._diagrams import awkward_lifecycles, parse_diagram

from custservice import from_dict, from_json, to_dict, to_json
from custservice.enums import CustomerStage
from custservice.errors import InvalidTransition, LifecycleDefinitionError, ValidationError
from custservice.lifecycle import History, Lifecycle, LifecycleState, StateChange, Transition

T0 = pendulum.datetime(2026, 1, 5, 9)


def later(minutes: int) -> pendulum.DateTime:
    return T0.add(minutes=minutes)


def paid(state: LifecycleState, at: pendulum.DateTime) -> bool:
    return at >= later(60)


ORDER = Lifecycle(
    "order",
    initial="placed",
    transitions=[
        Transition("pay", "placed", "paid"),
        Transition("ship", "paid", "shipped", guard=paid),
        Transition("cancel", ["placed", "paid"], "cancelled"),
        Transition("deliver", "shipped", "delivered"),
    ],
    final=["delivered", "cancelled"],
)


# --- Transition ----------------------------------------------------------------------


def test_sources_are_normalized_to_a_frozenset() -> None:
    assert Transition("go", "a", "b").sources == frozenset({"a"})
    assert Transition("go", ["a", "b", "a"], "c").sources == frozenset({"a", "b"})


def test_enum_states_are_kept_as_given() -> None:
    t = Transition("retain", CustomerStage.NEW, CustomerStage.ACTIVE)
    (source,) = t.sources
    assert source is CustomerStage.NEW
    assert t.target is CustomerStage.ACTIVE


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("", "a", "b"), {}, "event must be a non-empty string"),
        (("go", "  ", "b"), {}, "source that is not a non-empty string"),
        (("go", [], "b"), {}, "has no source state"),
        (("go", "a", ""), {}, "target that is not a non-empty string"),
        (("go", "a", "b"), {"guard": "yes"}, "guard of event 'go' is not callable"),
        (("go", 3, "b"), {}, "sources must be a state or an iterable"),
    ],
)
def test_bad_transitions_are_definition_errors(
    args: tuple[object, ...], kwargs: dict[str, object], match: str
) -> None:
    with pytest.raises(LifecycleDefinitionError, match=match):
        Transition(*args, **kwargs)  # type: ignore[arg-type]


# --- Lifecycle definitions -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "initial", "transitions", "final", "match"),
    [
        ("", "a", [Transition("go", "a", "b")], (), "the name must be a non-empty string"),
        ("x", "", [], (), "the initial state must be a non-empty string"),
        ("x", "a", [Transition("go", "a", "b")], ["z"], "final state 'z' is not a state"),
        ("x", "a", [Transition("go", "a", "b")], ["a"], "final state 'a' is not reached"),
        (
            "x",
            "a",
            [Transition("go", "a", "b"), Transition("go", "b", "c")],
            ["b"],
            "final state 'b' has transitions out: 'go'",
        ),
        (
            "x",
            "a",
            [Transition("go", "a", "b"), Transition("go", "c", "d")],
            (),
            "state 'c' is not reachable from the initial state 'a'",
        ),
        (
            "x",
            "a",
            [Transition("go", "a", "b"), Transition("go", ["a", "b"], "c")],
            (),
            "event 'go' is ambiguous from state 'a': defined more than once \\(to 'b', 'c'\\)",
        ),
        ("x", "a", [Transition("go", "a", "b"), "go"], (), "expected a Transition, got str"),
    ],
    ids=[
        "empty-name",
        "empty-initial",
        "unknown-final",
        "unreached-final",
        "out-of-final",
        "unreachable",
        "ambiguous",
        "not-a-transition",
    ],
)
def test_definition_errors_name_the_problem(
    name: str, initial: str, transitions: list[Transition], final: list[str], match: str
) -> None:
    with pytest.raises(LifecycleDefinitionError, match=match):
        Lifecycle(name, initial, transitions, final)


def test_every_definition_problem_is_reported_at_once() -> None:
    with pytest.raises(LifecycleDefinitionError) as caught:
        Lifecycle(
            "broken",
            "a",
            [Transition("go", "a", "b"), Transition("go", "a", "c"), Transition("x", "d", "a")],
            final=["q"],
        )
    message = str(caught.value)
    assert message.startswith("lifecycle 'broken' is not valid: ")
    for part in ("ambiguous from state 'a'", "'q' is not a state", "'d' is not reachable"):
        assert part in message


def test_a_valid_definition_exposes_its_parts_in_order() -> None:
    assert ORDER.name == "order"
    assert ORDER.initial == "placed"
    assert ORDER.states == ("placed", "paid", "shipped", "cancelled", "delivered")
    assert ORDER.events == ("pay", "ship", "cancel", "deliver")
    assert ORDER.final == frozenset({"delivered", "cancelled"})
    assert len(ORDER.transitions) == 4
    assert repr(ORDER) == "Lifecycle('order', initial='placed', 5 states, 4 transitions)"


# --- start, fire, allowed ------------------------------------------------------------


def test_start_records_no_change() -> None:
    state = ORDER.start(T0)
    assert state.current == "placed"
    assert state.since == T0
    assert len(state.history) == 0
    assert list(state.history) == []


def test_start_keeps_enum_states() -> None:
    lifecycle = Lifecycle(
        "c", CustomerStage.PROSPECT, [Transition("acquire", CustomerStage.PROSPECT, "new")]
    )
    assert lifecycle.start(T0).current is CustomerStage.PROSPECT


def test_fire_moves_and_records_the_change() -> None:
    start = ORDER.start(T0)
    state = ORDER.fire(start, "pay", at=later(5), reason="card accepted")
    assert state.current == "paid"
    assert state.since == later(5)
    assert list(state.history) == [StateChange("pay", "placed", "paid", later(5), "card accepted")]
    assert start == ORDER.start(T0)  # the old state is untouched


def test_fire_accepts_a_stdlib_aware_datetime() -> None:
    at = dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
    state = ORDER.fire(ORDER.start(T0), "pay", at=at)
    assert isinstance(state.since, pendulum.DateTime)
    assert state.since == at
    assert isinstance(state.history[0].at, pendulum.DateTime)


def test_an_event_not_allowed_is_refused_with_the_allowed_events() -> None:
    state = ORDER.start(T0)
    with pytest.raises(InvalidTransition) as caught:
        ORDER.fire(state, "deliver", at=later(1))
    error = caught.value
    assert (error.lifecycle, error.state, error.event) == ("order", "placed", "deliver")
    assert error.allowed == frozenset({"pay", "cancel"})
    assert error.reason is None
    assert str(error) == (
        "order: event 'deliver' is not allowed in state 'placed'; "
        "allowed events are 'cancel', 'pay'"
    )


def test_an_unknown_event_is_an_invalid_transition() -> None:
    with pytest.raises(InvalidTransition, match="event 'teleport' is not allowed"):
        ORDER.fire(ORDER.start(T0), "teleport", at=later(1))


def test_nothing_is_allowed_from_a_final_state() -> None:
    cancelled = ORDER.fire(ORDER.start(T0), "cancel", at=later(1))
    assert ORDER.allowed(cancelled) == frozenset()
    with pytest.raises(InvalidTransition, match="it is a final state: no event is allowed"):
        ORDER.fire(cancelled, "pay", at=later(2))


def test_messages_show_enum_states_by_value() -> None:
    lifecycle = Lifecycle(
        "c", CustomerStage.PROSPECT, [Transition("acquire", CustomerStage.PROSPECT, "new")]
    )
    with pytest.raises(InvalidTransition) as caught:
        lifecycle.fire(lifecycle.start(T0), "churn", at=T0)
    assert "in state 'prospect'" in str(caught.value)
    assert caught.value.state == "prospect"


def test_allowed_lists_guarded_events_without_asking_the_guard() -> None:
    paid_state = ORDER.fire(ORDER.start(T0), "pay", at=later(1))
    assert ORDER.allowed(paid_state) == frozenset({"ship", "cancel"})


def test_a_guard_that_refuses_is_named_in_the_reason() -> None:
    paid_state = ORDER.fire(ORDER.start(T0), "pay", at=later(1))
    with pytest.raises(InvalidTransition) as caught:
        ORDER.fire(paid_state, "ship", at=later(30))
    assert caught.value.reason == "guard 'paid' refused"
    assert str(caught.value) == "order: event 'ship' refused in state 'paid': guard 'paid' refused"
    assert ORDER.fire(paid_state, "ship", at=later(60)).current == "shipped"


def test_a_guard_sees_the_state_fired_from_and_the_time() -> None:
    seen: list[tuple[LifecycleState, pendulum.DateTime]] = []

    def record(state: LifecycleState, at: pendulum.DateTime) -> bool:
        seen.append((state, at))
        return True

    lifecycle = Lifecycle("g", "a", [Transition("go", "a", "b", guard=record)])
    start = lifecycle.start(T0)
    lifecycle.fire(start, "go", at=later(3))
    assert seen == [(start, later(3))]


def test_time_never_goes_backwards() -> None:
    state = ORDER.fire(ORDER.start(T0), "pay", at=later(10))
    with pytest.raises(ValidationError) as caught:
        ORDER.fire(state, "cancel", at=later(9))
    assert caught.value.field == "at"
    assert "time never goes backwards" in str(caught.value)
    assert ORDER.fire(state, "cancel", at=later(10)).since == later(10)  # the same instant is fine


@pytest.mark.parametrize(
    ("at", "match"),
    [
        (dt.datetime(2026, 1, 5, 10), "naive datetime"),
        ("2026-01-05T10:00:00Z", "expected a timezone-aware datetime, got str"),
    ],
)
def test_at_must_be_an_aware_datetime(at: object, match: str) -> None:
    with pytest.raises(ValidationError, match=match) as caught:
        ORDER.fire(ORDER.start(T0), "pay", at=at)  # type: ignore[arg-type]
    assert caught.value.field == "at"
    with pytest.raises(ValidationError, match=match):
        ORDER.start(at)  # type: ignore[arg-type]


def test_a_blank_reason_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        ORDER.fire(ORDER.start(T0), "pay", at=later(1), reason="  ")
    assert caught.value.field == "reason"


def test_a_state_from_another_lifecycle_is_refused() -> None:
    stranger = LifecycleState("orbiting", T0)
    with pytest.raises(ValidationError, match="'orbiting' is not a state of lifecycle 'order'"):
        ORDER.fire(stranger, "pay", at=later(1))
    with pytest.raises(ValidationError, match="'orbiting' is not a state"):
        ORDER.allowed(stranger)


# --- History -------------------------------------------------------------------------


LOOP = Lifecycle("loop", "a", [Transition("go", "a", "b"), Transition("back", "b", "a")])


def drive(n: int) -> LifecycleState:
    state = LOOP.start(T0)
    for i in range(n):
        state = LOOP.fire(state, "back" if i % 2 else "go", at=later(i))
    return state


def test_history_is_a_sequence_oldest_first() -> None:
    history = drive(5).history
    assert len(history) == 5
    assert [c.event for c in history] == ["go", "back", "go", "back", "go"]
    assert history[0] == StateChange("go", "a", "b", later(0))
    assert history[-1] == history[4] == StateChange("go", "a", "b", later(4))
    assert history[1:3] == (
        StateChange("back", "b", "a", later(1)),
        StateChange("go", "a", "b", later(2)),
    )
    assert history[::-2] == (history[4], history[2], history[0])
    assert next(reversed(history)) == history[4]
    assert history.index(history[3]) == 3
    with pytest.raises(IndexError):
        history[5]
    with pytest.raises(IndexError):
        history[-6]


def test_histories_are_equal_by_content() -> None:
    one, two = drive(4).history, drive(4).history
    assert one == two
    assert hash(one) == hash(two)
    assert one != drive(3).history
    assert History(list(one)) == one
    assert one != list(one)
    assert drive(4) == drive(4)


def test_history_repr_shows_the_changes() -> None:
    assert repr(History()) == "History([])"
    assert repr(drive(1).history).startswith("History([StateChange(event='go', source='a'")


def test_firing_appends_in_place_and_branches_without_changing_the_past() -> None:
    base = drive(3)
    newer = LOOP.fire(base, "back", at=later(10))
    assert newer.history._log is base.history._log  # the common case shares the past
    other = LOOP.fire(base, "back", at=later(20))  # a second child of base: a branch
    assert other.history._log is not base.history._log
    assert len(base.history) == 3
    assert newer.history[-1].at == later(10)
    assert other.history[-1].at == later(20)
    assert list(newer.history)[:3] == list(other.history)[:3] == list(base.history)


class RacyLog(list):  # type: ignore[type-arg]
    """A log on which another thread appends just after fire has read its length."""

    raced = False

    def __len__(self) -> int:
        n = super().__len__()
        if not self.raced:
            self.raced = True
            self.append(("rival", "a", "b", later(50), None))
        return n


def test_losing_a_race_to_append_branches() -> None:
    base = drive(2)
    base.history._log = RacyLog(base.history._log)
    won = LOOP.fire(base, "go", at=later(60), reason="mine")
    assert len(won.history) == 3
    assert won.history[-1] == StateChange("go", "a", "b", later(60), "mine")
    assert list(won.history)[:2] == list(base.history)
    assert len(base.history) == 2


def test_firing_from_one_state_in_many_threads_keeps_every_history_right() -> None:
    base = drive(2)  # current "a"
    barrier = threading.Barrier(8)

    def fire_many(worker: int) -> list[LifecycleState]:
        barrier.wait()
        return [LOOP.fire(base, "go", at=later(100), reason=f"{worker}-{i}") for i in range(300)]

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(8) as pool:
            results = [s for batch in pool.map(fire_many, range(8)) for s in batch]
    finally:
        sys.setswitchinterval(interval)
    past = list(base.history)
    reasons = set()
    for state in results:
        assert len(state.history) == 3
        assert list(state.history)[:2] == past
        reasons.add(state.history[-1].reason)
    assert len(reasons) == 8 * 300  # every state kept its own change
    assert list(base.history) == past


# --- constructing and restoring ------------------------------------------------------


def test_state_change_validates_every_field_at_once() -> None:
    with pytest.raises(ValidationError) as caught:
        StateChange("", "a", " ", dt.datetime(2026, 1, 5), reason="")  # type: ignore[arg-type]
    assert [p.path for p in caught.value.problems] == ["event", "target", "at", "reason"]


def test_state_change_converts_at_to_pendulum() -> None:
    at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
    change = StateChange("go", "a", "b", at)  # type: ignore[arg-type]
    assert type(change.at) is pendulum.DateTime


def test_history_refuses_a_broken_chain() -> None:
    with pytest.raises(ValidationError) as caught:
        History(
            [
                StateChange("go", "a", "b", later(5)),
                StateChange("go", "c", "d", later(4)),
                "go",  # type: ignore[list-item]
            ]
        )
    assert [p.path for p in caught.value.problems] == ["[1].source", "[1].at", "[2]"]


def test_restoring_a_state_gives_an_equal_state_that_fires_alike() -> None:
    state = drive(6)
    restored = LifecycleState(state.current, state.since, [*state.history])
    assert restored == state
    assert LOOP.validate(restored) is restored
    assert LOOP.fire(restored, "go", at=later(7)) == LOOP.fire(state, "go", at=later(7))


def test_restoring_does_not_run_guards() -> None:
    def never(state: LifecycleState, at: pendulum.DateTime) -> bool:
        raise AssertionError("a guard ran")

    guarded = Lifecycle("g", "a", [Transition("go", "a", "b", guard=never)])
    restored = LifecycleState("b", T0, [StateChange("go", "a", "b", T0)])
    assert guarded.validate(restored) is restored


@pytest.mark.parametrize(
    ("current", "since", "history", "paths"),
    [
        ("", T0, [], ["current"]),
        ("a", dt.datetime(2026, 1, 5), [], ["since"]),
        ("a", T0, [StateChange("go", "a", "b", T0)], ["current"]),
        ("b", later(1), [StateChange("go", "a", "b", T0)], ["since"]),
        (
            "b",
            T0,
            [StateChange("go", "a", "b", T0), StateChange("go", "a", "b", T0)],
            ["history[1].source"],
        ),
    ],
)
def test_a_state_must_stand_where_its_history_ends(
    current: str, since: dt.datetime, history: list[StateChange], paths: list[str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        LifecycleState(current, since, history)  # type: ignore[arg-type]
    assert [p.path for p in caught.value.problems] == paths


def test_a_history_must_be_changes() -> None:
    with pytest.raises(ValidationError) as caught:
        LifecycleState("a", T0, None)  # type: ignore[arg-type]
    assert caught.value.field == "history"
    with pytest.raises(ValidationError) as caught:
        LifecycleState("a", T0, ["go"])  # type: ignore[list-item]
    assert caught.value.field == "history[0]"


def test_a_state_may_be_placed_mid_way_without_history() -> None:
    imported = LifecycleState("paid", T0)
    assert ORDER.validate(imported) is imported
    assert ORDER.fire(imported, "cancel", at=later(1)).current == "cancelled"


def test_validate_reports_what_the_definition_does_not_allow() -> None:
    state = LifecycleState(
        "shipped",
        later(2),
        [
            StateChange("pay", "placed", "paid", later(0)),
            StateChange("cancel", "paid", "shipped", later(1)),
            StateChange("deliver", "shipped", "shipped", later(2)),
        ],
    )
    with pytest.raises(ValidationError) as caught:
        ORDER.validate(state)
    assert [p.path for p in caught.value.problems] == ["history[1].target", "history[2].target"]
    assert "event 'cancel' leads to 'cancelled', not 'shipped'" in str(caught.value)


def test_validate_refuses_unknown_states_and_events() -> None:
    with pytest.raises(ValidationError) as caught:
        ORDER.validate(LifecycleState("b", T0, [StateChange("fly", "a", "b", T0)]))
    assert [p.path for p in caught.value.problems] == ["current", "history[0].event"]
    with pytest.raises(ValidationError, match="expected a LifecycleState"):
        ORDER.validate("placed")  # type: ignore[arg-type]


# --- diagrams ------------------------------------------------------------------------


def test_mermaid_diagram_of_a_small_lifecycle() -> None:
    assert ORDER.to_mermaid() == "\n".join(
        [
            "stateDiagram-v2",
            '    state "placed" as s0',
            '    state "paid" as s1',
            '    state "shipped" as s2',
            '    state "cancelled" as s3',
            '    state "delivered" as s4',
            "    [*] --> s0",
            "    s0 --> s1: pay",
            "    s1 --> s2: ship [paid]",
            "    s0 --> s3: cancel",
            "    s1 --> s3: cancel",
            "    s2 --> s4: deliver",
            "    s3 --> [*]",
            "    s4 --> [*]",
        ]
    )


def test_mermaid_names_that_look_like_syntax_stay_labels() -> None:
    lifecycle = Lifecycle(
        "awkward",
        "s1",
        [
            Transition("a;b", "s1", "state"),
            Transition("line\nbreak", "state", "note"),
            Transition('say "hi" [now]: #1;', ["note", "s1"], "default"),
            Transition("direction TB", "default", "s0"),
        ],
    )
    assert lifecycle.to_mermaid().splitlines() == [
        "stateDiagram-v2",
        '    state "s1" as s0',
        '    state "state" as s1',
        '    state "note" as s2',
        '    state "default" as s3',
        '    state "s0" as s4',
        "    [*] --> s0",
        "    s0 --> s1: a#59;b",
        "    s1 --> s2: line#10;break",
        "    s0 --> s3: say #34;hi#34; #91;now#93;#58; #35;1#59;",
        "    s2 --> s3: say #34;hi#34; #91;now#93;#58; #35;1#59;",
        "    s3 --> s4: #100;irection TB",
    ]


@given(lifecycle=awkward_lifecycles())
def test_every_valid_lifecycle_draws_exactly_its_states_and_transitions(
    lifecycle: Lifecycle,
) -> None:
    states, initial, moves, ends = parse_diagram(lifecycle.to_mermaid())
    assert states == list(lifecycle.states)
    assert initial == lifecycle.initial
    assert moves == {(s, t.event, t.target) for t in lifecycle.transitions for s in t.sources}
    assert ends == set(lifecycle.final)


# --- states that are members of a plain Enum -----------------------------------------


class Light(enum.Enum):
    """Plain enum states, one of them with a value JSON cannot hold."""

    RED = 1
    GREEN = "green"
    AMBER = (3, "blink")


def traffic() -> Lifecycle:
    """Plain enum states and a string state in one lifecycle."""
    return Lifecycle(
        "traffic",
        Light.RED,
        [
            Transition("go", Light.RED, Light.GREEN),
            Transition("slow", Light.GREEN, Light.AMBER),
            Transition("stop", [Light.AMBER, Light.GREEN], Light.RED),
            Transition("park", Light.RED, "parked"),
        ],
        final=["parked"],
    )


def test_plain_enum_states_are_kept_fired_and_named_by_member_name() -> None:
    lights = traffic()
    assert lights.states == (Light.RED, Light.GREEN, Light.AMBER, "parked")
    state = lights.fire(lights.start(T0), "go", at=later(1))
    assert state.current is Light.GREEN
    assert state.history[0].source is Light.RED
    assert lights.allowed(state) == frozenset({"slow", "stop"})
    with pytest.raises(InvalidTransition) as caught:
        lights.fire(state, "park", at=later(2))
    assert caught.value.state == "GREEN"
    assert "in state 'GREEN'" in str(caught.value)
    assert lights.validate(state) is state


def test_plain_enum_states_round_trip_exactly_through_dicts_and_json() -> None:
    lights = traffic()
    state = lights.start(T0)
    for i, event in enumerate(["go", "slow", "stop", "park"]):
        state = lights.fire(state, event, at=later(i), reason=f"step {i}")
    data = to_dict(state)
    json.dumps(data)  # plain data, nothing JSON cannot hold
    for restored in (from_dict(LifecycleState, data), from_json(LifecycleState, to_json(state))):
        assert restored == state
        assert restored.current == "parked"
        assert [c.source for c in restored.history] == [
            Light.RED,
            Light.GREEN,
            Light.AMBER,
            Light.RED,
        ]
        for mine, theirs in zip(restored.history, state.history, strict=True):
            assert type(mine.target) is type(theirs.target)
        assert lights.validate(restored) is restored
    green = lights.fire(lights.start(T0), "go", at=later(1))
    again = from_json(LifecycleState, to_json(green))
    assert again.current is Light.GREEN
    assert lights.fire(again, "slow", at=later(2)) == lights.fire(green, "slow", at=later(2))


class Signal(enum.Enum):
    """Plain enum states that no lifecycle in the process is built with."""

    ON = 1
    OFF = 0


def test_a_member_of_an_imported_enum_is_found_without_a_lifecycle() -> None:
    state = LifecycleState(Signal.OFF, T0, [StateChange("switch", Signal.ON, Signal.OFF, T0)])
    data = to_dict(state)
    assert data["current"] == {"enum": f"{__name__}.Signal", "name": "OFF"}
    restored = from_dict(LifecycleState, data)
    assert restored.current is Signal.OFF
    assert restored.history[0].source is Signal.ON


def test_a_plain_enum_state_of_an_unknown_enum_is_refused_with_its_path() -> None:
    lights = traffic()
    data = to_dict(lights.fire(lights.start(T0), "go", at=later(1)))
    data["current"] = {"enum": "nowhere.Nothing", "name": "GREEN"}
    data["history"][0]["source"] = {"enum": data["history"][0]["source"]["enum"], "name": "BLUE"}
    with pytest.raises(ValidationError) as caught:
        from_dict(LifecycleState, data)
    paths = [p.path for p in caught.value.problems]
    assert "$.current" in paths
    assert any(p.startswith("$.history") and p.endswith(".source") for p in paths)


# --- firing from an older position costs the same at any length ----------------------


def next_event(state: LifecycleState) -> str:
    return "go" if state.current == "a" else "back"


def fire_next(state: LifecycleState) -> LifecycleState:
    return LOOP.fire(state, next_event(state), at=state.since)


def branched_at_every_step(n: int) -> LifecycleState:
    """``n`` changes, each fired from a position an earlier child had already moved on from."""
    state = LOOP.start(T0)
    for i in range(n):
        event = next_event(state)
        LOOP.fire(state, event, at=later(i), reason="the first child")
        state = LOOP.fire(state, event, at=later(i), reason=f"kept {i}")
    return state


def older_position(n: int, where: str) -> LifecycleState:
    if where == "branched at every step":
        state = branched_at_every_step(n)
        fire_next(state)  # so that firing from it again branches once more
        return state
    states = [LOOP.start(T0)]
    for i in range(n):
        states.append(LOOP.fire(states[-1], next_event(states[-1]), at=later(i)))
    if where == "a retry from the newest":
        newest = states[-1]
        LOOP.fire(newest, next_event(newest), at=newest.since)  # now newest has a child
        return newest
    return states[n // 2]  # a position the caller kept, half-way back


@pytest.mark.parametrize(
    "where", ["a retry from the newest", "a kept position", "branched at every step"]
)
def test_firing_from_an_older_position_allocates_the_same_at_any_length(where: str) -> None:
    costs = []
    for n in (10, 10_000):
        base = older_position(n, where)
        costs.append(allocated(partial(fire_next, base)))
    short, long = costs
    # Bounded, not proportional: a branch may copy up to 32 entries of the newest log
    # segment (a few hundred bytes); copying 10,000 changes' past would be 80,000 bytes.
    assert long <= short + 512, f"{long} bytes with 10,000 changes, {short} with 10"


def test_a_history_branched_at_every_step_reads_back_exactly() -> None:
    state = branched_at_every_step(2_000)
    expected = [
        StateChange(
            "go" if i % 2 == 0 else "back",
            "a" if i % 2 == 0 else "b",
            "b" if i % 2 == 0 else "a",
            later(i),
            f"kept {i}",
        )
        for i in range(2_000)
    ]
    history = state.history
    assert len(history) == 2_000
    assert list(history) == expected
    assert [history[i] for i in range(-2_000, 2_000)] == expected * 2
    assert history[10:20] == tuple(expected[10:20])
    assert history[::-7] == tuple(expected[::-7])
    assert list(reversed(history)) == expected[::-1]
    assert history == History(expected)
    assert hash(history) == hash(History(expected))
    assert LOOP.validate(state) is state
    with pytest.raises(IndexError):
        history[2_000]


# --- arguments of the wrong kind -----------------------------------------------------

NOT_A_STATE = st.one_of(
    st.none(),
    st.integers(),
    st.text(),
    st.binary(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sampled_from([object(), T0, ORDER, StateChange("go", "a", "b", T0), History()]),
)


@given(value=NOT_A_STATE)
def test_a_wrong_kind_of_state_is_a_validation_error_naming_it(value: object) -> None:
    with pytest.raises(ValidationError) as fired:
        ORDER.fire(value, "pay", at=later(1))  # type: ignore[arg-type]
    assert fired.value.field == "state"
    assert type(value).__name__ in str(fired.value)
    with pytest.raises(ValidationError) as asked:
        ORDER.allowed(value)  # type: ignore[arg-type]
    assert asked.value.field == "state"


@given(value=NOT_A_STATE.filter(lambda v: not isinstance(v, str)))
def test_a_wrong_kind_of_event_is_a_validation_error_naming_it(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ORDER.fire(ORDER.start(T0), value, at=later(1))  # type: ignore[arg-type]
    assert caught.value.field == "event"


@given(value=NOT_A_STATE.filter(lambda v: not isinstance(v, dt.datetime)))
def test_a_wrong_kind_of_time_is_a_validation_error_naming_it(value: object) -> None:
    with pytest.raises(ValidationError) as fired:
        ORDER.fire(ORDER.start(T0), "pay", at=value)  # type: ignore[arg-type]
    assert fired.value.field == "at"
    with pytest.raises(ValidationError) as started:
        ORDER.start(value)  # type: ignore[arg-type]
    assert started.value.field == "at"


@given(value=NOT_A_STATE.filter(lambda v: v is not None and not isinstance(v, str)))
def test_a_wrong_kind_of_reason_is_a_validation_error_naming_it(value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        ORDER.fire(ORDER.start(T0), "pay", at=later(1), reason=value)  # type: ignore[arg-type]
    assert caught.value.field == "reason"


# --- time is compared exactly --------------------------------------------------------

FAR = st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(9999, 12, 30))
ZONES = st.sampled_from(["UTC", "Europe/Paris", "Asia/Kathmandu", "America/New_York", "Etc/GMT+12"])


@given(naive=FAR, zone=ZONES, other=ZONES)
def test_firing_a_microsecond_before_since_is_refused_in_any_year(
    naive: dt.datetime, zone: str, other: str
) -> None:
    since = pendulum.instance(naive, tz="UTC").in_timezone(zone)
    earlier = (since - dt.timedelta(microseconds=1)).in_timezone(other)
    state = LifecycleState("placed", since)
    with pytest.raises(ValidationError) as caught:
        ORDER.fire(state, "pay", at=earlier)
    assert caught.value.field == "at"
    fired = ORDER.fire(state, "pay", at=since.in_timezone(other))
    # (in UTC: Python calls an instant in a repeated hour unequal to any other zone's)
    assert fired.since.in_timezone("UTC") == since.in_timezone("UTC")
    with pytest.raises(ValidationError) as restoring:
        History(
            [
                StateChange("pay", "placed", "paid", since),
                StateChange("cancel", "paid", "cancelled", earlier),
            ]
        )
    assert restoring.value.field == "[1].at"
