"""Hypothesis strategies for every domain object, for your own property tests.

Examples:
    >>> from hypothesis import given
    >>> from custservice.testing import strategies as cst
    >>> @given(cst.feedback())
    ... def test_verdict_is_defined(fb):
    ...     assert fb.verdict is not None
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import itertools
import random
import uuid
from typing import TYPE_CHECKING, Any, Literal

import pendulum
from hypothesis import strategies as st

from .._desk import AttributeValue
from .._ids import new_id
from .._time import FixedClock
from ..calendars import ALWAYS, BusinessCalendar
from ..cases import Case, CaseLink
from ..customers import Customer
from ..enums import (
    CaseStatus,
    Channel,
    CustomerStage,
    EscalationAction,
    Factor,
    InteractionStage,
    LinkKind,
    Metric,
    Priority,
    ServiceArea,
)
from ..errors import InvalidTransition
from ..expectations import (
    BINARY,
    CES_7,
    CSAT_5,
    NPS_SCALE,
    SATISFACTION_10,
    ExpectationBand,
    Expectations,
    ScoreScale,
)
from ..feedback import Feedback
from ..interactions import Interaction
from ..lifecycle import Lifecycle, LifecycleState, Transition
from ..lifecycles import CUSTOMER_LIFECYCLE, INTERACTION_CYCLE
from ..pipelines import CASE_PIPELINE, CasePipeline
from ..policies import (
    Agent,
    Condition,
    EscalationRule,
    SlaPolicies,
    SlaPolicy,
    SurveyPolicy,
)
from ..service_levels import ServiceTarget, TargetStatus

if TYPE_CHECKING:
    from ..analytics import Forecast

__all__ = [
    "agents",
    "attribute_values",
    "attributes",
    "aware_datetimes",
    "calendars",
    "case_links",
    "case_pipelines",
    "cases",
    "conditions",
    "customer_records",
    "customers",
    "durations",
    "escalation_rules",
    "expectation_bands",
    "expectations",
    "feedback",
    "forecasts",
    "ids",
    "interactions",
    "lifecycle_states",
    "lifecycles",
    "metrics",
    "priorities",
    "score_scales",
    "service_targets",
    "sla_policies",
    "sla_policy_sets",
    "survey_policies",
    "tags",
    "target_statuses",
    "texts",
    "timezones",
]

TIMEZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "America/New_York",
    "America/Sao_Paulo",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
)
"""Zones with whole, half and quarter-hour offsets and odd DST rules."""


@functools.cache
def timezones() -> st.SearchStrategy[str]:
    """IANA zone names, including awkward ones (half-hour DST, +12:45)."""
    return st.sampled_from(TIMEZONES)


@functools.cache
def aware_datetimes(
    min_value: dt.datetime = dt.datetime(1990, 1, 1),
    max_value: dt.datetime = dt.datetime(2090, 1, 1),
) -> st.SearchStrategy[pendulum.DateTime]:
    """Timezone-aware ``pendulum.DateTime`` values in assorted zones."""
    return st.builds(
        lambda naive, zone: pendulum.instance(naive, tz="UTC").in_timezone(zone),
        st.datetimes(min_value=min_value, max_value=max_value),
        timezones(),
    )


@functools.cache
def durations(
    max_value: dt.timedelta = dt.timedelta(days=400),
) -> st.SearchStrategy[pendulum.Duration]:
    """Non-negative exact durations (microsecond resolution)."""
    return st.timedeltas(min_value=dt.timedelta(0), max_value=max_value).map(
        lambda d: pendulum.duration(days=d.days, seconds=d.seconds, microseconds=d.microseconds)
    )


@functools.cache
def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Non-blank text, including quotes, emoji and right-to-left marks."""
    return st.text(min_size=1, max_size=max_size).filter(lambda s: s.strip() != "")


@functools.cache
def metrics() -> st.SearchStrategy[Metric | str]:
    """Metric members and free-form metric names."""
    return st.one_of(
        st.sampled_from(Metric),
        st.sampled_from(["handoffs", "rating", "wait_minutes", "callbacks"]),
    )


@st.composite
def score_scales(draw: st.DrawFn) -> ScoreScale:
    """Built-in and random valid score scales."""
    builtin = st.sampled_from([SATISFACTION_10, CSAT_5, NPS_SCALE, CES_7, BINARY])
    if draw(st.booleans()):
        return draw(builtin)
    low = draw(st.integers(-5, 5))
    high = draw(st.integers(low + 1, low + 20))
    adequate = draw(st.integers(low, high))
    desired = draw(st.integers(adequate, high))
    name = draw(st.none() | st.sampled_from(["stars", "effort", "thumbs"]))
    return ScoreScale(low, high, adequate=adequate, desired=desired, name=name)


@st.composite
def expectation_bands(draw: st.DrawFn, *, kind: str | None = None) -> ExpectationBand:
    """Valid bands on numbers or durations, lower- or higher-is-better.

    Args:
        kind: ``"number"`` or ``"duration"`` to fix the kind of level.
    """
    kind = kind or draw(st.sampled_from(["number", "duration"]))
    better: Literal["lower", "higher"] = draw(st.sampled_from(["lower", "higher"]))
    levels: st.SearchStrategy[Any]
    if kind == "duration":
        levels = durations()
    else:
        levels = st.integers(-1000, 1000) | st.floats(-1e6, 1e6, allow_nan=False)
    a, b = draw(levels), draw(levels)
    lo, hi = min(a, b), max(a, b)
    adequate, desired = (hi, lo) if better == "lower" else (lo, hi)
    return ExpectationBand(
        draw(st.sampled_from(Factor)),
        draw(metrics()),
        adequate=adequate,
        desired=desired,
        better=better,
    )


@st.composite
def expectations(draw: st.DrawFn) -> Expectations:
    """Defaults and per-segment overrides, one band per ``(factor, metric)``."""

    def unique(bands: list[ExpectationBand]) -> list[ExpectationBand]:
        return list({b.key: b for b in bands}.values())

    defaults = unique(draw(st.lists(expectation_bands(), max_size=5)))
    segments = draw(
        st.dictionaries(
            st.sampled_from(["vip", "smb", "enterprise"]),
            st.lists(expectation_bands(), max_size=3).map(unique),
            max_size=2,
        )
    )
    return Expectations(defaults=defaults, segments=segments)


@st.composite
def feedback(draw: st.DrawFn, *, scale: ScoreScale | None = None) -> Feedback:
    """Feedback with a valid score and per-factor ratings on its scale."""
    scale = scale or draw(score_scales())
    scores = st.integers(scale.low, scale.high)
    return Feedback(
        draw(scores),
        scale,
        at=draw(aware_datetimes()),
        comment=draw(st.none() | texts(80)),
        ratings=draw(st.dictionaries(st.sampled_from(Factor), scores, max_size=7)),
    )


@functools.cache
def priorities() -> st.SearchStrategy[Priority]:
    """Every :class:`~custservice.Priority`."""
    return st.sampled_from(Priority)


@functools.cache
def tags(max_size: int = 4) -> st.SearchStrategy[frozenset[str]]:
    """Sets of tags: common words and arbitrary non-blank text."""
    return st.frozensets(
        st.sampled_from(["vip", "refund", "eu", "bug"]) | texts(20), max_size=max_size
    )


@functools.cache
def attribute_values() -> st.SearchStrategy[AttributeValue]:
    """Every kind of value a custom attribute holds: text (including text that looks
    like a date), 64-bit whole numbers, finite floats, booleans, dates, aware
    datetimes and ``None``."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.sampled_from(["2026-03-01", "2026-03-01T09:00:00+00:00[UTC]", "", "null"]),
        st.dates().map(lambda d: pendulum.Date(d.year, d.month, d.day)),
        aware_datetimes(),
    )


_ATTRIBUTE_NAMES = st.sampled_from(["order", "sku", "due", "region"]) | st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True
)


@functools.cache
def attributes(max_size: int = 4) -> st.SearchStrategy[dict[str, AttributeValue]]:
    """Custom attributes: identifier names mapped to :func:`attribute_values`."""
    return st.dictionaries(_ATTRIBUTE_NAMES, attribute_values(), max_size=max_size)


@functools.cache
def ids() -> st.SearchStrategy[uuid.UUID]:
    """Time-ordered record ids (UUID version 7), as the library makes them."""
    return st.builds(
        lambda at, seed: new_id(at, random.Random(seed)), aware_datetimes(), st.integers(0, 2**32)
    )


_STEP = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=30))


def _walk(draw: st.DrawFn, record: Any, lifecycle: Lifecycle, at: pendulum.DateTime) -> Any:
    """Fire a random sequence of allowed events on a record, moving time forward."""
    for _ in range(draw(st.integers(0, 8))):
        allowed = sorted(lifecycle.allowed(record.lifecycle))
        if not allowed:
            break
        at = at + draw(_STEP)
        record = record.advance(draw(st.sampled_from(allowed)), at=at)
    return record


# Built once: Hypothesis validates a strategy the first time it draws from it, so
# strategies rebuilt inside a composite on every draw cost far more than drawing.
_EMAILS = st.none() | st.emails().filter(lambda e: len(e) <= 320)
_PHONES = st.none() | st.from_regex(r"\+?[0-9]{6,14}", fullmatch=True)
_BIRTHDAYS = st.none() | st.dates(dt.date(1920, 1, 1), dt.date(2020, 12, 31))
_SEGMENTS = st.none() | st.sampled_from(["vip", "smb", "enterprise"])
_WORDS = st.frozensets(texts(15), max_size=3)
_CHANNELS = st.sampled_from(Channel)
_AGENTS = st.none() | st.sampled_from(["ana", "bo", "chidi"])
_HANDOFF_TO = st.sampled_from(["desk 2", "billing", "dana"])
_AREAS = st.sampled_from(ServiceArea)
_TEAMS = st.none() | st.sampled_from(["billing", "returns", "tier 2"])
_ASSIGNEES = st.none() | st.sampled_from(["ana", "bo", "chidi", "dana"])
_REASONS = st.none() | st.sampled_from(["escalated", "shift change", "customer asked"])
# Merging ends a walk more often than not: drawn less often than the other moves.
_CASE_MOVES = [
    *["advance", "update", "assign", "reprioritize", "label"] * 3,
    "link",
    "link",
    "merge",
]


@st.composite
def customers(draw: st.DrawFn) -> Customer:
    """Customers with random profiles, moved along the customer lifecycle."""
    at = draw(aware_datetimes())
    customer = Customer.new(
        draw(texts()),
        clock=FixedClock(at),
        id=draw(ids()),
        email=draw(_EMAILS),
        phone=draw(_PHONES),
        birthday=draw(_BIRTHDAYS),
        timezone=draw(st.none() | timezones()),
        segment=draw(_SEGMENTS),
        likes=draw(_WORDS),
        dislikes=draw(_WORDS),
        hobbies=draw(_WORDS),
        preferred_channel=draw(st.none() | _CHANNELS),
        expectations=draw(st.lists(expectation_bands(), max_size=3, unique_by=lambda b: b.key)),
    )
    return _walk(draw, customer, CUSTOMER_LIFECYCLE, at)  # type: ignore[no-any-return]


@st.composite
def interactions(draw: st.DrawFn, *, customer_id: uuid.UUID | None = None) -> Interaction:
    """Interactions part-way or all the way through the cycle, with handoffs and feedback."""
    at = draw(aware_datetimes())
    clock = FixedClock(at)
    interaction = Interaction.open(
        customer_id or draw(ids()),
        draw(_CHANNELS),
        clock=clock,
        id=draw(ids()),
        topic=draw(st.none() | texts()),
        case_id=draw(st.none() | ids()),
        agent=draw(_AGENTS),
        team=draw(_TEAMS),
        tags=draw(tags()),
        attributes=draw(attributes()),
    )
    opening: list[tuple[str, ...]] = [(), ("receive",), ("receive", "understand", "help")]
    for event in draw(st.sampled_from(opening)):
        interaction = interaction.advance(event, at=clock.advance(draw(_STEP)))
    for _ in range(draw(st.integers(0, 2))):
        if interaction.stage is not InteractionStage.CLOSED:
            interaction = interaction.handoff(
                draw(_HANDOFF_TO),
                at=clock.advance(draw(_STEP)),
                reason=draw(st.none() | texts()),
            )
    if interaction.stage is InteractionStage.HELPING and draw(st.booleans()):
        interaction = interaction.resolve(at=clock.advance(draw(_STEP)))
    if draw(st.booleans()):
        scale = draw(score_scales())
        fb = draw(feedback(scale=scale))
        interaction = interaction.record_feedback(
            Feedback(
                fb.score,
                scale,
                at=clock.advance(draw(_STEP)),
                comment=fb.comment,
                ratings=fb.ratings,
            )
        )
    if draw(st.booleans()):
        interaction = interaction.tag_root_cause(draw(_AREAS))
    return _walk(draw, interaction, INTERACTION_CYCLE, clock.now())  # type: ignore[no-any-return]


class Repair(enum.Enum):
    """The states of :data:`REPAIRS_PIPELINE`: a plain enum, stored by member name."""

    BOOKED = 1
    DIAGNOSING = 2
    WAITING_ON_CUSTOMER = 3
    WITH_SUPPLIER = 4
    FIXED = 5
    RETURNED = 6


_R = Repair
REPAIRS_PIPELINE = CasePipeline(
    Lifecycle(
        "repairs",
        initial=_R.BOOKED,
        transitions=[
            Transition("diagnose", _R.BOOKED, _R.DIAGNOSING),
            Transition("ask_customer", _R.DIAGNOSING, _R.WAITING_ON_CUSTOMER),
            Transition("send_to_supplier", _R.DIAGNOSING, _R.WITH_SUPPLIER),
            Transition("resume", [_R.WAITING_ON_CUSTOMER, _R.WITH_SUPPLIER], _R.DIAGNOSING),
            Transition("fix", [_R.DIAGNOSING, _R.WITH_SUPPLIER], _R.FIXED),
            Transition("reopen", _R.FIXED, _R.DIAGNOSING),
            Transition("return", _R.FIXED, _R.RETURNED),
        ],
        final=[_R.RETURNED],
    ),
    {
        _R.BOOKED: CaseStatus.NEW,
        _R.DIAGNOSING: CaseStatus.OPEN,
        _R.WAITING_ON_CUSTOMER: CaseStatus.PENDING,
        _R.WITH_SUPPLIER: CaseStatus.ON_HOLD,
        _R.FIXED: CaseStatus.SOLVED,
        _R.RETURNED: CaseStatus.CLOSED,
    },
)
"""A pipeline of a repair desk, whose states are members of a plain enum."""

TRIAGE_PIPELINE = CasePipeline(
    Lifecycle(
        "triage",
        initial="triage",
        transitions=[
            Transition("accept", "triage", "working"),
            Transition("wait", "working", "waiting"),
            Transition("continue", "waiting", "working"),
            Transition("done", ["triage", "working", "waiting"], "done"),
            Transition("again", "done", "working"),
        ],
    ),
    {"triage": "open", "working": "open", "waiting": "pending", "done": "solved"},
)
"""A pipeline whose states are text, several states under one status, and none final."""

PIPELINES = (CASE_PIPELINE, REPAIRS_PIPELINE, TRIAGE_PIPELINE)
"""The pipelines :func:`case_pipelines` draws from: built once, so stored cases read back."""


@functools.cache
def case_pipelines() -> st.SearchStrategy[CasePipeline]:
    """Case pipelines: the built-in one and the examples in :data:`PIPELINES`."""
    return st.sampled_from(PIPELINES)


@functools.cache
def case_links() -> st.SearchStrategy[CaseLink]:
    """Links to other cases, of every kind."""
    return st.builds(CaseLink, ids(), st.sampled_from(LinkKind))


@st.composite
def cases(draw: st.DrawFn, *, customer_id: uuid.UUID | None = None) -> Case:
    """Cases moved through their pipeline (the built-in one or an example of
    :data:`PIPELINES`), with agent and customer updates, assignments, priority
    changes, tags and custom attributes, links, and merges into other cases (some
    undone)."""
    at = draw(aware_datetimes())
    clock = FixedClock(at)
    pipeline = draw(case_pipelines())
    case = Case.open(
        customer_id or draw(ids()),
        draw(texts()),
        clock=clock,
        id=draw(ids()),
        promised_by=draw(st.none() | st.just(at + dt.timedelta(days=3))),
        channel=draw(st.none() | _CHANNELS),
        priority=draw(priorities()),
        team=draw(_TEAMS),
        tags=draw(tags()),
        attributes=draw(attributes()),
        pipeline=pipeline,
    )
    for _ in range(draw(st.integers(0, 10))):
        if case.merged_into is not None:
            if not draw(st.booleans()):
                break
            case = case.unmerge(at=clock.advance(draw(_STEP)), reason=draw(_REASONS))
            continue
        if case.status is CaseStatus.CLOSED:
            break
        clock.advance(draw(_STEP))
        allowed = sorted(pipeline.lifecycle.allowed(case.lifecycle), key=str)
        move = draw(st.sampled_from(_CASE_MOVES))
        if move == "link":
            link = draw(case_links())
            if link.case_id != case.id:
                case = case.link(link.case_id, link.kind)
        elif move == "merge":
            target = draw(ids())
            if target != case.id:
                case = case.merge_into(target, at=clock.now(), reason=draw(_REASONS))
        elif allowed and move == "advance":
            case = case.advance(draw(st.sampled_from(allowed)), at=clock.now())
        elif move == "assign":
            case = case.assign(
                draw(_ASSIGNEES), at=clock.now(), team=draw(_TEAMS), reason=draw(_REASONS)
            )
        elif move == "reprioritize":
            case = case.reprioritize(draw(priorities()), at=clock.now(), reason=draw(_REASONS))
        elif move == "label":
            case = case.tag(*draw(tags(2))).with_attributes(**draw(attributes(2)))
        else:
            case = case.record_update(at=clock.now(), from_customer=draw(st.booleans()))
    return case


def _quarter(n: int) -> dt.time:
    # The n-th quarter hour of a day; 96 wraps to time(0), which ends a day.
    return dt.time(n // 4 % 24, n % 4 * 15)


_INTERVALS = (15, 30, 60, 120, 24 * 60)  # minutes that divide a day


@st.composite
def forecasts(draw: st.DrawFn, *, max_per_interval: float = 2_000.0) -> Forecast:
    """Forecasts of arrivals (:class:`~custservice.analytics.Forecast`): an interval that
    divides a day, a zone, and a mean count for every interval of the week, many of them
    zero (nights and closed days)."""
    from ..analytics import Forecast as Drawn  # loaded only by those who draw one

    minutes = draw(st.sampled_from(_INTERVALS))
    size = 7 * (24 * 60 // minutes)
    counts = st.just(0.0) | st.floats(0.0, max_per_interval, allow_subnormal=False)
    expected = draw(st.lists(counts, min_size=size, max_size=size))
    observed = draw(st.lists(st.integers(0, 60), min_size=size, max_size=size))
    return Drawn(
        pendulum.duration(minutes=minutes),
        draw(timezones()),
        tuple(e if n else 0.0 for e, n in zip(expected, observed, strict=True)),
        tuple(observed),
    )


@st.composite
def calendars(
    draw: st.DrawFn,
    zones: st.SearchStrategy[str] | None = None,
    holidays_between: tuple[dt.date, dt.date] = (dt.date(2025, 12, 1), dt.date(2027, 1, 31)),
) -> BusinessCalendar:
    """Business calendars with random split shifts on quarter hours, holidays and zones.

    Args:
        zones: the zones to draw from; :data:`TIMEZONES` by default.
        holidays_between: the first and last day holidays are drawn from.
    """
    zone = draw(timezones() if zones is None else zones)
    hours = {}
    for day in range(7):
        cuts = sorted(draw(st.lists(st.integers(0, 96), unique=True, max_size=6)))
        pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
        if pairs:
            hours[day] = [(_quarter(a), _quarter(b)) for a, b in pairs]
    first, last = holidays_between
    holidays = draw(st.frozensets(st.dates(first, last), max_size=40))
    return BusinessCalendar(zone, hours, holidays)


def _with_metric(band: ExpectationBand, metric: Metric) -> ExpectationBand:
    return ExpectationBand(
        band.factor, metric, adequate=band.adequate, desired=band.desired, better=band.better
    )


@st.composite
def service_targets(
    draw: st.DrawFn,
    *,
    metric: Metric | None = None,
    calendar_strategy: st.SearchStrategy[BusinessCalendar] | None = None,
    max_within: dt.timedelta = dt.timedelta(days=10),
) -> ServiceTarget:
    """Service targets on every metric, on 24/7 or random calendars, with random pauses.

    Args:
        metric: fix the metric instead of drawing one.
        calendar_strategy: the calendars to draw from; ``ALWAYS`` or random ones by default.
        max_within: the largest promise drawn.
    """
    chosen: Metric = draw(st.sampled_from(Metric)) if metric is None else metric
    if calendar_strategy is None:
        calendar_strategy = st.just(ALWAYS) | calendars().filter(lambda c: any(c.hours))
    within = draw(st.timedeltas(min_value=dt.timedelta(seconds=1), max_value=max_within))
    band = draw(st.none() | expectation_bands(kind="duration"))
    budget = within // dt.timedelta(microseconds=1)
    warn = draw(st.none() | st.integers(1, budget - 1)) if budget > 1 else None
    return ServiceTarget(
        chosen,
        pendulum.duration(seconds=within.total_seconds()),
        warn_before=None if warn is None else pendulum.duration(microseconds=warn),
        calendar=draw(calendar_strategy),
        paused_in=draw(
            st.just(frozenset({CaseStatus.PENDING})) | st.frozensets(st.sampled_from(CaseStatus))
        ),
        band=None if band is None else _with_metric(band, chosen),
    )


@st.composite
def target_statuses(draw: st.DrawFn) -> TargetStatus:
    """Statuses of random targets evaluated on random cases at random instants."""
    case = draw(cases())
    target = draw(service_targets())
    return target.evaluate(case, at=case.opened_at + draw(durations(dt.timedelta(days=200))))


# --- policies ---------------------------------------------------------------------------

_EQUALITY = ("==", "!=", "in", "present")
_ORDERED = ("==", "!=", "in", "<", "<=", ">", ">=", "present")
_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-100, 100),
    st.floats(-100, 100, allow_nan=False),
    st.sampled_from(["a", "b", "2026-03-01"]),
    st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 31)).map(
        lambda d: pendulum.Date(d.year, d.month, d.day)
    ),
    aware_datetimes(dt.datetime(2026, 1, 1), dt.datetime(2027, 1, 1)),
)
_CONDITION_FIELDS: dict[str, tuple[tuple[str, ...], st.SearchStrategy[Any]]] = {
    "priority": (_ORDERED, st.sampled_from(Priority)),
    "channel": (_EQUALITY, _CHANNELS),
    "team": (_EQUALITY, st.sampled_from(["billing", "returns", "tier 2"])),
    "assignee": (_EQUALITY, st.sampled_from(["ana", "bo", "chidi", "dana"])),
    "tags": (("contains", "present"), st.sampled_from(["vip", "refund", "eu", "bug"])),
    "status": (_EQUALITY, st.sampled_from(CaseStatus)),
    "customer.segment": (_EQUALITY, st.sampled_from(["vip", "smb", "enterprise"])),
    "customer.stage": (_EQUALITY, st.sampled_from(CustomerStage)),
    "attributes.order": (_ORDERED, _SCALARS),
    "attributes.due": (_ORDERED, _SCALARS),
}


@st.composite
def _comparisons(draw: st.DrawFn) -> Condition:
    field = draw(st.sampled_from(sorted(_CONDITION_FIELDS)))
    ops, values = _CONDITION_FIELDS[field]
    op = draw(st.sampled_from(ops))
    if op == "present":
        return Condition.where(field, op)
    if op == "in":
        return Condition.where(field, op, draw(st.lists(values, max_size=3)))
    if op in ("<", "<=", ">", ">="):
        values = values.filter(lambda v: not isinstance(v, bool))
    return Condition.where(field, op, draw(values))


@functools.cache
def conditions(max_leaves: int = 6) -> st.SearchStrategy[Condition]:
    """Conditions on every field and operator, nested in all, any and not.

    The fields and values are drawn from those :func:`cases` and :func:`customers`
    give (``attributes.order`` and ``attributes.due`` stand for custom attributes), so
    drawn conditions match drawn cases often enough to be worth testing.

    Args:
        max_leaves: the most comparisons in one condition.
    """
    return st.recursive(
        _comparisons(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(lambda parts: Condition.all_of(*parts)),
            st.lists(inner, max_size=3).map(lambda parts: Condition.any_of(*parts)),
            inner.map(lambda part: ~part),
        ),
        max_leaves=max_leaves,
    )


_POLICY_NAMES = st.sampled_from(["Urgent", "High", "VIP", "Normal", "Low", "Catch-all"])


@st.composite
def sla_policies(
    draw: st.DrawFn,
    *,
    calendar_strategy: st.SearchStrategy[BusinessCalendar] | None = None,
    max_within: dt.timedelta = dt.timedelta(days=10),
) -> SlaPolicy:
    """SLA policies: a condition and targets on distinct metrics.

    Args:
        calendar_strategy: the targets' calendars, as :func:`service_targets` takes them.
        max_within: the largest promise drawn.
    """
    metrics_ = draw(st.lists(st.sampled_from(Metric), unique=True, max_size=4))
    targets = [
        draw(service_targets(metric=m, calendar_strategy=calendar_strategy, max_within=max_within))
        for m in metrics_
    ]
    return SlaPolicy(draw(_POLICY_NAMES), draw(conditions()), targets)


@st.composite
def sla_policy_sets(
    draw: st.DrawFn,
    *,
    policies: st.SearchStrategy[SlaPolicy] | None = None,
    max_size: int = 4,
) -> SlaPolicies:
    """Ordered sets of SLA policies with distinct names.

    Args:
        policies: the policies to draw from; :func:`sla_policies` by default.
        max_size: the most policies in a set.
    """
    chosen = draw(
        st.lists(
            sla_policies() if policies is None else policies,
            max_size=max_size,
            unique_by=lambda p: p.name,
        )
    )
    return SlaPolicies(chosen)


_SKILLS = st.frozensets(st.sampled_from(["refunds", "french", "hardware", "billing"]), max_size=3)


@st.composite
def agents(
    draw: st.DrawFn,
    *,
    ids: st.SearchStrategy[str] | None = None,
    calendar_strategy: st.SearchStrategy[BusinessCalendar] | None = None,
) -> Agent:
    """Agents in some of the teams :func:`cases` draws, with skills, a capacity of 0 to 3,
    and a calendar (24/7 or random).

    Args:
        ids: the ids to draw from; the assignees :func:`cases` draws by default.
        calendar_strategy: the calendars to draw from.
    """
    if calendar_strategy is None:
        calendar_strategy = st.just(ALWAYS) | calendars()
    return Agent(
        draw(st.sampled_from(["ana", "bo", "chidi", "dana"]) if ids is None else ids),
        teams=draw(st.frozensets(st.sampled_from(["billing", "returns", "tier 2"]))),
        skills=draw(_SKILLS),
        capacity=draw(st.integers(0, 3)),
        calendar=draw(calendar_strategy),
    )


@st.composite
def escalation_rules(
    draw: st.DrawFn,
    *,
    max_after: dt.timedelta = dt.timedelta(days=10),
    condition_strategy: st.SearchStrategy[Condition] | None = None,
) -> EscalationRule:
    """Escalation rules: a condition, a time limit or a breached metric (or both, or
    neither), an action and a level from 1 to 3.

    Args:
        max_after: the longest ``after`` drawn.
        condition_strategy: the conditions to draw from; every case, or
            :func:`conditions`, by default.
    """
    if condition_strategy is None:
        condition_strategy = st.just(Condition.all_of()) | conditions(max_leaves=3)
    after = draw(st.none() | st.timedeltas(dt.timedelta(seconds=1), max_after))
    return EscalationRule(
        draw(condition_strategy),
        after=None if after is None else pendulum.duration(seconds=after.total_seconds()),
        on_breach=draw(st.none() | st.sampled_from(Metric)),
        action=draw(st.sampled_from(EscalationAction)),
        level=draw(st.integers(1, 3)),
    )


_SURVEY_TAGS = st.sampled_from(["auto-resolved", "opened-by-agent", "vip", "refund"])


@st.composite
def survey_policies(
    draw: st.DrawFn, *, max_delay: dt.timedelta = dt.timedelta(days=10)
) -> SurveyPolicy:
    """Survey policies: delays, intervals, reminders and expiries up to ``max_delay``
    (whole seconds), any sample rate, suppression by tag or channel, and a seed.

    Args:
        max_delay: the longest delay, interval, reminder or expiry drawn.
    """
    seconds = st.integers(0, int(max_delay.total_seconds()))
    remind = draw(st.none() | seconds.filter(bool))
    expire = draw(st.none() | seconds.filter(lambda n: n > (remind or 0)))
    skip = st.one_of(
        st.none(),
        _SURVEY_TAGS.map(lambda tag: Condition.where("tags", "contains", tag)),
        _CHANNELS.map(lambda channel: Condition.where("channel", "==", channel)),
    )
    return SurveyPolicy(
        delay=pendulum.duration(seconds=draw(seconds)),
        min_interval=pendulum.duration(seconds=draw(seconds)),
        sample_rate=draw(st.sampled_from([0.0, 1.0]) | st.floats(0, 1)),
        skip_if=draw(skip),
        remind_after=None if remind is None else pendulum.duration(seconds=remind),
        expire_after=None if expire is None else pendulum.duration(seconds=expire),
        seed=draw(st.integers(0, 2**32)),
    )


@st.composite
def customer_records(
    draw: st.DrawFn,
    *,
    max_customers: int = 3,
    max_interactions: int = 4,
    max_cases: int = 2,
) -> tuple[list[Customer], list[Interaction], list[Case]]:
    """A few customers, each with up to ``max_interactions`` interactions and
    ``max_cases`` cases of their own; every id is unique, ready to store."""
    people = draw(st.lists(customers(), min_size=1, max_size=max_customers, unique_by=_id))
    seen = {c.id for c in people}
    calls: list[Interaction] = []
    tickets: list[Case] = []
    for person in people:
        for call in draw(st.lists(interactions(customer_id=person.id), max_size=max_interactions)):
            if call.id not in seen:  # ids drawn independently may collide: keep the first
                seen.add(call.id)
                calls.append(call)
        for ticket in draw(st.lists(cases(customer_id=person.id), max_size=max_cases)):
            if ticket.id not in seen:
                seen.add(ticket.id)
                tickets.append(ticket)
    return people, calls, tickets


def _id(record: Customer | Interaction | Case) -> uuid.UUID:
    return record.id


# --- lifecycles -----------------------------------------------------------------------

_EVENT_POOL = ("go", "back", "skip", "stop", "retry", "hold")
_STATE_NAMES = st.from_regex(r"[a-z][a-z_]{0,7}", fullmatch=True) | st.text(
    min_size=1, max_size=6
).filter(str.strip)


def even_history(state: LifecycleState, at: pendulum.DateTime) -> bool:
    """The guard :func:`lifecycles` puts on some transitions: the history's length is even."""
    return len(state.history) % 2 == 0


_ENUM_NUMBERS = itertools.count()
_MEMBER_NAMES = st.from_regex(r"[A-Z][A-Z0-9]{0,5}", fullmatch=True)


def _state_values(draw: st.DrawFn, names: list[str], kind: str) -> list[Any]:
    """The states for ``names``: the names themselves, or members of enums made for them."""
    if kind == "text":
        return names
    number = next(_ENUM_NUMBERS)  # a name of its own, so its members round-trip to it
    members = draw(st.lists(_MEMBER_NAMES, min_size=len(names), max_size=len(names), unique=True))
    # Values of assorted kinds (JSON cannot hold a tuple); never two alike, which would alias.
    values = [draw(st.sampled_from([i, f"v{i}", (i, "x")])) for i in range(len(names))]
    plain = enum.Enum(  # type: ignore[misc]
        f"GeneratedStates{number}", list(zip(members, values, strict=True)), module=__name__
    )
    if kind == "enum":
        return list(plain)
    text = enum.StrEnum(  # type: ignore[misc]
        f"GeneratedTextStates{number}", list(zip(members, names, strict=True)), module=__name__
    )
    choices = [draw(st.sampled_from(["text", "enum", "str_enum"])) for _ in names]
    by_kind: dict[str, list[Any]] = {"text": names, "enum": list(plain), "str_enum": list(text)}
    return [by_kind[choice][i] for i, choice in enumerate(choices)]


@st.composite
def lifecycles(
    draw: st.DrawFn,
    *,
    max_states: int = 6,
    states: Literal["text", "enum", "any"] = "text",
) -> Lifecycle:
    """Valid lifecycle definitions: every state reachable, no ambiguous event, final
    states that are leaves, and some transitions guarded by :func:`even_history`.

    Args:
        max_states: the most states a lifecycle has.
        states: what the states are: ``"text"`` (strings), ``"enum"`` (members of a
            plain, not str-valued, ``Enum`` made for the lifecycle) or ``"any"`` (a
            mix of strings and members of plain and str-valued enums).
    """
    names = draw(st.lists(_STATE_NAMES, min_size=1, max_size=max_states, unique=True))
    values = _state_values(draw, names, states)
    order = {value: i for i, value in enumerate(values)}  # states of mixed kinds do not sort
    edges: dict[tuple[Any, str], Any] = {}
    for i, child in enumerate(values[1:], start=1):  # a spanning tree: all reachable
        parent = values[draw(st.integers(0, i - 1))]
        free = [e for e in _EVENT_POOL if (parent, e) not in edges]
        edges[parent, draw(st.sampled_from(free))] = child
    extra = st.tuples(
        st.sampled_from(values), st.sampled_from(_EVENT_POOL), st.sampled_from(values)
    )
    for source, event, target in draw(st.lists(extra, max_size=10)):
        edges.setdefault((source, event), target)  # first come wins: never ambiguous
    leaves = [n for n in values[1:] if all(s != n for s, _ in edges)]
    final = draw(st.sets(st.sampled_from(leaves))) if leaves else set()
    edge_order = sorted(edges, key=lambda edge: (order[edge[0]], edge[1]))
    guarded = draw(st.sets(st.sampled_from(edge_order))) if edges else set()
    groups: dict[tuple[str, Any, bool], set[Any]] = {}
    for (source, event), target in edges.items():
        groups.setdefault((event, target, (source, event) in guarded), set()).add(source)
    transitions = [
        Transition(event, sources, target, guard=even_history if has_guard else None)
        for (event, target, has_guard), sources in groups.items()
    ]
    return Lifecycle(draw(_STATE_NAMES), values[0], draw(st.permutations(transitions)), final)


@st.composite
def lifecycle_states(
    draw: st.DrawFn, lifecycle: Lifecycle, *, max_changes: int = 12
) -> LifecycleState:
    """States of ``lifecycle`` reached by a random walk of allowed events at
    non-decreasing times (events a guard refuses are skipped)."""
    state = lifecycle.start(draw(aware_datetimes()))
    for _ in range(draw(st.integers(0, max_changes))):
        allowed = sorted(lifecycle.allowed(state))
        if not allowed:
            break
        try:
            state = lifecycle.fire(
                state, draw(st.sampled_from(allowed)), at=state.since + draw(_STEP)
            )
        except InvalidTransition:
            continue
    return state
