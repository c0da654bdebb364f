"""The desk's rules a report plans by, and attainment per SLA policy, counted as cases pass.

Attainment per policy covers the cases opened in the :data:`RECENT` days before the
report's instant: how each policy is being kept now, at a cost that does not grow
with the store's history (each case counted is read whole and measured again; the
scorecard covers every case).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence

import attrs
import pendulum

from .._time import micros
from ..analytics import TargetAttainment, VerdictCounts
from ..cases import Case
from ..enums import Metric, TargetState
from ..policies import EscalationRule, SlaPolicies, SurveyPolicy
from ..policies.sla import measured

__all__ = ["RECENT", "DeskRules", "PolicyAttainment", "PolicyCounter"]

RECENT = dt.timedelta(days=30)
"""How far back from the report's instant the cases counted per SLA policy were opened
(exact elapsed time)."""


@attrs.frozen
class DeskRules:
    """What a report plans the follow-ups by, beyond service targets: SLA policies,
    escalation rules and a survey policy (all optional)."""

    sla: SlaPolicies | None = None
    escalations: Iterable[EscalationRule] = ()
    survey: SurveyPolicy | None = None


@attrs.frozen
class PolicyAttainment:
    """How the cases opened lately under one SLA policy fared, at the instant a report
    describes.

    The cases counted are those opened in the 30 days up to that instant. A
    case counts under the policy that applies to it then (so a case raised to
    urgent counts under the urgent policy); a breach under an earlier policy
    counts too, as it is never forgiven.

    Attributes:
        name: the policy's name; ``None`` for the cases no policy applies to.
        cases: how many of those cases it applies to (a merged case is counted
            under the case it went into, as the scorecard counts it).
        targets: per metric, where its targets stand over those cases, in
            the order of :class:`~custservice.Metric`.
    """

    name: str | None
    cases: int
    targets: Mapping[Metric, TargetAttainment]


_SLOT = {
    TargetState.ACHIEVED: 0,
    TargetState.BREACHED: 1,
    TargetState.ACTIVE: 2,
    TargetState.PAUSED: 3,
}
_NOT_DUE = 4


class PolicyCounter:
    """Counts, per SLA policy, the cases opened in the :data:`RECENT` days to ``at`` that
    are under it then, and where their targets stand."""

    def __init__(self, policies: SlaPolicies, at: pendulum.DateTime) -> None:
        self._policies = policies
        self._t = micros(at)
        self.since = self._t - RECENT // dt.timedelta(microseconds=1)
        """The start of the period, in microseconds since 1970 (UTC)."""
        self._cases: dict[str | None, int] = {}
        # Per policy and metric: achieved, breached, active, paused, not due, then verdicts.
        self._rows: dict[str | None, dict[Metric, list[int]]] = {}

    def add(self, case: Case) -> None:
        """Count ``case`` if it was opened in the period (and not merged)."""
        if case.merged_into is not None or not self.since <= micros(case.opened_at) <= self._t:
            return
        chosen, found = measured(self._policies, case, self._t, None)
        name = None if chosen is None else chosen.name
        self._cases[name] = self._cases.get(name, 0) + 1
        rows = self._rows.setdefault(name, {})
        for target, outcome, carried in found:
            row = rows.setdefault(target.metric, [0] * 8)
            if carried is not None:
                row[_SLOT[TargetState.BREACHED]] += 1
            elif outcome.state is TargetState.ACHIEVED and outcome.start is None:
                row[_NOT_DUE] += 1
            else:
                row[_SLOT[outcome.state]] += 1
            verdict = outcome.verdict
            if verdict is not None:
                row[5 + verdict.rank] += 1

    def counted(self, cases: Iterable[Case]) -> Iterator[Case]:
        """Yield ``cases`` unchanged, counting each."""
        for case in cases:
            self.add(case)
            yield case

    def result(self) -> tuple[PolicyAttainment, ...]:
        """Every policy that applied to some case, in the policies' order, then the cases
        none applied to."""
        names: Sequence[str | None] = [p.name for p in self._policies.policies]
        out = []
        for name in [*names, None]:
            if name not in self._cases:
                continue
            rows = self._rows.get(name, {})
            targets = {m: _attainment(m, rows[m]) for m in Metric if m in rows}
            out.append(PolicyAttainment(name, self._cases[name], targets))
        return tuple(out)


def _attainment(metric: Metric, row: list[int]) -> TargetAttainment:
    achieved, breached = row[0], row[1]
    decided = achieved + breached
    return TargetAttainment(
        metric,
        achieved,
        breached,
        row[2],
        row[3],
        row[4],
        attainment=None if decided == 0 else 100.0 * achieved / decided,
        verdicts=VerdictCounts(*row[5:]),
    )
