"""The follow-up planner: which actions are due in a window of time, and why.

:func:`plan_follow_ups` reads customers, interactions and cases once and
returns the actions due in ``[window_start, window_end)``:

* **birthday greeting** on the customer's birthday, at ``greeting_time``
  (09:00 by default) in the customer's own time zone (``Customer.timezone``;
  ``default_timezone``, UTC, when they have none). Someone born on
  29 February is greeted on 28 February in years that are not leap years.
  Only customers in ``birthday_stages`` are greeted (not prospects, not
  churned customers, by default).
* **feedback request** after every resolved interaction without feedback,
  ``feedback_delay`` after it was resolved (one day by default); or, given
  a :class:`~custservice.SurveyPolicy`, after the interactions it chooses,
  when it says, never two to one customer closer than its minimum interval.
* **feedback reminder**, under a survey policy with ``remind_after``: once,
  that long after a request, if the customer has given no feedback by then.
* **status update** on every open case whose ``PERIODIC_UPDATE`` target is
  near: due ``update_lead`` before the target's due instant (an hour by
  default), or at once if that moment has passed.
* **target warning** on every open case whose target has a ``warn_before``
  (:class:`~custservice.ServiceTarget`): due when the target starts to warn
  (no more than ``warn_before`` of its business time is left), or at once
  if it warns already.
* **escalation** of a case by each :class:`~custservice.EscalationRule`,
  once, at the first instant the rule's trigger holds (see
  :mod:`custservice.policies.escalations`); the follow-up carries the rule,
  whose action and level the desk carries out.
* **recovery contact** for ``AT_RISK`` customers, ``recovery_delay`` after
  they were flagged (one day by default).
* **win-back offer** for ``CHURNED`` customers, ``win_back_delay`` after
  they churned (30 days by default).

The targets a case is held to are ``targets``, or, given ``sla``, those of
the :class:`~custservice.SlaPolicies` policy that applies to it. Status
updates and warnings evaluate them at the start of the window (or when the
case opened, if later), so only history known then counts; escalations
evaluate them at the window's end, so a breach the window's own history (or,
planning ahead, the clock running on) brings is seen. Conditions on
``customer.*`` fields read the customer when it is among the customers given
(a store's are); else they do not match.

Every delay is exact elapsed time (a day is 24 hours), counted from the
instant a record holds, so the zone an instant happens to be written in never
moves a due instant: the same churn written in UTC or in Europe/London gives
the same offer at the same instant. Only the birthday greeting follows a
calendar, the customer's own (see above).

An action is proposed once per window: actions with the same
:attr:`FollowUp.key` (kind, customer, record, and the metric of a warning or
the rule of an escalation) are merged, the earliest kept. So a window longer
than a year proposes one birthday greeting per customer, the first; plan
day by day or week by week. Every action has a due instant fixed by the
data, so planning consecutive windows proposes each action in exactly one of
them (status updates and warnings excepted: they are re-read at each
window's start, as agents reply).

The result is sorted by due instant, then kind, customer id and record id.
Each action says why, in a sentence with no personal data (not even the
birthday), so it can be queued, logged and shown to agents.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Callable, Iterable, Iterator

import attrs
import pendulum

from .._time import aware, duration, micros
from .._time import timezone as _check_timezone
from ..calendars import working_deadline
from ..cases import Case
from ..customers import Customer
from ..enums import CaseStatus, CustomerStage, EscalationAction, Metric, TargetState
from ..errors import ValidationError
from ..interactions import Interaction
from ..policies import EscalationRule, SlaPolicies, SurveyPolicy
from ..service_levels import ServiceTarget, TargetStatus
from ..storage.protocols import Store
from ._on_async import accepts_async_store
from ._surveys import SurveyPlan, lookback

__all__ = ["FollowUp", "FollowUpKind", "FollowUpPolicy", "plan_follow_ups"]

_C = CustomerStage


class FollowUpKind(enum.StrEnum):
    """What kind of action a follow-up is."""

    BIRTHDAY_GREETING = "birthday_greeting"
    """Greet the customer on their birthday, in their own time zone."""
    FEEDBACK_REQUEST = "feedback_request"
    """Ask how a resolved interaction went."""
    FEEDBACK_REMINDER = "feedback_reminder"
    """Remind a customer who has not answered a feedback request (a survey policy's one
    reminder)."""
    STATUS_UPDATE = "status_update"
    """Tell the customer where an open case stands before a periodic-update target is due."""
    TARGET_WARNING = "target_warning"
    """A target of an open case is within its ``warn_before`` of its due time."""
    ESCALATION = "escalation"
    """An escalation rule's trigger holds for an open case: notify, reassign or raise its
    priority, as the rule says."""
    RECOVERY_CONTACT = "recovery_contact"
    """Contact a customer flagged at risk of leaving, to put things right."""
    WIN_BACK_OFFER = "win_back_offer"
    """Make a customer who left an offer to come back."""


@attrs.frozen
class FollowUp:
    """One action due: what, for whom, when, about which record, and why.

    Attributes:
        kind: what to do.
        customer_id: the customer it is for.
        due_at: when it is due; in the customer's time zone for a birthday
            greeting, else written in the zone of the time it derives from
            (the instant does not depend on that zone).
        record_id: the interaction (feedback request or reminder) or case
            (status update, warning, escalation) it is about; ``None`` for the
            customer as a whole.
        why: the reason, as a sentence with no personal data.
        metric: the target a warning is about, or whose breach triggered an
            escalation; ``None`` otherwise.
        rule: the rule an escalation follows (its ``action`` and ``level``
            say what to do); ``None`` for the other kinds.
    """

    kind: FollowUpKind
    customer_id: uuid.UUID
    due_at: pendulum.DateTime
    record_id: uuid.UUID | None
    why: str
    metric: Metric | None = attrs.field(default=None, kw_only=True)
    rule: EscalationRule | None = attrs.field(default=None, kw_only=True)

    @property
    def key(
        self,
    ) -> tuple[FollowUpKind, uuid.UUID, uuid.UUID | None, Metric | EscalationRule | None]:
        """``(kind, customer_id, record_id, about)``: what makes two proposals the same
        action; ``about`` is the rule of an escalation, the metric of a warning, else ``None``."""
        return (self.kind, self.customer_id, self.record_id, self.rule or self.metric)


def _stages(value: object) -> frozenset[CustomerStage]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError("expected a set of customer stages", field="birthday_stages")
    try:
        return frozenset(CustomerStage(v) for v in value)
    except ValueError:
        raise ValidationError("not a customer stage", field="birthday_stages") from None


def _time_of_day(value: object) -> dt.time:
    if not isinstance(value, dt.time) or value.tzinfo is not None:
        raise ValidationError("expected a time of day without a zone", field="greeting_time")
    return value


def _zone(value: object) -> str:
    return _check_timezone(value, "default_timezone")


@attrs.frozen
class FollowUpPolicy:
    """When each kind of follow-up falls due; every setting has a default.

    Args:
        feedback_delay: how long after resolution to ask for feedback (1 day),
            without a survey policy (with one, its ``delay`` applies).
        update_lead: how long before a periodic-update target is due to
            propose the status update (1 hour).
        greeting_time: the local time of day of a birthday greeting (09:00).
        default_timezone: the zone of customers with none (``"UTC"``).
        birthday_stages: the stages whose customers are greeted (new,
            active, loyal, advocate, at risk).
        recovery_delay: how long after being flagged at risk to contact the
            customer (1 day).
        win_back_delay: how long after churning to make a win-back offer
            (30 days).

    Raises:
        ValidationError: a delay is negative or not a duration, or a setting
            is of the wrong kind.
    """

    feedback_delay: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(days=1))
    update_lead: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(hours=1))
    greeting_time: dt.time = attrs.field(default=dt.time(9), converter=_time_of_day)
    default_timezone: str = attrs.field(default="UTC", converter=_zone)
    birthday_stages: frozenset[CustomerStage] = attrs.field(
        default=frozenset({_C.NEW, _C.ACTIVE, _C.LOYAL, _C.ADVOCATE, _C.AT_RISK}),
        converter=_stages,
    )
    recovery_delay: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(days=1))
    win_back_delay: dt.timedelta = attrs.field(factory=lambda: pendulum.duration(days=30))

    def __attrs_post_init__(self) -> None:
        for name in ("feedback_delay", "update_lead", "recovery_delay", "win_back_delay"):
            value = getattr(self, name)
            if not isinstance(value, dt.timedelta) or value < dt.timedelta(0):
                raise ValidationError("must be a duration of at least zero", field=name)
            object.__setattr__(self, name, duration(value, name))


DEFAULT_POLICY = FollowUpPolicy()
"""The policy :func:`plan_follow_ups` uses unless told otherwise."""


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_per_us = dt.timedelta.__floordiv__  # exact, whatever pendulum.Duration does with its fields
_plus = dt.timedelta.__add__


def _after(at: pendulum.DateTime, delay: dt.timedelta) -> pendulum.DateTime | None:
    """The instant exactly ``delay`` after ``at`` (before, if negative), in ``at``'s zone.

    Counted in UTC: pendulum adds days by the wall clock of the zone an instant
    is written in, which would make the due instant depend on that zone (a day
    across a daylight-saving change would last 23 or 25 hours). ``None`` when
    the instant lies outside years 1 to 9999, where no window reaches.
    """
    try:
        due = _EPOCH + _plus(dt.datetime.__sub__(at, _EPOCH), delay)
    except OverflowError:
        return None
    zone = at.tzinfo
    try:
        local = due.astimezone(zone)  # the standard library places the instant, fold and all
    except OverflowError:  # within a day of year 1 or 9999 in that zone
        return None
    return pendulum.DateTime(
        local.year,
        local.month,
        local.day,
        local.hour,
        local.minute,
        local.second,
        local.microsecond,
        tzinfo=zone,
        fold=local.fold,
    )


class _Window:
    __slots__ = ("_days", "end", "start", "t0", "t1")

    def __init__(self, start: pendulum.DateTime, end: pendulum.DateTime) -> None:
        self.start, self.end = start, end
        self.t0, self.t1 = micros(start), micros(end)
        self._days: dict[str, tuple[dt.date, dt.date]] = {}

    def __contains__(self, at: dt.datetime) -> bool:
        return self.t0 <= micros(at) < self.t1

    def days(self, zone: str) -> tuple[dt.date, dt.date]:
        """The local dates of the window's start and end in ``zone`` (found once per zone)."""
        found = self._days.get(zone)
        if found is None:
            found = self._days[zone] = (
                self.start.in_timezone(zone).date(),
                self.end.in_timezone(zone).date(),
            )
        return found


def _birthday(
    customer: Customer, window: _Window, policy: FollowUpPolicy
) -> pendulum.DateTime | None:
    """The first birthday greeting of ``customer`` due in the window, if any."""
    born = customer.birthday
    if born is None or customer.stage not in policy.birthday_stages:
        return None
    zone = customer.timezone or policy.default_timezone
    first, last = window.days(zone)
    # A greeting falls on its local date: one far from the window's local dates is not
    # in the window (two days of slack: a zone's offset once moved by a whole day).
    low, high = first.toordinal() - 2, last.toordinal() + 2
    t = policy.greeting_time
    for year in range(max(first.year - 1, born.year + 1), last.year + 2):
        day = born.day
        if born.month == 2 and day == 29 and not _leap(year):
            day = 28
        if year > dt.MAXYEAR or not low <= dt.date(year, born.month, day).toordinal() <= high:
            continue
        due = pendulum.datetime(
            year, born.month, day, t.hour, t.minute, t.second, t.microsecond, tz=zone
        )
        if due in window:
            return due
    return None


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


@accepts_async_store
def plan_follow_ups(
    customers: Iterable[Customer] | Store,
    interactions: Iterable[Interaction] | None = None,
    cases: Iterable[Case] | None = None,
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    targets: Iterable[ServiceTarget] = (),
    policy: FollowUpPolicy = DEFAULT_POLICY,
    sla: SlaPolicies | None = None,
    escalations: Iterable[EscalationRule] = (),
    survey: SurveyPolicy | None = None,
) -> tuple[FollowUp, ...]:
    """The follow-up actions due in ``[window_start, window_end)``.

    Args:
        customers: any iterable of customers (read once), or a store: then
            its customers, interactions and cases are read, unless
            ``interactions`` or ``cases`` are given.
        interactions: any iterable of interactions (read once), for
            feedback requests.
        cases: any iterable of cases (read once), for status updates,
            warnings and escalations.
        window_start: the start of the window (included); timezone-aware.
        window_end: the end of the window (excluded); after the start.
        targets: service targets every case is held to: those on
            ``PERIODIC_UPDATE`` decide when status updates are due, those
            with a ``warn_before`` warn, and escalations on a breach read them.
        policy: delays, the greeting time and who is greeted; see
            :class:`FollowUpPolicy`.
        sla: SLA policies that choose each case's targets, instead of
            ``targets`` (give one or the other).
        escalations: the rules by which cases are escalated.
        survey: the rules of feedback requests; without one, every resolved
            interaction without feedback is asked about, ``policy.feedback_delay``
            after its resolution.

    Returns:
        The actions, each once, sorted by due instant, kind, customer id and
        record id.

    Raises:
        ValidationError: a bound is naive, the window is empty, or an
            argument is of the wrong kind.

    Examples:
        >>> from custservice.analytics import plan_follow_ups
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 1, 9))
        >>> ada = Customer.new("Ada", clock=clock, birthday=pendulum.date(1990, 3, 2),
        ...                    timezone="Pacific/Kiritimati")
        >>> ada = ada.advance("acquire", at=clock.now())
        >>> [(f.kind.value, f.due_at.isoformat()) for f in plan_follow_ups(
        ...     [ada], window_start=pendulum.datetime(2026, 3, 1),
        ...     window_end=pendulum.datetime(2026, 3, 2))]
        [('birthday_greeting', '2026-03-02T09:00:00+14:00')]
    """
    planner = Planner(
        window_start=window_start,
        window_end=window_end,
        targets=targets,
        policy=policy,
        sla=sla,
        escalations=escalations,
        survey=survey,
    )
    if isinstance(customers, Store):
        store = customers
        customers = store.customers.all()
        interactions = store.interactions.all() if interactions is None else interactions
        cases = store.cases.all() if cases is None else cases
    return planner.plan(customers, interactions or (), cases or ())


_FINISHED = frozenset({CaseStatus.SOLVED, CaseStatus.CLOSED})


class Planner:
    """:func:`plan_follow_ups` with its arguments checked once, to plan records a part at
    a time (as the report does, reading a store as a stream).

    Every record is judged on its own, so planning parts and merging what each
    gives (in the planner's order) gives what one call gives; but for feedback
    requests under a survey policy, whose minimum interval couples one
    customer's requests: give :meth:`plan` every interaction resolved in
    :attr:`survey_resolved` at once.

    Args:
        customer_of: the customer of an id, for conditions on ``customer.*``
            fields; by default, the customers given in the same call to
            :meth:`plan`.
    """

    def __init__(
        self,
        *,
        window_start: dt.datetime,
        window_end: dt.datetime,
        targets: Iterable[ServiceTarget] = (),
        policy: FollowUpPolicy = DEFAULT_POLICY,
        sla: SlaPolicies | None = None,
        escalations: Iterable[EscalationRule] = (),
        survey: SurveyPolicy | None = None,
        customer_of: Callable[[uuid.UUID], Customer | None] | None = None,
    ) -> None:
        start = aware(window_start, "window_start")
        end = aware(window_end, "window_end")
        if micros(end) <= micros(start):
            raise ValidationError("must be after window_start", field="window_end")
        if not isinstance(policy, FollowUpPolicy):
            raise ValidationError("expected a FollowUpPolicy", field="policy")
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise ValidationError("expected a collection of ServiceTarget", field="targets")
        chosen = tuple(_target(t) for t in targets)
        if sla is not None:
            if not isinstance(sla, SlaPolicies):
                raise ValidationError("expected SlaPolicies or None", field="sla")
            if chosen:
                raise ValidationError("give targets or sla, not both", field="sla")
        if isinstance(escalations, str) or not isinstance(escalations, Iterable):
            raise ValidationError("expected a collection of EscalationRule", field="escalations")
        rules = tuple(escalations)
        if not all(isinstance(r, EscalationRule) for r in rules):
            raise ValidationError("expected a collection of EscalationRule", field="escalations")
        if survey is not None and not isinstance(survey, SurveyPolicy):
            raise ValidationError("expected a SurveyPolicy or None", field="survey")
        self.window = _Window(start, end)
        self.policy = policy
        self.sla = sla
        self.escalations = rules
        self.survey = survey
        # Only the targets follow-ups read: periodic updates, and those that warn.
        self._watched = tuple(t for t in chosen if _watched(t))
        self._targets = chosen
        self._on_breach = any(r.on_breach is not None for r in rules)
        conditions = [r.condition for r in rules]
        if sla is not None:
            conditions += [p.condition for p in sla.policies]
        if survey is not None and survey.skip_if is not None:
            conditions.append(survey.skip_if)
        self._reads_customer = any(c.reads_customer for c in conditions)
        self._customer_of = customer_of

    @property
    def survey_resolved(self) -> tuple[pendulum.DateTime, pendulum.DateTime] | None:
        """Under a survey policy, when the interactions whose requests may matter to the
        window were resolved (from, included, to, excluded); ``None`` without one."""
        survey = self.survey
        if survey is None:
            return None
        start, end = self.window.start, self.window.end
        before = survey.delay + lookback(survey)
        return start - before, end - survey.delay

    def plan(
        self,
        customers: Iterable[Customer],
        interactions: Iterable[Interaction],
        cases: Iterable[Case],
    ) -> tuple[FollowUp, ...]:
        """The follow-ups of these records due in the window, each once, in order."""
        window, policy = self.window, self.policy
        found: dict[object, FollowUp] = {}

        def propose(follow_up: FollowUp) -> None:
            seen = found.get(follow_up.key)
            if seen is None or micros(follow_up.due_at) < micros(seen.due_at):
                found[follow_up.key] = follow_up

        known: dict[uuid.UUID, Customer] = {}
        customer_of = self._customer_of or known.get
        for customer in customers:
            if not isinstance(customer, Customer):
                raise ValidationError("expected a Customer", field="customers")
            if self._reads_customer:
                known[customer.id] = customer
            for follow_up in _for_customer(customer, window, policy):
                propose(follow_up)
        survey = self.survey
        surveyed = None if survey is None else SurveyPlan(survey, window.t0, window.t1, customer_of)
        for interaction in interactions:
            if not isinstance(interaction, Interaction):
                raise ValidationError("expected an Interaction", field="interactions")
            if surveyed is not None:
                surveyed.offer(interaction)
                continue
            if interaction.resolved_at is None or interaction.feedback is not None:
                continue
            due = _after(interaction.resolved_at, policy.feedback_delay)
            if due is not None and due in window:
                propose(
                    FollowUp(
                        FollowUpKind.FEEDBACK_REQUEST,
                        interaction.customer_id,
                        due,
                        interaction.id,
                        "The interaction was resolved and the customer has given no feedback: "
                        "ask how it went.",
                    )
                )
        if surveyed is not None:
            assert survey is not None
            for reminder, interaction, delay in surveyed.due():
                asked = _survey_follow_up(survey, reminder, interaction, delay)
                if asked is not None:
                    propose(asked)
        for case in cases:
            if not isinstance(case, Case):
                raise ValidationError("expected a Case", field="cases")
            if case.merged_into is not None:
                continue  # its target case is owed the updates
            holder = customer_of(case.customer_id) if self._reads_customer else None
            for follow_up in self._for_case(case, holder):
                propose(follow_up)
        return tuple(sorted(found.values(), key=_order))

    def _for_case(self, case: Case, customer: Customer | None) -> Iterator[FollowUp]:
        window = self.window
        opened = micros(case.opened_at)
        if opened >= window.t1:
            return
        if case.status in _FINISHED and micros(case.lifecycle.since) <= window.t0:
            return  # finished before the window, and unchanged since: nothing is owed
        at = window.start if opened < window.t0 else case.opened_at
        for target, status in self._current(case, customer, at):
            if target.metric is Metric.PERIODIC_UPDATE:
                update = _status_update(case, status, at, window, self.policy)
                if update is not None:
                    yield update
            if target.warn_before is not None:
                warning = _warning(case, target, status, at, window)
                if warning is not None:
                    yield warning
        if not self.escalations:
            return
        statuses: tuple[TargetStatus, ...] = ()
        if self._on_breach:
            if self.sla is not None:
                statuses = self.sla.evaluate(case, at=window.end, customer=customer)
            elif self._targets:
                statuses = ServiceTarget.evaluate_many(self._targets, case, at=window.end)
        for rule in self.escalations:
            due = rule.first_due(case, before=window.end, statuses=statuses, customer=customer)
            if due is not None and micros(due) >= window.t0:
                yield FollowUp(
                    FollowUpKind.ESCALATION,
                    case.customer_id,
                    due,
                    case.id,
                    _escalation_why(rule),
                    metric=rule.on_breach,
                    rule=rule,
                )

    def _current(
        self, case: Case, customer: Customer | None, at: pendulum.DateTime
    ) -> Iterable[tuple[ServiceTarget, TargetStatus]]:
        """The case's targets that follow-ups read, with where each stands at ``at``."""
        if self.sla is None:
            if not self._watched:
                return ()
            return zip(
                self._watched,
                ServiceTarget.evaluate_many(self._watched, case, at=at),
                strict=True,
            )
        chosen = self.sla.select(case, customer, at=at)
        if chosen is None or not any(_watched(t) for t in chosen.targets):
            return ()
        statuses = self.sla.evaluate(case, at=at, customer=customer)
        # The policy's own targets come first; breaches carried over from an earlier
        # policy owe no update nor warning.
        return zip(chosen.targets, statuses, strict=False)


def _watched(target: ServiceTarget) -> bool:
    return target.metric is Metric.PERIODIC_UPDATE or target.warn_before is not None


def _target(value: object) -> ServiceTarget:
    if not isinstance(value, ServiceTarget):
        raise ValidationError("expected a collection of ServiceTarget", field="targets")
    return value


def _order(f: FollowUp) -> tuple[int, str, str, str, str, int]:
    return (
        micros(f.due_at),
        f.kind.value,
        str(f.customer_id),
        "" if f.record_id is None else str(f.record_id),
        "" if f.metric is None else f.metric.value,
        0 if f.rule is None else f.rule.level,
    )


def _for_customer(
    customer: Customer, window: _Window, policy: FollowUpPolicy
) -> Iterable[FollowUp]:
    greeting = _birthday(customer, window, policy)
    if greeting is not None:
        yield FollowUp(
            FollowUpKind.BIRTHDAY_GREETING,
            customer.id,
            greeting,
            None,
            "It is the customer's birthday in their own time zone: send a greeting.",
        )
    stage = customer.stage
    since = customer.lifecycle.since
    if stage is _C.AT_RISK:
        due = _after(since, policy.recovery_delay)
        if due is not None and due in window:
            yield FollowUp(
                FollowUpKind.RECOVERY_CONTACT,
                customer.id,
                due,
                None,
                "The customer was flagged at risk of leaving: contact them to put things right.",
            )
    elif stage is _C.CHURNED:
        due = _after(since, policy.win_back_delay)
        if due is not None and due in window:
            days = policy.win_back_delay.days  # exactly the time since the churn
            yield FollowUp(
                FollowUpKind.WIN_BACK_OFFER,
                customer.id,
                due,
                None,
                f"The customer left {days} day{'s' if days != 1 else ''} ago: "
                "make a win-back offer.",
            )


def _status_update(
    case: Case,
    status: TargetStatus,
    at: pendulum.DateTime,
    window: _Window,
    policy: FollowUpPolicy,
) -> FollowUp | None:
    if status.achieved_at is not None or status.due_at is None:
        return None  # nothing owed, or the clock is paused
    due = _after(status.due_at, -policy.update_lead)
    if due is None or micros(due) < micros(at):
        due = at
    if due not in window:
        return None
    return FollowUp(
        FollowUpKind.STATUS_UPDATE,
        case.customer_id,
        due,
        case.id,
        f"An open case is owed a status update by {status.due_at.isoformat()}: "
        "tell the customer where it stands before they ask.",
    )


def _warning(
    case: Case,
    target: ServiceTarget,
    status: TargetStatus,
    at: pendulum.DateTime,
    window: _Window,
) -> FollowUp | None:
    """The warning of a target with ``warn_before``: when it starts to warn (at once if it
    warns already), on the calendar's business time from ``at``."""
    warn = target.warn_before
    if status.state is not TargetState.ACTIVE or status.due_at is None or warn is None:
        return None
    due = at
    if not status.warning:
        left = _per_us(status.remaining, _US) - _per_us(warn, _US)
        try:
            t = working_deadline(target.calendar, micros(at), left)
        except ValidationError:  # after the year 9999: no window reaches it
            return None
        found = _after(status.due_at, dt.timedelta(microseconds=t - micros(status.due_at)))
        if found is None:
            return None
        due = found
    if due not in window:
        return None
    what = target.metric.value.replace("_", " ")
    return FollowUp(
        FollowUpKind.TARGET_WARNING,
        case.customer_id,
        due,
        case.id,
        f"An open case's {what} target breaches at {status.due_at.isoformat()}: "
        "act before it does.",
        metric=target.metric,
    )


_ACTIONS = {
    EscalationAction.NOTIFY: "notify those who watch this level",
    EscalationAction.REASSIGN: "reassign the case",
    EscalationAction.RAISE_PRIORITY: "raise the case's priority",
}


def _escalation_why(rule: EscalationRule) -> str:
    triggers = []
    if rule.on_breach is not None:
        triggers.append(f"its {rule.on_breach.value.replace('_', ' ')} target has breached")
    if rule.after is not None:
        triggers.append(
            f"it has matched the rule for {rule.after.in_words()}, not counting time on hold"
        )
    why = " and ".join(triggers) or "it matches the rule"
    return f"Level {rule.level} escalation: {why}. Proposed: {_ACTIONS[rule.action]}."


def _survey_follow_up(
    survey: SurveyPolicy, reminder: bool, interaction: Interaction, delay: dt.timedelta
) -> FollowUp | None:
    resolved = interaction.resolved_at
    assert resolved is not None
    due = _after(resolved, delay)
    if due is None:
        return None
    if reminder:
        return FollowUp(
            FollowUpKind.FEEDBACK_REMINDER,
            interaction.customer_id,
            due,
            interaction.id,
            "The customer was asked about a resolved interaction and has given no "
            "feedback: remind them, once.",
        )
    expiry = ""
    if survey.expire_after is not None:
        ends = _after(due, survey.expire_after)
        if ends is not None:
            expiry = f" The request expires at {ends.isoformat()}."
    return FollowUp(
        FollowUpKind.FEEDBACK_REQUEST,
        interaction.customer_id,
        due,
        interaction.id,
        f"The interaction was resolved and is in the survey's sample: ask how it went.{expiry}",
    )
