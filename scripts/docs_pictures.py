"""The concept pages' pictures, drawn from the library's own objects at build time.

An mkdocs hook (``mkdocs.yml``, ``hooks:``). A concept page asks for a picture
with a marker on a line of its own, ``<!-- picture: zone-of-tolerance -->``;
the built page holds, in its place, a figure with the picture as inline SVG.
Every region, colour and figure in a picture is what the library answers when
asked (``band.classify``, ``scale.classify``, ``calendar.is_working``,
``target.evaluate``), so a picture cannot disagree with the code. A marker
naming no picture fails the build.

The SVG names no colour of its own: text is ``currentColor`` and shapes carry
classes that ``docs/assets/stylesheets/site.css`` colours from Material's
palette, so each picture reads in the light scheme and the dark one.
"""

from __future__ import annotations

import ast
import datetime as dt
import enum
import html
import inspect
import itertools
import re
import textwrap
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import pendulum
from mkdocs.exceptions import PluginError

import custservice as cs

MARKER = re.compile(r"<!-- picture: ([\w-]+) -->")


def on_page_content(html_text: str, page: Any, **kwargs: Any) -> str:
    """Each picture marker of the page, replaced by its figure."""

    def figure(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PICTURES:
            raise PluginError(
                f"{page.file.src_uri}: no picture named {name!r}; "
                f"the pictures are {', '.join(sorted(PICTURES))}"
            )
        svg, caption = PICTURES[name]()
        return (
            f'<figure class="cs-picture" id="picture-{name}">'
            f'<div class="cs-picture__scroll">{svg}</div>'
            f"<figcaption>{caption}</figcaption></figure>"
        )

    return MARKER.sub(figure, html_text)


# ------------------------------------------------------------------ drawing


def _text(x: float, y: float, words: str, cls: str = "", anchor: str = "start") -> str:
    style = f' class="{cls}"' if cls else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{style}>{html.escape(words)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, cls: str, rx: float = 0) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" class="{cls}"/>'
    )


def _line(x1: float, y1: float, x2: float, y2: float, cls: str = "cs-line") -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{cls}"/>'


PAD = 2  # room for the strokes of shapes drawn at the edge


def _svg(name: str, width: float, height: float, label: str, parts: Iterable[str]) -> str:
    """An SVG of its natural size that inherits the page's text colour and font."""
    w, h = round(width + 2 * PAD), round(height + 2 * PAD)
    return (
        f'<svg class="cs-svg" xmlns="http://www.w3.org/2000/svg" width="{w}" '
        f'height="{h}" viewBox="{-PAD} {-PAD} {w} {h}" role="img" '
        f'aria-labelledby="picture-{name}-title" fill="currentColor">'
        f'<title id="picture-{name}-title">{html.escape(label)}</title>'
        f"{''.join(parts)}</svg>"
    )


def _lines(words: str, width: int) -> list[str]:
    return textwrap.wrap(words, width=width, break_long_words=False)


X = TypeVar("X")
V = TypeVar("V")


def _runs(samples: Iterable[tuple[X, V]]) -> Iterator[tuple[X, X, V]]:
    """Consecutive samples with the same value, as ``(first, last, value)``."""
    run: tuple[X, X, V] | None = None
    for x, v in samples:
        if run is not None and v == run[2]:
            run = (run[0], x, v)
            continue
        if run is not None:
            yield run
        run = (x, x, v)
    if run is not None:
        yield run


def _member_docs(kind: type[enum.Enum]) -> dict[str, str]:
    """The docstring written under each member of an enum (as the API reference shows)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(kind)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for statement, following in itertools.pairwise(body):
        if (
            isinstance(statement, ast.Assign)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[statement.targets[0].id] = following.value.value  # type: ignore[attr-defined]
    missing = [m.name for m in kind if m.name not in docs]
    if missing:
        raise PluginError(f"{kind.__name__} members without a docstring: {missing}")
    return docs


def _hours(d: dt.timedelta) -> str:
    """A duration as the pages write it: ``4 h``, ``45 min``, ``15 h 30 min``."""
    minutes = round(d.total_seconds() / 60)
    h, m = divmod(minutes, 60)
    return (
        " ".join(part for part in (f"{h} h" if h else "", f"{m} min" if m else "") if part) or "0"
    )


LEGEND = (cs.Verdict.DISSATISFIED, cs.Verdict.SATISFIED, cs.Verdict.DELIGHTED)


def _legend(x: float, y: float) -> list[str]:
    parts = []
    for verdict in LEGEND:
        parts += [
            _rect(x, y - 11, 14, 14, f"cs-{verdict.value}", 2),
            _text(x + 20, y, verdict.value),
        ]
        x += 40 + 7.5 * len(verdict.value)
    return parts


# ------------------------------------------------------------- the pictures


def zone_of_tolerance() -> tuple[str, str]:
    """An expectation band's three verdicts along its measure, minute by minute."""
    adequate_wait, desired_wait = pendulum.duration(hours=4), pendulum.duration(hours=1)
    band = cs.ExpectationBand(
        cs.Factor.SPEED, cs.Metric.FIRST_RESPONSE, adequate=adequate_wait, desired=desired_wait
    )
    span = 6 * 60  # minutes shown
    left, right, top = 30.0, 610.0, 44.0
    scale = (right - left) / span

    def x(minutes: float) -> float:
        return left + minutes * scale

    verdicts = ((m, band.classify(pendulum.duration(minutes=m))) for m in range(span + 1))
    parts = []
    runs = list(_runs(verdicts))
    for i, (first, last, verdict) in enumerate(runs):
        # A boundary lies between the last sample of one verdict and the first of the next.
        start = 0 if i == 0 else (runs[i - 1][1] + first) / 2
        end = span if i == len(runs) - 1 else (last + runs[i + 1][0]) / 2
        parts.append(_rect(x(start), top, x(end) - x(start), 48, f"cs-{verdict.value}"))
        parts.append(_text((x(start) + x(end)) / 2, top + 29, verdict.value, "cs-strong", "middle"))
    for hour in range(span // 60 + 1):
        parts += [
            _line(x(hour * 60), top + 48, x(hour * 60), top + 54),
            _text(x(hour * 60), top + 68, f"{hour} h", "cs-small", "middle"),
        ]
    parts.append(_line(left, top + 48, right, top + 48))
    for level, name in ((desired_wait, "desired"), (adequate_wait, "adequate")):
        at = x(level.total_seconds() / 60)
        verdict = band.classify(level)  # which side the boundary itself falls on
        parts += [
            _line(at, top - 8, at, top + 48, "cs-line cs-dashed"),
            f'<circle cx="{at:.1f}" cy="{top + 48:.1f}" r="4.5" '
            f'class="cs-dot cs-{verdict.value}"/>',
            _text(at, top + 88, f"{name} {_hours(level)}", "cs-strong", "middle"),
        ]
    desired, adequate = (x(level.total_seconds() / 60) for level in (desired_wait, adequate_wait))
    parts += [
        _line(desired, top - 8, adequate, top - 8),
        _text((desired + adequate) / 2, top - 14, "zone of tolerance", "cs-strong", "middle"),
        _text(left, top + 112, '← better: a shorter wait (better="lower")', "cs-small"),
    ]
    svg = _svg("zone-of-tolerance", 640, 168, "The zone of tolerance of a first answer", parts)
    caption = (
        "<code>ExpectationBand(Factor.SPEED, Metric.FIRST_RESPONSE, "
        f"adequate={_hours(adequate_wait)}, desired={_hours(desired_wait)})</code>: "
        f"every minute from 0 to {span // 60} h coloured by what "
        f"<code>band.classify</code> returns. Exactly {_hours(desired_wait)} is "
        f"{band.classify(desired_wait).value}, exactly {_hours(adequate_wait)} "
        f"{band.classify(adequate_wait).value}: a boundary reached counts (the dots)."
    )
    return svg, caption


SCALES = ("CSAT_5", "NPS_SCALE", "CES_7", "SATISFACTION_10", "BINARY")


def score_scales() -> tuple[str, str]:
    """Each built-in survey scale as a strip of its scores, coloured by their verdicts."""
    cell, row, left = 38, 52, 176
    parts = []
    for i, name in enumerate(SCALES):
        scale: cs.ScoreScale = getattr(cs, name)
        y = 12 + i * row
        parts += [
            _text(0, y + 16, name, "cs-strong"),
            _text(
                0, y + 33, f"satisfied ≥ {scale.adequate}, delighted ≥ {scale.desired}", "cs-small"
            ),
        ]
        for j, score in enumerate(scale.scores):
            verdict = scale.classify(score)
            parts += [
                _rect(left + j * cell, y, cell - 3, 36, f"cs-{verdict.value}", 3),
                _text(left + j * cell + (cell - 3) / 2, y + 23, str(score), "", "middle"),
            ]
    parts += _legend(left, 12 + len(SCALES) * row + 10)
    height = 12 + len(SCALES) * row + 22
    svg = _svg("score-scales", left + 11 * cell, height, "The built-in score scales", parts)
    caption = (
        "The built-in survey scales, each score coloured by what "
        "<code>scale.classify(score)</code> returns."
    )
    return svg, caption


LAGOS = "Africa/Lagos"


def business_time() -> tuple[str, str]:
    """A case's week on the desk's calendar: working time, what counted, what paused."""
    desk = cs.BusinessCalendar(
        LAGOS,
        {day: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))] for day in range(5)},
        holidays=[dt.date(2026, 6, 12)],  # Democracy Day
    )
    solved = cs.ServiceTarget(cs.Metric.RESOLUTION, pendulum.duration(hours=16), calendar=desk)

    def lagos(day: int, hour: int, minute: int = 0) -> pendulum.DateTime:
        return pendulum.datetime(2026, 6, day, hour, minute, tz=LAGOS)

    # The case of the concept page's example, step by step, with its status after each.
    opened, answered, asked, replied, done = (
        lagos(11, 11, 30),
        lagos(11, 14),
        lagos(15, 10),
        lagos(16, 9),
        lagos(17, 10),
    )
    customer = cs.Customer.new("Ada", clock=cs.FixedClock(opened))
    case = cs.Case.open(customer.id, "Card payment declined", clock=cs.FixedClock(opened))
    case = case.advance("open", at=opened)
    moments = [(opened, "opened", case.status)]
    case = case.record_update(at=answered)
    moments.append((answered, "answered", case.status))
    case = case.advance("await_customer", at=asked)
    moments.append((asked, "asks the customer", case.status))
    case = case.record_update(at=replied, from_customer=True).advance("resume", at=replied)
    moments.append((replied, "customer replies", case.status))
    case = case.advance("solve", at=done)
    moments.append((done, "solved", case.status))
    elapsed = solved.evaluate(case, at=lagos(17, 18)).elapsed

    def status_at(t: pendulum.DateTime) -> cs.CaseStatus | None:
        return next((status for at, _, status in reversed(moments) if at <= t), None)

    def counts(t: pendulum.DateTime) -> bool:
        status = status_at(t)
        return (
            status is not None
            and status not in solved.paused_in
            and status not in (cs.CaseStatus.SOLVED, cs.CaseStatus.CLOSED)
            and desk.is_working(t)
        )

    first_hour, last_hour = 7, 18
    tick = pendulum.duration(minutes=5)  # every change of the story falls on one
    left, per_hour, row, top = 92.0, 40.0, 46, 30.0
    right = left + (last_hour - first_hour) * per_hour

    def x(t: pendulum.DateTime) -> float:
        return left + (t.hour + t.minute / 60 - first_hour) * per_hour

    parts = []
    for hour in range(first_hour, last_hour + 1):
        hx = left + (hour - first_hour) * per_hour
        parts += [_text(hx, 14, f"{hour:02d}", "cs-small", "middle"), _line(hx, 20, hx, 24)]
    counted_total = pendulum.duration()
    for i in range(7):
        day = lagos(11 + i, first_hour)
        y = top + i * row
        samples = [day + k * tick for k in range((last_hour - first_hour) * 60 // 5)]
        parts.append(_text(0, y + 28, day.format("ddd D MMM"), "cs-strong"))
        if day.date() in desk.holidays:
            parts.append(_text(0, y + 42, "holiday", "cs-small"))
        parts.append(_rect(left, y + 16, right - left, 18, "cs-track"))
        for first, last, working in _runs((t, desk.is_working(t)) for t in samples):
            if working:
                parts.append(_rect(x(first), y + 16, x(last + tick) - x(first), 18, "cs-working"))
        for first, last, status in _runs((t, status_at(t)) for t in samples):
            if status in solved.paused_in:
                parts.append(_rect(x(first), y + 12, x(last + tick) - x(first), 26, "cs-paused"))
        counted_today = pendulum.duration()
        for first, last, counting in _runs((t, counts(t)) for t in samples):
            if counting:
                parts.append(_rect(x(first), y + 20, x(last + tick) - x(first), 10, "cs-counted"))
                counted_today += desk.elapsed(first, last + tick)
        counted_total += counted_today
        if counted_today:
            parts.append(_text(right + 10, y + 29, _hours(counted_today)))
        for at, what, _ in moments:
            if at.date() == day.date():
                parts += [
                    _line(x(at), y + 6, x(at), y + 40, "cs-line cs-event"),
                    _text(x(at) + 4, y + 10, f"{what} {at.format('HH:mm')}", "cs-small"),
                ]
    if counted_total != elapsed:
        raise PluginError(f"the business-time picture counts {counted_total}, the target {elapsed}")
    y = top + 7 * row + 8
    parts += [
        _line(right + 6, y - 14, right + 86, y - 14),
        _text(right + 10, y + 2, _hours(elapsed), "cs-strong"),
    ]
    legend = [
        ("cs-working", "working hours (the calendar)"),
        ("cs-counted", "counted toward the target"),
        ("cs-paused", "pending: the clock stops"),
    ]
    for j, (cls, words) in enumerate(legend):
        ly = y + 24 + j * 20
        parts += [_rect(0, ly - 11, 22, 14, cls, 2), _text(30, ly, words, "cs-small")]
    svg = _svg(
        "business-time",
        640,
        int(y + 24 + 3 * 20),
        "Business time of a case on the Lagos desk's calendar",
        [_hatch(), *parts],
    )
    caption = (
        "The Lagos desk's week (08:00–12:00 and 13:00–17:00, Monday to Friday, not on "
        "Democracy Day) and the case of the example: what "
        "<code>calendar.is_working</code> says, and what counts toward the resolution "
        "target while the case is neither <code>PENDING</code> nor solved. The days add up to "
        f"{_hours(elapsed)}, the <code>elapsed</code> that "
        "<code>ServiceTarget.evaluate</code> reports."
    )
    return svg, caption


def _hatch() -> str:
    return (
        '<defs><pattern id="cs-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" '
        'class="cs-hatch-line"/></pattern></defs>'
    )


def dimensions_and_factors() -> tuple[str, str]:
    """The seven factors under the dimension each belongs to, as ``Factor`` says."""
    factors = _member_docs(cs.Factor)
    dimensions = _member_docs(cs.Dimension)
    column, gap = 308, 24
    parts = []
    height = 0.0
    for i, dimension in enumerate(cs.Dimension):
        x = i * (column + gap)
        parts.append(_text(x, 20, dimension.name, "cs-strong"))
        for k, words in enumerate(_lines(dimensions[dimension.name], 50)):
            parts.append(_text(x, 38 + k * 16, words, "cs-small"))
        y = 66.0
        for factor in (f for f in cs.Factor if f.dimension is dimension):
            lines = _lines(factors[factor.name], 50)
            h = 36 + 16 * len(lines)
            parts += [
                _rect(x, y, column, h, f"cs-card cs-{dimension.value}", 6),
                _text(x + 12, y + 21, factor.name, "cs-strong"),
            ]
            parts += [_text(x + 12, y + 40 + 16 * k, w, "cs-small") for k, w in enumerate(lines)]
            y += h + 8
        height = max(height, y)
    svg = _svg(
        "dimensions-and-factors",
        2 * column + gap,
        int(height),
        "Two dimensions, seven factors",
        parts,
    )
    caption = (
        "Each <code>Factor</code> under the <code>Dimension</code> that "
        "<code>factor.dimension</code> names, with the words of its entry in the API reference."
    )
    return svg, caption


def programme_areas() -> tuple[str, str]:
    """The six areas of a service programme, each with its definition."""
    areas = _member_docs(cs.ServiceArea)
    width, gap, per_row = 200, 20, 3
    lines = {area: _lines(areas[area.name], 30) for area in cs.ServiceArea}
    card = 58 + 16 * max(len(v) for v in lines.values())
    parts = []
    for i, area in enumerate(cs.ServiceArea):
        x = (i % per_row) * (width + gap)
        y = (i // per_row) * (card + gap)
        parts += [
            _rect(x, y, width, card, "cs-card cs-area", 6),
            _text(x + 12, y + 22, area.name, "cs-strong"),
            _text(x + 12, y + 40, f'"{area.value}"', "cs-small cs-muted"),
        ]
        parts += [_text(x + 12, y + 62 + 16 * k, w, "cs-small") for k, w in enumerate(lines[area])]
    rows = -(-len(cs.ServiceArea) // per_row)
    svg = _svg(
        "programme-areas",
        per_row * width + (per_row - 1) * gap,
        rows * card + (rows - 1) * gap,
        "The six areas of a service programme",
        parts,
    )
    caption = (
        "The members of <code>ServiceArea</code>, each with its value (what a root-cause "
        "tag stores) and the words of its entry in the API reference."
    )
    return svg, caption


def _clock(t: pendulum.DateTime | None) -> str:
    return t.format("HH:mm") if t is not None else "—"


def policy_change() -> tuple[str, str]:
    """A case's targets before and after its priority changes mid-case, as the
    policies answer them at every instant."""
    hour = pendulum.duration(hours=1)
    desk = cs.SlaPolicies(
        [
            cs.SlaPolicy(
                "Urgent",
                cs.Condition.where("priority", "==", "urgent"),
                [
                    cs.ServiceTarget(cs.Metric.FIRST_RESPONSE, hour),
                    cs.ServiceTarget(cs.Metric.RESOLUTION, 4 * hour),
                ],
            ),
            cs.SlaPolicy(
                "Normal",
                cs.Condition.all_of(),
                [
                    cs.ServiceTarget(cs.Metric.FIRST_RESPONSE, 4 * hour),
                    cs.ServiceTarget(cs.Metric.RESOLUTION, 8 * hour),
                ],
            ),
        ]
    )
    # The concept page's case, step by step.
    opened = pendulum.datetime(2026, 3, 2, 9, tz="Europe/London")
    replied, resumed = opened.add(minutes=90), opened.add(minutes=150)
    raised, solved = opened.add(hours=3), opened.add(hours=4, minutes=30)
    case = cs.Case.open(
        cs.Customer.new("Ada", clock=cs.FixedClock(opened)).id,
        "Card payments fail",
        clock=cs.FixedClock(opened),
    )
    case = case.advance("open", at=opened)
    case = case.record_update(at=replied).advance("await_customer", at=replied)
    case = case.record_update(at=resumed, from_customer=True).advance("resume", at=resumed)
    case = case.reprioritize("urgent", at=raised).advance("solve", at=solved)
    moments = [
        (opened, "opened"),
        (replied, "first reply, asks"),
        (resumed, "customer answers"),
        (raised, "made urgent"),
        (solved, "solved"),
    ]

    def statuses(t: pendulum.DateTime) -> dict[cs.Metric, cs.TargetStatus]:
        return {s.metric: s for s in desk.evaluate(case, at=t)}

    before = statuses(raised.subtract(minutes=1))[cs.Metric.RESOLUTION]
    after = statuses(raised)[cs.Metric.RESOLUTION]
    final = statuses(solved)
    assert before.due_at is not None
    assert after.due_at is not None

    first_hour, last_hour = 9, 19
    tick = pendulum.duration(minutes=5)
    left, per_hour, top = 130.0, 50.0, 40.0
    right = left + (last_hour - first_hour) * per_hour

    def x(t: pendulum.DateTime) -> float:
        return left + (t - opened.replace(hour=first_hour)).total_seconds() / 3600 * per_hour

    samples = [opened.add(minutes=5 * k) for k in range((last_hour - first_hour) * 12)]
    parts = [_hatch()]
    for hour_ in range(first_hour, last_hour + 1):
        hx = left + (hour_ - first_hour) * per_hour
        parts += [_text(hx, 14, f"{hour_:02d}", "cs-small", "middle"), _line(hx, 20, hx, 24)]
    # The policy that applies at each instant, as select answers.
    y = top
    parts.append(_text(0, y + 18, "policy", "cs-strong"))
    live = [t for t in samples if t < solved]
    for first, last, name in _runs((t, desk.select(case, at=t).name) for t in live):
        x0, x1 = x(first), x(last + tick)
        parts += [
            _rect(x0, y + 2, x1 - x0 - 2, 24, "cs-card cs-procedural", 3),
            _text((x0 + x1) / 2, y + 19, name, "", "middle"),
        ]
    # Each target: counted while active, stopped while pending, its due instants.
    for row, metric in enumerate((cs.Metric.FIRST_RESPONSE, cs.Metric.RESOLUTION)):
        y = top + 44 + row * 56
        parts.append(_text(0, y + 18, metric.value.replace("_", " "), "cs-strong"))
        parts.append(_rect(left, y + 6, right - left, 18, "cs-track"))
        states = ((t, statuses(t + tick / 2)[metric].state) for t in samples)
        for first, last, state in _runs(states):
            x0, x1 = x(first), x(last + tick)
            if state is cs.TargetState.ACTIVE:
                parts.append(_rect(x0, y + 10, x1 - x0, 10, "cs-counted"))
            elif state is cs.TargetState.PAUSED:
                parts.append(_rect(x0, y + 2, x1 - x0, 26, "cs-paused"))
        done = final[metric].achieved_at
        assert done is not None
        parts.append(_line(x(done), y, x(done), y + 30, "cs-line"))
    y = top + 44 + 56
    for status, cls, words, dy, anchor, dx in (
        (after, "cs-line", f"due {_clock(after.due_at)} once Urgent", 48, "start", 4),
        (before, "cs-line cs-dashed", f"due {_clock(before.due_at)} while Normal", 64, "end", -4),
    ):
        assert status.due_at is not None
        parts += [
            _line(x(status.due_at), y - 4, x(status.due_at), y + dy - 10, cls),
            _text(x(status.due_at) + dx, y + dy, words, "cs-small", anchor),
        ]
    # The story's moments, each label on the first line where it fits.
    y = top + 44 + 2 * 56 + 40
    ends: list[float] = []
    for at, what in moments:
        words = f"{what} {_clock(at)}"
        line = next((k for k, end in enumerate(ends) if end < x(at)), len(ends))
        if line == len(ends):
            ends.append(0.0)
        ends[line] = x(at) + 8 + 6.5 * len(words)
        ly = y + 14 + line * 16
        parts += [
            _line(x(at), top, x(at), ly - 10, "cs-line cs-event"),
            _text(x(at) + 3, ly, words, "cs-small"),
        ]
    y += 16 * len(ends) + 30
    legend = [
        ("cs-counted", "counted toward the target"),
        ("cs-paused", "pending: the clock stops"),
    ]
    for j, (cls, words) in enumerate(legend):
        lx = j * 240
        parts += [_rect(lx, y - 11, 22, 14, cls, 2), _text(lx + 30, y, words, "cs-small")]
    svg = _svg(
        "policy-change",
        right + 10,
        y + 8,
        "A case's targets before and after its priority changes",
        parts,
    )
    caption = (
        "The case of the example under the desk's two policies: which applies "
        "(<code>policies.select(case, at=...)</code>) and what "
        "<code>policies.evaluate</code> counts for each target. Made urgent at "
        f"{_clock(raised)}, the case keeps its opening and its paused hour: "
        f"its resolution, due {_clock(before.due_at)} under Normal, is due "
        f"{_clock(after.due_at)} under Urgent, and the first reply, "
        f"{final[cs.Metric.FIRST_RESPONSE].state.value} at {_clock(replied)}, "
        "stays done."
    )
    return svg, caption


PICTURES: dict[str, Callable[[], tuple[str, str]]] = {
    "zone-of-tolerance": zone_of_tolerance,
    "score-scales": score_scales,
    "business-time": business_time,
    "dimensions-and-factors": dimensions_and_factors,
    "programme-areas": programme_areas,
    "policy-change": policy_change,
}
"""Each picture by the name its marker gives: a function returning its SVG and caption."""
