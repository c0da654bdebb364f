"""Assignment: only agents who can take the case are chosen, fairly, by a pure policy."""

from __future__ import annotations

import collections
import datetime as dt
import uuid

import pendulum
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from custservice import (
    Agent,
    BusinessCalendar,
    Case,
    FixedClock,
    LeastLoaded,
    RoundRobin,
    SkillsBased,
    ValidationError,
    choose_assignee,
)
from custservice.testing import strategies as cst

NINE = pendulum.datetime(2026, 3, 2, 9)  # a Monday
OFFICE = BusinessCalendar("UTC", {d: [(dt.time(9), dt.time(17))] for d in range(5)})
POLICIES = st.one_of(
    st.builds(RoundRobin, st.none() | st.sampled_from(["ana", "bo", "chidi", "dana", "eve"])),
    st.just(LeastLoaded()),
    st.builds(
        SkillsBased,
        preferred=st.frozensets(st.sampled_from(["refunds", "french"]), max_size=1),
        relax_after=st.none() | st.just(pendulum.duration(hours=1)),
    ),
)
SKILLS = st.frozensets(st.sampled_from(["refunds", "french", "hardware", "billing"]), max_size=2)
CREWS = st.lists(cst.agents(), max_size=5, unique_by=lambda a: a.id)
LOADS = st.dictionaries(st.sampled_from(["ana", "bo", "chidi", "dana"]), st.integers(0, 4))


def billing_case(**fields: object) -> Case:
    return Case.open(uuid.uuid4(), "Refund", clock=FixedClock(NINE), team="billing", **fields)  # type: ignore[arg-type]


def can_take(agent: Agent, case: Case, loads: dict[str, int], at: pendulum.DateTime) -> bool:
    return (
        (case.team is None or case.team in agent.teams)
        and agent.calendar.is_working(at)
        and loads.get(agent.id, 0) < agent.capacity
    )


@given(cst.cases(), CREWS, LOADS, POLICIES, SKILLS, cst.durations(dt.timedelta(days=3)))
def test_nobody_is_chosen_outside_team_calendar_capacity_or_skills(
    case: Case,
    agents: list[Agent],
    loads: dict[str, int],
    policy: RoundRobin | LeastLoaded | SkillsBased,
    skills: frozenset[str],
    after: dt.timedelta,
) -> None:
    at = case.opened_at + after
    choice = choose_assignee(case, agents, policy=policy, loads=loads, at=at, skills=skills)
    assert choice.reason.endswith(".")
    fits = [a for a in agents if can_take(a, case, loads, at)]
    if choice.agent is None:
        assert choice.reason.startswith("Nobody can take the case")
        assert not [a for a in fits if skills <= a.skills]
        return
    assert choice.agent in fits
    assert choice.agent.id in choice.reason
    relaxed = isinstance(policy, SkillsBased) and not skills <= choice.agent.skills
    if relaxed:  # only once the case has waited, and only to the preferred skills
        assert policy.relax_after is not None
        assert at - case.opened_at >= policy.relax_after
        assert policy.preferred <= choice.agent.skills
    else:
        assert skills <= choice.agent.skills
    # Pure: asked again, the same answer.
    again = choose_assignee(case, agents, policy=policy, loads=loads, at=at, skills=skills)
    assert again == choice


@given(cst.cases(), CREWS, LOADS, st.sampled_from([LeastLoaded(), SkillsBased()]))
def test_least_loaded_picks_a_minimum_load(
    case: Case, agents: list[Agent], loads: dict[str, int], policy: LeastLoaded | SkillsBased
) -> None:
    at = case.opened_at
    choice = choose_assignee(case, agents, policy=policy, loads=loads, at=at)
    fits = [a for a in agents if can_take(a, case, loads, at)]
    assert (choice.agent is None) is (not fits)
    if choice.agent is not None:
        assert loads.get(choice.agent.id, 0) == min(loads.get(a.id, 0) for a in fits)
        assert choice.policy == policy


@given(
    st.lists(
        cst.agents(ids=st.sampled_from(["ana", "bo", "chidi", "dana", "eve", "femi"])),
        min_size=1,
        max_size=6,
        unique_by=lambda a: a.id,
    ),
    st.integers(1, 30),
    st.none() | st.sampled_from(["ana", "bo", "zed"]),
)
def test_round_robin_is_fair(agents: list[Agent], n: int, last: str | None) -> None:
    case = Case.open(uuid.uuid4(), "Refund", clock=FixedClock(NINE))
    eligible = [a.id for a in agents if can_take(a, case, {}, NINE)]
    assume(eligible)
    policy = RoundRobin(last)
    chosen: collections.Counter[str] = collections.Counter()
    for _ in range(n):
        choice = choose_assignee(case, agents, policy=policy, loads={}, at=NINE)
        assert choice.agent is not None
        assert isinstance(choice.policy, RoundRobin)
        assert choice.policy.last == choice.agent.id
        chosen[choice.agent.id] += 1
        policy = choice.policy
    counts = [chosen[i] for i in eligible]
    assert set(chosen) <= set(eligible)
    assert max(counts) - min(counts) <= 1


def test_round_robin_takes_turns_in_the_order_given() -> None:
    agents = [Agent("ana", teams={"billing"}), Agent("bo"), Agent("cy", teams={"billing"})]
    policy: RoundRobin = RoundRobin()
    picked = []
    for _ in range(3):
        choice = choose_assignee(billing_case(), agents, policy=policy, loads={}, at=NINE)
        assert choice.agent is not None
        assert isinstance(choice.policy, RoundRobin)
        picked.append(choice.agent.id)
        policy = choice.policy
    assert picked == ["ana", "cy", "ana"]
    assert choice.reason == "ana is next in turn of 2 available agents."


def test_the_reason_says_why_nobody_can_take_the_case() -> None:
    agents = [
        Agent("ana"),
        Agent("bo", teams={"billing"}, calendar=OFFICE),
        Agent("cy", teams={"billing"}),
        Agent("di", teams={"billing"}, capacity=2),
    ]
    choice = choose_assignee(
        billing_case(),
        agents,
        policy=LeastLoaded(),
        loads={"cy": 1},
        at=NINE.subtract(hours=2),
        skills={"refunds"},
    )
    assert choice.agent is None
    assert choice.reason == (
        "Nobody can take the case: of 4 agents, 1 is not in team billing; 1 is not working "
        "now; 1 is at capacity; 1 lacks a required skill (refunds)."
    )
    empty = choose_assignee(billing_case(), [], policy=RoundRobin(), loads={}, at=NINE)
    assert (empty.agent, empty.reason) == (None, "Nobody can take the case: no agents were given.")


def test_skills_are_relaxed_to_the_preferred_ones_once_the_case_has_waited() -> None:
    agents = [
        Agent("ana", teams={"billing"}, skills={"refunds"}),
        Agent("bo", teams={"billing"}, skills={"refunds", "french"}, capacity=0),
    ]
    policy = SkillsBased(preferred={"refunds"}, relax_after=pendulum.duration(minutes=30))
    need = {"refunds", "french"}
    early = choose_assignee(
        billing_case(), agents, policy=policy, loads={}, at=NINE.add(minutes=10), skills=need
    )
    assert early.agent is None
    assert "relaxes to the preferred skills at 2026-03-02" in early.reason
    late = choose_assignee(
        billing_case(), agents, policy=policy, loads={}, at=NINE.add(minutes=30), skills=need
    )
    assert late.agent is not None
    assert late.agent.id == "ana"
    assert "preferred skills" in late.reason


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"id": ""}, "id"),
        ({"id": "ana", "capacity": -1}, "capacity"),
        ({"id": "ana", "capacity": 1.5}, "capacity"),
        ({"id": "ana", "teams": "billing"}, "teams"),
        ({"id": "ana", "calendar": "24/7"}, "calendar"),
    ],
)
def test_a_bad_agent_is_refused_naming_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as error:
        Agent(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


@pytest.mark.parametrize(
    ("agents", "loads", "field"),
    [
        ([Agent("ana"), Agent("ana")], {}, "agents[1]"),
        ([Agent("ana")], {"ana": -1}, "loads.ana"),
        ("ana", {}, "agents"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(
    agents: object, loads: dict[str, int], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        choose_assignee(billing_case(), agents, policy=LeastLoaded(), loads=loads, at=NINE)  # type: ignore[arg-type]
    assert error.value.field == field
