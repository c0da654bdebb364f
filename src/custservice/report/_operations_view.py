"""The operations sections of a report, as terminal lines and as HTML with inline SVG."""

from __future__ import annotations

import datetime as dt
import html

from ..analytics import Distribution, Scorecard
from ..enums import Priority
from ._format import duration
from ._operations import ANSWER_WITHIN, HANDLE_TIME, SERVICE_LEVEL, Operations

__all__ = ["operations_html", "operations_text", "span"]

_FIGURES = ("median", "90th", "95th")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ARRIVALS = "#30638e"
_AGENTS = "#d1495b"


def span(value: dt.timedelta | None) -> str:
    """A duration as ``3d 04h``, ``1h 05m`` or ``4m 09s``, to the nearest second; or ``n/a``."""
    return duration(value, days=True)


def _three(d: Distribution) -> str:
    return f"{span(d.median)} / {span(d.p90)} / {span(d.p95)}"


def _rows(card: Scorecard) -> list[tuple[str, Scorecard]]:
    """The priorities some case has, highest first, each with its scorecard, then all."""
    rows = []
    for priority in reversed(Priority):
        group = card.groups.get(priority.value)
        if group is not None:
            rows.append((priority.value, group))
    rows.append(("all", card))
    return rows


def _counted(ops: Operations) -> str:
    b = ops.backlog
    created, solved = sum(b.created.values()), sum(b.solved.values())
    rate = "n/a" if b.reopen_rate is None else f"{b.reopen_rate:.1f}%"
    cases = "case" if b.open == 1 else "cases"
    return (
        f"{b.open} open {cases}; of {created} created, {solved} solved (or closed); "
        f"reopen rate {rate} of {b.resolved_once} ever solved"
    )


_WEEKS = 6
"""How many of the latest weeks the report lists cases created and solved in."""


def _weeks(ops: Operations) -> str:
    """Cases created and solved in each of the latest weeks that had some."""
    b = ops.backlog
    weeks = sorted(set(b.created) | set(b.solved))[-_WEEKS:]
    listed = ", ".join(f"{w} {b.created.get(w, 0)}/{b.solved.get(w, 0)}" for w in weeks)
    return listed or "none"


def _staffing_note() -> str:
    minutes = round(HANDLE_TIME.total_seconds() / 60)
    seconds = round(ANSWER_WITHIN.total_seconds())
    return (
        f"to answer {SERVICE_LEVEL:.0%} of contacts within {seconds} s, "
        f"{minutes} min per contact (Erlang C)"
    )


# --- the terminal ---------------------------------------------------------------------


def operations_text(ops: Operations) -> list[str]:
    """The operations sections as lines of a terminal report (no trailing blank line)."""
    card = ops.by_priority
    out = [
        "Reply and resolution times by priority (median / 90th / 95th percentile)",
        f"  {'':<8} {'cases':>6}  {'first reply':<26} resolution",
    ]
    for name, group in _rows(card):
        out.append(
            f"  {name:<8} {group.cases:>6}  {_three(group.first_reply):<26} "
            f"{_three(group.resolution)}"
        )
    out.append(f"  queue wait of every interaction: {_three(card.queue_wait)}")
    ages = ops.backlog.ages
    top = max(ages.buckets, default=0)
    out += [
        "",
        f"The backlog: {_counted(ops)}",
        f"  created/solved per week: {_weeks(ops)}",
        "  open cases by age:",
    ]
    for label, n in zip(ages.labels, ages.buckets, strict=True):
        filled = 0 if top == 0 else round(30 * n / top)
        out.append(f"  {label:<6} {n:>6}  {'█' * filled}{'·' * (30 - filled)}")
    plan = ops.plan
    forecast = ops.forecast
    per_day = forecast.per_day
    out += [
        "",
        f"Staffing a typical week, per half hour: {_staffing_note()}",
        f"  {'':<4} {'contacts':>9} {'at most per half hour':>22} {'agents at most':>15}",
    ]
    for day, name in enumerate(_DAYS):
        expected = forecast.expected[day * per_day : (day + 1) * per_day]
        agents = plan.agents[day * per_day : (day + 1) * per_day]
        out.append(f"  {name:<4} {sum(expected):>9.1f} {max(expected):>22.1f} {max(agents):>15}")
    out.append(f"  agent hours a week: {plan.agent_hours:.1f}")
    return out


# --- HTML -----------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _percentiles_table(card: Scorecard) -> str:
    headers = (
        "Priority",
        "Cases",
        *(f"{what}: {figure}" for what in ("First reply", "Resolution") for figure in _FIGURES),
    )
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for name, group in _rows(card):
        cells = (
            name.capitalize(),
            group.cases,
            span(group.first_reply.median),
            span(group.first_reply.p90),
            span(group.first_reply.p95),
            span(group.resolution.median),
            span(group.resolution.p90),
            span(group.resolution.p95),
        )
        pairs = zip(headers, cells, strict=True)
        tds = (f'<td data-label="{_e(h)}">{_e(c)}</td>' for h, c in pairs)
        body.append("<tr>" + "".join(tds) + "</tr>\n")
    return (
        f'<table class="percentiles">\n<thead><tr>{head}</tr></thead>\n<tbody>\n'
        + "".join(body)
        + "</tbody>\n</table>"
    )


def _backlog_svg(ages: Distribution) -> str:
    top = max(ages.buckets, default=0) or 1
    parts = []
    for i, (label, n) in enumerate(zip(ages.labels, ages.buckets, strict=True)):
        y = i * 34
        width = 500 * n / top
        parts.append(
            f'<text x="0" y="{y + 18}">{_e(label)}</text>'
            f'<rect x="80" y="{y}" width="{width:.1f}" height="26" rx="3" fill="#edae49">'
            f"<title>{_e(label)}: {n}</title></rect>"
            f'<text x="700" y="{y + 18}" text-anchor="end">{n}</text>'
        )
    height = 34 * len(ages.buckets)
    return (
        f'<svg id="backlog" viewBox="0 0 700 {height}" role="img" '
        'aria-label="Open cases by age">' + "".join(parts) + "</svg>"
    )


def _staffing_svg(ops: Operations) -> str:
    expected = ops.forecast.expected
    agents = ops.plan.agents
    slots = len(expected)
    most_contacts = max(expected, default=0.0) or 1.0
    most_agents = max(agents, default=0) or 1
    left, width, top, height = 60.0, 580.0, 10.0, 200.0
    step = width / slots
    parts = [
        f'<line x1="{left}" y1="{top + height}" x2="{left + width}" y2="{top + height}" '
        'stroke="currentColor" opacity=".3"/>',
        f'<text x="{left - 6}" y="{top + 6}" text-anchor="end" fill="{_ARRIVALS}">'
        f"{most_contacts:.1f}</text>",
        f'<text x="{left + width + 6}" y="{top + 6}" fill="{_AGENTS}">{most_agents}</text>',
    ]
    per_day = ops.forecast.per_day
    for day, name in enumerate(_DAYS):
        x = left + day * per_day * step
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + height}" '
            'stroke="currentColor" opacity=".15"/>'
            f'<text x="{x + per_day * step / 2:.1f}" y="{top + height + 22}" '
            f'text-anchor="middle">{name}</text>'
        )
    bars = []
    for slot, n in enumerate(expected):
        if n > 0:
            h = height * n / most_contacts
            bars.append(
                f'<rect x="{left + slot * step:.2f}" y="{top + height - h:.2f}" '
                f'width="{step:.2f}" height="{h:.2f}" fill="{_ARRIVALS}" opacity=".75"/>'
            )
    parts += bars
    points = []
    for slot, n in enumerate(agents):
        y = top + height - height * n / most_agents
        points.append(f"{left + slot * step:.2f},{y:.2f} {left + (slot + 1) * step:.2f},{y:.2f}")
    parts.append(
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{_AGENTS}" stroke-width="2"/>'
    )
    legend = (
        f'<p class="legend"><span><i style="background:{_ARRIVALS}"></i>contacts arriving '
        f'(left scale)</span><span><i style="background:{_AGENTS}"></i>agents needed '
        "(right scale)</span></p>"
    )
    label = "Arrivals and agents needed per half hour"
    return (
        f'<svg id="staffing" viewBox="0 0 700 240" role="img" aria-label="{label}">'
        + "".join(parts)
        + "</svg>"
        + legend
    )


def operations_html(ops: Operations) -> str:
    """The operations sections of the HTML report: headings, notes, a table and two charts."""
    card = ops.by_priority
    return f"""<h2>Reply and resolution times by priority</h2>
<p class="sub">Medians and nearest-rank 90th and 95th percentiles over the cases of each
priority; queue wait of every interaction: {_e(_three(card.queue_wait))}.</p>
{_percentiles_table(card)}
<h2>Backlog by age</h2>
<p class="sub">{_e(_counted(ops))}. Created/solved in the latest weeks:
{_e(_weeks(ops))}.</p>
{_backlog_svg(ops.backlog.ages)}
<h2>Staffing a typical week</h2>
<p class="sub">Contacts arriving per half hour, and the agents needed {_e(_staffing_note())};
{ops.plan.agent_hours:.1f} agent hours a week.</p>
{_staffing_svg(ops)}
"""
