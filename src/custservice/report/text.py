"""The report as plain text for a terminal; text from the store is made safe for it."""

from __future__ import annotations

import unicodedata

from ._format import (
    desk_summary,
    duration,
    follow_up_summary,
    label,
    nps,
    pct,
    policy_rows,
    ratio,
    team_label,
    unlisted_note,
    verdict_line,
)
from ._model import Report, listed
from ._operations_view import operations_text

__all__ = ["render_text"]


def _bar(part: float, whole: float, width: int = 30) -> str:
    filled = 0 if whole <= 0 else round(width * part / whole)
    return "█" * filled + "·" * (width - filled)


def _plain(text: str) -> str:
    """``text`` safe for a terminal: one line, no escape sequences, no bidirectional overrides.

    Spaces of every kind become a plain space; control, format and line or
    paragraph separator characters become U+FFFD.
    """
    if text.isprintable():
        return text
    return "".join(_PLAIN.get(unicodedata.category(c), c) for c in text)


_PLAIN = {"Zs": " ", "Zl": "\ufffd", "Zp": "\ufffd"} | {f"C{kind}": "\ufffd" for kind in "cfnos"}


def _columns(cells: tuple[str, ...]) -> str:
    """One row of a table: the first cell to the left, the others to the right."""
    first, *rest = cells
    return f"  {_plain(first):<16}" + "".join(f"{c:>17}" for c in rest)


def render_text(report: Report) -> str:
    """The report as plain text for a terminal, ending with a newline.

    Examples:
        >>> from custservice.report import build_report, render_text
        >>> with open_store("memory://") as store:
        ...     report = build_report(store, at=pendulum.datetime(2026, 3, 2, 9))
        ...     text = render_text(report)
        >>> print(text.splitlines()[0])
        Service report at 2026-03-02 09:00 UTC
    """
    card = report.card
    out: list[str] = [
        f"Service report at {report.at.in_timezone('UTC').format('YYYY-MM-DD HH:mm')} UTC",
        f"{report.customers} customers, {card.interactions} interactions, {card.cases} cases",
        "",
        "Lifecycle funnel (customers who ever reached each stage)",
    ]
    top = max(report.reached.values(), default=0)
    for stage, n in report.reached.items():
        out.append(f"  {label(stage):<10} {n:>7}  {_bar(n, top)}")
    now = ", ".join(f"{label(s)} {n}" for s, n in report.stages.items() if n) or "nobody"
    out += [f"  now: {now}", f"  won back after churning: {report.won_back}", ""]
    out += [
        "Verdicts",
        f"  overall      {verdict_line(card.verdicts)}",
        *(
            f"  {label(factor):<12} {verdict_line(counts)}"
            for factor, counts in sorted(card.factor_verdicts.items(), key=lambda kv: kv[0].value)
        ),
        "",
        "Satisfaction and resolution",
        f"  CSAT {pct(card.csat)} (n={card.csat_responses})   "
        f"NPS {nps(card.nps)} (n={card.nps_responses})",
        f"  first-contact resolution {pct(card.first_contact_resolution)} "
        f"of {card.resolved} resolved",
        f"  queue wait median {duration(card.wait_median)}, 90th percentile "
        f"{duration(card.wait_p90)}; handoffs per interaction "
        f"{ratio(card.handoffs_per_interaction)}",
        "",
        "Service targets",
    ]
    for metric, t in card.targets.items():
        out.append(
            f"  {label(metric):<16} attained {pct(t.attainment):>6}  "
            f"achieved {t.achieved}, breached {t.breached}, running {t.active + t.paused}"
        )
        if t.verdicts.total:  # the target carries the customers' zone of tolerance
            out.append(f"  {'':<16} as customers felt it: {verdict_line(t.verdicts)}")
    if not card.targets:
        out.append("  none evaluated")
    if report.policies:
        headers, rows = policy_rows(report)
        out += ["", "Attainment per SLA policy (cases opened in the 30 days to now)"]
        out += [_columns(cells) for cells in (headers, *rows)]
    desk = report.desk
    teams = ", ".join(f"{_plain(team_label(t))} {n}" for t, n in desk.by_team.items())
    out += [
        "",
        f"The desk: {desk_summary(report)}",
        "  by priority  " + ", ".join(f"{p.value} {n}" for p, n in desk.by_priority.items()),
        f"  by team      {teams or 'none'}",
    ]
    out += ["", *operations_text(report.operations)]
    out += ["", f"The {len(report.at_risk)} customers most at risk"]
    for entry in report.at_risk:
        h = entry.health
        why = " ".join(r.text for r in h.reasons[:3])
        out.append(
            f"  {h.risk:5.1f} {h.level:<6} {_plain(entry.name):<20} {label(h.stage):<9} {why}"
        )
    shown = listed(report.follow_ups)
    out += [
        "",
        f"Follow-ups due in the week from {report.at.in_timezone('UTC').format('YYYY-MM-DD')}: "
        + follow_up_summary(report),
    ]
    for f in shown:
        due = f.due_at.in_timezone("UTC").format("ddd DD MMM HH:mm")
        name = _plain(report.names[f.customer_id])
        out.append(f"  {due}  {label(f.kind):<17} {name}: {f.why}")
    if len(report.follow_ups) > len(shown):
        out.append(f"  … and {len(report.follow_ups) - len(shown)} more{unlisted_note(report)}")
    return "\n".join(out) + "\n"
