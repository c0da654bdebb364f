"""Assignment: which agent should take a case, by a policy given as data.

:func:`choose_assignee` considers only the agents who can take the case
now: members of the case's team (when it has one), working at that instant
by their own calendar, holding less open work than their capacity, and
having every skill the case requires. Among them the policy chooses:

- :class:`RoundRobin` takes turns in the order the agents are given, after
  the one it chose last;
- :class:`LeastLoaded` takes the agent with the least open work (the first
  given, on a tie);
- :class:`SkillsBased` takes the least loaded of those with every required
  skill and, once the case has waited ``relax_after`` with nobody to take
  it, of those with the ``preferred`` skills only.

The choice is pure: same input, same output. A policy that keeps a state
(round robin's turn) returns its next state in the :class:`Assignment`, to be
passed the next time.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Union

import attrs
import pendulum

from .._desk import name, tags
from .._time import aware, duration
from .._validation import Problems, integer
from ..calendars import ALWAYS, BusinessCalendar
from ..cases import Case
from ..errors import ValidationError

__all__ = [
    "Agent",
    "AssignmentPolicy",
    "Assignment",
    "LeastLoaded",
    "RoundRobin",
    "SkillsBased",
    "choose_assignee",
]


@attrs.frozen
class Agent:
    """Someone who can take cases.

    Args:
        id: the agent's id, as cases name their assignee.
        teams: the teams the agent works in.
        skills: what the agent can handle (``"billing"``, ``"french"``).
        capacity: how many open cases the agent can hold at once; 0 takes none.
        calendar: when the agent works; :data:`~custservice.ALWAYS` by default.

    Raises:
        ValidationError: naming every bad field.

    Examples:
        >>> Agent("ana", teams={"billing"}, skills={"refunds"}, capacity=3).capacity
        3
    """

    id: str
    teams: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    skills: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    capacity: int = attrs.field(default=1, kw_only=True)
    calendar: BusinessCalendar = attrs.field(default=ALWAYS, kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = Problems()
        problems.run(name, self.id, "id")
        teams = problems.run(tags, self.teams, "teams")
        skills = problems.run(tags, self.skills, "skills")
        capacity = problems.run(integer, self.capacity, "capacity")
        if capacity is not None and capacity < 0:
            problems.add("capacity", "must not be negative")
        if not isinstance(self.calendar, BusinessCalendar):
            problems.add("calendar", "expected a BusinessCalendar")
        problems.raise_if_any()
        object.__setattr__(self, "teams", teams)
        object.__setattr__(self, "skills", skills)


@attrs.frozen
class RoundRobin:
    """Take turns: the next available agent, in the order given, after the last chosen.

    Args:
        last: the id of the agent chosen last; ``None`` to start from the first.
    """

    last: str | None = None

    def __attrs_post_init__(self) -> None:
        if self.last is not None:
            name(self.last, "last")


@attrs.frozen
class LeastLoaded:
    """The available agent with the least open work; the first given, on a tie."""


@attrs.frozen
class SkillsBased:
    """The least loaded agent with every skill the case requires; after ``relax_after``,
    one with the ``preferred`` skills will do.

    Args:
        preferred: the skills still required once the requirement is relaxed
            (none: anyone available will do).
        relax_after: how long (wall time, from the case's opening) the case
            waits for a fully skilled agent before the requirement is relaxed;
            ``None`` never relaxes it.

    Raises:
        ValidationError: naming the bad field.
    """

    preferred: frozenset[str] = attrs.field(default=frozenset(), kw_only=True)
    relax_after: pendulum.Duration | None = attrs.field(default=None, kw_only=True)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "preferred", tags(self.preferred, "preferred"))
        if self.relax_after is not None:
            relax = duration(self.relax_after, "relax_after")
            if relax.years or relax.months or relax < dt.timedelta(0):
                raise ValidationError(
                    "must be a non-negative duration of fixed length", field="relax_after"
                )
            object.__setattr__(self, "relax_after", relax)


AssignmentPolicy = Union[RoundRobin, LeastLoaded, SkillsBased]  # noqa: UP007
"""A policy :func:`choose_assignee` takes."""


@attrs.frozen
class Assignment:
    """Who should take a case, and why.

    Attributes:
        agent: the agent chosen; ``None`` when nobody can take the case now.
        reason: why, as a sentence.
        policy: the policy to pass next time (round robin's next turn; the
            same policy for the others).
    """

    agent: Agent | None
    reason: str
    policy: AssignmentPolicy


def choose_assignee(
    case: Case,
    agents: Sequence[Agent],
    *,
    policy: AssignmentPolicy,
    loads: Mapping[str, int],
    at: dt.datetime,
    skills: Iterable[str] = frozenset(),
) -> Assignment:
    """The agent who should take ``case`` at ``at``, by ``policy``.

    Args:
        case: the case to assign.
        agents: the agents to choose from, in order (round robin follows it;
            ties go to the first).
        policy: :class:`RoundRobin`, :class:`LeastLoaded` or :class:`SkillsBased`.
        loads: each agent's open work, by id (a missing agent holds none).
        at: the instant of the choice; timezone-aware.
        skills: the skills the case requires.

    Returns:
        The :class:`Assignment`: the agent (or ``None``), the reason, and the
        policy to pass next time.

    Raises:
        ValidationError: a bad argument (two agents with one id, a negative
            load, a naive ``at``); the field is named.

    Examples:
        >>> import uuid
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
        >>> case = Case.open(uuid.uuid4(), "Refund", clock=clock, team="billing")
        >>> agents = [
        ...     Agent("ana", teams={"billing"}),
        ...     Agent("bo", teams={"billing"}, capacity=2),
        ... ]
        >>> choice = choose_assignee(
        ...     case, agents, policy=LeastLoaded(), loads={"ana": 1}, at=clock.now()
        ... )
        >>> choice.agent.id, choice.reason
        ('bo', 'bo has the least open work (0) of 1 available agent.')
    """
    when = aware(at, "at")
    if not isinstance(case, Case):
        raise ValidationError("expected a Case", field="case")
    crew = _agents(agents)
    load = _loads(loads)
    required = tags(skills, "skills")
    if not isinstance(policy, RoundRobin | LeastLoaded | SkillsBased):
        raise ValidationError("expected RoundRobin, LeastLoaded or SkillsBased", field="policy")
    free, why_not = _available(case, crew, load, when)
    skilled = [a for a in free if required <= a.skills]
    lacking = len(free) - len(skilled)
    if lacking:
        verb = "lacks" if lacking == 1 else "lack"
        why_not.append(f"{lacking} {verb} a required skill ({_listed(required)})")
    if isinstance(policy, RoundRobin):
        return _round_robin(policy, skilled, crew, why_not)
    if isinstance(policy, SkillsBased) and not skilled and policy.relax_after is not None:
        relaxed_at = case.opened_at + policy.relax_after
        if when >= relaxed_at:
            relaxed = [a for a in free if policy.preferred <= a.skills]
            if relaxed:
                how = (
                    " with the preferred skills, as the case has waited too long for "
                    "every required one"
                )
                return _least(relaxed, load, policy, how)
        else:
            when_relaxed = relaxed_at.isoformat()
            why_not.append(f"the requirement relaxes to the preferred skills at {when_relaxed}")
    if not skilled:
        return Assignment(None, _nobody(len(crew), why_not), policy)
    return _least(skilled, load, policy, "")


def _agents(value: object) -> list[Agent]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise ValidationError("expected a sequence of agents", field="agents")
    crew = list(value)
    # Checked in bulk first (a desk may list thousands), item by item only to name a problem.
    ids = {a.id for a in crew if type(a) is Agent}
    if len(ids) == len(crew):
        return crew
    seen: set[str] = set()
    for i, agent in enumerate(crew):
        if not isinstance(agent, Agent):
            raise ValidationError("expected an Agent", field=f"agents[{i}]")
        if agent.id in seen:
            raise ValidationError(f"a second agent with id {agent.id!r}", field=f"agents[{i}]")
        seen.add(agent.id)
    return crew


def _loads(value: object) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValidationError("expected a mapping of agent id to open work", field="loads")
    counts = value.values()
    # The usual case, checked in bulk: text ids, whole numbers of at least zero.
    if (
        set(map(type, value)) <= {str}
        and set(map(type, counts)) <= {int}
        and (not counts or min(counts) >= 0)
    ):
        return dict(value)
    out: dict[str, int] = {}
    for key, count in value.items():
        n = integer(count, f"loads.{key}")
        if n < 0:
            raise ValidationError("must not be negative", field=f"loads.{key}")
        out[str(key)] = n
    return out


def _available(
    case: Case, crew: list[Agent], load: dict[str, int], at: pendulum.DateTime
) -> tuple[list[Agent], list[str]]:
    """The agents who can take the case now, and why the others cannot."""
    outside = off = full = 0
    free = []
    # Agents share a few calendars: each is read once (by identity: they are immutable).
    working: dict[int, bool] = {}
    for agent in crew:
        if case.team is not None and case.team not in agent.teams:
            outside += 1
            continue
        calendar = agent.calendar
        works = working.get(id(calendar))
        if works is None:
            works = working[id(calendar)] = calendar.is_working(at)
        if not works:
            off += 1
        elif load.get(agent.id, 0) >= agent.capacity:
            full += 1
        else:
            free.append(agent)
    why = []
    if outside:
        why.append(f"{outside} {'is' if outside == 1 else 'are'} not in team {case.team}")
    if off:
        why.append(f"{off} {'is' if off == 1 else 'are'} not working now")
    if full:
        why.append(f"{full} {'is' if full == 1 else 'are'} at capacity")
    return free, why


def _listed(items: Iterable[str]) -> str:
    return ", ".join(sorted(items)) or "a required skill"


def _nobody(count: int, why: list[str]) -> str:
    if count == 0:
        return "Nobody can take the case: no agents were given."
    return f"Nobody can take the case: of {_agents_word(count)}, {'; '.join(why)}."


def _agents_word(n: int) -> str:
    return f"{n} agent" if n == 1 else f"{n} agents"


def _least(
    candidates: list[Agent], load: dict[str, int], policy: AssignmentPolicy, how: str
) -> Assignment:
    best = min(candidates, key=lambda a: load.get(a.id, 0))  # min keeps the first on a tie
    reason = (
        f"{best.id} has the least open work ({load.get(best.id, 0)}) "
        f"of {_available_word(len(candidates))}{how}."
    )
    return Assignment(best, reason, policy)


def _available_word(n: int) -> str:
    return f"{n} available agent" if n == 1 else f"{n} available agents"


def _round_robin(
    policy: RoundRobin, candidates: list[Agent], crew: list[Agent], why: list[str]
) -> Assignment:
    if not candidates:
        return Assignment(None, _nobody(len(crew), why), policy)
    free = {a.id for a in candidates}
    last = policy.last
    after = -1 if last is None else next((i for i, a in enumerate(crew) if a.id == last), -1)
    # The first candidate after the last chosen, in the agents' order, wrapping round.
    chosen = next(a for a in itertools.chain(crew[after + 1 :], crew) if a.id in free)
    reason = f"{chosen.id} is next in turn of {_available_word(len(candidates))}."
    return Assignment(chosen, reason, RoundRobin(chosen.id))
