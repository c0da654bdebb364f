"""Stateful and property tests of the lifecycle engine, against independent models.

Each machine keeps every state it has made, with what that state should hold,
and fires events from any of them (old ones too, so histories branch). The
expected outcome comes from a table written independently of the engine: the
design's tables for the built-ins, the generated edges for random lifecycles.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from typing import Literal

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from custservice import from_dict, from_json, to_dict, to_json
from custservice.enums import CaseStatus, CustomerStage, InteractionStage
from custservice.errors import InvalidTransition, ValidationError
from custservice.lifecycle import Lifecycle, LifecycleState, StateChange
from custservice.lifecycles import CASE_LIFECYCLE, CUSTOMER_LIFECYCLE, INTERACTION_CYCLE
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 1, 5, 9)

# --- models --------------------------------------------------------------------------


@attrs.frozen
class Spec:
    """A lifecycle with an independent model of it: ``(state, event) -> target``, and
    which of those pairs carry the ``even_history`` guard."""

    lifecycle: Lifecycle
    table: dict[tuple[str, str], str]
    guarded: frozenset[tuple[str, str]] = frozenset()

    def allowed(self, state: str) -> frozenset[str]:
        return frozenset(e for (s, e) in self.table if s == state)


def design_spec(lifecycle: Lifecycle, rows: dict[str, tuple[Collection[str], str]]) -> Spec:
    table = {(s, event): target for event, (sources, target) in rows.items() for s in sources}
    return Spec(lifecycle, table)


C, IS, S = CustomerStage, InteractionStage, CaseStatus
# DESIGN.md §3 "Lifecycles", written out again (test_lifecycles_builtin.py checks it too).
CUSTOMER_SPEC = design_spec(
    CUSTOMER_LIFECYCLE,
    {
        "acquire": ({C.PROSPECT}, C.NEW),
        "retain": ({C.NEW}, C.ACTIVE),
        "reward": ({C.ACTIVE}, C.LOYAL),
        "champion": ({C.ACTIVE, C.LOYAL}, C.ADVOCATE),
        "flag_risk": ({C.NEW, C.ACTIVE, C.LOYAL, C.ADVOCATE}, C.AT_RISK),
        "recover": ({C.AT_RISK}, C.ACTIVE),
        "churn": ({C.NEW, C.ACTIVE, C.LOYAL, C.ADVOCATE, C.AT_RISK}, C.CHURNED),
        "win_back": ({C.CHURNED}, C.NEW),
    },
)
INTERACTION_SPEC = design_spec(
    INTERACTION_CYCLE,
    {
        "receive": ({IS.READY}, IS.RECEIVING),
        "understand": ({IS.RECEIVING}, IS.UNDERSTANDING),
        "help": ({IS.UNDERSTANDING}, IS.HELPING),
        "clarify": ({IS.HELPING}, IS.UNDERSTANDING),
        "keep": ({IS.HELPING}, IS.KEEPING),
        "follow_up": ({IS.KEEPING}, IS.FOLLOW_UP),
        "close": (set(IS) - {IS.CLOSED}, IS.CLOSED),
    },
)
CASE_SPEC = design_spec(
    CASE_LIFECYCLE,
    {
        "open": ({S.NEW}, S.OPEN),
        "await_customer": ({S.OPEN}, S.PENDING),
        "hold": ({S.OPEN}, S.ON_HOLD),
        "resume": ({S.PENDING, S.ON_HOLD}, S.OPEN),
        "solve": ({S.NEW, S.OPEN, S.PENDING, S.ON_HOLD}, S.SOLVED),
        "reopen": ({S.SOLVED}, S.OPEN),
        "close": ({S.SOLVED}, S.CLOSED),
    },
)

# --- strategies ------------------------------------------------------------------------


def spec_of(lifecycle: Lifecycle) -> Spec:
    """The model of a lifecycle, read from its definition rather than the engine's table."""
    table = {(s, t.event): t.target for t in lifecycle.transitions for s in t.sources}
    guarded = {(s, t.event) for t in lifecycle.transitions if t.guard for s in t.sources}
    return Spec(lifecycle, table, frozenset(guarded))


def lifecycle_specs(
    *, max_states: int = 6, states: Literal["text", "enum", "any"] = "text"
) -> st.SearchStrategy[Spec]:
    return cst.lifecycles(max_states=max_states, states=states).map(spec_of)


lifecycle_states = cst.lifecycle_states


# --- the machines --------------------------------------------------------------------


@attrs.frozen
class Known:
    """A state the machine made, and what it must hold for ever after."""

    state: LifecycleState
    current: str
    since: pendulum.DateTime
    history: tuple[StateChange, ...]


class LifecycleMachine(RuleBasedStateMachine):
    specs: st.SearchStrategy[Spec]

    def __init__(self) -> None:
        super().__init__()
        self.spec: Spec
        self.known: list[Known] = []

    @initialize(data=st.data(), minutes=st.integers(0, 10**6))
    def start(self, data: st.DataObject, minutes: int) -> None:
        self.spec = data.draw(self.specs, label="spec")
        at = T0.add(minutes=minutes)
        state = self.spec.lifecycle.start(at)
        self.known.append(Known(state, self.spec.lifecycle.initial, at, ()))

    def expect(self, known: Known, event: str, minutes: int) -> Known | None:
        """Fire ``event`` from ``known`` and check the outcome against the model; return
        what was made, if anything."""
        lifecycle, spec = self.spec.lifecycle, self.spec
        at = known.since.add(minutes=minutes)
        target = spec.table.get((known.current, event))
        if target is None:
            with pytest.raises(InvalidTransition) as caught:
                lifecycle.fire(known.state, event, at=at)
            assert caught.value.allowed == spec.allowed(known.current)
            assert caught.value.reason is None
            return None
        if minutes < 0:
            with pytest.raises(ValidationError) as not_back:
                lifecycle.fire(known.state, event, at=at)
            assert not_back.value.field == "at"
            return None
        if (known.current, event) in spec.guarded and len(known.history) % 2:
            with pytest.raises(InvalidTransition) as refused:
                lifecycle.fire(known.state, event, at=at)
            assert refused.value.reason == "guard 'even_history' refused"
            return None
        reason = f"step {len(self.known)}"
        new = lifecycle.fire(known.state, event, at=at, reason=reason)
        change = StateChange(event, known.current, target, at, reason)
        history = (*known.history, change)
        assert new.current == target
        assert new.since == at
        assert len(new.history) == len(known.history) + 1
        assert tuple(new.history) == history
        made = Known(new, target, at, history)
        if len(self.known) < 40:
            self.known.append(made)
        return made

    @rule(data=st.data(), minutes=st.integers(-3, 60 * 24 * 30))
    def fire(self, data: st.DataObject, minutes: int) -> None:
        known = data.draw(st.sampled_from(self.known), label="from")
        events = [*self.spec.lifecycle.events, "no_such_event"]
        self.expect(known, data.draw(st.sampled_from(events), label="event"), minutes)

    @rule(data=st.data(), minutes=st.integers(0, 60))
    def branch(self, data: st.DataObject, minutes: int) -> None:
        known = data.draw(st.sampled_from(self.known), label="from")
        allowed = sorted(self.spec.allowed(known.current))
        if len(allowed) < 2:
            return
        first, second = data.draw(st.permutations(allowed), label="events")[:2]
        one = self.expect(known, first, minutes)
        other = self.expect(known, second, minutes)
        if one is not None and other is not None:  # two children of one state
            assert one.state.history[:-1] == other.state.history[:-1] == known.history
            assert one.state.history[-1].event == first
            assert other.state.history[-1].event == second

    @rule(data=st.data(), minutes=st.integers(0, 60), times=st.integers(2, 4))
    def retry(self, data: st.DataObject, minutes: int, times: int) -> None:
        """Fire one event from one kept position several times (a retry, a what-if)."""
        known = data.draw(st.sampled_from(self.known), label="from")
        allowed = sorted(self.spec.allowed(known.current))
        if not allowed:
            return
        event = data.draw(st.sampled_from(allowed), label="event")
        made = [self.expect(known, event, minutes) for _ in range(times)]
        children = [m.state for m in made if m is not None]
        for child in children:
            assert child.history[: len(known.history)] == known.history
        assert len({id(c.history) for c in children}) == len(children)

    @invariant()
    def nothing_made_ever_changes(self) -> None:
        for known in self.known:
            state = known.state
            assert state.current == known.current
            assert state.since == known.since
            assert len(state.history) == len(known.history)
            assert tuple(state.history) == known.history
            n = len(known.history)
            assert [state.history[i] for i in range(-n, n)] == list(known.history) * 2
            assert list(reversed(state.history)) == list(reversed(known.history))
            assert state.history[1::2] == known.history[1::2]

    @invariant()
    def time_never_decreases(self) -> None:
        for known in self.known:
            times = [c.at for c in known.history]
            assert times == sorted(times)
            assert all(t <= known.since for t in times)

    @invariant()
    def every_state_made_validates(self) -> None:
        for known in self.known:
            assert self.spec.lifecycle.validate(known.state) is known.state


class CustomerMachine(LifecycleMachine):
    specs = st.just(CUSTOMER_SPEC)


class InteractionMachine(LifecycleMachine):
    specs = st.just(INTERACTION_SPEC)


class CaseMachine(LifecycleMachine):
    specs = st.just(CASE_SPEC)


class RandomLifecycleMachine(LifecycleMachine):
    specs = lifecycle_specs(states="any")


MACHINE_SETTINGS = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestCustomerLifecycle = CustomerMachine.TestCase
TestCustomerLifecycle.settings = MACHINE_SETTINGS
TestInteractionCycle = InteractionMachine.TestCase
TestInteractionCycle.settings = MACHINE_SETTINGS
TestCaseLifecycle = CaseMachine.TestCase
TestCaseLifecycle.settings = MACHINE_SETTINGS
TestRandomLifecycle = RandomLifecycleMachine.TestCase
TestRandomLifecycle.settings = settings(MACHINE_SETTINGS, max_examples=100)


# --- properties ----------------------------------------------------------------------


@given(spec=lifecycle_specs())
def test_generated_definitions_are_valid_and_match_their_model(spec: Spec) -> None:
    lifecycle = spec.lifecycle
    for state in lifecycle.states:
        assert lifecycle.allowed(LifecycleState(state, T0)) == spec.allowed(state)


@given(data=st.data(), spec=lifecycle_specs())
def test_firing_never_alters_an_earlier_state(data: st.DataObject, spec: Spec) -> None:
    lifecycle = spec.lifecycle
    made = [lifecycle.start(T0)]
    snapshots = [list(made[0].history)]
    for _ in range(data.draw(st.integers(0, 25), label="steps")):
        state = data.draw(st.sampled_from(made), label="from")
        allowed = sorted(lifecycle.allowed(state))
        if not allowed:
            continue
        event = data.draw(st.sampled_from(allowed), label="event")
        try:
            new = lifecycle.fire(state, event, at=state.since.add(hours=1))
        except InvalidTransition:
            continue
        made.append(new)
        snapshots.append(list(new.history))
    for state, snapshot in zip(made, snapshots, strict=True):
        assert list(state.history) == snapshot


@given(data=st.data(), spec=lifecycle_specs())
def test_validate_accepts_every_state_fire_makes(data: st.DataObject, spec: Spec) -> None:
    state = data.draw(lifecycle_states(spec.lifecycle))
    assert spec.lifecycle.validate(state) is state
    restored = LifecycleState(state.current, state.since, list(state.history))
    assert restored == state
    assert spec.lifecycle.validate(restored) is restored


@given(spec=lifecycle_specs())
def test_every_generated_definition_draws_a_diagram_of_every_transition(spec: Spec) -> None:
    diagram = spec.lifecycle.to_mermaid().splitlines()
    assert diagram[0] == "stateDiagram-v2"
    arrows = [line for line in diagram if ": " in line]
    assert len(arrows) == len(spec.table)
    assert len([line for line in diagram if line.endswith("--> [*]")]) == len(spec.lifecycle.final)


@given(spec=lifecycle_specs())
@settings(max_examples=20)
def test_firing_from_the_newest_state_never_copies_the_past(spec: Spec) -> None:
    lifecycle = spec.lifecycle
    state = lifecycle.start(T0)
    log = state.history._log
    for _ in range(200):
        options = [
            e
            for e in sorted(lifecycle.allowed(state))
            if (state.current, e) not in spec.guarded or len(state.history) % 2 == 0
        ]
        if not options:
            break
        state = lifecycle.fire(state, options[len(state.history) % len(options)], at=state.since)
        assert state.history._log is log  # appended in place


@given(data=st.data(), spec=lifecycle_specs(states="enum"))
def test_plain_enum_lifecycles_fire_and_round_trip_exactly(data: st.DataObject, spec: Spec) -> None:
    lifecycle = spec.lifecycle
    assert all(isinstance(s, enum.Enum) and not isinstance(s, str) for s in lifecycle.states)
    state = data.draw(lifecycle_states(lifecycle))
    for restored in (
        from_dict(LifecycleState, to_dict(state)),
        from_json(LifecycleState, to_json(state)),
    ):
        assert restored == state
        assert restored.current is state.current
        for mine, theirs in zip(restored.history, state.history, strict=True):
            assert (mine.source, mine.target) == (theirs.source, theirs.target)
            assert mine.source is theirs.source
            assert mine.target is theirs.target
        assert lifecycle.validate(restored) is restored
        assert lifecycle.allowed(restored) == spec.allowed(state.current)
        for event in sorted(lifecycle.allowed(state)):
            if (state.current, event) not in spec.guarded:
                at = state.since.add(hours=1)
                assert lifecycle.fire(restored, event, at=at) == lifecycle.fire(state, event, at=at)


@given(data=st.data(), spec=lifecycle_specs(states="any"))
def test_states_of_every_kind_round_trip_exactly(data: st.DataObject, spec: Spec) -> None:
    state = data.draw(lifecycle_states(spec.lifecycle))
    restored = from_json(LifecycleState, to_json(state))
    assert restored == state
    for mine, theirs in zip(restored.history, state.history, strict=True):
        for got, was in ((mine.source, theirs.source), (mine.target, theirs.target)):
            if isinstance(was, str):  # text, and str-valued enum members, come back as text
                assert type(got) is str
                assert got == was
            else:  # members of a plain enum come back as themselves
                assert got is was
