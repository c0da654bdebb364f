"""The built-in lifecycles are exactly the tables of the design, and the docs draw them."""

from __future__ import annotations

import enum
import itertools
import re
from collections.abc import Collection
from pathlib import Path

import pendulum
import pytest

from custservice.enums import CaseStatus, CustomerStage, InteractionStage
from custservice.errors import InvalidTransition
from custservice.lifecycle import Lifecycle, LifecycleState, Transition
from custservice.lifecycles import CASE_LIFECYCLE, CUSTOMER_LIFECYCLE, INTERACTION_CYCLE

ROOT = Path(__file__).resolve().parent.parent
T0 = pendulum.datetime(2026, 1, 5, 9)

C, IS, S = CustomerStage, InteractionStage, CaseStatus

# The tables of DESIGN.md §3 "Lifecycles", written out independently of lifecycles.py.
# event: (sources, target)
TABLES: dict[str, dict[str, tuple[Collection[str], str]]] = {
    "customer": {
        "acquire": ({C.PROSPECT}, C.NEW),
        "retain": ({C.NEW}, C.ACTIVE),
        "reward": ({C.ACTIVE}, C.LOYAL),
        "champion": ({C.ACTIVE, C.LOYAL}, C.ADVOCATE),
        "flag_risk": ({C.NEW, C.ACTIVE, C.LOYAL, C.ADVOCATE}, C.AT_RISK),
        "recover": ({C.AT_RISK}, C.ACTIVE),
        "churn": ({C.NEW, C.ACTIVE, C.LOYAL, C.ADVOCATE, C.AT_RISK}, C.CHURNED),
        "win_back": ({C.CHURNED}, C.NEW),
    },
    "interaction": {
        "receive": ({IS.READY}, IS.RECEIVING),
        "understand": ({IS.RECEIVING}, IS.UNDERSTANDING),
        "help": ({IS.UNDERSTANDING}, IS.HELPING),
        "clarify": ({IS.HELPING}, IS.UNDERSTANDING),
        "keep": ({IS.HELPING}, IS.KEEPING),
        "follow_up": ({IS.KEEPING}, IS.FOLLOW_UP),
        "close": (set(IS) - {IS.CLOSED}, IS.CLOSED),
    },
    "case": {
        "open": ({S.NEW}, S.OPEN),
        "await_customer": ({S.OPEN}, S.PENDING),
        "hold": ({S.OPEN}, S.ON_HOLD),
        "resume": ({S.PENDING, S.ON_HOLD}, S.OPEN),
        "solve": ({S.NEW, S.OPEN, S.PENDING, S.ON_HOLD}, S.SOLVED),
        "reopen": ({S.SOLVED}, S.OPEN),
        "close": ({S.SOLVED}, S.CLOSED),
    },
}

BUILT_IN: list[tuple[Lifecycle, type[enum.StrEnum], str, frozenset[str]]] = [
    (CUSTOMER_LIFECYCLE, CustomerStage, C.PROSPECT, frozenset()),
    (INTERACTION_CYCLE, InteractionStage, IS.READY, frozenset({IS.CLOSED})),
    (CASE_LIFECYCLE, CaseStatus, S.NEW, frozenset({S.CLOSED})),
]
IDS = ["customer", "interaction", "case"]


def target_of(name: str, state: str, event: str) -> str | None:
    sources, target = TABLES[name].get(event, (set(), ""))
    return target if state in sources else None


@pytest.mark.parametrize(("lifecycle", "stages", "initial", "final"), BUILT_IN, ids=IDS)
def test_shape(
    lifecycle: Lifecycle, stages: type[enum.StrEnum], initial: str, final: frozenset[str]
) -> None:
    assert lifecycle.initial is initial
    assert lifecycle.final == final
    assert set(lifecycle.states) == set(stages)
    assert all(type(s) is stages for s in lifecycle.states)  # enum members, as given
    assert set(lifecycle.events) == set(TABLES[lifecycle.name])


@pytest.mark.parametrize(("lifecycle", "stages", "initial", "final"), BUILT_IN, ids=IDS)
def test_every_state_and_event_is_allowed_exactly_as_the_table_says(
    lifecycle: Lifecycle, stages: type[enum.StrEnum], initial: str, final: frozenset[str]
) -> None:
    events = sorted({e for table in TABLES.values() for e in table})  # other lifecycles' too
    for stage, event in itertools.product(stages, events):
        state = LifecycleState(stage, T0)
        expected = target_of(lifecycle.name, stage, event)
        assert (event in lifecycle.allowed(state)) == (expected is not None), (stage, event)
        if expected is None:
            with pytest.raises(InvalidTransition):
                lifecycle.fire(state, event, at=T0.add(hours=1))
        else:
            after = lifecycle.fire(state, event, at=T0.add(hours=1))
            assert after.current is expected, (stage, event)
            assert type(after.current) is stages


def test_a_customer_can_always_be_won_back() -> None:
    state = CUSTOMER_LIFECYCLE.start(T0)
    for i, event in enumerate(["acquire", "retain", "churn", "win_back", "retain"]):
        state = CUSTOMER_LIFECYCLE.fire(state, event, at=T0.add(days=i))
    assert state.current is C.ACTIVE
    assert [c.target for c in state.history] == [C.NEW, C.ACTIVE, C.CHURNED, C.NEW, C.ACTIVE]


MERMAID = re.compile(r"^```mermaid\n(.*?)\n^```", re.S | re.M)


AWKWARD = Lifecycle(
    "awkward",
    "s1",
    [
        Transition("next; then", "s1", "state"),
        Transition('say "hi"', "state", "note"),
        Transition("go [now]: #1", ["note", "s1"], "default"),
    ],
    final=["default"],
)
"""The lifecycle with awkward names the concepts page draws (the browser test renders it)."""


def test_the_concepts_page_draws_each_built_in_and_the_awkward_names_exactly() -> None:
    page = (ROOT / "docs" / "concepts" / "lifecycles.md").read_text(encoding="utf-8")
    diagrams = MERMAID.findall(page)
    expected = [
        lc.to_mermaid() for lc in (CUSTOMER_LIFECYCLE, INTERACTION_CYCLE, CASE_LIFECYCLE, AWKWARD)
    ]
    assert diagrams == expected
