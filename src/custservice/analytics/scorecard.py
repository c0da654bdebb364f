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
* *Queue wait*: the :class:`~custservice.analytics.Distribution` of
  ``interaction.wait`` over the interactions that were received: the exact
  median, the nearest-rank 90th and 95th percentiles, and the counts per
  bucket (``buckets``, :data:`~custservice.analytics.DEFAULT_BOUNDS` by
  default). The median of an even number of waits is the mean of the two
  middle ones (to the nearest microsecond); the 90th percentile is the
  nearest-rank one: the smallest wait that at least 90% of waits do not
  exceed, so "90% of customers waited at most this long". ``wait_median``
  and ``wait_p90`` repeat two of them. Exactness costs memory: one 8-byte
  integer (microseconds) per measured wait, in an ``array``, sorted once at
  the end (about 8 MB per million).
* *First reply* and *resolution*: the distributions of each case's calendar
  time from its opening to its first public agent update, and to its
  resolution (the start of its latest stretch solved or closed, while it is
  solved or closed), over its whole history: the figures
  :func:`~custservice.analytics.case_metrics` gives, read by the same rule
  (``CaseFacts.first_reply`` and ``CaseFacts.finished_since``). A case with
  no reply yet, or not solved, is not counted in that distribution.
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
(:class:`~custservice.ServiceArea`), customer segment, the day, ISO week
or month the record was opened in a given time zone, priority, team,
assignee or tag. Every group is a whole :class:`Scorecard`; the outer one
holds the totals. A record with no value for the key (no agent, no root
cause, no segment, no team, no tag; every case when grouping by channel or
agent, which cases do not have; every interaction when grouping by
priority, which interactions do not have) falls in the group
:data:`NO_GROUP`. By tag, a record with several tags counts in the group of
each, so the groups' counts may add up to more than the totals, which count
every record once; by any other key, each record is in one group and the
groups add up to the totals.

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
from ..service_levels import (
    CaseFacts,
    ServiceTarget,
    outcomes,
    reply_and_resolution,
    whole_history,
)
from ..storage.protocols import Store
from ._on_async import accepts_async_store
from .distribution import DEFAULT_BOUNDS, Distribution, checked_bounds, of_micros
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
    PRIORITY = "priority"
    """The case's :class:`~custservice.Priority` (interactions fall in :data:`NO_GROUP`)."""
    TEAM = "team"
    """The team that holds the case or handles the interaction."""
    ASSIGNEE = "assignee"
    """Who holds the work: the case's assignee, the interaction's agent."""
    TAG = "tag"
    """Each of the record's tags: a record with several counts in each one's group."""


_NONE_MEASURED = Distribution()
"""The distribution of nothing: the default of a scorecard built without one."""


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
        wait_median: the median queue wait (``queue_wait.median``).
        wait_p90: the nearest-rank 90th percentile of queue waits (``queue_wait.p90``).
        handoffs: every handoff of every interaction.
        handoffs_per_interaction: ``handoffs / interactions``.
        targets: per target metric, its attainment over the cases.
        by: what the groups are keyed by; ``None`` when ungrouped.
        groups: one scorecard per group key, keys sorted; empty when ungrouped.
        queue_wait: the distribution of the interactions' queue waits.
        first_reply: the distribution of the cases' times to their first reply.
        resolution: the distribution of the solved (or closed) cases' times to
            their resolution.

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
    queue_wait: Distribution = _NONE_MEASURED
    first_reply: Distribution = _NONE_MEASURED
    resolution: Distribution = _NONE_MEASURED


@attrs.frozen
class ScorecardQuery:
    """What :func:`scorecard` asks of a store that can compute it in its database.

    Attributes:
        by: the grouping, or ``None``.
        targets: the service targets to evaluate on every case.
        at: the instant they are evaluated at (``None`` when there are none).
        timezone: the time zone periods are cut in.
        csat_scales: the scales CSAT counts; ``None`` for every scale but NPS.
        buckets: the bounds of the distributions' buckets.
    """

    by: GroupBy | None
    targets: tuple[ServiceTarget, ...]
    at: pendulum.DateTime | None
    timezone: str
    csat_scales: frozenset[ScoreScale] | None
    buckets: tuple[pendulum.Duration, ...] = DEFAULT_BOUNDS


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
        "replies",
        "resolutions",
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
        self.replies = array("q")
        self.resolutions = array("q")
        self.targets = [[0] * 8 for _ in range(n_targets)]

    def merge(self, other: _Tally) -> None:
        self.merge_interactions(other)
        self.cases += other.cases
        self.replies.extend(other.replies)
        self.resolutions.extend(other.resolutions)
        for mine, theirs in zip(self.targets, other.targets, strict=True):
            _add_into(mine, theirs)

    def merge_interactions(self, other: _Tally) -> None:
        """Add what ``other`` counted of interactions (nothing of cases)."""
        for name in (
            "interactions",
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


_CaseRead = tuple[CaseFacts | None, int | None, int | None]
"""What a scorecard reads of a case, once whatever the groups it counts in: its facts at
the instant targets are evaluated at (``None`` without targets), and its times to the
first reply and to the resolution (microseconds, ``None`` while there is none)."""


def _read_case(case: Case, targets: tuple[ServiceTarget, ...], at: int | None) -> _CaseRead:
    whole = whole_history(case)
    reply, resolution = reply_and_resolution(whole)
    return (None if at is None or not targets else whole.until(at)), reply, resolution


def _add_case(t: _Tally, read: _CaseRead, targets: tuple[ServiceTarget, ...]) -> None:
    t.cases += 1
    facts, reply, resolution = read
    if reply is not None:
        t.replies.append(reply)
    if resolution is not None:
        t.resolutions.append(resolution)
    if facts is not None:
        _add_attainment(t, facts, targets)


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


Measured = tuple[Distribution, Distribution, Distribution]
"""The distributions of a scorecard: queue waits, first replies, resolutions."""


def _measured(t: _Tally, bounds: tuple[pendulum.Duration, ...]) -> Measured:
    return (
        of_micros(t.waits, bounds),
        of_micros(t.replies, bounds),
        of_micros(t.resolutions, bounds),
    )


def _card(
    t: _Tally,
    query: ScorecardQuery,
    groups: Mapping[str, Scorecard] | None = None,
    measured: Measured | None = None,
) -> Scorecard:
    """The scorecard of one tally (grouped by ``query.by`` when given ``groups``);
    ``measured`` replaces the distributions of ``t``'s durations when a push-down computed
    them without collecting the durations."""
    targets = query.targets
    if measured is None:
        measured = _measured(t, query.buckets)
    queue_wait, first_reply, resolution = measured
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
        waits=queue_wait.count,
        wait_median=queue_wait.median,
        wait_p90=queue_wait.p90,
        handoffs=t.handoffs,
        handoffs_per_interaction=None if not t.interactions else t.handoffs / t.interactions,
        targets=own(attainment),
        by=None if groups is None else query.by,
        groups=own(dict(groups or {})),
        queue_wait=queue_wait,
        first_reply=first_reply,
        resolution=resolution,
    )


# --- group keys -----------------------------------------------------------------

_Key = Callable[[Interaction | Case], str]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_since_epoch = dt.datetime.__sub__


def period_of(by: GroupBy, zone: str) -> Callable[[dt.datetime], str]:
    """The function naming the day (``"2026-03-02"``), ISO week (``"2026-W10"``) or month
    (``"2026-03"``) an instant falls in, in the time zone ``zone``; ``by`` is one of
    ``DAY``, ``WEEK`` and ``MONTH``."""
    tz = pendulum.timezone(zone)

    def period(at: dt.datetime) -> str:
        # Converted as a plain datetime: the zone's ``fromutc`` adds the offset with
        # ``+``, which pendulum.DateTime does in wall-clock time, so converting one
        # directly lands an hour off in the hours before a daylight-saving change.
        local = (_EPOCH + _since_epoch(at, _EPOCH)).astimezone(tz)
        if by is GroupBy.MONTH:
            return f"{local.year:04d}-{local.month:02d}"
        if by is GroupBy.WEEK:
            year, week, _ = local.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"

    return period


def _period_key(by: GroupBy, zone: str) -> _Key:
    period = period_of(by, zone)

    def key(record: Interaction | Case) -> str:
        return period(record.opened_at)

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
    if by is GroupBy.PRIORITY:
        return (lambda i: NO_GROUP), (lambda c: c.priority.value)
    if by is GroupBy.TEAM:

        def team(r: Interaction | Case) -> str:
            return r.team or NO_GROUP

        return team, team
    if by is GroupBy.ASSIGNEE:
        return (lambda i: i.agent or NO_GROUP), (lambda c: c.assignee or NO_GROUP)
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
    assert by in (GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH)
    period = _period_key(by, zone)
    return period, period


_UNTAGGED = (NO_GROUP,)


def _tags(record: Interaction | Case) -> Iterable[str]:
    """The groups of a record by tag: each of its tags, or :data:`NO_GROUP` for none."""
    return record.tags or _UNTAGGED


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
    buckets: Iterable[dt.timedelta] = DEFAULT_BOUNDS,
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
        buckets: the bounds of the buckets the distributions (queue wait,
            first reply, resolution) count in: increasing positive durations;
            :data:`~custservice.analytics.DEFAULT_BOUNDS` by default.

    Returns:
        The :class:`Scorecard`; with ``by``, it holds the totals and one
        scorecard per group in ``groups``.

    Raises:
        ValidationError: an argument is invalid, ``targets`` are given
            without ``at``, or ``by="segment"`` has no customer lookup.

    Examples:
        >>> from custservice.analytics import scorecard
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
        >>> ada = Customer.new("Ada", clock=clock)
        >>> call = Interaction.open(ada.id, "phone", clock=clock)
        >>> four_minutes = pendulum.duration(minutes=4)
        >>> call = call.advance("receive", at=clock.advance(four_minutes))
        >>> card = scorecard([call])
        >>> card.interactions, card.wait_median.in_minutes(), card.nps
        (1, 4, None)
        >>> card.queue_wait.p95.in_minutes(), card.queue_wait.buckets
        (4, (1, 0, 0, 0, 0, 0))
    """
    query = checked_query(by, targets, at, timezone, csat_scales, buckets)
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
    buckets: Iterable[dt.timedelta] = DEFAULT_BOUNDS,
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
    bounds = checked_bounds(buckets)
    return ScorecardQuery(group_by, chosen, when, zone, _scales(csat_scales), bounds)


def _stream(
    interactions: Iterable[Interaction],
    cases: Iterable[Case],
    query: ScorecardQuery,
    customers: CustomerLookup | None,
) -> Scorecard:
    by, targets = query.by, query.targets
    at = None if query.at is None else micros(query.at)
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
            _add_case(tally, _read_case(case, targets, at), targets)
        return _card(tally, query)
    if by is GroupBy.TAG:
        return _stream_by_tag(interactions, cases, query, kinds)
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
        _add_case(tally, _read_case(case, targets, at), targets)
    return _grouped(tallies, query)


def _stream_by_tag(
    interactions: Iterable[Interaction],
    cases: Iterable[Case],
    query: ScorecardQuery,
    kinds: _ScaleKinds,
) -> Scorecard:
    """Grouped by tag: a record counts in the totals once and in the group of each tag."""
    targets = query.targets
    at = None if query.at is None else micros(query.at)
    n = len(targets)
    total = _Tally(n)
    tallies: dict[str, _Tally] = {}
    for interaction in interactions:
        _check(interaction, Interaction, "interactions")
        _add_interaction(total, interaction, kinds)
        for key in _tags(interaction):
            tally = tallies.get(key) or tallies.setdefault(key, _Tally(n))
            _add_interaction(tally, interaction, kinds)
    for case in cases:
        _check(case, Case, "cases")
        if case.merges and case.merged_into is not None:
            continue  # counted once, under the case it is merged into
        read = _read_case(case, targets, at)
        _add_case(total, read, targets)
        for key in _tags(case):
            tally = tallies.get(key) or tallies.setdefault(key, _Tally(n))
            _add_case(tally, read, targets)
    return _grouped(tallies, query, total=total)


def _grouped(
    tallies: Mapping[str, _Tally],
    query: ScorecardQuery,
    measured: Mapping[str | None, Measured] | None = None,
    total: _Tally | None = None,
) -> Scorecard:
    """The grouped scorecard of one tally per group key: the groups, keys sorted, and the
    totals: those of ``total`` when given (by tag, where a record is in several groups),
    else the groups' tallies added up. A push-down gives the distributions of each group,
    and of the totals under the key ``None``, in ``measured``."""
    empty = _measured(_Tally(0), query.buckets)
    merged = total is None
    if total is None:
        total = _Tally(len(query.targets))
    groups = {}
    for key in sorted(tallies):
        if merged:
            total.merge(tallies[key])
        groups[key] = _card(
            tallies[key], query, measured=None if measured is None else measured.get(key, empty)
        )
    return _card(
        total, query, groups, measured=None if measured is None else measured.get(None, empty)
    )


def _check(record: object, cls: type, field: str) -> None:
    if type(record) is not cls and not isinstance(record, cls):
        raise ValidationError(f"expected {cls.__name__}, got {type(record).__name__}", field=field)
