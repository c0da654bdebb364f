"""Distributions: percentiles are order statistics of the data, buckets add up to the count;
the scorecard's are those of the waits, replies and resolutions, per group.

Each figure is compared with the sorted list of the durations it describes: the median the
middle one (the mean of the two middle ones, to the microsecond), the nearest-rank 90th and
95th percentiles the ones at ranks ``ceil(0.9 n)`` and ``ceil(0.95 n)``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import Case, Customer, Interaction, ValidationError
from custservice.analytics import (
    DEFAULT_BOUNDS,
    NO_GROUP,
    Distribution,
    GroupBy,
    case_metrics,
    scorecard,
)
from custservice.testing import strategies as cst

US = dt.timedelta(microseconds=1)
DURATIONS = st.timedeltas(min_value=dt.timedelta(0), max_value=dt.timedelta(days=10))
BOUNDS = st.lists(
    st.timedeltas(min_value=US, max_value=dt.timedelta(days=10)), max_size=6, unique=True
).map(sorted)


def order_statistics(values: list[dt.timedelta]) -> tuple[Any, Any, Any]:
    """The median, 90th and 95th percentiles of ``values``, read off the sorted list."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None, None, None
    if n % 2:
        median = ordered[n // 2]
    else:
        low, high = (dt.timedelta.__floordiv__(v, US) for v in ordered[n // 2 - 1 : n // 2 + 1])
        median = dt.timedelta(microseconds=round((low + high) / 2))
    return median, ordered[math.ceil(0.9 * n) - 1], ordered[math.ceil(0.95 * n) - 1]


def check(d: Distribution, values: list[dt.timedelta], bounds: list[dt.timedelta]) -> None:
    assert d.count == len(values)
    assert (d.median, d.p90, d.p95) == order_statistics(values)
    assert sum(d.buckets) == d.count
    edges = [dt.timedelta.min, *bounds, dt.timedelta.max]
    for k, n in enumerate(d.buckets):
        assert n == sum(edges[k] <= v < edges[k + 1] for v in values), k
    assert len(d.labels) == len(d.buckets)


@given(st.lists(DURATIONS, max_size=60), BOUNDS)
def test_percentiles_are_order_statistics_and_buckets_add_up(
    values: list[dt.timedelta], bounds: list[dt.timedelta]
) -> None:
    d = Distribution.of(values, bounds)
    check(d, values, bounds)
    assert d.bounds == tuple(bounds)
    if values:
        assert min(values) <= d.median <= d.p90 <= d.p95 <= max(values)


def test_percentiles_of_a_hundred() -> None:
    d = Distribution.of(pendulum.duration(minutes=m) for m in range(1, 101))
    assert (d.median, d.p90, d.p95) == (
        pendulum.duration(minutes=50, seconds=30),
        pendulum.duration(minutes=90),
        pendulum.duration(minutes=95),
    )
    assert d.labels == ("< 5m", "< 1h", "< 4h", "< 1d", "< 3d", "≥ 3d")
    assert d.buckets == (4, 55, 41, 0, 0, 0)


def records() -> st.SearchStrategy[tuple[list[Customer], list[Interaction], list[Case]]]:
    return cst.customer_records(max_interactions=5)


# Drawing records with long histories is the cost: bounded, as the scorecard's own tests.
@settings(max_examples=min(25, settings.default.max_examples))
@given(records(), BOUNDS)
def test_the_scorecards_distributions_are_those_of_its_records(
    data: tuple[list[Customer], list[Interaction], list[Case]], bounds: list[dt.timedelta]
) -> None:
    _, interactions, cases = data
    card = scorecard(interactions, cases, buckets=bounds)
    check(card.queue_wait, [i.wait for i in interactions if i.wait is not None], bounds)
    assert (card.wait_median, card.wait_p90) == (card.queue_wait.median, card.queue_wait.p90)
    counted = [c for c in cases if c.merged_into is None]
    if all(not c.merges for c in counted):  # what merges do to the clocks: test_case_merge
        metrics = [case_metrics(c) for c in counted]
        replies = [m.first_reply.calendar for m in metrics if m.first_reply is not None]
        resolutions = [m.full_resolution.calendar for m in metrics if m.full_resolution is not None]
        check(card.first_reply, replies, bounds)
        check(card.resolution, resolutions, bounds)


@settings(max_examples=min(25, settings.default.max_examples))
@given(records())
def test_by_tag_a_record_counts_in_each_of_its_tags_groups(
    data: tuple[list[Customer], list[Interaction], list[Case]],
) -> None:
    _, interactions, cases = data
    card = scorecard(interactions, cases, by=GroupBy.TAG)
    counted = [c for c in cases if c.merged_into is None]
    assert (card.interactions, card.cases) == (len(interactions), len(counted))
    keys = {t for r in [*interactions, *counted] for t in r.tags or {NO_GROUP}}
    assert set(card.groups) == keys
    for key, group in card.groups.items():

        def has(r: Interaction | Case, key: str = key) -> bool:
            return key in r.tags or (key == NO_GROUP and not r.tags)

        assert group.interactions == sum(has(i) for i in interactions)
        assert group.cases == sum(has(c) for c in counted)
        waits = [i.wait for i in interactions if has(i) and i.wait is not None]
        check(group.queue_wait, waits, list(DEFAULT_BOUNDS))


@pytest.mark.parametrize(
    "buckets",
    [
        [dt.timedelta(hours=2), dt.timedelta(hours=1)],
        [dt.timedelta(hours=1), dt.timedelta(hours=1)],
        [dt.timedelta(0)],
        [dt.timedelta(-1)],
        dt.timedelta(hours=1),
        "5m",
        [5],
        [dt.timedelta(seconds=k + 1) for k in range(21)],
    ],
)
def test_bad_bounds_name_the_buckets(buckets: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        scorecard([], buckets=buckets)
    assert caught.value.field == "buckets"
    with pytest.raises(ValidationError) as caught:
        Distribution.of([], buckets)
    assert caught.value.field == "buckets"


def test_what_is_not_a_duration_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        Distribution.of([dt.timedelta(1), 3])  # type: ignore[list-item]
    assert caught.value.field == "durations"
