"""Customer health: an explainable churn-risk score, with the lifecycle events it suggests.

:func:`health` reads one customer's interactions and cases and says how
likely they are to leave, on 0 (safe) to 100 (leaving), and why: every
point of the score comes from a :class:`Reason` with a weight. The score is

    risk = clamp(baseline + sum of the reasons' weights, 0, 100)

from these signals, each weighted by a field of :class:`HealthWeights`:

* **recent verdicts**: the verdicts of feedback on interactions opened in the
  last ``window`` (90 days by default): the share of dissatisfied ones adds
  up to ``dissatisfied`` points, the share of delighted ones takes off up to
  ``delighted`` points;
* **trend**: the average verdict of the recent window against the window
  before it; a fall from delighted to dissatisfied adds ``trend`` points, a
  rise by as much takes them off;
* **recency of contact**: no interaction for longer than ``quiet_after``
  adds ``quiet`` points;
* **open breaches**: each open case on which a service target has breached
  adds ``breach`` points, up to ``breach_cap``;
* **lifecycle stage**: ``stage`` points per :class:`~custservice.CustomerStage`,
  for the stage the customer was in at the instant judged (read from the
  lifecycle history).

Nothing is read from a clock and nothing is changed: the result suggests
lifecycle events as data (:class:`SuggestedEvent`), and only events the
customer lifecycle allows from that stage. Firing one is
the caller's decision (``customer.advance(s.event, at=..., reason=s.reason)``).
The texts name no personal data, so they can be logged and shown to agents.
"""

from __future__ import annotations

import datetime as dt
import uuid
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from typing import Literal

import attrs
import pendulum

from .._mapping import own
from .._time import aware, micros
from .._validation import integer, number
from ..cases import Case
from ..customers import Customer
from ..enums import CustomerStage, TargetState
from ..errors import ValidationError
from ..interactions import Interaction
from ..lifecycle import LifecycleState, StateChange
from ..lifecycles import CUSTOMER_LIFECYCLE
from ..service_levels import CaseFacts, ServiceTarget, outcomes
from ..storage.protocols import Store
from .verdicts import VerdictCounts

__all__ = ["Health", "HealthWeights", "Reason", "SuggestedEvent", "health"]

_C = CustomerStage

_NINETY_DAYS = pendulum.duration(days=90)

RiskLevel = Literal["low", "medium", "high"]


def _stage_weights(value: object) -> Mapping[CustomerStage, float]:
    if not isinstance(value, Mapping):
        raise ValidationError("expected a mapping of CustomerStage to points", field="stage")
    out = {}
    for stage, points in value.items():
        try:
            key = CustomerStage(stage)
        except ValueError:
            raise ValidationError(f"not a customer stage: {stage!r}", field="stage") from None
        out[key] = float(number(points, f"stage.{key.value}"))
    return own(out)


_DEFAULT_STAGE = {
    _C.NEW: 5.0,
    _C.AT_RISK: 15.0,
    _C.LOYAL: -5.0,
    _C.ADVOCATE: -10.0,
    _C.CHURNED: 40.0,
}


@attrs.frozen
class HealthWeights:
    """The weights and thresholds of :func:`health`; every one has a documented default.

    Points are on the 0–100 risk scale. Change any with
    ``attrs.evolve(HealthWeights(), quiet=20)`` or ``HealthWeights(quiet=20)``.
    ``stage`` is read-only; the weights hash, pickle and copy as values.

    Args:
        baseline: the risk of a customer about whom nothing is known.
        dissatisfied: points added when every recent verdict is dissatisfied
            (proportionally fewer for a smaller share).
        delighted: points taken off when every recent verdict is delighted.
        trend: points added for the steepest fall of the average verdict
            (delighted to dissatisfied) from the earlier window to the recent
            one; a rise takes points off the same way.
        quiet: points added when the customer has had no interaction for
            longer than ``quiet_after``.
        quiet_after: how long without contact counts as quiet.
        breach: points per open case on which a service target has breached.
        breach_cap: the most the breaches add together.
        stage: points per lifecycle stage (a stage not listed adds none).
        high_risk: from this score, the risk is ``"high"`` and ``flag_risk``
            is suggested.
        low_risk: below this score, the risk is ``"low"``.
        champion_after: how many recent verdicts, all delighted, make a
            customer a candidate to ``champion``.
        reward_after: how long an ``ACTIVE`` customer must have been active,
            with no recent dissatisfaction, to be a candidate for ``reward``.
        retain_after: how long a ``NEW`` customer must have been new, with no
            recent dissatisfaction, to be a candidate to ``retain``.
        recover_after: how many recent verdicts, none dissatisfied, make an
            ``AT_RISK`` customer a candidate to ``recover``.

    Raises:
        ValidationError: a weight is not a finite number, a count not a
            whole number of at least 1, or ``low_risk`` is above ``high_risk``.
    """

    baseline: float = 25.0
    dissatisfied: float = 40.0
    delighted: float = 15.0
    trend: float = 20.0
    quiet: float = 10.0
    quiet_after: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(days=90))
    breach: float = 10.0
    breach_cap: float = 30.0
    stage: Mapping[CustomerStage, float] = attrs.field(
        factory=lambda: dict(_DEFAULT_STAGE), converter=_stage_weights
    )
    high_risk: float = 60.0
    low_risk: float = 30.0
    champion_after: int = 3
    reward_after: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(days=365))
    retain_after: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(days=90))
    recover_after: int = 2

    def __attrs_post_init__(self) -> None:
        for name in (
            "baseline",
            "dissatisfied",
            "delighted",
            "trend",
            "quiet",
            "breach",
            "breach_cap",
            "high_risk",
            "low_risk",
        ):
            object.__setattr__(self, name, float(number(getattr(self, name), name)))
        for name in ("champion_after", "recover_after"):
            if integer(getattr(self, name), name) < 1:
                raise ValidationError("must be at least 1", field=name)
        for name in ("quiet_after", "reward_after", "retain_after"):
            if not isinstance(getattr(self, name), dt.timedelta):
                raise ValidationError("expected a duration", field=name)
        if self.low_risk > self.high_risk:
            raise ValidationError("must not be above high_risk", field="low_risk")


@attrs.frozen
class Reason:
    """One explained contribution to a health score.

    Attributes:
        code: a stable identifier, for code and translations
            (``"recent_dissatisfaction"``, ``"declining"``, ``"quiet"``,
            ``"open_breaches"``, ``"stage"``, ``"recent_delight"``, ``"improving"``).
        text: a sentence for people; it holds no personal data.
        weight: the points it adds to the risk (negative: it lowers it).
    """

    code: str
    text: str
    weight: float


@attrs.frozen
class SuggestedEvent:
    """A customer-lifecycle event worth firing, as data: nothing has been fired.

    Attributes:
        event: the event (``"flag_risk"``, ``"recover"``, ``"champion"``, ...);
            always allowed from the stage the health was judged in.
        reason: why, as a sentence with no personal data; suitable as the
            ``reason`` of ``customer.advance``.
    """

    event: str
    reason: str


@attrs.frozen
class Health:
    """A customer's churn risk at an instant, explained.

    Attributes:
        customer_id: whose health it is.
        at: the instant it describes.
        stage: the customer's lifecycle stage at ``at`` (a change made at
            ``at`` counts).
        risk: the churn-risk score in ``[0, 100]``.
        level: ``"low"``, ``"medium"`` or ``"high"``, by the thresholds of
            :class:`HealthWeights`.
        reasons: what moved the score away from the baseline, largest
            effect first.
        suggestions: lifecycle events worth firing, strongest first; each
            allowed from ``stage``. They are alternatives: fire at most one.
        recent: the verdicts of the recent window.
        earlier: the verdicts of the window before it.
        open_breaches: open cases on which a service target has breached.
        last_contact: when the latest interaction up to ``at`` opened, among
            those :func:`health` reads (the last two windows or the last
            ``quiet_after``, whichever reaches further); ``None`` when there
            was none.
    """

    customer_id: uuid.UUID
    at: pendulum.DateTime
    stage: CustomerStage
    risk: float
    level: RiskLevel
    reasons: tuple[Reason, ...]
    suggestions: tuple[SuggestedEvent, ...]
    recent: VerdictCounts
    earlier: VerdictCounts
    open_breaches: int
    last_contact: pendulum.DateTime | None


DEFAULT_WEIGHTS = HealthWeights()
"""The weights :func:`health` uses unless told otherwise."""


def _days(value: dt.timedelta) -> str:
    days = value.days
    return "1 day" if days == 1 else f"{days} days"


def health(
    customer: Customer,
    interactions: Iterable[Interaction] | Store,
    cases: Iterable[Case] = (),
    *,
    at: dt.datetime,
    targets: Iterable[ServiceTarget] = (),
    window: dt.timedelta = _NINETY_DAYS,
    weights: HealthWeights = DEFAULT_WEIGHTS,
) -> Health:
    """How likely a customer is to leave, at ``at``, and why.

    Only what was known at ``at`` counts: interactions opened later, feedback
    given later and lifecycle changes made later are ignored (the customer is
    judged in the stage they were in at ``at``; a change made at ``at``
    counts). Verdicts are dated by the opening of the interaction they are
    about.

    Health reads the same records whatever they come from: the interactions
    opened in the last two windows or in the last ``weights.quiet_after``,
    whichever reaches further back (older ones can change nothing), and the
    cases opened by ``at``. From a store, only those are fetched.

    Args:
        customer: the customer.
        interactions: the customer's interactions (any iterable, read once),
            or a store: then the customer's interactions are read from it,
            and so are their cases unless ``cases`` are given.
        cases: the customer's cases, for open service-target breaches.
        at: the instant to judge at; timezone-aware.
        targets: the service targets whose breaches count.
        window: how far back "recent" reaches; the trend compares it with
            the window of the same length before it.
        weights: the weights and thresholds; see :class:`HealthWeights`.

    Returns:
        The :class:`Health`, with its reasons and suggested events.

    Raises:
        ValidationError: ``at`` is naive, ``window`` is not a positive
            duration, or a record belongs to another customer.

    Examples:
        >>> from custservice.analytics import health
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
        >>> ada = Customer.new("Ada", clock=clock).advance("acquire", at=clock.now())
        >>> h = health(ada, [], at=clock.now())
        >>> h.risk, h.level, [r.code for r in h.reasons]
        (40.0, 'medium', ['quiet', 'stage'])
    """
    when = aware(at, "at")
    if not isinstance(customer, Customer):
        raise ValidationError("expected a Customer", field="customer")
    if not isinstance(window, dt.timedelta) or window <= dt.timedelta(0):
        raise ValidationError("must be a positive duration", field="window")
    if not isinstance(weights, HealthWeights):
        raise ValidationError("expected HealthWeights", field="weights")
    chosen = tuple(targets)
    reading = _Reading(customer, when, window, weights)
    if isinstance(interactions, Store):
        store = interactions
        if cases == ():
            cases = reading.stored_cases(store) if chosen else ()
        interactions = reading.stored_interactions(store)
    recent, earlier, last_contact = reading.verdicts(interactions)
    breaches = 0
    for case in reading.cases(cases):  # each is checked to be the customer's, targets or not
        if chosen and open_breach(case, when, chosen):
            breaches += 1
    return judged(customer, when, recent, earlier, breaches, last_contact, weights)


def judged(
    customer: Customer,
    at: pendulum.DateTime,
    recent: VerdictCounts,
    earlier: VerdictCounts,
    breaches: int,
    last_contact: pendulum.DateTime | None,
    weights: HealthWeights = DEFAULT_WEIGHTS,
) -> Health:
    """The :class:`Health` of ``customer`` at ``at`` from what :func:`health` counts.

    :func:`health` counts from records; a store that counts in its database
    (``analytics/_health_sql``) gives the same counts, and both are judged here.

    Args:
        customer: the customer; their stage at ``at`` is read from the history.
        at: the instant judged, aware.
        recent: the verdicts of the recent window.
        earlier: the verdicts of the window before it.
        breaches: the open cases with a breached service target.
        last_contact: when the latest interaction read opened.
        weights: the weights and thresholds.
    """
    stage, since = _position(customer, micros(at))
    return _judge(customer.id, at, stage, since, recent, earlier, breaches, last_contact, weights)


def risk_of(
    customer: Customer,
    at: pendulum.DateTime,
    recent: VerdictCounts,
    earlier: VerdictCounts,
    breaches: int,
    last_contact_us: int | None,
    weights: HealthWeights = DEFAULT_WEIGHTS,
) -> tuple[CustomerStage, float]:
    """The stage at ``at`` and the risk :func:`judged` gives, without building the
    :class:`Health` (its reasons' texts and its suggestions): for ranking many customers.

    ``last_contact_us`` is the latest contact in microseconds since 1970 (UTC).
    """
    stage, _ = _position(customer, micros(at))
    reasons = _reasons(stage, at, recent, earlier, breaches, last_contact_us, weights)
    return stage, _risk(reasons, weights)


def open_breach(case: Case, at: pendulum.DateTime, targets: tuple[ServiceTarget, ...]) -> bool:
    """Whether ``case`` counts among its customer's open breaches at ``at``: opened by
    then, neither solved nor closed then, and one of ``targets`` breached then. A case
    merged into another is not counted: its target case is."""
    if case.merged_into is not None:
        return False
    t = micros(at)
    if micros(case.opened_at) > t:
        return False
    facts = CaseFacts.of(case, t)
    if facts.finished_since is not None:  # solved or closed at ``at``
        return False
    return any(o.state is TargetState.BREACHED for o in outcomes(targets, facts))


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_per_us = dt.timedelta.__floordiv__  # exact, whatever pendulum.Duration does with its fields


def _instant(us: int) -> pendulum.DateTime | None:
    """The instant ``us`` microseconds after 1970, in UTC; ``None`` beyond year 1 or 9999."""
    try:
        v = _EPOCH + dt.timedelta(microseconds=us)
    except OverflowError:
        return None  # no record can lie beyond: the bound is not needed
    return pendulum.DateTime(
        v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond, tzinfo=pendulum.UTC
    )


class Span:
    """The instants health reads between, at one instant, in microseconds since 1970 (UTC).

    Interactions opened in ``[first, now]``, where ``first`` reaches back two
    windows or ``quiet_after``, whichever is longer: the verdicts need the two
    windows, and the last contact matters only within ``quiet_after`` (and is
    reported within the reach). Of those, the feedback given by ``now`` counts:
    in the recent window when the interaction opened at or after
    ``recent_from``, else in the earlier one when at or after ``earlier_from``.
    Cases opened by ``now``.

    :func:`health` applies these bounds to records; ``analytics/_health_sql``
    to typed columns, with the same numbers.
    """

    __slots__ = ("earlier_from", "first", "now", "recent_from")

    def __init__(
        self,
        at: dt.datetime,
        window: dt.timedelta = _NINETY_DAYS,
        w: HealthWeights = DEFAULT_WEIGHTS,
    ) -> None:
        self.now = micros(at)
        span = _per_us(window, _US)
        self.recent_from = self.now - span
        self.earlier_from = self.now - 2 * span
        self.first = self.now - max(2 * span, _per_us(w.quiet_after, _US))


class _Reading(Span):
    """Which records :func:`health` reads about one customer: one rule for iterables and
    stores. A store is asked for exactly the records of the :class:`Span`, and every
    record passes the same filter whatever its source."""

    __slots__ = ("customer",)

    def __init__(
        self, customer: Customer, at: dt.datetime, window: dt.timedelta, w: HealthWeights
    ) -> None:
        super().__init__(at, window, w)
        self.customer = customer

    def stored_interactions(self, store: Store) -> Iterable[Interaction]:
        return store.interactions.for_customer(
            self.customer.id, since=_instant(self.first), until=_instant(self.now + 1)
        )

    def stored_cases(self, store: Store) -> Iterable[Case]:
        return store.cases.for_customer(self.customer.id, until=_instant(self.now + 1))

    def interactions(self, records: Iterable[Interaction]) -> Iterable[Interaction]:
        for record in records:
            _own(record, self.customer, "interactions")
            if self.first <= micros(record.opened_at) <= self.now:
                yield record

    def cases(self, records: Iterable[Case]) -> Iterable[Case]:
        for record in records:
            _own(record, self.customer, "cases")
            if micros(record.opened_at) <= self.now:
                yield record

    def verdicts(
        self, interactions: Iterable[Interaction]
    ) -> tuple[VerdictCounts, VerdictCounts, pendulum.DateTime | None]:
        """The verdicts of the recent and the earlier window, and the last contact."""
        recent, earlier = [0, 0, 0], [0, 0, 0]
        last_contact: pendulum.DateTime | None = None
        last_us = 0
        for interaction in self.interactions(interactions):
            opened = micros(interaction.opened_at)
            if last_contact is None or opened > last_us:
                last_contact, last_us = interaction.opened_at, opened
            fb = interaction.feedback
            if fb is None or micros(fb.at) > self.now or opened < self.earlier_from:
                continue
            (recent if opened >= self.recent_from else earlier)[fb.verdict.rank] += 1
        return VerdictCounts(*recent), VerdictCounts(*earlier), last_contact


def _position(customer: Customer, now: int) -> tuple[CustomerStage, pendulum.DateTime]:
    """The stage the customer was in at ``now`` (microseconds), and since when.

    Found by bisecting the history (its times never go backwards), so the cost
    does not grow with its length. Before the first change, the customer was in
    that change's source stage since they were created.
    """
    state = customer.lifecycle
    history = state.history
    n = bisect_right(history, now, key=_change_us)
    if n == len(history):
        return _stage(state.current), state.since
    if n == 0:
        return _stage(history[0].source), customer.created_at
    change = history[n - 1]
    return _stage(change.target), change.at


def _stage(state: object) -> CustomerStage:
    return state if isinstance(state, CustomerStage) else CustomerStage(str(state))


def _change_us(change: StateChange) -> int:
    return micros(change.at)


def _own(record: Interaction | Case, customer: Customer, field: str) -> None:
    if record.customer_id != customer.id:
        raise ValidationError("a record belongs to another customer", field=field)


def _judge(
    customer_id: uuid.UUID,
    at: pendulum.DateTime,
    stage: CustomerStage,
    since: pendulum.DateTime,
    recent: VerdictCounts,
    earlier: VerdictCounts,
    breaches: int,
    last_contact: pendulum.DateTime | None,
    w: HealthWeights,
) -> Health:
    last_us = None if last_contact is None else micros(last_contact)
    reasons = _reasons(stage, at, recent, earlier, breaches, last_us, w)
    risk = _risk(reasons, w)
    level: RiskLevel = "high" if risk >= w.high_risk else "low" if risk < w.low_risk else "medium"
    suggestions = _suggest(stage, since, at, risk, recent, earlier, breaches, w)
    return Health(
        customer_id,
        at,
        stage,
        risk,
        level,
        tuple(reasons),
        suggestions,
        recent,
        earlier,
        breaches,
        last_contact,
    )


def _risk(reasons: list[Reason], w: HealthWeights) -> float:
    """The score: the baseline plus the reasons' weights, summed largest first, clamped."""
    return min(max(w.baseline + sum(r.weight for r in reasons), 0.0), 100.0)


def _reasons(
    stage: CustomerStage,
    at: pendulum.DateTime,
    recent: VerdictCounts,
    earlier: VerdictCounts,
    breaches: int,
    last_us: int | None,
    w: HealthWeights,
) -> list[Reason]:
    """What moves the score away from the baseline, largest effect first."""
    reasons: list[Reason] = []
    n = recent.total
    if n and recent.dissatisfied:
        share = recent.dissatisfied / n
        reasons.append(
            Reason(
                "recent_dissatisfaction",
                f"{recent.dissatisfied} of the {n} recent outcomes left the customer dissatisfied.",
                w.dissatisfied * share,
            )
        )
    if n and recent.delighted:
        share = recent.delighted / n
        reasons.append(
            Reason(
                "recent_delight",
                f"{recent.delighted} of the {n} recent outcomes delighted the customer.",
                -w.delighted * share,
            )
        )
    now_mean, then_mean = recent.mean_rank(), earlier.mean_rank()
    if now_mean is not None and then_mean is not None and now_mean != then_mean:
        change = now_mean - then_mean  # in [-2, 2]
        worse = change < 0
        reasons.append(
            Reason(
                "declining" if worse else "improving",
                "Recent outcomes are worse than in the period before."
                if worse
                else "Recent outcomes are better than in the period before.",
                -w.trend * change / 2,
            )
        )
    quiet = last_us is None or micros(at) - last_us > _per_us(w.quiet_after, _US)
    if quiet and w.quiet:
        reasons.append(
            Reason(
                "quiet",
                f"No contact with the customer in more than {_days(w.quiet_after)}.",
                w.quiet,
            )
        )
    if breaches and w.breach:
        reasons.append(
            Reason(
                "open_breaches",
                f"{breaches} open case{'s' if breaches != 1 else ''} missed a service target.",
                min(w.breach * breaches, w.breach_cap),
            )
        )
    points = w.stage.get(stage, 0.0)
    if points:
        reasons.append(
            Reason(
                "stage",
                f"The customer's lifecycle stage is {stage.value.replace('_', ' ')}.",
                points,
            )
        )
    reasons.sort(key=lambda r: (-abs(r.weight), r.code))
    return reasons


def _suggest(
    stage: CustomerStage,
    since: pendulum.DateTime,
    at: pendulum.DateTime,
    risk: float,
    recent: VerdictCounts,
    earlier: VerdictCounts,
    breaches: int,
    w: HealthWeights,
) -> tuple[SuggestedEvent, ...]:
    allowed = CUSTOMER_LIFECYCLE.allowed(LifecycleState(stage, since))
    in_stage = micros(at) - micros(since)
    calm = breaches == 0 and recent.dissatisfied == 0
    declining = (
        earlier.total > 0
        and recent.total > 0
        and (recent.mean_rank() or 0.0) < (earlier.mean_rank() or 0.0)
    )
    out: list[SuggestedEvent] = []
    if risk >= w.high_risk:
        out.append(
            SuggestedEvent(
                "flag_risk", f"Churn risk is high ({risk:.0f} of 100); act to keep the customer."
            )
        )
    elif stage is _C.AT_RISK and calm and not declining and recent.total >= w.recover_after:
        out.append(
            SuggestedEvent(
                "recover",
                f"The last {recent.total} outcomes satisfied the customer and no case is "
                "late: they are doing well again.",
            )
        )
    else:
        if (
            stage in (_C.ACTIVE, _C.LOYAL)
            and breaches == 0
            and recent.total >= w.champion_after
            and recent.delighted == recent.total
        ):
            out.append(
                SuggestedEvent(
                    "champion",
                    f"Every one of the {recent.total} recent outcomes delighted the customer: "
                    "a likely advocate.",
                )
            )
        if (
            stage is _C.ACTIVE
            and calm
            and recent.total > 0
            and in_stage >= _per_us(w.reward_after, _US)
        ):
            out.append(
                SuggestedEvent(
                    "reward",
                    f"Active for more than {_days(w.reward_after)} and satisfied recently: "
                    "reward their loyalty.",
                )
            )
        if (
            stage is _C.NEW
            and calm
            and recent.total > 0
            and in_stage >= _per_us(w.retain_after, _US)
        ):
            out.append(
                SuggestedEvent(
                    "retain",
                    f"New for more than {_days(w.retain_after)} and satisfied recently: "
                    "the customer has stayed.",
                )
            )
    return tuple(s for s in out if s.event in allowed)
