"""What the report asks of SQL besides the scorecard is what the analytics compute from
the records, on every SQL engine, right at the edges of every window.

- ``analytics/_health_sql``: per customer, the recent and earlier verdicts and
  the last contact, counted over the typed columns, judged as health judges
  them, give the health :func:`~custservice.analytics.health` gives from the
  customer's records;
- ``analytics/_planner_sql``: the interactions chosen in SQL as owing a
  feedback request in a window are exactly those the planner proposes one for.

The instants judged at are drawn on the records' own instants, moved by whole
windows and by a microsecond either way, where a bound written differently in
SQL and in Python would show.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

import pendulum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh, Records, fill

from custservice import (
    SATISFACTION_10,
    Channel,
    Customer,
    Feedback,
    FixedClock,
    Interaction,
    Store,
)
from custservice._time import micros
from custservice.analytics import (
    FollowUpKind,
    FollowUpPolicy,
    HealthWeights,
    VerdictCounts,
    health,
    plan_follow_ups,
)
from custservice.analytics._health_sql import read_recent_verdicts
from custservice.analytics._planner_sql import feedback_candidates
from custservice.analytics.health import Span, judged, risk_of
from custservice.storage.sql import SqlStore
from custservice.storage.sql.store import Snapshot
from custservice.testing import strategies as cst

admin = _sql_stores.admin
fresh = _sql_stores.fresh

US = dt.timedelta(microseconds=1)
NUDGES = st.sampled_from([-US, dt.timedelta(0), US])
SPANS = st.sampled_from([dt.timedelta(days=1), dt.timedelta(days=90)]) | st.timedeltas(
    min_value=dt.timedelta(hours=1), max_value=dt.timedelta(days=400)
)
SETTINGS = settings(
    max_examples=min(40, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def snapshot(store: Store) -> AbstractContextManager[Snapshot]:
    assert isinstance(store, SqlStore)
    return store.sql_snapshot()


def edges(i: Interaction, window: dt.timedelta, weights: HealthWeights) -> list[pendulum.DateTime]:
    """The instants at which one of health's bounds falls on interaction ``i``, and a
    microsecond either side: ``now`` on its opening and on its feedback; ``recent_from``,
    ``earlier_from`` and ``first`` on its opening."""
    reach = max(2 * window, weights.quiet_after)
    bases = [i.opened_at, i.opened_at + window, i.opened_at + 2 * window, i.opened_at + reach]
    if i.feedback is not None:
        bases.append(i.feedback.at)
    return [base + nudge for base in bases for nudge in (-US, dt.timedelta(0), US)]


def check_health_counts(
    store: Store,
    records: Records,
    at: pendulum.DateTime,
    window: dt.timedelta,
    weights: HealthWeights,
) -> None:
    """The counts of ``store`` at ``at``, judged, are every customer's health."""
    people, calls, _ = records
    with snapshot(store) as sql:
        counted = read_recent_verdicts(sql, Span(at, window, weights))()
    assert set(counted) <= {c.id for c in people}
    for customer in people:
        own = [i for i in calls if i.customer_id == customer.id]
        expected = health(customer, own, at=at, window=window, weights=weights)
        recent, earlier, last = counted.get(customer.id, (VerdictCounts(), VerdictCounts(), None))
        assert (recent, earlier) == (expected.recent, expected.earlier), at
        assert last == (None if expected.last_contact is None else micros(expected.last_contact))
        assert judged(customer, at, recent, earlier, 0, expected.last_contact, weights) == expected
        assert risk_of(customer, at, recent, earlier, 0, last, weights) == (
            expected.stage,
            expected.risk,
        )


@SETTINGS
@given(
    cst.customer_records(max_customers=3, max_interactions=6, max_cases=0),
    SPANS,
    SPANS,
    st.data(),
)
def test_verdicts_counted_in_sql_judge_as_health_judges(
    fresh: Fresh,
    records: Records,
    window: dt.timedelta,
    quiet_after: dt.timedelta,
    data: st.DataObject,
) -> None:
    weights = HealthWeights(quiet_after=quiet_after)
    calls = records[1]
    with fresh() as store:
        fill(store, records)
        if not calls:
            check_health_counts(store, records, data.draw(cst.aware_datetimes()), window, weights)
            return
        for at in edges(data.draw(st.sampled_from(calls)), window, weights):
            check_health_counts(store, records, at, window, weights)


def test_every_bound_of_health_holds_at_the_microsecond(fresh: Fresh) -> None:
    """One rated interaction, judged at each instant a bound falls on it."""
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris"))
    ada = Customer.new("Ada", clock=clock).advance("acquire", at=clock.now())
    call = Interaction.open(ada.id, Channel.CHAT, clock=clock)
    fb = Feedback(3, SATISFACTION_10, at=clock.advance(pendulum.duration(minutes=5)))
    records: Records = ([ada], [call.record_feedback(fb)], [])
    window = dt.timedelta(days=1)
    with fresh() as store:
        fill(store, records)
        for weights in (HealthWeights(), HealthWeights(quiet_after=dt.timedelta(hours=1))):
            for at in edges(records[1][0], window, weights):
                check_health_counts(store, records, at, window, weights)


@SETTINGS
@given(
    cst.customer_records(max_customers=3, max_interactions=6, max_cases=0),
    st.sampled_from([dt.timedelta(0), dt.timedelta(days=1)]) | SPANS,
    SPANS,
    st.data(),
)
def test_interactions_chosen_in_sql_are_those_owing_a_feedback_request(
    fresh: Fresh,
    records: Records,
    delay: dt.timedelta,
    length: dt.timedelta,
    data: st.DataObject,
) -> None:
    resolved = [i.resolved_at for i in records[1] if i.resolved_at is not None]
    with fresh() as store:
        fill(store, records)
        if not resolved:
            start = data.draw(cst.aware_datetimes())
            check_candidates(store, records, start, start + length, delay)
            return
        due = data.draw(st.sampled_from(resolved)) + delay
        for nudge in (-US, dt.timedelta(0), US):  # the window starts, or ends, on a due instant
            check_candidates(store, records, due + nudge, due + nudge + length, delay)
            check_candidates(store, records, due + nudge - length, due + nudge, delay)


def check_candidates(
    store: Store,
    records: Records,
    start: pendulum.DateTime,
    end: pendulum.DateTime,
    delay: dt.timedelta,
) -> None:
    """The interactions chosen in SQL are those the planner asks feedback on; with
    ``answered``, every interaction whose request falls in the window, feedback or not."""
    with snapshot(store) as sql:
        chosen = [i.id for page in feedback_candidates(sql, start, end, delay) for i in page]
        pages = feedback_candidates(sql, start, end, delay, answered=True)
        read = [i for page in pages for i in page]
        answered = [i.id for i in read]
        assert all(i == store.interactions.get(i.id) for i in read)  # each read whole
    due = [i.id for i in records[1] if i.resolved_at and start <= i.resolved_at + delay < end]
    assert sorted(answered) == sorted(due)
    planned = plan_follow_ups(
        [],
        records[1],
        [],
        window_start=start,
        window_end=end,
        policy=FollowUpPolicy(feedback_delay=delay),
    )
    assert all(f.kind is FollowUpKind.FEEDBACK_REQUEST for f in planned)
    assert sorted(chosen) == sorted(f.record_id for f in planned if f.record_id is not None)
    assert len(chosen) == len(set(chosen))


def test_every_bound_of_a_feedback_request_holds_at_the_microsecond(fresh: Fresh) -> None:
    """Two interactions resolved at one instant, one rated: windows starting and ending
    on the request's due instant, and a microsecond either side."""
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="America/New_York"))
    ada = Customer.new("Ada", clock=clock).advance("acquire", at=clock.now())
    calls = []
    for rated in (False, True):
        call = Interaction.open(ada.id, Channel.PHONE, clock=clock)
        for event in ("receive", "understand", "help"):
            call = call.advance(event, at=clock.now())
        call = call.resolve(at=clock.now().add(minutes=10))
        if rated:
            call = call.record_feedback(Feedback(9, SATISFACTION_10, at=clock.now().add(hours=1)))
        calls.append(call)
    records: Records = ([ada], calls, [])
    delay = dt.timedelta(days=1)
    due = clock.now().add(minutes=10) + delay
    with fresh() as store:
        fill(store, records)
        for nudge in (-US, dt.timedelta(0), US):
            check_candidates(store, records, due + nudge, due + nudge + delay, delay)
            check_candidates(store, records, due + nudge - delay, due + nudge, delay)
