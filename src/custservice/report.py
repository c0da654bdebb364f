"""The service report: what the demo prints and ``custservice report`` shows for any store.

:func:`build_report` reads a store once through the public analytics
functions and returns a :class:`Report`, plain data; :func:`render_text`
and :func:`render_html` turn it into a terminal page or one self-contained
HTML file (inline SVG charts and CSS, no scripts, no network fetches).

The report depends only on what is stored and on the instant it describes,
so the same store and ``at`` always give byte-identical output.

It shows customers' names, never their contact details or birthdays:
birthday greetings due are counted, not listed, since a name beside a date
tells the birthday. Text from the store is made safe for where it lands:
escaped in HTML, control characters replaced in the terminal.
"""

from __future__ import annotations

import datetime as dt
import heapq
import html
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

import attrs
import pendulum

from ._time import aware, between
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
from .analytics.planner import _order as _planner_order
from .cases import Case
from .customers import Customer
from .enums import CaseStatus, CustomerStage, Metric, Verdict
from .interactions import Interaction
from .service_levels import ServiceTarget
from .simulation import DEMO_TARGETS
from .storage.protocols import Store

__all__ = ["AtRisk", "Report", "build_report", "latest_change", "render_html", "render_text"]

R = TypeVar("R", Interaction, Case)

# The customer lifecycle's way forward, in order; at-risk and churned are exits from it.
FUNNEL = (
    CustomerStage.PROSPECT,
    CustomerStage.NEW,
    CustomerStage.ACTIVE,
    CustomerStage.LOYAL,
    CustomerStage.ADVOCATE,
)
_CURRENT = frozenset(CustomerStage) - {CustomerStage.PROSPECT, CustomerStage.CHURNED}
_ZERO = dt.timedelta(0)
_SHOWN = 10
# Listed by name and due date, these would tell a customer's birthday: they are only counted.
_UNLISTED = frozenset({FollowUpKind.BIRTHDAY_GREETING})
_CHUNK = 500
_FINISHED = frozenset({CaseStatus.SOLVED, CaseStatus.CLOSED})


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
        months: per month opened (in UTC), its scorecard (for attainment
            over time).
        at_risk: the customers most at risk, highest risk first (at most ten,
            among customers neither prospects nor churned).
        follow_ups: every follow-up due in the week from ``at``, in the
            planner's order.
        names: the names of the customers of the follow-ups a report lists:
            the first ten, birthday greetings left out.
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
    """The latest instant recorded in ``store``.

    That is the latest lifecycle change, feedback, handoff, resolution or
    case update of any record. It reads every record once; ``None`` for an
    empty store.

    Examples:
        >>> from custservice.report import latest_change
        >>> with open_store("memory://") as store:
        ...     latest_change(store) is None
        True
    """
    latest: pendulum.DateTime | None = None
    newest = -float("inf")
    for records in (store.customers.all(), store.interactions.all(), store.cases.all()):
        for record in records:
            for when in _moments(record):
                t = when.timestamp()
                if t > newest:
                    latest, newest = when, t
    return latest


def _moments(record: Customer | Interaction | Case) -> Iterator[pendulum.DateTime]:
    """The instants at which ``record`` last changed, one per kind of change."""
    yield record.lifecycle.since
    if isinstance(record, Interaction):
        if record.feedback is not None:
            yield record.feedback.at
        if record.resolved_at is not None:
            yield record.resolved_at
        if record.handoffs:
            yield record.handoffs[-1].at
    elif isinstance(record, Case) and record.updates:
        yield record.updates[-1].at


def build_report(
    store: Store,
    *,
    at: dt.datetime | None = None,
    targets: Iterable[ServiceTarget] = DEMO_TARGETS,
) -> Report:
    """Read ``store`` and build its service report.

    The store is read in one pass over its customers, interactions and
    cases (plus, per current customer, their recent interactions and their
    cases, for :func:`~custservice.analytics.health`), keeping counters, the
    ten customers most at risk and the follow-ups due, never whole tables.
    The follow-up planner must read every interaction and case, so the
    scorecard is computed from that same pass rather than asked of a store
    that could compute it in its database
    (:class:`~custservice.analytics.ScorecardPushdown`): one read of each
    record costs less than a query over them all and then a read of each.

    Args:
        store: any store.
        at: the instant service targets, risks and follow-ups are evaluated
            at; by default the latest change recorded in the store (so the
            report of a store never depends on the wall clock). Counts,
            stages and verdicts always cover every stored record as it is
            now: a store keeps each record's latest state, not its past, so
            an earlier ``at`` asks "what was due then", not "how things
            stood then".
        targets: the service targets evaluated on every case; the demo's
            by default.

    Returns:
        The :class:`Report`.

    Raises:
        ValidationError: ``at`` is naive, or ``targets`` are not service
            targets (at most one per metric).

    Examples:
        >>> from custservice.report import build_report
        >>> with open_store("memory://") as store:
        ...     report = build_report(store, at=pendulum.datetime(2026, 3, 2, 9))
        >>> report.customers, report.card.csat, report.reached[CustomerStage.PROSPECT]
        (0, None, 0)
    """
    if at is None:
        at = latest_change(store) or pendulum.datetime(1970, 1, 1)
    when = aware(at, "at")
    chosen = tuple(targets)
    follow_ups = _FollowUps(when, chosen)
    reached: Counter[CustomerStage] = Counter()
    stages: Counter[CustomerStage] = Counter()
    won_back = 0
    # The ten highest risks, kept in a min-heap of (risk, -id, ...): ties go to the lower id.
    worst: list[tuple[float, int, str, Health]] = []
    chunk = []
    for customer in store.customers.all():
        chunk.append(customer)
        if len(chunk) == _CHUNK:
            follow_ups.plan(customers=chunk)
            chunk = []
        stage = customer.stage
        stages[stage] += 1
        history = customer.lifecycle.history
        seen = {CustomerStage(str(c.target)) for c in history}
        seen.update((CustomerStage.PROSPECT, stage))
        reached.update(s for s in FUNNEL if s in seen)
        won_back += any(c.event == "win_back" for c in history)
        if stage not in _CURRENT and between(customer.lifecycle.since, when) >= _ZERO:
            continue  # not current now, and no change since ``when``: not current then
        h = health(customer, store, at=when, targets=chosen)
        if h.stage not in _CURRENT:  # health judges the stage the customer was in at ``when``
            continue
        entry = (h.risk, -customer.id.int, customer.name, h)
        if len(worst) < _SHOWN:
            heapq.heappush(worst, entry)
        else:
            heapq.heappushpop(worst, entry)
    follow_ups.plan(customers=chunk)
    # One pass: the planner sees the records as the scorecard streams them.
    card = scorecard(
        follow_ups.interactions(store.interactions.all()),
        follow_ups.cases(store.cases.all()),
        by=GroupBy.MONTH,
        targets=chosen,
        at=when,
    )
    due = follow_ups.result()
    listed = [f for f in due if f.kind not in _UNLISTED][:_SHOWN]
    names = {f.customer_id: store.customers.get(f.customer_id).name for f in listed}
    return Report(
        at=when,
        customers=sum(stages.values()),
        reached={s: reached[s] for s in FUNNEL},
        stages={s: stages[s] for s in CustomerStage},
        won_back=won_back,
        card=card,
        months=dict(card.groups),
        at_risk=tuple(AtRisk(name, h) for _, _, name, h in sorted(worst, reverse=True)),
        follow_ups=due,
        names=names,
    )


class _FollowUps:
    """The follow-ups due in the week from ``at``, planned chunk by chunk as records stream past.

    :func:`~custservice.analytics.plan_follow_ups` judges every record on its
    own, so planning chunks and sorting the union gives what one call over
    everything gives, without a second pass over the store.
    """

    def __init__(self, at: pendulum.DateTime, targets: tuple[ServiceTarget, ...]) -> None:
        self._start = at
        self._end = at.add(days=7)
        self._targets = targets
        self._found: list[FollowUp] = []

    def plan(
        self,
        *,
        customers: Iterable[Customer] = (),
        interactions: Iterable[Interaction] = (),
        cases: Iterable[Case] = (),
    ) -> None:
        self._found += plan_follow_ups(
            customers,
            interactions,
            cases,
            window_start=self._start,
            window_end=self._end,
            targets=self._targets,
        )

    def interactions(self, records: Iterable[Interaction]) -> Iterator[Interaction]:
        """Yield ``records`` unchanged, planning their follow-ups a chunk at a time."""
        return _tap(records, lambda chunk: self.plan(interactions=chunk))

    def cases(self, records: Iterable[Case]) -> Iterator[Case]:
        """Yield ``records`` unchanged, planning their follow-ups a chunk at a time."""
        return _tap(records, lambda chunk: self.plan(cases=self.open_cases(chunk)))

    def open_cases(self, cases: Iterable[Case]) -> Iterator[Case]:
        """The cases that may be open when the window starts.

        The planner proposes status updates for open cases only; a case
        solved or closed before the window, and not changed since, is not
        one, and need not be evaluated again.
        """
        start = self._start.timestamp()
        for case in cases:
            if case.status not in _FINISHED or case.lifecycle.since.timestamp() > start:
                yield case

    def result(self) -> tuple[FollowUp, ...]:
        """Everything found, in the planner's order: due instant, kind, customer, record."""
        return tuple(sorted(self._found, key=_planner_order))


def _tap(records: Iterable[R], plan: Callable[[list[R]], None]) -> Iterator[R]:
    chunk: list[R] = []
    for record in records:
        chunk.append(record)
        if len(chunk) == _CHUNK:
            plan(chunk)
            chunk = []
        yield record
    plan(chunk)


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


def _plain(text: str) -> str:
    """``text`` safe for a terminal: one line, no escape sequences, no bidirectional overrides.

    Spaces of every kind become a plain space; control, format and line or
    paragraph separator characters become U+FFFD.
    """
    if text.isprintable():
        return text
    return "".join(_PLAIN.get(unicodedata.category(c), c) for c in text)


_PLAIN = {"Zs": " ", "Zl": "\ufffd", "Zp": "\ufffd"} | {f"C{kind}": "\ufffd" for kind in "cfnos"}


def _listed(report: Report) -> list[FollowUp]:
    """The follow-ups a report lists by name: the first ten, birthday greetings left out."""
    return [f for f in report.follow_ups if f.kind not in _UNLISTED][:_SHOWN]


def _follow_up_summary(report: Report) -> str:
    kinds = Counter(f.kind for f in report.follow_ups)
    return ", ".join(f"{_label(k)} {kinds[k]}" for k in FollowUpKind if kinds[k]) or "none"


def render_text(report: Report) -> str:
    """The report as plain text for a terminal, ending with a newline.

    Examples:
        >>> from custservice.report import build_report, render_text
        >>> with open_store("memory://") as store:
        ...     text = render_text(build_report(store, at=pendulum.datetime(2026, 3, 2, 9)))
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
        out.append(f"  {_label(stage):<10} {n:>7}  {_bar(n, top)}")
    now = ", ".join(f"{_label(s)} {n}" for s, n in report.stages.items() if n) or "nobody"
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
        f"NPS {_nps(card.nps)} (n={card.nps_responses})",
        f"  first-contact resolution {_pct(card.first_contact_resolution)} "
        f"of {card.resolved} resolved",
        f"  queue wait median {_duration(card.wait_median)}, 90th percentile "
        f"{_duration(card.wait_p90)}; handoffs per interaction "
        f"{_ratio(card.handoffs_per_interaction)}",
        "",
        "Service targets",
    ]
    for metric, t in card.targets.items():
        out.append(
            f"  {_label(metric):<16} attained {_pct(t.attainment):>6}  "
            f"achieved {t.achieved}, breached {t.breached}, running {t.active + t.paused}"
        )
        if t.verdicts.total:  # the target carries the customers' zone of tolerance
            out.append(f"  {'':<16} as customers felt it: {_verdict_line(t.verdicts)}")
    if not card.targets:
        out.append("  none evaluated")
    out += ["", f"The {len(report.at_risk)} customers most at risk"]
    for entry in report.at_risk:
        h = entry.health
        why = " ".join(r.text for r in h.reasons[:3])
        out.append(
            f"  {h.risk:5.1f} {h.level:<6} {_plain(entry.name):<20} {_label(h.stage):<9} {why}"
        )
    listed = _listed(report)
    out += [
        "",
        f"Follow-ups due in the week from {report.at.in_timezone('UTC').format('YYYY-MM-DD')}: "
        + _follow_up_summary(report),
    ]
    for f in listed:
        due = f.due_at.in_timezone("UTC").format("ddd DD MMM HH:mm")
        name = _plain(report.names[f.customer_id])
        out.append(f"  {due}  {_label(f.kind):<17} {name}: {f.why}")
    if len(report.follow_ups) > len(listed):
        out.append(f"  … and {len(report.follow_ups) - len(listed)} more{_unlisted_note(report)}")
    return "\n".join(out) + "\n"


def _unlisted_note(report: Report) -> str:
    if any(f.kind in _UNLISTED for f in report.follow_ups):
        return " (birthday greetings are counted, not listed: a name and a date tell a birthday)"
    return ""


def _nps(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1f}"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


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
            f'<text x="0" y="{y + 18}">{_e(_label(stage))}</text>'
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
    for i, (label, counts) in enumerate(rows):
        y = i * 34
        x = 150.0
        parts.append(f'<text x="0" y="{y + 18}">{_e(label)}</text>')
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
                    f"{_e(_label(metric))}, {_e(key)}: {t.attainment:.1f}%</title></circle>"
                )
        if len(points) > 1:
            parts.append(
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" '
                f'stroke-width="2.5"/>'
            )
        parts += dots
        legend.append(f'<span><i style="background:{colour}"></i>{_e(_label(metric))}</span>')
    return (
        '<svg id="attainment" viewBox="0 0 700 240" role="img" '
        'aria-label="Target attainment by month">'
        + "".join(parts)
        + f'</svg><p class="legend">{"".join(legend)}</p>'
    )


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
        ("CSAT", _pct(card.csat)),
        ("NPS", _nps(card.nps)),
        ("First-contact resolution", _pct(card.first_contact_resolution)),
        ("Median queue wait", _duration(card.wait_median)),
        ("Handoffs / interaction", _ratio(card.handoffs_per_interaction)),
    ]
    verdict_rows = [("overall", card.verdicts)] + [
        (_label(f), c) for f, c in sorted(card.factor_verdicts.items(), key=lambda kv: kv[0].value)
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
                _label(a.health.stage),
                " ".join(r.text for r in a.health.reasons),
            )
            for a in report.at_risk
        ),
    )
    listed = _listed(report)
    follow_table = _table(
        ("Due (UTC)", "Action", "Customer", "Why"),
        (
            (
                f.due_at.in_timezone("UTC").format("ddd DD MMM HH:mm"),
                _label(f.kind),
                report.names[f.customer_id],
                f.why,
            )
            for f in listed
        ),
    )
    target_table = _table(
        ("Target", "Attained", "Achieved", "Breached", "Running", "As customers felt it"),
        (
            (
                _label(m),
                _pct(t.attainment),
                t.achieved,
                t.breached,
                t.active + t.paused,
                _verdict_line(t.verdicts) if t.verdicts.total else "no expectation band",
            )
            for m, t in card.targets.items()
        ),
    )
    tile_html = "".join(f'<div class="tile">{_e(k)}<b>{_e(v)}</b></div>' for k, v in tiles)
    follow_note = (
        f"{_follow_up_summary(report)}; the first {len(listed)} listed{_unlisted_note(report)}."
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
{target_table}
<h2>Customers most at risk</h2>
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
