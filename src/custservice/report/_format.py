"""How figures read in a report, in the terminal and in HTML alike."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from ..analytics import FollowUpKind, VerdictCounts
from ..enums import Metric, Verdict
from ._model import UNLISTED, Report

__all__ = [
    "desk_summary",
    "duration",
    "follow_up_summary",
    "label",
    "nps",
    "pct",
    "policy_rows",
    "ratio",
    "team_label",
    "unlisted_note",
    "verdict_line",
]


def pct(value: float | None) -> str:
    """A percentage with one decimal, or ``n/a``."""
    return "n/a" if value is None else f"{value:.1f}%"


def nps(value: float | None) -> str:
    """A Net Promoter Score with its sign, or ``n/a``."""
    return "n/a" if value is None else f"{value:+.1f}"


def ratio(value: float | None) -> str:
    """A ratio with two decimals, or ``n/a``."""
    return "n/a" if value is None else f"{value:.2f}"


def duration(value: dt.timedelta | None, *, days: bool = False) -> str:
    """``1h 05m`` or ``4m 09s``, to the nearest second, and with ``days`` a day or more
    as ``3d 04h``; or ``n/a``."""
    if value is None:
        return "n/a"
    seconds = round(value.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if days and hours >= 24:
        return "{}d {:02d}h".format(*divmod(hours, 24))
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def verdict_line(counts: VerdictCounts) -> str:
    """The share of each verdict, and how many there were."""
    parts = (f"{v.value} {pct(counts.percent(v))}" for v in Verdict)
    return ", ".join(parts) + f"  (n={counts.total})"


def desk_summary(report: Report) -> str:
    """How many cases are open, and how many of them nobody holds."""
    desk = report.desk
    cases = "case" if desk.total == 1 else "cases"
    return f"{desk.total} open {cases} (neither solved nor closed), {desk.unassigned} unassigned"


def team_label(team: str | None) -> str:
    """A team's name, or ``no team``."""
    return "no team" if team is None else team


def label(kind: str) -> str:
    """An enum value as words: ``at_risk`` reads ``at risk``."""
    return kind.replace("_", " ")


def follow_up_summary(report: Report) -> str:
    """How many follow-ups of each kind are due, or ``none``."""
    kinds = Counter(f.kind for f in report.follow_ups)
    return ", ".join(f"{label(k)} {kinds[k]}" for k in FollowUpKind if kinds[k]) or "none"


def unlisted_note(report: Report) -> str:
    """Why birthday greetings are not listed, when some are due."""
    if any(f.kind in UNLISTED for f in report.follow_ups):
        return " (birthday greetings are counted, not listed: a name and a date tell a birthday)"
    return ""


def policy_rows(report: Report) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """Attainment per SLA policy: the headers (policy, cases, each metric any policy
    measures) and one row per policy, ``—`` where a policy has no target on a metric."""
    metrics = [m for m in Metric if any(m in p.targets for p in report.policies)]
    headers = ("Policy", "Cases", *(label(m).capitalize() for m in metrics))
    rows = [
        (
            "no policy" if p.name is None else p.name,
            str(p.cases),
            *(pct(p.targets[m].attainment) if m in p.targets else "—" for m in metrics),
        )
        for p in report.policies
    ]
    return headers, rows
