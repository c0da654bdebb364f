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
  ``feedback_delay`` after it was resolved (one day by default).
* **status update** on every open case whose ``PERIODIC_UPDATE`` target is
  near: due ``update_lead`` before the target's due instant (an hour by
  default), or at once if that moment has passed. The target is evaluated
  at the start of the window (or when the case opened, if later), so only
  history known then counts. Targets on other metrics are ignored.
* **recovery contact** for ``AT_RISK`` customers, ``recovery_delay`` after
  they were flagged (one day by default).
* **win-back offer** for ``CHURNED`` customers, ``win_back_delay`` after
  they churned (30 days by default).

Every delay is exact elapsed time (a day is 24 hours), counted from the
instant a record holds, so the zone an instant happens to be written in never
moves a due instant: the same churn written in UTC or in Europe/London gives
the same offer at the same instant. Only the birthday greeting follows a
calendar, the customer's own (see above).

An action is proposed once per window: actions with the same
``(kind, customer_id, record_id)`` (:attr:`FollowUp.key`) are merged, the
earliest kept. So a window longer than a year proposes one birthday
greeting per customer, the first; plan day by day or week by week. Every
action has a due instant fixed by the data, so planning consecutive windows
proposes each action in exactly one of them (status updates excepted: they
are re-read at each window's start, as agents reply).

The result is sorted by due instant, then kind, customer id and record id.
Each action says why, in a sentence with no personal data (not even the
birthday), so it can be queued, logged and shown to agents.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable

import attrs
import pendulum

from .._time import aware, duration, micros
from .._time import timezone as _check_timezone
from ..cases import Case
from ..customers import Customer
from ..enums import CustomerStage, Metric
from ..errors import ValidationError
from ..interactions import Interaction
from ..service_levels import ServiceTarget
from ..storage.protocols import Store
from ._on_async import accepts_async_store

__all__ = ["FollowUp", "FollowUpKind", "FollowUpPolicy", "plan_follow_ups"]

_C = CustomerStage


class FollowUpKind(enum.StrEnum):
    """What kind of action a follow-up is."""

    BIRTHDAY_GREETING = "birthday_greeting"
    """Greet the customer on their birthday, in their own time zone."""
    FEEDBACK_REQUEST = "feedback_request"
    """Ask how a resolved interaction went."""
    STATUS_UPDATE = "status_update"
    """Tell the customer where an open case stands before a periodic-update target is due."""
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
        record_id: the interaction (feedback request) or case (status
            update) it is about; ``None`` for the customer as a whole.
        why: the reason, as a sentence with no personal data.
    """

    kind: FollowUpKind
    customer_id: uuid.UUID
    due_at: pendulum.DateTime
    record_id: uuid.UUID | None
    why: str

    @property
    def key(self) -> tuple[FollowUpKind, uuid.UUID, uuid.UUID | None]:
        """``(kind, customer_id, record_id)``: what makes two proposals the same action."""
        return (self.kind, self.customer_id, self.record_id)


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
        feedback_delay: how long after resolution to ask for feedback (1 day).
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
) -> tuple[FollowUp, ...]:
    """The follow-up actions due in ``[window_start, window_end)``.

    Args:
        customers: any iterable of customers (read once), or a store: then
            its customers, interactions and cases are read, unless
            ``interactions`` or ``cases`` are given.
        interactions: any iterable of interactions (read once), for
            feedback requests.
        cases: any iterable of cases (read once), for status updates.
        window_start: the start of the window (included); timezone-aware.
        window_end: the end of the window (excluded); after the start.
        targets: service targets; those on ``PERIODIC_UPDATE`` decide when
            status updates are due.
        policy: delays, the greeting time and who is greeted; see
            :class:`FollowUpPolicy`.

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
        ...                    timezone="Pacific/Kiritimati").advance("acquire", at=clock.now())
        >>> [(f.kind.value, f.due_at.isoformat()) for f in plan_follow_ups(
        ...     [ada], window_start=pendulum.datetime(2026, 3, 1),
        ...     window_end=pendulum.datetime(2026, 3, 2))]
        [('birthday_greeting', '2026-03-02T09:00:00+14:00')]
    """
    start = aware(window_start, "window_start")
    end = aware(window_end, "window_end")
    if micros(end) <= micros(start):
        raise ValidationError("must be after window_start", field="window_end")
    if not isinstance(policy, FollowUpPolicy):
        raise ValidationError("expected a FollowUpPolicy", field="policy")
    updates = tuple(t for t in targets if _target(t).metric is Metric.PERIODIC_UPDATE)
    if isinstance(customers, Store):
        store = customers
        customers = store.customers.all()
        interactions = store.interactions.all() if interactions is None else interactions
        cases = store.cases.all() if cases is None else cases
    window = _Window(start, end)
    found: dict[tuple[FollowUpKind, uuid.UUID, uuid.UUID | None], FollowUp] = {}

    def propose(follow_up: FollowUp) -> None:
        seen = found.get(follow_up.key)
        if seen is None or micros(follow_up.due_at) < micros(seen.due_at):
            found[follow_up.key] = follow_up

    for customer in customers:
        if not isinstance(customer, Customer):
            raise ValidationError("expected a Customer", field="customers")
        for follow_up in _for_customer(customer, window, policy):
            propose(follow_up)
    for interaction in interactions or ():
        if not isinstance(interaction, Interaction):
            raise ValidationError("expected an Interaction", field="interactions")
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
    for case in cases or ():
        if not isinstance(case, Case):
            raise ValidationError("expected a Case", field="cases")
        if case.merged_into is not None:
            continue  # its target case is owed the updates
        for follow_up in _status_updates(case, updates, window, policy):
            propose(follow_up)
    return tuple(sorted(found.values(), key=_order))


def _target(value: object) -> ServiceTarget:
    if not isinstance(value, ServiceTarget):
        raise ValidationError("expected a collection of ServiceTarget", field="targets")
    return value


def _order(f: FollowUp) -> tuple[int, str, str, str]:
    return (
        micros(f.due_at),
        f.kind.value,
        str(f.customer_id),
        "" if f.record_id is None else str(f.record_id),
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


def _status_updates(
    case: Case, targets: tuple[ServiceTarget, ...], window: _Window, policy: FollowUpPolicy
) -> Iterable[FollowUp]:
    opened = micros(case.opened_at)
    if not targets or opened >= window.t1:
        return
    at = window.start if opened < window.t0 else case.opened_at
    for status in ServiceTarget.evaluate_many(targets, case, at=at):
        if status.achieved_at is not None or status.due_at is None:
            continue  # nothing owed, or the clock is paused
        due = _after(status.due_at, -policy.update_lead)
        if due is None or micros(due) < micros(at):
            due = at
        if due in window:
            yield FollowUp(
                FollowUpKind.STATUS_UPDATE,
                case.customer_id,
                due,
                case.id,
                f"An open case is owed a status update by {status.due_at.isoformat()}: "
                "tell the customer where it stands before they ask.",
            )
