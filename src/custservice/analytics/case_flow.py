"""The backlog: how old the open cases are at an instant, and how the flow of cases goes.

:func:`backlog` reads cases once (any iterable, or a store) and keeps
counters and one integer per open case:

* **open cases by age**: a case is open at an instant when it was opened by
  then and was neither solved nor closed then (the rule every count of open
  cases reads, ``custservice.service_levels.FINISHED``, applied to its status
  at that instant). Its age is the time since it was opened, in the working
  time of a :class:`~custservice.calendars.BusinessCalendar`
  (:data:`~custservice.calendars.ALWAYS` by default: calendar time). The ages
  form a :class:`~custservice.analytics.Distribution`: median, 90th and 95th
  percentiles, and counts per age bucket.
* **created vs solved**, per day, ISO week or month in the calendar's time
  zone: the cases opened in each period, and the cases solved (or closed) in
  each, each counted once, in the period of its latest resolution (the start
  of the stretch it has been solved or closed in without a break). Cases
  still open are not solved anywhere, so ``created`` adds up to the open
  cases plus ``solved``.
* **reopen rate**: of the cases solved (or closed) at least once, the percent
  reopened at least once (back from solved or closed to an open status), as
  :func:`~custservice.analytics.case_metrics` counts ``reopens``.

Everything is as of the instant asked: history after it is left out, and
cases opened after it are not counted. A case merged into another (its
``merged_into`` set) is left out, as the scorecard leaves it out: its work
is counted under the case it went into.

Given a store of the shared SQL core, the cases are read from one snapshot:
a case whose statuses have not changed since the instant is read from its
typed columns alone (its opening, its time to resolution, its reopenings:
what the rules give over its whole history, written with it), any other
from its row's stored text (only what the rules read of it, not the whole
case); any other store is streamed.
"""

from __future__ import annotations

import datetime as dt
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping

import attrs
import pendulum

from .._mapping import freeze
from .._time import aware, in_zone, micros
from .._validation import member
from ..calendars import ALWAYS, BusinessCalendar, working_time
from ..cases import Case
from ..errors import ValidationError
from ..service_levels import CaseFacts
from ..storage.protocols import Store
from ._on_async import accepts_async_store
from .distribution import Distribution, checked_bounds, of_micros
from .scorecard import GroupBy, period_of

__all__ = ["DEFAULT_AGES", "Backlog", "backlog"]

DEFAULT_AGES: tuple[pendulum.Duration, ...] = (
    pendulum.duration(hours=4),
    pendulum.duration(days=1),
    pendulum.duration(days=3),
    pendulum.duration(days=7),
    pendulum.duration(days=30),
)
"""The bounds of the age buckets :func:`backlog` counts by default: 4 hours, 1 day,
3 days, a week and 30 days, so six buckets ``< 4h`` … ``≥ 30d``."""

_PERIODS = (GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@attrs.frozen
class Backlog:
    """Open cases by age at an instant, cases created and solved per period, reopenings.

    Attributes:
        at: the instant described, in the calendar's zone.
        ages: the distribution of the open cases' ages at ``at``, in the
            calendar's working time; its ``count`` is the number of open cases.
        period: what ``created`` and ``solved`` are counted per: a day, an ISO
            week or a month.
        created: per period (``"2026-03-02"``, ``"2026-W10"``, ``"2026-03"``),
            the cases opened in it; only periods with some, keys sorted.
        solved: per period, the cases whose latest resolution falls in it,
            among those solved or closed at ``at``; only periods with some,
            keys sorted.
        resolved_once: the cases solved or closed at least once by ``at``.
        reopened: of those, the cases reopened at least once by ``at``.
    """

    at: pendulum.DateTime
    ages: Distribution
    period: GroupBy
    created: Mapping[str, int] = attrs.field(converter=freeze)
    solved: Mapping[str, int] = attrs.field(converter=freeze)
    resolved_once: int
    reopened: int

    @property
    def open(self) -> int:
        """How many cases are open at :attr:`at`."""
        return self.ages.count

    @property
    def reopen_rate(self) -> float | None:
        """``reopened / resolved_once`` in percent; ``None`` when no case was resolved."""
        return None if not self.resolved_once else 100.0 * self.reopened / self.resolved_once


@accepts_async_store
def backlog(
    source: Iterable[Case] | Store,
    *,
    at: dt.datetime,
    buckets: Iterable[dt.timedelta] = DEFAULT_AGES,
    calendar: BusinessCalendar = ALWAYS,
    period: GroupBy | str = GroupBy.DAY,
) -> Backlog:
    """Open cases by age at ``at``, cases created and solved per period, and the reopen rate.

    Args:
        source: cases (any iterable, read once), or a store (its cases), or an
            async store (then awaited).
        at: the instant described.
        buckets: the bounds of the age buckets: increasing positive
            durations; :data:`DEFAULT_AGES` by default.
        calendar: whose working time ages are measured in, and whose time zone
            periods are cut in; :data:`~custservice.calendars.ALWAYS` (calendar
            time, UTC) by default.
        period: ``"day"``, ``"week"`` or ``"month"``: what cases created and
            solved are counted per.

    Returns:
        The :class:`Backlog`.

    Raises:
        ValidationError: an argument is invalid; the field is named.

    Examples:
        >>> import uuid
        >>> from custservice.analytics import backlog
        >>> clock = FixedClock(pendulum.datetime(2026, 3, 2, 9))
        >>> old = Case.open(uuid.uuid4(), "Refund", clock=clock)
        >>> old = old.advance("open", at=clock.now())
        >>> clock.advance(pendulum.duration(days=2))
        DateTime(2026, 3, 4, 9, 0, 0, tzinfo=Timezone('UTC'))
        >>> new = Case.open(uuid.uuid4(), "Login", clock=clock)
        >>> new = new.advance("solve", at=clock.now())
        >>> b = backlog([old, new], at=clock.advance(pendulum.duration(hours=3)))
        >>> ages = dict(zip(b.ages.labels, b.ages.buckets))
        >>> b.open, b.ages.median.in_hours(), ages["< 3d"]
        (1, 51, 1)
        >>> dict(b.created), dict(b.solved), b.reopen_rate
        ({'2026-03-02': 1, '2026-03-04': 1}, {'2026-03-04': 1}, 0.0)
    """
    when = aware(at, "at")
    bounds = checked_bounds(buckets)
    if not isinstance(calendar, BusinessCalendar):
        raise ValidationError("expected a BusinessCalendar", field="calendar")
    per = member(GroupBy, period, "period")
    if per not in _PERIODS:
        raise ValidationError("expected 'day', 'week' or 'month'", field="period")
    now = micros(when)
    read: Iterable[Flow]
    if isinstance(source, Store):
        snapshot = getattr(source, "sql_snapshot", None)
        if callable(snapshot):
            # Imported here: it loads SQLAlchemy, which only SQL stores need.
            from ._case_flow_sql import case_flows

            read = case_flows(snapshot, now)
        else:
            read = _flows(source.cases.all(), now)
    elif isinstance(source, str) or not isinstance(source, Iterable):
        raise ValidationError("expected cases or a store", field="source")
    else:
        read = _flows(source, now)
    return _counted(read, in_zone(when, calendar.timezone), bounds, calendar, per)


Flow = tuple[int, int | None, int]
"""What the backlog reads of a case at an instant (microseconds since 1970, UTC): when it
was opened, since when it has been solved or closed (``None`` while open), and how many
times it was reopened."""


def flow(facts: CaseFacts) -> Flow:
    """What the backlog reads of the case of ``facts``, at their instant."""
    return facts.opened, facts.finished_since, facts.reopens


def _flows(cases: Iterable[Case], now: int) -> Iterator[Flow]:
    """What the backlog reads at ``now`` of the cases counted: opened by then, not merged."""
    for case in cases:
        if not isinstance(case, Case):
            raise ValidationError("expected cases", field="source")
        if case.merged_into is not None or micros(case.opened_at) > now:
            continue
        yield flow(CaseFacts.of(case, now))


def _counted(
    flows: Iterable[Flow],
    at: pendulum.DateTime,
    bounds: tuple[pendulum.Duration, ...],
    calendar: BusinessCalendar,
    per: GroupBy,
) -> Backlog:
    now = micros(at)
    period = period_of(per, calendar.timezone)
    ages = array("q")
    created: Counter[str] = Counter()
    solved: Counter[str] = Counter()
    resolved_once = reopened = 0
    business = calendar is not ALWAYS
    for opened, finished, reopens in flows:
        created[period(_instant(opened))] += 1
        if finished is None:
            ages.append(working_time(calendar, opened, now) if business else now - opened)
        else:
            solved[period(_instant(finished))] += 1
        if finished is not None or reopens:
            resolved_once += 1
            reopened += reopens > 0
    return Backlog(
        at=at,
        ages=of_micros(ages, bounds),
        period=per,
        created=dict(sorted(created.items())),
        solved=dict(sorted(solved.items())),
        resolved_once=resolved_once,
        reopened=reopened,
    )


def _instant(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=us)
