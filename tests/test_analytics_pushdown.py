"""Scorecards pushed down to SQL give exactly the figures of streaming, on every SQL engine.

``scorecard(store)`` computes the scorecard of a store of the shared SQL core
(``storage/sql``) in its database, over the typed columns, through the store's
``sql_snapshot`` (``analytics/_scorecard_sql``); ``scorecard(store.interactions.all(),
store.cases.all(), customers=store)`` streams the same records through Python.
Every figure must be identical, floats included, for every grouping, time
zone, set of targets and CSAT scales: a Hypothesis property on generated
data, and examples aimed at what SQL finds hard (text group keys, odd UTC
offsets, daylight-saving changes, a ``receive`` change out of place).

SQLite runs on a real file under ``tmp_path``. PostgreSQL runs on
``CUSTSERVICE_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``),
each store in a schema of its own, dropped afterwards; MariaDB (or MySQL) on
``CUSTSERVICE_MYSQL_URL``, each store in a database of its own. When a server
cannot be reached its tests are skipped with the reason, or fail if
``CUSTSERVICE_REQUIRE_PG=1`` or ``CUSTSERVICE_REQUIRE_MYSQL=1``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path
from typing import Any

import pendulum
import pytest
from conftest import costly_examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh

from custservice import (
    CSAT_5,
    NPS_SCALE,
    SATISFACTION_10,
    Case,
    Channel,
    Customer,
    Factor,
    Feedback,
    FixedClock,
    Interaction,
    LifecycleState,
    Metric,
    ScoreScale,
    ServiceArea,
    ServiceTarget,
    StateChange,
    Store,
    Verdict,
)
from custservice.analytics import (
    DEFAULT_BOUNDS,
    NO_GROUP,
    GroupBy,
    Scorecard,
    ScorecardQuery,
    scorecard,
)
from custservice.analytics._scorecard_sql import Kept, sql_scorecard, start_scorecard
from custservice.analytics.scorecard import checked_query
from custservice.storage.sql import SqlStore
from custservice.testing import strategies as cst

T0 = pendulum.datetime(2026, 3, 2, 9)
MIN = pendulum.duration(minutes=1)
TARGETS = (
    ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(days=2)),
    ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(days=5)),
)
EVALUATED_AT = pendulum.datetime(2040, 1, 1)
GROUPINGS: tuple[GroupBy | None, ...] = (None, *GroupBy)

# --- stores --------------------------------------------------------------------------

admin = _sql_stores.admin
fresh = _sql_stores.fresh


def push_down(store: Store, query: ScorecardQuery) -> Scorecard | None:
    """The scorecard the analytics compute in the store's database, or ``None``."""
    assert isinstance(store, SqlStore)
    return sql_scorecard(store.sql_snapshot, query)


def holds_nul(store: Store) -> bool:
    """Whether the store keeps U+0000 in an agent, a segment or a scale's name: not on
    PostgreSQL, whose text cannot hold it."""
    assert isinstance(store, SqlStore)
    with store.sql_snapshot() as snapshot:
        return snapshot.dialect != "postgresql"


def fill(
    store: Store, customers: list[Customer], interactions: list[Interaction], cases: list[Case]
) -> Store:
    store.customers.add_many(customers)
    store.interactions.add_many(interactions)
    store.cases.add_many(cases)
    return store


def pushed_and_streamed(
    store: Store, *, in_sql: bool = True, **options: Any
) -> tuple[Scorecard, Scorecard]:
    """The scorecard computed in the store's database (it must be, unless ``in_sql`` is
    false), and the one streamed from it."""
    query = ScorecardQuery(
        GroupBy(options["by"]) if options.get("by") else None,
        tuple(options.get("targets", ())),
        options.get("at"),
        options.get("timezone", "UTC"),
        None if options.get("csat_scales") is None else frozenset(options["csat_scales"]),
        tuple(options.get("buckets", DEFAULT_BOUNDS)),
    )
    pushed = push_down(store, query)
    streamed = scorecard(store.interactions.all(), store.cases.all(), customers=store, **options)
    if pushed is None:
        assert not in_sql, "the scorecard was not computed in SQL"
        pushed = streamed
    assert scorecard(store, **options) == pushed
    return pushed, streamed


def nul_in_a_tag(*records: list[Any]) -> bool:
    """Whether a record has a tag holding U+0000, which SQLite's JSON functions cut short:
    such tags are grouped by streaming."""
    return any("\x00" in tag for kind in records for record in kind for tag in record.tags)


# --- the property --------------------------------------------------------------------


def records() -> st.SearchStrategy[tuple[list[Customer], list[Interaction], list[Case]]]:
    """A few customers, each with a few interactions and cases."""
    return cst.customer_records(max_interactions=5)


CSAT_SCALES = st.sampled_from(
    [None, frozenset({CSAT_5}), frozenset({CSAT_5, SATISFACTION_10}), frozenset()]
)


# Bucket bounds: the default ones, none (one bucket), a microsecond (the waits of none
# and of some), and bounds around the waits the strategies draw (up to 30 days).
BUCKETS = st.sampled_from(
    [
        DEFAULT_BOUNDS,
        (),
        (dt.timedelta(microseconds=1),),
        (MIN, pendulum.duration(hours=6), pendulum.duration(days=9), pendulum.duration(days=29)),
    ]
)


def _in_range(value: float | None, low: float, high: float) -> bool:
    return value is None or low <= value <= high


def check_distributions(card: Scorecard) -> None:
    """A distribution's figures are in order and its buckets add up to its count."""
    for d in (card.queue_wait, card.first_reply, card.resolution):
        assert sum(d.buckets) == d.count
        if d.count:
            assert d.median is not None
            assert d.p90 is not None
            assert d.p95 is not None
            assert d.median <= d.p90 <= d.p95


# Each example fills a database and computes a few groupings twice (every grouping, on
# records made for it, in test_every_grouping_of_a_desk): bounded, so the thorough
# profile adds examples without adding minutes; the deep profile runs them all.
@settings(
    max_examples=costly_examples(40),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    records(),
    cst.timezones(),
    st.booleans(),
    CSAT_SCALES,
    st.lists(st.sampled_from(GROUPINGS), min_size=1, max_size=3, unique=True),
    BUCKETS,
)
def test_push_down_equals_streaming_for_every_grouping(
    fresh: Fresh,
    data: tuple[list[Customer], list[Interaction], list[Case]],
    zone: str,
    with_targets: bool,
    csat_scales: frozenset[ScoreScale] | None,
    groupings: list[GroupBy | None],
    buckets: tuple[dt.timedelta, ...],
) -> None:
    options: dict[str, Any] = {"timezone": zone, "csat_scales": csat_scales, "buckets": buckets}
    if with_targets:
        options.update(targets=TARGETS, at=EVALUATED_AT)
    streamed_tags = nul_in_a_tag(data[1], data[2])
    with fresh() as store:
        fill(store, *data)
        for by in groupings:
            in_sql = by is not GroupBy.TAG or not streamed_tags
            pushed, streamed = pushed_and_streamed(store, by=by, in_sql=in_sql, **options)
            assert pushed == streamed, by
            for card in (pushed, *pushed.groups.values()):
                check_distributions(card)
                assert _in_range(card.csat, 0, 100)
                assert _in_range(card.first_contact_resolution, 0, 100)
                assert _in_range(card.nps, -100, 100)
        # In one snapshot, begun together and finished in order, each after the first may
        # take the interactions' counts the ones before it kept: by priority, last, has
        # its interactions all in one group.
        assert isinstance(store, SqlStore)
        kept: Kept = {}

        def query(by: GroupBy | None) -> ScorecardQuery:
            targets, at = options.get("targets", ()), options.get("at")
            return checked_query(by, targets, at, zone, csat_scales, buckets)

        with store.sql_snapshot() as snapshot:
            begun = [
                (by, start_scorecard(snapshot, query(by), kept))
                for by in [*groupings, GroupBy.PRIORITY]
            ]
            for by, finish in begun:
                card = None if finish is None else finish(None, None)
                streamed = scorecard(
                    store.interactions.all(), store.cases.all(), customers=store, by=by, **options
                )
                assert card is None or card == streamed, by


# --- examples aimed at what SQL finds hard ------------------------------------------------


def served(
    customer: Customer,
    at: pendulum.DateTime,
    *,
    wait: dt.timedelta | None,
    channel: Channel = Channel.PHONE,
    agent: str | None = None,
    handoffs: tuple[str, ...] = (),
    resolve: bool = True,
    feedback: Feedback | None = None,
    root_cause: ServiceArea | None = None,
) -> Interaction:
    clock = FixedClock(at)
    i = Interaction.open(customer.id, channel, clock=clock, agent=agent)
    if wait is not None:
        i = i.advance("receive", at=clock.advance(wait))
        i = i.advance("understand", at=clock.advance(MIN))
        i = i.advance("help", at=clock.advance(MIN))
        for to in handoffs:
            i = i.handoff(to, at=clock.advance(MIN))
        if resolve:
            i = i.resolve(at=clock.advance(MIN))
    if feedback is not None:
        i = i.record_feedback(feedback)
    if root_cause is not None:
        i = i.tag_root_cause(root_cause)
    return i


def test_hand_checked_figures_come_from_sql(fresh: Fresh) -> None:
    ada = Customer.new("Ada", clock=FixedClock(T0), segment="vip")
    rated = Feedback(9, NPS_SCALE, at=T0.add(hours=2), ratings={Factor.SPEED: 4})
    interactions = [
        served(ada, T0, wait=2 * MIN, feedback=Feedback(5, CSAT_5, at=T0.add(hours=1))),
        served(ada, T0.add(hours=1), wait=10 * MIN, handoffs=("billing",), feedback=rated),
        served(ada, T0.add(hours=2), wait=4 * MIN, resolve=False),
        served(ada, T0.add(hours=3), wait=None, root_cause=ServiceArea.TOOLS),
    ]
    case = Case.open(ada.id, "refund", clock=FixedClock(T0)).advance("open", at=T0)
    with fresh() as store:
        fill(store, [ada], interactions, [case])
        pushed, streamed = pushed_and_streamed(store, targets=TARGETS[:1], at=T0.add(days=3))
    assert pushed == streamed
    assert (pushed.interactions, pushed.cases, pushed.resolved) == (4, 1, 2)
    assert (pushed.first_contact_resolved, pushed.handoffs) == (1, 1)
    assert (pushed.csat, pushed.nps) == (100.0, 100.0)
    assert pushed.verdicts.count(Verdict.DELIGHTED) == 2
    assert set(pushed.factor_verdicts) == {Factor.SPEED}
    assert pushed.factor_verdicts[Factor.SPEED].dissatisfied == 1
    # waits 2, 4, 10 minutes: median 4, nearest-rank p90 the third
    assert (pushed.waits, pushed.wait_median, pushed.wait_p90) == (3, 4 * MIN, 10 * MIN)
    assert pushed.targets[Metric.FIRST_RESPONSE].breached == 1


HOUR = pendulum.duration(hours=1)


def desk(customer: Customer) -> list[Case]:
    """Cases of every priority, team, assignee and tag, with known replies and resolutions:
    first replies after 10 minutes (urgent), 90 minutes and 4 hours (urgent); resolutions
    after 2 hours and 3 days and an hour; one case merged into another, never counted."""

    def opened(**fields: Any) -> Case:
        return Case.open(customer.id, "order", clock=FixedClock(T0), **fields).advance(
            "open", at=T0
        )

    vip = opened(priority="urgent", team="billing", tags={"vip", "refund"})
    vip = vip.assign("ana", at=T0).record_update(at=T0 + 10 * MIN)
    vip = vip.advance("solve", at=T0 + 2 * HOUR)
    waiting = opened(team="billing", tags={"refund"}).record_update(at=T0 + 90 * MIN)
    slow = opened(priority="low").assign("bo", at=T0, team="tier 2")
    slow = slow.advance("solve", at=T0.add(days=3, hours=1)).advance("close", at=T0.add(days=4))
    odd = opened(priority="urgent", tags={"(none)", 'say "hi"', " padded "})
    odd = odd.record_update(at=T0 + 4 * HOUR)
    again = opened(tags={"refund"}).record_update(at=T0 + MIN).merge_into(vip.id, at=T0 + HOUR)
    return [vip, waiting, slow, odd, again]


def test_hand_checked_distributions_of_cases_come_from_sql(fresh: Fresh) -> None:
    ada = Customer.new("Ada", clock=FixedClock(T0))
    with fresh() as store:
        fill(store, [ada], [served(ada, T0, wait=w * MIN) for w in (1, 3, 7, 400)], desk(ada))
        pushed, streamed = pushed_and_streamed(store)
        assert pushed == streamed
        reply, resolved = pushed.first_reply, pushed.resolution
        assert (reply.count, reply.median, reply.p90, reply.p95) == (
            3,
            90 * MIN,
            4 * HOUR,
            4 * HOUR,
        )
        assert reply.buckets == (0, 1, 1, 1, 0, 0)  # < 5m, < 1h, < 4h, < 1d, < 3d, >= 3d
        assert (resolved.count, resolved.median, resolved.p90) == (
            2,
            pendulum.duration(hours=37, minutes=30),  # the mean of 2 h and 73 h
            pendulum.duration(days=3, hours=1),
        )
        assert resolved.buckets == (0, 0, 1, 0, 0, 1)
        assert pushed.queue_wait.buckets == (2, 1, 0, 1, 0, 0)
        assert pushed.queue_wait.p95 == 400 * MIN
        by_priority, _ = pushed_and_streamed(store, by=GroupBy.PRIORITY)
        urgent = by_priority.groups["urgent"].first_reply
        assert (urgent.count, urgent.median, urgent.p95) == (2, 125 * MIN, 4 * HOUR)
        assert by_priority.groups[NO_GROUP].waits == 4  # interactions have no priority
        by_tag, _ = pushed_and_streamed(store, by=GroupBy.TAG)
        assert by_tag.cases == 4  # the merged case is left out
        assert {k: g.cases for k, g in by_tag.groups.items()} == {
            NO_GROUP: 2,  # untagged, and tagged "(none)"
            " padded ": 1,
            "refund": 2,
            'say "hi"': 1,
            "vip": 1,
        }
        assert by_tag.groups[NO_GROUP].interactions == 4
        by_assignee, _ = pushed_and_streamed(store, by=GroupBy.ASSIGNEE)
        assert by_assignee.groups["bo"].resolution.p90 == pendulum.duration(days=3, hours=1)


def test_every_grouping_of_a_desk(fresh: Fresh) -> None:
    """Every grouping, with targets and buckets of its own, on records that have every key."""
    ada = Customer.new("Ada", clock=FixedClock(T0), segment="vip")
    bo = Customer.new("Bo", clock=FixedClock(T0))
    calls = [
        served(ada, T0, wait=2 * MIN, agent="ana"),
        served(bo, T0.add(days=40), wait=9 * MIN, channel=Channel.CHAT, agent="bo"),
        served(bo, T0, wait=None),
    ]
    calls = [calls[0].tag("vip", "bug"), calls[1].tag("bug"), calls[2]]
    bounds = (MIN, 5 * MIN, pendulum.duration(days=2))
    with fresh() as store:
        fill(store, [ada, bo], calls, desk(ada) + desk(bo)[:2])
        for by in GROUPINGS:
            pushed, streamed = pushed_and_streamed(
                store, by=by, targets=TARGETS, at=T0.add(days=2), buckets=bounds
            )
            assert pushed == streamed, by
            assert pushed.queue_wait.bounds == bounds
            check_distributions(pushed)


def test_an_empty_store(fresh: Fresh) -> None:
    with fresh() as store:
        for by in GROUPINGS:
            pushed, streamed = pushed_and_streamed(store, by=by, targets=TARGETS, at=T0)
            assert pushed == streamed
            assert (pushed.interactions, pushed.cases, pushed.groups) == (0, 0, {})
            assert pushed.wait_median is None


AWKWARD = (
    "ana",
    'say "hi"',
    "back\\slash",
    "(none)",
    "null",
    "Zoë 🙂",
    "\u200fright-to-left",
    "tab\there",
    " padded ",
)


def test_text_group_keys_come_back_exactly(fresh: Fresh) -> None:
    clock = FixedClock(T0)
    customers = [Customer.new("C", clock=clock, segment=s) for s in (*AWKWARD, None)]
    interactions = [
        served(c, T0.add(minutes=k), wait=k * MIN, agent=AWKWARD[k % len(AWKWARD)])
        for k, c in enumerate(customers)
    ]
    interactions.append(served(customers[0], T0, wait=MIN, agent=None))
    with fresh() as store:
        fill(store, customers, interactions, [])
        for by in (GroupBy.AGENT, GroupBy.SEGMENT):
            pushed, streamed = pushed_and_streamed(store, by=by)
            assert pushed == streamed
            assert NO_GROUP in pushed.groups  # "(none)" and missing values share it
            assert 'say "hi"' in pushed.groups


def test_a_nul_character_in_a_group_key(fresh: Fresh, tmp_path: Path) -> None:
    """SQLite reads it exactly (PostgreSQL text cannot hold it)."""
    ada = Customer.new("Ada", clock=FixedClock(T0), segment="a\x00b")
    bo = Customer.new("Bo", clock=FixedClock(T0), segment="a\x01b")
    interactions = [
        served(ada, T0, wait=MIN, agent="x\x00"),
        served(bo, T0, wait=2 * MIN, agent="x\x01"),
        served(bo, T0, wait=3 * MIN, agent="x"),
    ]
    with fresh() as store:
        if not holds_nul(store):
            pytest.skip("PostgreSQL text columns cannot hold U+0000")
        fill(store, [ada, bo], interactions, [])
        for by in (GroupBy.AGENT, GroupBy.SEGMENT):
            streamed = scorecard(store.interactions.all(), customers=store, by=by)
            assert scorecard(store, by=by) == streamed
            assert len(streamed.groups) >= 2
            query = ScorecardQuery(by, (), None, "UTC", None)
            assert push_down(store, query) == streamed
        # other text in the records (a comment, a topic) never gets in the way
        noisy = served(ada, T0, wait=MIN, feedback=Feedback(3, CSAT_5, at=T0, comment="\x00"))
        store.interactions.add(noisy)
        pushed, streamed = pushed_and_streamed(store, by=GroupBy.CHANNEL)
        assert pushed == streamed


def test_waits_across_odd_offsets_and_fractions(fresh: Fresh) -> None:
    """Offsets with seconds (local mean time), negative, fixed, and fractions of a second."""
    ada = Customer.new("Ada", clock=FixedClock(T0))
    moments = [
        pendulum.datetime(1890, 6, 1, 12, tz="Europe/Paris"),  # +00:09:21
        pendulum.datetime(1900, 1, 1, 0, 0, 0, 1, tz="Asia/Kolkata"),  # +05:53:28
        pendulum.datetime(1912, 1, 1, tz="America/Sao_Paulo"),  # -03:06:28
        pendulum.datetime(2026, 3, 29, 1, 59, 59, 999_999, tz="Europe/London"),
        pendulum.datetime(2026, 4, 5, 2, 30, tz="Australia/Lord_Howe"),
        pendulum.datetime(2026, 6, 1, tz="Pacific/Chatham"),
        dt.datetime(
            2026, 6, 1, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=-9, minutes=-30))
        ),
        pendulum.instance(dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=-37)))),
    ]
    interactions = []
    for k, at in enumerate(moments):
        opened = pendulum.instance(at) if not isinstance(at, pendulum.DateTime) else at
        wait = dt.timedelta(hours=k, seconds=k * 7, microseconds=k * 123_457)
        interactions.append(served(ada, opened, wait=wait))
    with fresh() as store:
        fill(store, [ada], interactions, [])
        pushed, streamed = pushed_and_streamed(store)
        assert pushed == streamed
        assert pushed.waits == len(moments)
        for by in (GroupBy.DAY, GroupBy.MONTH):
            for zone in ("UTC", "Europe/Paris", "America/Sao_Paulo"):
                pushed, streamed = pushed_and_streamed(store, by=by, timezone=zone)
                assert pushed == streamed


def test_periods_across_daylight_saving_changes(fresh: Fresh) -> None:
    """Instants on each side of clock changes and local midnights, in zones that move them."""
    ada = Customer.new("Ada", clock=FixedClock(T0))
    changes = [
        pendulum.datetime(2019, 2, 17, 2, tz="UTC"),  # Sao Paulo: midnight back to 23:00
        pendulum.datetime(2018, 11, 4, 3, tz="UTC"),  # Sao Paulo: midnight forward to 01:00
        pendulum.datetime(2026, 3, 29, 1, tz="UTC"),  # Europe
        pendulum.datetime(2026, 10, 25, 1, tz="UTC"),
        pendulum.datetime(2026, 4, 4, 15, tz="UTC"),  # Lord Howe: half an hour back
        pendulum.datetime(2026, 12, 31, 23, 59, 59, tz="UTC"),  # ISO week 53
        pendulum.datetime(2027, 1, 3, 23, 59, 59, tz="UTC"),
    ]
    interactions = [
        served(ada, change.add(microseconds=step), wait=MIN)
        for change in changes
        for step in (-3_600_000_001, -1, 0, 1, 1_800_000_000, 3_600_000_000)
    ]
    cases = [Case.open(ada.id, "late", clock=FixedClock(c.add(hours=5))) for c in changes]
    with fresh() as store:
        fill(store, [ada], interactions, cases)
        for zone in cst.TIMEZONES:
            for by in (GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH):
                pushed, streamed = pushed_and_streamed(store, by=by, timezone=zone)
                assert pushed == streamed, (zone, by)


def test_receive_out_of_place_in_a_restored_history(fresh: Fresh) -> None:
    """A history the library never writes: the first ``receive`` is found wherever it is."""
    ada = Customer.new("Ada", clock=FixedClock(T0))
    state = LifecycleState(
        "receiving",
        T0.add(minutes=9),
        [
            StateChange("help", "ready", "helping", T0.add(minutes=2)),
            StateChange("receive", "helping", "receiving", T0.add(minutes=7)),
            StateChange("receive", "receiving", "receiving", T0.add(minutes=9)),
        ],
    )
    odd = Interaction(uuid.uuid4(), ada.id, Channel.CHAT, T0, state)
    with fresh() as store:
        fill(store, [ada], [odd, served(ada, T0, wait=3 * MIN)], [])
        pushed, streamed = pushed_and_streamed(store)
    assert pushed == streamed
    assert (pushed.waits, pushed.wait_median, pushed.wait_p90) == (2, 5 * MIN, 7 * MIN)


def test_csat_on_chosen_scales_and_awkward_names(fresh: Fresh) -> None:
    ada = Customer.new("Ada", clock=FixedClock(T0))
    quoted = ScoreScale(1, 3, adequate=2, desired=3, name='it\'s "fine"')
    unnamed = ScoreScale(1, 3, adequate=2, desired=3)
    nul = ScoreScale(1, 3, adequate=2, desired=3, name="a\x00b")
    with fresh() as store:
        kept = [quoted, unnamed, CSAT_5, NPS_SCALE, *([nul] if holds_nul(store) else [])]
        interactions = [
            served(ada, T0, wait=MIN, feedback=Feedback(score, scale, at=T0.add(hours=1)))
            for scale in kept
            for score in (scale.low, scale.adequate, scale.high)
        ]
        fill(store, [ada], interactions, [])
        for chosen in ({quoted}, {unnamed}, {quoted, unnamed, CSAT_5}, set()):
            pushed, streamed = pushed_and_streamed(store, csat_scales=chosen)
            assert pushed == streamed
            assert pushed.csat_responses == 3 * len(chosen)
        # a name holding U+0000 is compared exactly too, where it can be stored
        pushed, streamed = pushed_and_streamed(store, csat_scales={nul})
        assert pushed == streamed
        assert pushed.csat_responses == 3 * (nul in kept)


def test_records_centuries_apart_are_grouped_by_period_in_python(fresh: Fresh) -> None:
    ada = Customer.new("Ada", clock=FixedClock(T0))
    interactions = [
        served(ada, pendulum.datetime(1700, 1, 1), wait=MIN),
        served(ada, pendulum.datetime(2026, 1, 1), wait=MIN),
    ]
    with fresh() as store:
        fill(store, [ada], interactions, [])
        query = ScorecardQuery(GroupBy.DAY, (), None, "Europe/Paris", None)
        assert push_down(store, query) is None
        streamed = scorecard(store.interactions.all(), by="day", timezone="Europe/Paris")
        assert scorecard(store, by="day", timezone="Europe/Paris") == streamed
        # other groupings of the same records stay in SQL
        pushed, streamed = pushed_and_streamed(store, by=GroupBy.CHANNEL)
        assert pushed == streamed


def test_inside_a_transaction_the_blocks_changes_count(fresh: Fresh) -> None:
    ada = Customer.new("Ada", clock=FixedClock(T0))
    with fresh() as store:
        fill(store, [ada], [served(ada, T0, wait=MIN)], [])
        with store.transaction():
            store.interactions.add(served(ada, T0, wait=3 * MIN))
            pushed, streamed = pushed_and_streamed(store, by=GroupBy.CHANNEL)
            assert pushed == streamed
            assert pushed.interactions == 2
            store.interactions.add(served(ada, T0, wait=5 * MIN))  # the block carries on
        assert scorecard(store).interactions == 3


@settings(
    max_examples=costly_examples(15),  # three stores' records in one database each time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(records(), records(), st.sampled_from(GROUPINGS))
def test_a_tenants_scorecard_is_that_of_its_own_records(
    fresh: Fresh,
    mine: tuple[list[Customer], list[Interaction], list[Case]],
    theirs: tuple[list[Customer], list[Interaction], list[Case]],
    by: GroupBy | None,
) -> None:
    """Pushed down through a tenant's scope, every figure is the one streamed from that
    tenant's records alone: nothing of the other tenant's, nor of no tenant's, counts."""
    with fresh() as store:
        assert isinstance(store, SqlStore)
        fill(store.scoped("north"), *mine)
        fill(store.scoped("south"), *theirs)
        fill(store, *theirs)
        north = store.scoped("north")
        in_sql = by is not GroupBy.TAG or not nul_in_a_tag(mine[1], mine[2])
        pushed, streamed = pushed_and_streamed(
            north, by=by, targets=TARGETS, at=EVALUATED_AT, in_sql=in_sql
        )
        alone = scorecard(
            mine[1], mine[2], customers=mine[0], by=by, targets=TARGETS, at=EVALUATED_AT
        )
        assert pushed == streamed == alone
