"""The desk: the cases open now, counted by team and priority, as they stream by."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

import attrs

from ..cases import Case
from ..enums import Priority
from ..service_levels import FINISHED

__all__ = ["FINISHED", "DeskCounter", "OpenCases"]

Key = tuple[str | None, Priority]
"""A team (``None`` for none) and a priority."""


def _order(key: Key) -> tuple[bool, str, int]:
    team, priority = key
    return team is None, team or "", -priority.rank


def _in_order(counts: Mapping[Key, int]) -> dict[Key, int]:
    return {key: counts[key] for key in sorted(counts, key=_order) if counts[key]}


@attrs.frozen
class OpenCases:
    """The cases open now (neither solved nor closed), counted by team and priority.

    Like every count of a report, it describes the records as they are
    stored, whatever instant the report is at.

    Attributes:
        counts: per team (``None`` for cases without one) and priority, how
            many open cases there are; only the pairs that have some, teams
            by name (no team last), highest priority first.
        unassigned: how many of them no agent holds.

    Examples:
        >>> from custservice.report import OpenCases
        >>> desk = OpenCases({("billing", Priority.HIGH): 2, (None, Priority.LOW): 1})
        >>> desk.total, desk.by_priority[Priority.HIGH], desk.by_team
        (3, 2, {'billing': 2, None: 1})
    """

    counts: Mapping[Key, int] = attrs.field(factory=dict, converter=_in_order)
    unassigned: int = 0

    @property
    def total(self) -> int:
        """How many cases are open."""
        return sum(self.counts.values())

    @property
    def by_priority(self) -> dict[Priority, int]:
        """Open cases per priority: every priority, the highest first."""
        found: Counter[Priority] = Counter()
        for (_, priority), n in self.counts.items():
            found[priority] += n
        return {p: found[p] for p in reversed(Priority)}

    @property
    def by_team(self) -> dict[str | None, int]:
        """Open cases per team that has some, by name; ``None`` (no team) last."""
        found: dict[str | None, int] = {}
        for (team, _), n in self.counts.items():
            found[team] = found.get(team, 0) + n
        return found


class DeskCounter:
    """Counts the open cases of a stream of cases."""

    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()
        self._unassigned = 0

    def add(self, case: Case) -> None:
        """Count ``case`` if it is open."""
        if case.status not in FINISHED:
            self._counts[case.team, case.priority] += 1
            self._unassigned += case.assignee is None

    def counted(self, cases: Iterable[Case]) -> Iterator[Case]:
        """Yield ``cases`` unchanged, counting each."""
        for case in cases:
            self.add(case)
            yield case

    def result(self) -> OpenCases:
        """What was counted."""
        return OpenCases(dict(self._counts), self._unassigned)
