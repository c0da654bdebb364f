"""Scorecards: the service figures of many interactions and cases, in one streaming pass.

:func:`scorecard` reads interactions and cases once, in any order, from any
iterable (a list, a generator, a repository's ``all()``) or from a store,
and keeps only counters, a verdict count per factor, and one integer per
measured queue wait. It never holds the records themselves.

**What is counted.**

* *CSAT*: the percent of scores at or above their scale's ``adequate``
  level (as :func:`~custservice.csat` computes it), over every feedback whose
  scale is not :data:`~custservice.NPS_SCALE`, or only over ``csat_scales``
  when given (``csat_scales={CSAT_5}`` for the classic five-point survey).
* *NPS*: only feedback on :data:`~custservice.NPS_SCALE`, as
  :func:`~custservice.nps` computes it.
* *Verdicts*: every feedback's overall verdict, whatever its scale, and each
  factor's rating (``feedback.factor_verdicts``) per :class:`~custservice.Factor`.
* *First-contact resolution*: the percent of resolved interactions that
  were resolved without a handoff.
* *Queue wait*: the exact median and 90th percentile of ``interaction.wait``
  over the interactions that were received. The median of an even number of
  waits is the mean of the two middle ones (to the nearest microsecond); the
  90th percentile is the nearest-rank one: the smallest wait that at least
  90% of waits do not exceed, so "90% of customers waited at most this long".
  Exactness costs memory: one 8-byte integer (microseconds) per measured
  wait, in an ``array``, sorted once at the end (about 8 MB per million).
* *Handoffs per interaction*: every handoff over every interaction.
* *Service-target attainment*: each target is evaluated on each case at
  ``at``; attainment is ``achieved / (achieved + breached)`` in percent.
  Cases still running (``active``, ``paused``) are counted apart, as are
  cases that owe nothing yet at ``at`` (``not_due``: opened after ``at``, or
  a ``NEXT_RESPONSE`` target with no customer message), so the five counts
  of a target always add up to the number of cases.
* *Merged cases* (``case.merged_into`` set) are left out of every count: a
  duplicate's work is counted once, under the case it was merged into.
  Cases of any :class:`~custservice.CasePipeline` are read by the
  :class:`~custservice.CaseStatus` each state stands for.

Percentages are in ``[0, 100]``, NPS in ``[-100, 100]``; a figure with no
data is ``None``, never NaN.

**Grouping.** ``by`` splits the figures by channel, agent, root cause
(:class:`~custservice.ServiceArea`), customer segment, or the day, ISO week
or month the record was opened in a given time zone. Every group is a whole
:class:`Scorecard`; the outer one holds the totals, so the groups' counts
add up to it. A record with no value for the key (no agent, no root cause,
no segment; and every case when grouping by channel or agent, which cases
do not have) falls in the group :data:`NO_GROUP`.

**Push-down.** Given a store, :func:`scorecard` first tries to compute the
answer in its database. A store of the shared SQL core (SQLite, PostgreSQL,
MySQL/MariaDB: it offers ``sql_snapshot()``) has it computed in SQL over its
typed columns, by ``custservice.analytics._scorecard_sql``; any other backend
may offer ``scorecard_pushdown(query: ScorecardQuery) -> Scorecard | None``
(:class:`ScorecardPushdown`). Either gives ``None`` for a query it cannot
answer exactly, and the scorecard is then streamed from
``store.interactions.all()`` and ``store.cases.all()`` as for any iterable.
The figures are exactly those streaming gives: the database returns whole
counts and the ranked waits, and the percentages are computed here, by the
code that finishes a streamed one.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from array import array
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Protocol, runtime_checkable

import attrs
import pendulum

from .._mapping import freeze, own
from .._time import aware, micros
from .._time import timezone as _check_timezone
from .._validation import member
from ..cases import Case
from ..customers import Customer
from ..enums import Factor, Metric, TargetState
from ..errors import NotFound, ValidationError
from ..expectations import NPS_SCALE, ScoreScale
from ..interactions import Interaction
from ..service_levels import CaseFacts, ServiceTarget, outcomes
from ..storage.protocols import Store
from ._on_async import accepts_async_store
from .verdicts import VerdictCounts

__all__ = [
    "NO_GROUP",
    "GroupBy",
    "Scorecard",
    "ScorecardPushdown",
    "ScorecardQuery",
    "TargetAttainment",
    "scorecard",
]

NO_GROUP = "(none)"
"""The group of records with no value for the grouping key."""

_US = dt.timedelta(microseconds=1)
_us = dt.timedelta.__floordiv__  # exact, whatever pendulum.Duration does with its fields


class GroupBy(enum.StrEnum):
    """What a scorecard can be grouped by."""

    CHANNEL = "channel"
    """The interaction's :class:`~custservice.Channel` (cases fall in :data:`NO_GROUP`)."""
    AGENT = "agent"
    """The agent handling the interaction (cases fall in :data:`NO_GROUP`)."""
    ROOT_CAUSE = "root_cause"
    """The :class:`~custservice.ServiceArea` a failure was traced to."""
    SEGMENT = "segment"
    """The customer's segment; needs a customer lookup."""
    DAY = "day"
    """The day opened, ``"2026-03-02"``, in the scorecard's time zone."""
    WEEK = "week"
    """The ISO week opened, ``"2026-W10"``, in the scorecard's time zone."""
    MONTH = "month"
    """The month opened, ``"2026-03"``, in the scorecard's time zone."""


@attrs.frozen
class TargetAttainment:
    """How one service target fared over the cases of a scorecard.

    Attributes:
        metric: what the target measures.
        achieved: cases where nothing more is owed and the target never breached.
        breached: cases where the target breached (it stays breached).
        active: cases whose clock is running, not yet breached.
        paused: cases whose clock is stopped (waiting on the customer).
        not_due: cases that owe nothing at the instant evaluated: opened
            after it, or with no cycle started.
        attainment: ``achieved / (achieved + breached)`` in percent; ``None``
            when neither happened.
        verdicts: the verdicts of the target's expectation band on the cases
            whose current cycle ended or breached (empty without a band).
    """

    metric: Metric
    achieved: int
    breached: int
    active: int
    paused: int
    not_due: int
    attainment: float | None
    verdicts: VerdictCounts

    @property
    def cases(self) -> int:
        """Every case counted: the five states add up to it."""
        return self.achieved + self.breached + self.active + self.paused + self.not_due


@attrs.frozen
class Scorecard:
    """Service figures over a set of interactions and cases.

    Attributes:
        interactions: how many interactions were read.
        cases: how many cases were read.
        resolved: interactions whose need was met.
        first_contact_resolved: resolved interactions never handed off.
        first_contact_resolution: ``first_contact_resolved / resolved`` in percent.
        with_feedback: interactions with feedback.
        csat_responses: feedback counted for CSAT.
        csat: percent of those at or above their scale's ``adequate`` level.
        nps_responses: feedback on :data:`~custservice.NPS_SCALE`.
        nps: the Net Promoter Score of those, in ``[-100, 100]``.
        verdicts: the overall verdict of every feedback.
        factor_verdicts: per factor, the verdicts of its ratings.
        waits: interactions with a measured queue wait (received ones).
        wait_median: the median queue wait.
        wait_p90: the nearest-rank 90th percentile of queue waits.
        handoffs: every handoff of every interaction.
        handoffs_per_interaction: ``handoffs / interactions``.
        targets: per target metric, its attainment over the cases.
        by: what the groups are keyed by; ``None`` when ungrouped.
        groups: one scorecard per group key, keys sorted; empty when ungrouped.

    Every percentage is in ``[0, 100]`` and ``None`` when there is nothing
    to take a percentage of. The mappings are read-only; a scorecard pickles
    and copies to an equal one (so a worker process can return it). See
    :func:`scorecard`.
    """

    interactions: int
    cases: int
    resolved: int
    first_contact_resolved: int
    first_contact_resolution: float | None
    with_feedback: int
    csat_responses: int
    csat: float | None
    nps_responses: int
    nps: float | None
    verdicts: VerdictCounts
    factor_verdicts: Mapping[Factor, VerdictCounts] = attrs.field(converter=freeze)
    waits: int
    wait_median: pendulum.Duration | None
    wait_p90: pendulum.Duration | None
    handoffs: int
    handoffs_per_interaction: float | None
    targets: Mapping[Metric, TargetAttainment] = attrs.field(converter=freeze)
    by: GroupBy | None = None
    groups: Mapping[str, Scorecard] = attrs.field(factory=dict, converter=freeze)


@attrs.frozen
class ScorecardQuery:
    """What :func:`scorecard` asks of a store that can compute it in its database.

    Attributes:
        by: the grouping, or ``None``.
        targets: the service targets to evaluate on every case.
        at: the instant they are evaluated at (``None`` when there are none).
        timezone: the time zone periods are cut in.
        csat_scales: the scales CSAT counts; ``None`` for every scale but NPS.
    """

    by: GroupBy | None
    targets: tuple[ServiceTarget, ...]
    at: pendulum.DateTime | None
    timezone: str
    csat_scales: frozenset[ScoreScale] | None


@runtime_checkable
class ScorecardPushdown(Protocol):
    """A store that can compute a scorecard itself (for instance in SQL)."""

    def scorecard_pushdown(self, query: ScorecardQuery) -> Scorecard | None:
        """The scorecard of everything stored, or ``None`` to let it be streamed.

        It must give the same figures as streaming would.
        """
        ...


CustomerLookup = Mapping[uuid.UUID, str | Customer | None] | Iterable[Customer] | Store
"""Where a customer's segment is found: a mapping of customer id to segment (or to
the :class:`~custservice.Customer`), the customers themselves, or a store."""


# --- the streaming tally --------------------------------------------------------

# Per target: achieved, breached, active, paused, not_due, then band verdicts by rank.
_STATE_SLOT = {
    TargetState.ACHIEVED: 0,
    TargetState.BREACHED: 1,
    TargetState.ACTIVE: 2,
    TargetState.PAUSED: 3,
}


class _Tally:
    """Counters for one group, updated record by record."""

    __slots__ = (
        "cases",
        "csat_n",
        "csat_ok",
        "detractors",
        "factors",
        "fcr",
        "feedback",
        "handoffs",
        "interactions",
        "nps_n",
        "promoters",
        "resolved",
        "targets",
        "verdicts",
        "waits",
    )

    def __init__(self, n_targets: int) -> None:
        self.interactions = self.cases = self.resolved = self.fcr = self.handoffs = 0
        self.feedback = self.csat_n = self.csat_ok = self.nps_n = 0
        self.promoters = self.detractors = 0
        self.verdicts = [0, 0, 0]
        self.factors: dict[Factor, list[int]] = {}
        self.waits = array("q")
        self.targets = [[0] * 8 for _ in range(n_targets)]

    def merge(self, other: _Tally) -> None:
        for name in (
            "interactions",
            "cases",
            "resolved",
            "fcr",
            "handoffs",
            "feedback",
            "csat_n",
            "csat_ok",
            "nps_n",
            "promoters",
            "detractors",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        _add_into(self.verdicts, other.verdicts)
        for factor, counts in other.factors.items():
            _add_into(self.factors.setdefault(factor, [0, 0, 0]), counts)
        self.waits.extend(other.waits)
        for mine, theirs in zip(self.targets, other.targets, strict=True):
            _add_into(mine, theirs)


def _add_into(into: list[int], other: list[int]) -> None:
    for k, n in enumerate(other):
        into[k] += n


class _ScaleKinds:
    """For each scale met, whether it counts for NPS and for CSAT (cached by identity).

    The cache holds the scales it has seen, so an id is never reused while
    it is cached; it is emptied if many distinct scale objects stream by.
    """

    __slots__ = ("_cache", "_csat")

    def __init__(self, csat_scales: frozenset[ScoreScale] | None) -> None:
        self._csat = csat_scales
        self._cache: dict[int, tuple[ScoreScale, bool, bool]] = {}

    def __call__(self, scale: ScoreScale) -> tuple[ScoreScale, bool, bool]:
        found = self._cache.get(id(scale))
        if found is None:
            is_nps = scale == NPS_SCALE
            is_csat = not is_nps if self._csat is None else scale in self._csat
            if len(self._cache) > 256:
                self._cache.clear()
            found = self._cache[id(scale)] = (scale, is_nps, is_csat)
        return found


def _add_interaction(t: _Tally, i: Interaction, kinds: _ScaleKinds) -> None:
    t.interactions += 1
    handoffs = len(i.handoffs)
    t.handoffs += handoffs
    if i.resolved_at is not None:
        t.resolved += 1
        if not handoffs:
            t.fcr += 1
    wait = i.wait
    if wait is not None:
        t.waits.append(_us(wait, _US))
    fb = i.feedback
    if fb is None:
        return
    t.feedback += 1
    scale = fb.scale
    _, is_nps, is_csat = kinds(scale)
    rank = scale.classify(fb.score).rank
    t.verdicts[rank] += 1
    if is_nps:
        t.nps_n += 1
        if rank == 2:
            t.promoters += 1
        elif rank == 0:
            t.detractors += 1
    if is_csat:
        t.csat_n += 1
        if fb.score >= scale.adequate:
            t.csat_ok += 1
    if fb.ratings:
        factors = t.factors
        for factor, score in fb.ratings.items():
            counts = factors.get(factor)
            if counts is None:
                counts = factors[factor] = [0, 0, 0]
            counts[scale.classify(score).rank] += 1


def _add_case(
    t: _Tally, case: Case, targets: tuple[ServiceTarget, ...], at: pendulum.DateTime | None
) -> None:
    t.cases += 1
    if targets:
        assert at is not None
        _add_attainment(t, CaseFacts.of(case, micros(at)), targets)


def _add_attainment(t: _Tally, facts: CaseFacts, targets: tuple[ServiceTarget, ...]) -> None:
    """Count where each target stands on the case of ``facts`` (not the case itself)."""
    if facts.opened > facts.at:
        for row in t.targets:
            row[4] += 1
        return
    for row, outcome in zip(t.targets, outcomes(targets, facts), strict=True):
        if outcome.state is TargetState.ACHIEVED and outcome.start is None:
            row[4] += 1
        else:
            row[_STATE_SLOT[outcome.state]] += 1
        if outcome.verdict is not None:
            row[5 + outcome.verdict.rank] += 1


# --- turning a tally into a scorecard ------------------------------------------


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else 100.0 * part / whole


WaitFigures = tuple[int, pendulum.Duration | None, pendulum.Duration | None]
"""How many waits were measured, their median and their nearest-rank 90th percentile."""


def _wait_ranks(n: int) -> tuple[int, int, int]:
    """Where the figures of ``n`` sorted waits are, counted from 1: the lower and upper
    middle waits (the same one when ``n`` is odd) and the nearest-rank 90th percentile,
    ``ceil(0.9 n)``. A push-down selects the waits at these ranks."""
    half = n // 2
    return (half if n % 2 == 0 else half + 1), half + 1, -(-9 * n // 10)


def _wait_figures(n: int, at_rank: Callable[[int], int]) -> WaitFigures:
    """The figures of ``n`` waits, given the wait (in microseconds) at each rank of
    :func:`_wait_ranks`: the median of an even number is the mean of the middle two,
    rounded to the microsecond."""
    if n == 0:
        return 0, None, None
    lower, upper, p90 = _wait_ranks(n)
    low, high = at_rank(lower), at_rank(upper)
    median = high if lower == upper else round((low + high) / 2)
    return (
        n,
        pendulum.duration(microseconds=median),
        pendulum.duration(microseconds=at_rank(p90)),
    )


def _waits(waits: array[int]) -> tuple[pendulum.Duration | None, pendulum.Duration | None]:
    ordered = sorted(waits)
    _, median, p90 = _wait_figures(len(ordered), lambda rank: ordered[rank - 1])
    return median, p90


def _card(
    t: _Tally,
    targets: tuple[ServiceTarget, ...],
    by: GroupBy | None = None,
    groups: Mapping[str, Scorecard] | None = None,
    waits: WaitFigures | None = None,
) -> Scorecard:
    """The scorecard of one tally; ``waits`` replaces the figures of ``t.waits`` when a
    push-down computed them without collecting the waits."""
    if waits is None:
        waits = (len(t.waits), *_waits(t.waits))
    n_waits, median, p90 = waits
    nps = None
    if t.nps_n:
        nps = 100.0 * t.promoters / t.nps_n - 100.0 * t.detractors / t.nps_n
    attainment = {}
    for target, row in zip(targets, t.targets, strict=True):
        attainment[target.metric] = TargetAttainment(
            target.metric,
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            attainment=_percent(row[0], row[0] + row[1]),
            verdicts=VerdictCounts(*row[5:]),
        )
    return Scorecard(
        interactions=t.interactions,
        cases=t.cases,
        resolved=t.resolved,
        first_contact_resolved=t.fcr,
        first_contact_resolution=_percent(t.fcr, t.resolved),
        with_feedback=t.feedback,
        csat_responses=t.csat_n,
        csat=_percent(t.csat_ok, t.csat_n),
        nps_responses=t.nps_n,
        nps=nps,
        verdicts=VerdictCounts(*t.verdicts),
        factor_verdicts=own({f: VerdictCounts(*t.factors[f]) for f in Factor if f in t.factors}),
        waits=n_waits,
        wait_median=median,
        wait_p90=p90,
        handoffs=t.handoffs,
        handoffs_per_interaction=None if not t.interactions else t.handoffs / t.interactions,
        targets=own(attainment),
        by=by,
        groups=own(dict(groups or {})),
    )


# --- group keys -----------------------------------------------------------------

_Key = Callable[[Interaction | Case], str]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_since_epoch = dt.datetime.__sub__


def _period_key(by: GroupBy, zone: str) -> _Key:
    tz = pendulum.timezone(zone)

    def key(record: Interaction | Case) -> str:
        # Converted as a plain datetime: the zone's ``fromutc`` adds the offset with
        # ``+``, which pendulum.DateTime does in wall-clock time, so converting one
        # directly lands an hour off in the hours before a daylight-saving change.
        local = (_EPOCH + _since_epoch(record.opened_at, _EPOCH)).astimezone(tz)
        if by is GroupBy.MONTH:
            return f"{local.year:04d}-{local.month:02d}"
        if by is GroupBy.WEEK:
            year, week, _ = local.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"

    return key


def _segment_lookup(customers: CustomerLookup) -> Callable[[uuid.UUID], str]:
    if isinstance(customers, Mapping):
        table: Mapping[uuid.UUID, str | Customer | None] = customers

        def from_mapping(customer_id: uuid.UUID) -> str:
            value = table.get(customer_id)
            if isinstance(value, Customer):
                value = value.segment
            return value or NO_GROUP

        return from_mapping
    if isinstance(customers, Store):
        repository = customers.customers
        cache: dict[uuid.UUID, str] = {}

        def from_store(customer_id: uuid.UUID) -> str:
            found = cache.get(customer_id)
            if found is None:
                try:
                    segment = repository.get(customer_id).segment
                except NotFound:
                    segment = None
                found = cache[customer_id] = segment or NO_GROUP
            return found

        return from_store
    segments: dict[uuid.UUID, str] = {}
    for customer in customers:
        if not isinstance(customer, Customer):
            raise ValidationError(
                "expected a mapping of customer id to segment, customers, or a store",
                field="customers",
            )
        segments[customer.id] = customer.segment or NO_GROUP
    return lambda customer_id: segments.get(customer_id, NO_GROUP)


def _keys(
    by: GroupBy, zone: str, customers: CustomerLookup | None
) -> tuple[Callable[[Interaction], str], Callable[[Case], str]]:
    if by is GroupBy.CHANNEL:
        return (lambda i: i.channel.value), (lambda c: NO_GROUP)
    if by is GroupBy.AGENT:
        return (lambda i: i.agent or NO_GROUP), (lambda c: NO_GROUP)
    if by is GroupBy.ROOT_CAUSE:

        def cause(r: Interaction | Case) -> str:
            return NO_GROUP if r.root_cause is None else r.root_cause.value

        return cause, cause
    if by is GroupBy.SEGMENT:
        if customers is None:
            raise ValidationError(
                "grouping by segment needs customers=: a mapping of customer id to "
                "segment, the customers, or a store",
                field="customers",
            )
        lookup = _segment_lookup(customers)

        def segment(r: Interaction | Case) -> str:
            return lookup(r.customer_id)

        return segment, segment
    period = _period_key(by, zone)
    return period, period


# --- the public function ----------------------------------------------------------


def _targets(value: object) -> tuple[ServiceTarget, ...]:
    if isinstance(value, ServiceTarget) or not isinstance(value, Iterable):
        raise ValidationError("expected a collection of ServiceTarget", field="targets")
    targets = tuple(value)
    seen = set()
    for target in targets:
        if not isinstance(target, ServiceTarget):
            raise ValidationError("expected a collection of ServiceTarget", field="targets")
        if target.metric in seen:
            raise ValidationError(
                f"two targets for {target.metric.value!r}; give one per metric", field="targets"
            )
        seen.add(target.metric)
    return targets


def _scales(value: Collection[ScoreScale] | None) -> frozenset[ScoreScale] | None:
    if value is None:
        return None
    if isinstance(value, ScoreScale) or not isinstance(value, Iterable):
        raise ValidationError("expected a collection of ScoreScale", field="csat_scales")
    scales = frozenset(value)
    if not all(isinstance(s, ScoreScale) for s in scales):
        raise ValidationError("expected a collection of ScoreScale", field="csat_scales")
    return scales


@accepts_async_store
def scorecard(
    interactions: Iterable[Interaction] | Store,
    cases: Iterable[Case] | None = None,
    *,
    by: GroupBy | str | None = None,
    targets: Iterable[ServiceTarget] = (),
    at: dt.datetime | None = None,
    customers: CustomerLookup | None = None,
    timezone: str = "UTC",
    csat_scales: Collection[ScoreScale] | None = None,
) -> Scorecard:
    """The service figures of interactions and cases, in one streaming pass.

    Args:
        interactions: any iterable of interactions (read once), or a store:
            then its interactions and cases are read, and it is the customer
            lookup unless ``customers`` is given.
        cases: any iterable of cases (read once); none by default, or the
            store's when ``interactions`` is a store.
        by: group the figures by a :class:`GroupBy` (or its name).
        targets: service targets to evaluate on every case, at most one per
            metric.
        at: the instant targets are evaluated at; required with ``targets``.
        customers: where segments are looked up, for ``by="segment"``: a
            mapping of customer id to segment (or to the customer), the
            customers, or a store. A missing customer or segment counts in
            :data:`NO_GROUP`.
        timezone: the IANA time zone days, weeks and months are cut in.
        csat_scales: the scales CSAT counts; every scale but
            :data:`~custservice.NPS_SCALE` by default.

    Returns:
        The :class:`Scorecard`; with ``by``, it holds the totals and one
        scorecard per group in ``groups``.

    Raises:
        ValidationError: an argument is invalid, ``targets`` are given
            without ``at``, or ``by="segment"`` has no customer lookup.

    Examples:
        >>> from custservice.analytics import scorecard
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
        >>> call = Interaction.open(Customer.new("Ada", clock=clock).id, "phone", clock=clock)
        >>> call = call.advance("receive", at=clock.advance(pendulum.duration(minutes=4)))
        >>> card = scorecard([call])
        >>> card.interactions, card.wait_median.in_minutes(), card.nps
        (1, 4, None)
    """
    query = checked_query(by, targets, at, timezone, csat_scales)
    if isinstance(interactions, Store):
        store = interactions
        if cases is None and customers is None:
            snapshot = getattr(store, "sql_snapshot", None)
            pushdown = getattr(store, "scorecard_pushdown", None)
            answer = None
            if callable(snapshot):
                # Imported here: it loads SQLAlchemy, which only SQL stores need.
                from ._scorecard_sql import sql_scorecard

                answer = sql_scorecard(snapshot, query)
            elif callable(pushdown):
                answer = pushdown(query)
            if answer is not None:
                return answer
        interactions = store.interactions.all()
        cases = store.cases.all() if cases is None else cases
        customers = store if customers is None else customers
    elif not isinstance(interactions, Iterable):
        raise ValidationError(
            "expected an iterable of Interaction, or a store", field="interactions"
        )
    return _stream(interactions, cases or (), query, customers)


def checked_query(
    by: GroupBy | str | None,
    targets: Iterable[ServiceTarget],
    at: dt.datetime | None,
    timezone: str,
    csat_scales: Collection[ScoreScale] | None,
) -> ScorecardQuery:
    """:func:`scorecard`'s arguments, checked, as the query a push-down answers.

    Raises:
        ValidationError: as :func:`scorecard` does.
    """
    group_by = None if by is None else member(GroupBy, by, "by")
    chosen = _targets(targets)
    when = None if at is None else aware(at, "at")
    if chosen and when is None:
        raise ValidationError("give at= to evaluate service targets", field="at")
    zone = _check_timezone(timezone, "timezone")
    return ScorecardQuery(group_by, chosen, when, zone, _scales(csat_scales))


def _stream(
    interactions: Iterable[Interaction],
    cases: Iterable[Case],
    query: ScorecardQuery,
    customers: CustomerLookup | None,
) -> Scorecard:
    by, targets, at = query.by, query.targets, query.at
    kinds = _ScaleKinds(query.csat_scales)
    n = len(targets)
    if by is None:
        tally = _Tally(n)
        for interaction in interactions:
            _check(interaction, Interaction, "interactions")
            _add_interaction(tally, interaction, kinds)
        for case in cases:
            _check(case, Case, "cases")
            if case.merges and case.merged_into is not None:
                continue  # counted once, under the case it is merged into
            _add_case(tally, case, targets, at)
        return _card(tally, targets)
    interaction_key, case_key = _keys(by, query.timezone, customers)
    tallies: dict[str, _Tally] = {}
    for interaction in interactions:
        _check(interaction, Interaction, "interactions")
        key = interaction_key(interaction)
        tally = tallies.get(key) or tallies.setdefault(key, _Tally(n))
        _add_interaction(tally, interaction, kinds)
    for case in cases:
        _check(case, Case, "cases")
        if case.merges and case.merged_into is not None:
            continue  # counted once, under the case it is merged into
        key = case_key(case)
        tally = tallies.get(key) or tallies.setdefault(key, _Tally(n))
        _add_case(tally, case, targets, at)
    return _grouped(tallies, targets, by)


def _grouped(
    tallies: Mapping[str, _Tally],
    targets: tuple[ServiceTarget, ...],
    by: GroupBy,
    waits: Mapping[str | None, WaitFigures] | None = None,
) -> Scorecard:
    """The grouped scorecard of one tally per group key: the groups, keys sorted, in
    the totals. A push-down gives the wait figures of each group, and of the totals
    under the key ``None``, in ``waits``."""
    total = _Tally(len(targets))
    groups = {}
    for key in sorted(tallies):
        total.merge(tallies[key])
        groups[key] = _card(
            tallies[key], targets, waits=None if waits is None else waits.get(key, (0, None, None))
        )
    return _card(
        total,
        targets,
        by,
        groups,
        waits=None if waits is None else waits.get(None, (0, None, None)),
    )


def _check(record: object, cls: type, field: str) -> None:
    if type(record) is not cls and not isinstance(record, cls):
        raise ValidationError(f"expected {cls.__name__}, got {type(record).__name__}", field=field)
