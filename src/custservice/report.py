"""The service report: what the demo prints and ``custservice report`` shows for any store.

:func:`build_report` reads a store once through the public analytics
functions and returns a :class:`Report`, plain data; :func:`render_text`
and :func:`render_html` turn it into a terminal page or one self-contained
HTML file (inline SVG charts and CSS, no scripts, no network fetches).

The report depends only on what is stored and on the instant it describes,
so the same store and ``at`` always give byte-identical output.
"""

from __future__ import annotations

import datetime as dt
import heapq
import html
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping

import attrs
import pendulum

from ._time import aware
from .analytics import (
    FollowUp,
    FollowUpKind,
    GroupBy,
    Health,
    Scorecard,
    VerdictCounts,
    health,
    plan_follow_ups,
    scorecard,
)
from .enums import CustomerStage, Metric, Verdict
from .service_levels import ServiceTarget
from .simulation import DEMO_TARGETS
from .storage.protocols import Store

__all__ = ["AtRisk", "Report", "build_report", "render_html", "render_text"]

# The customer lifecycle's way forward, in order; at-risk and churned are exits from it.
FUNNEL = (
    CustomerStage.PROSPECT,
    CustomerStage.NEW,
    CustomerStage.ACTIVE,
    CustomerStage.LOYAL,
    CustomerStage.ADVOCATE,
)
_CURRENT = frozenset(CustomerStage) - {CustomerStage.PROSPECT, CustomerStage.CHURNED}
_SHOWN = 10


@attrs.frozen
class AtRisk:
    """A customer high on the churn-risk list: who, and their explained health."""

    name: str
    health: Health


@attrs.frozen
class Report:
    """A service report at one instant.

    Attributes:
        at: the instant it describes.
        customers: how many customers are stored.
        reached: per funnel stage, how many customers ever reached it.
        stages: per stage, how many customers are in it now.
        won_back: customers who churned and were won back at least once.
        card: the scorecard of every interaction and case, with targets.
        months: per month opened, its scorecard (for attainment over time).
        at_risk: the customers most at risk, highest risk first.
        follow_ups: the follow-ups due in the week from ``at``.
        names: the names of the customers the follow-ups shown are for.
    """

    at: pendulum.DateTime
    customers: int
    reached: Mapping[CustomerStage, int]
    stages: Mapping[CustomerStage, int]
    won_back: int
    card: Scorecard
    months: Mapping[str, Scorecard]
    at_risk: tuple[AtRisk, ...]
    follow_ups: tuple[FollowUp, ...]
    names: Mapping[uuid.UUID, str]


def latest_change(store: Store) -> pendulum.DateTime | None:
    """The latest instant recorded in ``store``: a lifecycle change or feedback."""
    latest: pendulum.DateTime | None = None
    for records in (store.customers.all(), store.interactions.all(), store.cases.all()):
        for record in records:
            when = record.lifecycle.since
            feedback = getattr(record, "feedback", None)
            if feedback is not None and feedback.at.timestamp() > when.timestamp():
                when = feedback.at
            if latest is None or when.timestamp() > latest.timestamp():
                latest = when
    return latest


def build_report(
    store: Store,
    *,
    at: dt.datetime | None = None,
    targets: Iterable[ServiceTarget] = DEMO_TARGETS,
) -> Report:
    """Read ``store`` and build its service report.

    Args:
        store: any store.
        at: the instant the report describes; by default the latest change
            recorded in the store (so the report of a store never depends
            on the wall clock).
        targets: the service targets evaluated on every case; the demo's
            by default.

    Returns:
        The :class:`Report`.
    """
    if at is None:
        at = latest_change(store) or pendulum.datetime(1970, 1, 1)
    when = aware(at, "at")
    chosen = tuple(targets)
    reached: Counter[CustomerStage] = Counter()
    stages: Counter[CustomerStage] = Counter()
    won_back = 0
    # Highest risk first, ties by id; heap entries are (risk, reversed-id order key, ...).
    worst: list[tuple[float, int, str, Health]] = []
    for customer in store.customers.all():
        stage = customer.stage
        stages[stage] += 1
        seen = {CustomerStage(c.target) for c in customer.lifecycle.history} | {
            CustomerStage.PROSPECT,
            stage,
        }
        reached.update(s for s in FUNNEL if s in seen)
        won_back += any(c.event == "win_back" for c in customer.lifecycle.history)
        if stage not in _CURRENT:
            continue
        h = health(customer, store, at=when, targets=chosen)
        entry = (h.risk, -customer.id.int, customer.name, h)
        if len(worst) < _SHOWN:
            heapq.heappush(worst, entry)
        else:
            heapq.heappushpop(worst, entry)
    card = scorecard(store, targets=chosen, at=when)
    months = scorecard(store, by=GroupBy.MONTH, targets=chosen, at=when).groups
    follow_ups = plan_follow_ups(
        store, window_start=when, window_end=when.add(days=7), targets=chosen
    )
    names = {f.customer_id: store.customers.get(f.customer_id).name for f in follow_ups[:_SHOWN]}
    return Report(
        at=when,
        customers=sum(stages.values()),
        reached={s: reached[s] for s in FUNNEL},
        stages={s: stages[s] for s in CustomerStage},
        won_back=won_back,
        card=card,
        months=dict(months),
        at_risk=tuple(AtRisk(name, h) for _, _, name, h in sorted(worst, reverse=True)),
        follow_ups=follow_ups,
        names=names,
    )


# --- text ---------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def _bar(part: float, whole: float, width: int = 30) -> str:
    filled = 0 if whole <= 0 else round(width * part / whole)
    return "█" * filled + "·" * (width - filled)


def _duration(value: dt.timedelta | None) -> str:
    if value is None:
        return "n/a"
    seconds = round(value.total_seconds())
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {seconds:02d}s"


def _verdict_line(counts: VerdictCounts) -> str:
    parts = (f"{v.value} {_pct(counts.percent(v))}" for v in Verdict)
    return ", ".join(parts) + f"  (n={counts.total})"


def _label(kind: str) -> str:
    return kind.replace("_", " ")


def render_text(report: Report) -> str:
    """The report as plain text for a terminal, ending with a newline."""
    card = report.card
    out: list[str] = [
        f"Service report at {report.at.in_timezone('UTC').format('YYYY-MM-DD HH:mm')} UTC",
        f"{report.customers} customers, {card.interactions} interactions, {card.cases} cases",
        "",
        "Lifecycle funnel (customers who ever reached each stage)",
    ]
    top = max(report.reached.values(), default=0)
    for stage, n in report.reached.items():
        out.append(f"  {_label(stage):<10} {n:>7}  {_bar(n, top)}")
    now = ", ".join(f"{_label(s)} {n}" for s, n in report.stages.items() if n)
    out += [f"  now: {now}", f"  won back after churning: {report.won_back}", ""]
    out += [
        "Verdicts",
        f"  overall      {_verdict_line(card.verdicts)}",
        *(
            f"  {_label(factor):<12} {_verdict_line(counts)}"
            for factor, counts in sorted(card.factor_verdicts.items(), key=lambda kv: kv[0].value)
        ),
        "",
        "Satisfaction and resolution",
        f"  CSAT {_pct(card.csat)} (n={card.csat_responses})   "
        f"NPS {'n/a' if card.nps is None else f'{card.nps:+.1f}'} (n={card.nps_responses})",
        f"  first-contact resolution {_pct(card.first_contact_resolution)} "
        f"of {card.resolved} resolved",
        f"  queue wait median {_duration(card.wait_median)}, 90th percentile "
        f"{_duration(card.wait_p90)}; handoffs per interaction "
        f"{0.0 if card.handoffs_per_interaction is None else card.handoffs_per_interaction:.2f}",
        "",
        "Service targets",
    ]
    for metric, t in card.targets.items():
        out.append(
            f"  {_label(metric):<16} attained {_pct(t.attainment):>6}  "
            f"achieved {t.achieved}, breached {t.breached}, running {t.active + t.paused}"
        )
    if not card.targets:
        out.append("  none evaluated")
    out += ["", f"The {len(report.at_risk)} customers most at risk"]
    for entry in report.at_risk:
        h = entry.health
        why = " ".join(r.text for r in h.reasons[:3])
        out.append(f"  {h.risk:5.1f} {h.level:<6} {entry.name:<20} {_label(h.stage):<9} {why}")
    kinds = Counter(f.kind for f in report.follow_ups)
    out += [
        "",
        f"Follow-ups due in the week from {report.at.in_timezone('UTC').format('YYYY-MM-DD')}: "
        + (", ".join(f"{_label(k)} {kinds[k]}" for k in FollowUpKind if kinds[k]) or "none"),
    ]
    for f in report.follow_ups[:_SHOWN]:
        due = f.due_at.in_timezone("UTC").format("ddd DD MMM HH:mm")
        out.append(f"  {due}  {_label(f.kind):<17} {report.names[f.customer_id]}: {f.why}")
    if len(report.follow_ups) > _SHOWN:
        out.append(f"  … and {len(report.follow_ups) - _SHOWN} more")
    return "\n".join(out) + "\n"


# --- HTML ---------------------------------------------------------------------------------

_COLOURS = {
    Verdict.DISSATISFIED: "#d1495b",
    Verdict.SATISFIED: "#edae49",
    Verdict.DELIGHTED: "#00798c",
}
_CSS = """
:root { color-scheme: light dark; --ink: #1d2430; --muted: #5b6573; --card: #f5f7fa; }
@media (prefers-color-scheme: dark) { :root { --ink: #e8ecf1; --muted: #a3adba; --card: #1f2630; } }
body { margin: 0 auto; max-width: 60rem; padding: 1rem; font: 16px/1.5 system-ui, sans-serif;
       color: var(--ink); }
h1 { font-size: 1.5rem; margin-bottom: 0; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.sub { color: var(--muted); margin-top: .25rem; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: .75rem; }
.tile { background: var(--card); border-radius: .5rem; padding: .75rem; }
.tile b { display: block; font-size: 1.4rem; }
svg { width: 100%; height: auto; display: block; }
svg text { fill: var(--ink); font: 13px system-ui, sans-serif; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--card);
         vertical-align: top; }
.scroll { overflow-x: auto; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
            border-radius: 2px; vertical-align: -1px; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _funnel_svg(reached: Mapping[CustomerStage, int]) -> str:
    top = max(reached.values(), default=0) or 1
    rows = []
    for i, (stage, n) in enumerate(reached.items()):
        width = 440 * n / top
        y = i * 34
        rows.append(
            f'<rect x="{(600 - width) / 2 + 80:.1f}" y="{y}" width="{width:.1f}" height="26" '
            f'rx="3" fill="#00798c" opacity="{1 - i * 0.12:.2f}"/>'
            f'<text x="0" y="{y + 18}">{_e(_label(stage))}</text>'
            f'<text x="700" y="{y + 18}" text-anchor="end">{n}</text>'
        )
    height = 34 * len(reached)
    return (
        f'<svg viewBox="0 0 700 {height}" role="img" aria-label="Lifecycle funnel">'
        + "".join(rows)
        + "</svg>"
    )


def _verdicts_svg(rows: list[tuple[str, VerdictCounts]]) -> str:
    parts = []
    for i, (label, counts) in enumerate(rows):
        y = i * 34
        x = 130.0
        parts.append(f'<text x="0" y="{y + 18}">{_e(label)}</text>')
        for verdict in Verdict:
            share = (counts.percent(verdict) or 0.0) / 100
            width = 570 * share
            if width > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="26" '
                    f'fill="{_COLOURS[verdict]}"><title>{_e(verdict.value)} '
                    f"{share * 100:.1f}%</title></rect>"
                )
            x += width
    height = max(34 * len(rows), 34)
    return (
        f'<svg viewBox="0 0 700 {height}" role="img" aria-label="Verdicts per factor">'
        + "".join(parts)
        + "</svg>"
    )


def _attainment_svg(months: Mapping[str, Scorecard], metrics: Iterable[Metric]) -> str:
    chosen = list(metrics)
    keys = list(months)
    if not keys or not chosen:
        return "<p>No service targets were evaluated.</p>"
    palette = ("#00798c", "#d1495b", "#edae49", "#30638e", "#6a4c93")
    step = 620 / max(len(keys) - 1, 1)
    parts = ['<line x1="60" y1="10" x2="60" y2="210" stroke="currentColor" opacity=".3"/>']
    for level in (0, 50, 100):
        y = 210 - 2 * level
        parts.append(f'<text x="52" y="{y + 4}" text-anchor="end">{level}%</text>')
        parts.append(
            f'<line x1="60" y1="{y}" x2="690" y2="{y}" stroke="currentColor" opacity=".15"/>'
        )
    for i, key in enumerate(keys):
        if i % max(len(keys) // 6, 1) == 0:
            parts.append(f'<text x="{70 + i * step:.1f}" y="232" text-anchor="middle">{key}</text>')
    legend = []
    for n, metric in enumerate(chosen):
        colour = palette[n % len(palette)]
        points = []
        for i, key in enumerate(keys):
            t = months[key].targets.get(metric)
            if t is not None and t.attainment is not None:
                points.append(f"{70 + i * step:.1f},{210 - 2 * t.attainment:.1f}")
        if points:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"/>'
            )
        legend.append(f'<span><i style="background:{colour}"></i>{_e(_label(metric))}</span>')
    return (
        '<svg viewBox="0 0 700 240" role="img" aria-label="Target attainment by month">'
        + "".join(parts)
        + f'</svg><p class="legend">{"".join(legend)}</p>'
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page, readable on a phone and a desktop."""
    card = report.card
    when = report.at.in_timezone("UTC").format("YYYY-MM-DD HH:mm")
    tiles = [
        ("Customers", report.customers),
        ("Interactions", card.interactions),
        ("Cases", card.cases),
        ("CSAT", _pct(card.csat)),
        ("NPS", "n/a" if card.nps is None else f"{card.nps:+.1f}"),
        ("First-contact resolution", _pct(card.first_contact_resolution)),
        ("Median queue wait", _duration(card.wait_median)),
        ("Handoffs / interaction", f"{card.handoffs_per_interaction or 0:.2f}"),
    ]
    verdict_rows = [("overall", card.verdicts)] + [
        (_label(f), c) for f, c in sorted(card.factor_verdicts.items(), key=lambda kv: kv[0].value)
    ]
    legend = "".join(
        f'<span><i style="background:{_COLOURS[v]}"></i>{_e(v.value)}</span>' for v in Verdict
    )
    risk_rows = "".join(
        f"<tr><td>{a.health.risk:.1f} ({_e(a.health.level)})</td><td>{_e(a.name)}</td>"
        f"<td>{_e(_label(a.health.stage))}</td>"
        f"<td>{_e(' '.join(r.text for r in a.health.reasons))}</td></tr>"
        for a in report.at_risk
    )
    follow_rows = "".join(
        f"<tr><td>{_e(f.due_at.in_timezone('UTC').format('ddd DD MMM HH:mm'))}</td>"
        f"<td>{_e(_label(f.kind))}</td><td>{_e(report.names[f.customer_id])}</td>"
        f"<td>{_e(f.why)}</td></tr>"
        for f in report.follow_ups[:_SHOWN]
    )
    target_rows = "".join(
        f"<tr><td>{_e(_label(m))}</td><td>{_pct(t.attainment)}</td><td>{t.achieved}</td>"
        f"<td>{t.breached}</td><td>{t.active + t.paused}</td></tr>"
        for m, t in card.targets.items()
    )
    tile_html = "".join(f'<div class="tile">{_e(k)}<b>{_e(v)}</b></div>' for k, v in tiles)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Service report, {when} UTC</title>
<style>{_CSS}</style>
</head>
<body>
<h1>Service report</h1>
<p class="sub">At {when} UTC</p>
<div class="tiles">{tile_html}</div>
<h2>Lifecycle funnel</h2>
<p class="sub">Customers who ever reached each stage; {report.won_back} were won back
after churning.</p>
{_funnel_svg(report.reached)}
<h2>Verdicts per factor</h2>
<p class="legend">{legend}</p>
{_verdicts_svg(verdict_rows)}
<h2>Service-target attainment by month</h2>
{_attainment_svg(report.months, card.targets)}
<div class="scroll"><table>
<tr><th>Target</th><th>Attained</th><th>Achieved</th><th>Breached</th><th>Running</th></tr>
{target_rows}
</table></div>
<h2>Customers most at risk</h2>
<div class="scroll"><table>
<tr><th>Risk</th><th>Customer</th><th>Stage</th><th>Why</th></tr>
{risk_rows}
</table></div>
<h2>Follow-ups due this week</h2>
<p class="sub">{len(report.follow_ups)} in all; the first {min(len(report.follow_ups), _SHOWN)}
shown.</p>
<div class="scroll"><table>
<tr><th>Due (UTC)</th><th>Action</th><th>Customer</th><th>Why</th></tr>
{follow_rows}
</table></div>
</body>
</html>
"""
