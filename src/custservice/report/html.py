"""The report as one self-contained HTML page: inline CSS and SVG, nothing fetched."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from ..analytics import Scorecard, VerdictCounts
from ..enums import CustomerStage, Metric, Priority, Verdict
from ._desk import OpenCases
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
from ._operations_view import operations_html

__all__ = ["render_html"]

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
svg text.on-bar { fill: #fff; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--card);
         vertical-align: top; }
.legend span { display: inline-block; margin-right: 1rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
            border-radius: 2px; vertical-align: -1px; }
@media (max-width: 40rem) {
  svg text { font-size: 20px; }
  thead { display: none; }
  table, tbody, tr, td { display: block; }
  tr { border-bottom: 1px solid var(--muted); padding: .4rem 0; }
  td { border: 0; padding: .1rem 0; }
  td::before { content: attr(data-label) ": "; color: var(--muted); }
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _table(headers: tuple[str, ...], rows: Iterable[Iterable[object]]) -> str:
    """A table whose rows stack into labelled cards on a phone; every cell is escaped."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-label="{_e(h)}">{_e(cell)}</td>'
            for h, cell in zip(headers, row, strict=True)
        )
        + "</tr>\n"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _funnel_svg(reached: Mapping[CustomerStage, int]) -> str:
    top = max(reached.values(), default=0) or 1
    rows = []
    for i, (stage, n) in enumerate(reached.items()):
        width = 440 * n / top
        y = i * 34
        rows.append(
            f'<rect x="{(600 - width) / 2 + 80:.1f}" y="{y}" width="{width:.1f}" height="26" '
            f'rx="3" fill="#00798c" opacity="{1 - i * 0.12:.2f}"/>'
            f'<text x="0" y="{y + 18}">{_e(label(stage))}</text>'
            f'<text x="700" y="{y + 18}" text-anchor="end">{n}</text>'
        )
    height = 34 * len(reached)
    return (
        f'<svg id="funnel" viewBox="0 0 700 {height}" role="img" aria-label="Lifecycle funnel">'
        + "".join(rows)
        + "</svg>"
    )


def _verdicts_svg(rows: list[tuple[str, VerdictCounts]]) -> str:
    parts = []
    for i, (row, counts) in enumerate(rows):
        y = i * 34
        x = 150.0
        parts.append(f'<text x="0" y="{y + 18}">{_e(row)}</text>')
        for verdict in Verdict:
            share = (counts.percent(verdict) or 0.0) / 100
            width = 550 * share
            if width > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="26" '
                    f'fill="{_COLOURS[verdict]}"><title>{_e(verdict.value)} '
                    f"{share * 100:.1f}%</title></rect>"
                )
            if width >= 60:  # room for the share written on the bar
                parts.append(
                    f'<text class="on-bar" x="{x + width / 2:.1f}" y="{y + 18}" '
                    f'text-anchor="middle">{share * 100:.0f}%</text>'
                )
            x += width
    height = max(34 * len(rows), 34)
    return (
        f'<svg id="verdicts" viewBox="0 0 700 {height}" role="img" '
        'aria-label="Verdicts per factor">' + "".join(parts) + "</svg>"
    )


def _attainment_svg(months: Mapping[str, Scorecard], metrics: Iterable[Metric]) -> str:
    chosen = list(metrics)
    keys = list(months)
    if not keys or not chosen:
        return "<p>No service targets were evaluated.</p>"
    palette = ("#00798c", "#d1495b", "#edae49", "#30638e", "#6a4c93")
    step = 560 / max(len(keys) - 1, 1)
    parts = ['<line x1="75" y1="10" x2="75" y2="210" stroke="currentColor" opacity=".3"/>']
    for level in (0, 50, 100):
        y = 210 - 2 * level
        parts.append(f'<text x="68" y="{y + 6}" text-anchor="end">{level}%</text>')
        parts.append(
            f'<line x1="75" y1="{y}" x2="670" y2="{y}" stroke="currentColor" opacity=".15"/>'
        )
    for i, key in enumerate(keys):
        if i % max(len(keys) // 6, 1) == 0:
            parts.append(
                f'<text x="{90 + i * step:.1f}" y="232" text-anchor="middle">{_e(key)}</text>'
            )
    legend = []
    for n, metric in enumerate(chosen):
        colour = palette[n % len(palette)]
        points = []
        dots = []
        for i, key in enumerate(keys):
            t = months[key].targets.get(metric)
            if t is not None and t.attainment is not None:
                cx, cy = f"{90 + i * step:.1f}", f"{210 - 2 * t.attainment:.1f}"
                points.append(f"{cx},{cy}")
                dots.append(
                    f'<circle cx="{cx}" cy="{cy}" r="3.5" fill="{colour}"><title>'
                    f"{_e(label(metric))}, {_e(key)}: {t.attainment:.1f}%</title></circle>"
                )
        if len(points) > 1:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"/>'
            )
        parts += dots
        legend.append(f'<span><i style="background:{colour}"></i>{_e(label(metric))}</span>')
    return (
        '<svg id="attainment" viewBox="0 0 700 240" role="img" '
        'aria-label="Target attainment by month">'
        + "".join(parts)
        + f'</svg><p class="legend">{"".join(legend)}</p>'
    )


def _desk_table(desk: OpenCases) -> str:
    """Open cases per team (rows) and priority (columns, highest first), with totals."""
    order = list(reversed(Priority))
    rows = [
        (team_label(team), *(desk.counts.get((team, p), 0) for p in order), n)
        for team, n in desk.by_team.items()
    ]
    rows.append(("All teams", *desk.by_priority.values(), desk.total))
    return _table(("Team", *(label(p.value).capitalize() for p in order), "All"), rows)


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page, readable on a phone and a desktop.

    Inline CSS and SVG only: no script, and a content security policy that
    forbids the page to fetch anything. Every text from the store is escaped.
    """
    card = report.card
    when = report.at.in_timezone("UTC").format("YYYY-MM-DD HH:mm")
    tiles = [
        ("Customers", report.customers),
        ("Interactions", card.interactions),
        ("Cases", card.cases),
        ("CSAT", pct(card.csat)),
        ("NPS", nps(card.nps)),
        ("First-contact resolution", pct(card.first_contact_resolution)),
        ("Median queue wait", duration(card.wait_median)),
        ("Handoffs / interaction", ratio(card.handoffs_per_interaction)),
    ]
    verdict_rows = [("overall", card.verdicts)] + [
        (label(f), c) for f, c in sorted(card.factor_verdicts.items(), key=lambda kv: kv[0].value)
    ]
    legend = "".join(
        f'<span><i style="background:{_COLOURS[v]}"></i>{_e(v.value)}</span>' for v in Verdict
    )
    risk_table = _table(
        ("Risk", "Customer", "Stage", "Why"),
        (
            (
                f"{a.health.risk:.1f} ({a.health.level})",
                a.name,
                label(a.health.stage),
                " ".join(r.text for r in a.health.reasons),
            )
            for a in report.at_risk
        ),
    )
    shown = listed(report.follow_ups)
    follow_table = _table(
        ("Due (UTC)", "Action", "Customer", "Why"),
        (
            (
                f.due_at.in_timezone("UTC").format("ddd DD MMM HH:mm"),
                label(f.kind),
                report.names[f.customer_id],
                f.why,
            )
            for f in shown
        ),
    )
    target_table = _table(
        ("Target", "Attained", "Achieved", "Breached", "Running", "As customers felt it"),
        (
            (
                label(m),
                pct(t.attainment),
                t.achieved,
                t.breached,
                t.active + t.paused,
                verdict_line(t.verdicts) if t.verdicts.total else "no expectation band",
            )
            for m, t in card.targets.items()
        ),
    )
    policy_table = ""
    if report.policies:
        policy_table = (
            '\n<h3>Attainment per SLA policy</h3>\n<p class="sub">Of the cases opened in '
            "the 30 days to the report's instant, each under the policy that applies to it "
            "then.</p>\n" + _table(*policy_rows(report))
        )
    tile_html = "".join(f'<div class="tile">{_e(k)}<b>{_e(v)}</b></div>' for k, v in tiles)
    follow_note = (
        f"{follow_up_summary(report)}; the first {len(shown)} listed{unlisted_note(report)}."
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
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
<p class="sub">Of the cases opened each month, the share that met each target.</p>
{_attainment_svg(report.months, card.targets)}
{target_table}{policy_table}
<h2>The desk</h2>
<p class="sub">{_e(desk_summary(report))}; by team and priority.</p>
{_desk_table(report.desk)}
{operations_html(report.operations)}<h2>Customers most at risk</h2>
{risk_table}
<h2>Follow-ups due this week</h2>
<p class="sub">{_e(follow_note)}</p>
{follow_table}
</body>
</html>
"""


# Nothing may be fetched: styles are inline, charts are inline SVG, there is no script.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'"
)
