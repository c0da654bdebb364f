"""Scorecards: hand-computed figures, grouping, streaming, stores and serialization."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import attrs
import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice._time import FixedClock
from custservice.analytics import (
    NO_GROUP,
    Distribution,
    GroupBy,
    Scorecard,
    ScorecardPushdown,
    ScorecardQuery,
    VerdictCounts,
    scorecard,
)
from custservice.cases import Case
from custservice.customers import Customer
from custservice.enums import Channel, Factor, Metric, ServiceArea, Verdict
from custservice.errors import ValidationError
from custservice.expectations import CSAT_5, NPS_SCALE, SATISFACTION_10, csat, nps
from custservice.feedback import Feedback
from custservice.interactions import Interaction
from custservice.serialization import from_dict, from_json, to_dict, to_json
from custservice.service_levels import ServiceTarget
from custservice.storage.memory import MemoryStore
from custservice.testing import strategies as cst

MIN = pendulum.duration(minutes=1)
START = pendulum.datetime(2026, 3, 2, 9)
AT = START.add(hours=3)
FIRST_RESPONSE = ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(hours=1))


def served(
    clock: FixedClock,
    customer: Customer,
    channel: Channel,
    *,
    wait: int | None,
    handoffs: int = 0,
    resolve: bool = True,
    feedback: tuple[int, object, dict[Factor, int]] | None = None,
    agent: str | None = None,
) -> Interaction:
    """An interaction received after ``wait`` minutes, helped, handed off, resolved, rated."""
    i = Interaction.open(customer.id, channel, clock=clock, agent=agent)
    if wait is not None:
        i = i.advance("receive", at=clock.advance(wait * MIN))
        i = i.advance("understand", at=clock.advance(MIN))
        i = i.advance("help", at=clock.advance(MIN))
    for n in range(handoffs):
        i = i.handoff(f"desk {n}", at=clock.advance(MIN))
    if resolve and wait is not None:
        i = i.resolve(at=clock.advance(MIN))
    if feedback is not None:
        score, scale, ratings = feedback
        i = i.record_feedback(Feedback(score, scale, at=clock.advance(MIN), ratings=ratings))  # type: ignore[arg-type]
    return i


@attrs.frozen
class Data:
    ada: Customer
    bo: Customer
    interactions: tuple[Interaction, ...]
    cases: tuple[Case, ...]


def dataset() -> Data:
    """Six interactions and four cases whose figures are computed by hand below."""
    clock = FixedClock(START)
    ada = Customer.new("Ada", clock=clock, segment="vip")
    bo = Customer.new("Bo", clock=clock, segment="smb")
    interactions = (
        served(clock, ada, Channel.PHONE, wait=2, feedback=(5, CSAT_5, {}), agent="ana"),
        served(
            clock,
            ada,
            Channel.PHONE,
            wait=10,
            handoffs=1,
            feedback=(2, CSAT_5, {Factor.SPEED: 1, Factor.COMPETENCE: 4}),
            agent="ana",
        ),
        served(clock, bo, Channel.CHAT, wait=1, feedback=(10, NPS_SCALE, {})),
        served(
            clock, bo, Channel.CHAT, wait=4, handoffs=2, resolve=False, feedback=(5, NPS_SCALE, {})
        ),
        served(clock, bo, Channel.EMAIL, wait=None).tag_root_cause(ServiceArea.TOOLS),
        served(
            clock, ada, Channel.EMAIL, wait=30, feedback=(7, SATISFACTION_10, {Factor.SPEED: 9})
        ),
    )
    case_clock = FixedClock(START)
    answered = Case.open(ada.id, "answered", clock=case_clock).advance("open", at=START)
    answered = answered.record_update(at=START.add(minutes=30))
    ignored = Case.open(bo.id, "ignored", clock=case_clock).advance("open", at=START)
    waiting = Case.open(bo.id, "waiting", clock=case_clock).advance("open", at=START)
    waiting = waiting.advance("await_customer", at=START.add(minutes=5))
    later = Case.open(bo.id, "later", clock=FixedClock(AT.add(hours=1)))
    return Data(ada, bo, interactions, (answered, ignored, waiting, later))


DATA = dataset()


def test_hand_computed_figures() -> None:
    card = scorecard(DATA.interactions, DATA.cases, targets=[FIRST_RESPONSE], at=AT)
    assert (card.interactions, card.cases) == (6, 4)
    # resolved: 1, 2, 3, 6; first contact (no handoff): 1, 3, 6
    assert (card.resolved, card.first_contact_resolved) == (4, 3)
    assert card.first_contact_resolution == 75.0
    # CSAT over every scale but NPS: 5/5 yes, 2/5 no, 7/10 yes
    assert (card.csat_responses, card.csat) == (3, pytest.approx(200 / 3))
    # NPS: one promoter (10), one detractor (5)
    assert (card.nps_responses, card.nps) == (2, 0.0)
    assert card.with_feedback == 5
    assert card.verdicts == VerdictCounts(dissatisfied=2, satisfied=1, delighted=2)
    assert dict(card.factor_verdicts) == {
        Factor.SPEED: VerdictCounts(1, 0, 1),
        Factor.COMPETENCE: VerdictCounts(0, 1, 0),
    }
    # waits 1, 2, 4, 10, 30 minutes: median 4; nearest-rank p90 is the 5th of 5
    assert card.waits == 5
    assert card.wait_median == pendulum.duration(minutes=4)
    assert card.wait_p90 == pendulum.duration(minutes=30)
    assert (card.handoffs, card.handoffs_per_interaction) == (3, 0.5)
    fr = card.targets[Metric.FIRST_RESPONSE]
    assert (fr.achieved, fr.breached, fr.active, fr.paused, fr.not_due) == (1, 1, 0, 1, 1)
    assert fr.attainment == 50.0
    assert fr.cases == 4
    assert card.by is None
    assert card.groups == {}


def test_csat_and_nps_agree_with_the_library_functions() -> None:
    card = scorecard(DATA.interactions, csat_scales={CSAT_5})
    assert card.csat == csat([5, 2]) == 50.0
    assert card.csat_responses == 2
    assert card.nps == nps([10, 5])


def test_even_number_of_waits_and_the_nearest_rank_percentile() -> None:
    waits = Distribution.of(pendulum.duration(minutes=m) for m in (4, 1, 3, 2))
    assert waits.median == pendulum.duration(minutes=2, seconds=30)
    assert waits.p90 == waits.p95 == pendulum.duration(minutes=4)
    ten = Distribution.of(pendulum.duration(microseconds=us) for us in range(1, 11))
    assert ten.p90 == pendulum.duration(microseconds=9)  # ceil(0.9 * 10) = 9th
    assert ten.p95 == pendulum.duration(microseconds=10)  # ceil(0.95 * 10) = 10th
    assert (Distribution.of([]).median, Distribution.of([]).p90) == (None, None)


def test_no_data_gives_none_not_nan() -> None:
    card = scorecard([], targets=[FIRST_RESPONSE], at=AT)
    assert card.interactions == 0
    for figure in (
        card.csat,
        card.nps,
        card.first_contact_resolution,
        card.wait_median,
        card.wait_p90,
        card.handoffs_per_interaction,
        card.targets[Metric.FIRST_RESPONSE].attainment,
    ):
        assert figure is None


def test_grouped_by_channel() -> None:
    card = scorecard(DATA.interactions, DATA.cases, by="channel", targets=[FIRST_RESPONSE], at=AT)
    assert card.by is GroupBy.CHANNEL
    assert list(card.groups) == [NO_GROUP, "chat", "email", "phone"]
    phone = card.groups["phone"]
    assert (phone.interactions, phone.csat, phone.first_contact_resolution) == (2, 50.0, 50.0)
    assert card.groups["chat"].nps == 0.0
    assert card.groups[NO_GROUP].cases == 4  # cases have no channel
    assert card.groups[NO_GROUP].interactions == 0
    assert attrs.evolve(card, by=None, groups={}) == scorecard(
        DATA.interactions, DATA.cases, targets=[FIRST_RESPONSE], at=AT
    )


def test_grouped_by_segment_agent_and_root_cause() -> None:
    lookup = {DATA.ada.id: "vip", DATA.bo.id: "smb"}
    card = scorecard(DATA.interactions, DATA.cases, by=GroupBy.SEGMENT, customers=lookup)
    assert {k: (g.interactions, g.cases) for k, g in card.groups.items()} == {
        "smb": (3, 3),
        "vip": (3, 1),
    }
    # a mapping to customers, or the customers themselves, work the same way
    for customers in ({DATA.ada.id: DATA.ada, DATA.bo.id: DATA.bo}, [DATA.ada, DATA.bo]):
        assert scorecard(DATA.interactions, DATA.cases, by="segment", customers=customers) == card
    agents = scorecard(DATA.interactions, by="agent")
    # a handoff makes the new desk the agent
    assert {k: g.interactions for k, g in agents.groups.items()} == {
        NO_GROUP: 3,
        "ana": 1,
        "desk 0": 1,
        "desk 1": 1,
    }
    causes = scorecard(DATA.interactions, by="root_cause")
    assert {k: g.interactions for k, g in causes.groups.items()} == {NO_GROUP: 5, "tools": 1}


def test_periods_are_cut_in_the_given_time_zone() -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 31, 23, 30))
    late = Interaction.open(uuid.uuid4(), Channel.CHAT, clock=clock)
    assert list(scorecard([late], by="month").groups) == ["2026-03"]
    assert list(scorecard([late], by="month", timezone="Europe/Paris").groups) == ["2026-04"]
    assert list(scorecard([late], by="day", timezone="Asia/Kolkata").groups) == ["2026-04-01"]
    assert list(scorecard([late], by="week").groups) == ["2026-W14"]
    new_year = Interaction.open(
        uuid.uuid4(), "chat", clock=FixedClock(pendulum.datetime(2027, 1, 1))
    )
    assert list(scorecard([new_year], by="week").groups) == ["2026-W53"]  # ISO weeks


def test_periods_in_the_hours_before_a_clock_change() -> None:
    # New York fell back at 06:00 UTC on 4 November 2018: 03:00 UTC was 23:00 EDT on the 3rd.
    evening = Interaction.open(
        uuid.uuid4(), "chat", clock=FixedClock(pendulum.datetime(2018, 11, 4, 3))
    )
    card = scorecard([evening], by="day", timezone="America/New_York")
    assert list(card.groups) == ["2018-11-03"]


def test_reads_each_input_once_as_a_stream() -> None:
    reads = {"interactions": 0, "cases": 0}

    def stream(kind: str, records: tuple[object, ...]) -> Iterator[object]:
        for record in records:
            reads[kind] += 1
            yield record

    card = scorecard(
        stream("interactions", DATA.interactions),  # type: ignore[arg-type]
        stream("cases", DATA.cases),  # type: ignore[arg-type]
        by="channel",
        targets=[FIRST_RESPONSE],
        at=AT,
    )
    assert reads == {"interactions": 6, "cases": 4}
    assert card == scorecard(
        DATA.interactions, DATA.cases, by="channel", targets=[FIRST_RESPONSE], at=AT
    )


def test_serializes_to_plain_data_and_back() -> None:
    card = scorecard(DATA.interactions, DATA.cases, by="channel", targets=[FIRST_RESPONSE], at=AT)
    data = to_dict(card)
    assert data["wait_median"] == "PT4M"
    assert data["by"] == "channel"
    assert data["factor_verdicts"]["speed"] == {"dissatisfied": 1, "satisfied": 0, "delighted": 1}
    assert data["targets"]["first_response"]["attainment"] == 50.0
    assert data["groups"]["phone"]["csat"] == 50.0
    assert data["nps"] == 0.0
    assert data["groups"]["email"]["nps"] is None
    assert from_dict(Scorecard, data) == card
    assert from_json(Scorecard, to_json(card)) == card


def test_bad_arguments_are_validation_errors() -> None:
    with pytest.raises(ValidationError) as exc:
        scorecard(DATA.interactions, DATA.cases, targets=[FIRST_RESPONSE])
    assert exc.value.field == "at"
    with pytest.raises(ValidationError) as exc:
        scorecard([], targets=[FIRST_RESPONSE, FIRST_RESPONSE], at=AT)
    assert exc.value.field == "targets"
    with pytest.raises(ValidationError) as exc:
        scorecard(DATA.interactions, by="segment")
    assert exc.value.field == "customers"
    with pytest.raises(ValidationError) as exc:
        scorecard(DATA.interactions, by="colour")
    assert exc.value.field == "by"
    with pytest.raises(ValidationError) as exc:
        scorecard(DATA.interactions, timezone="Mars/Olympus")
    assert exc.value.field == "timezone"
    with pytest.raises(ValidationError) as exc:
        scorecard([DATA.cases[0]])  # type: ignore[list-item]
    assert exc.value.field == "interactions"
    with pytest.raises(ValidationError):
        scorecard([], targets=[FIRST_RESPONSE], at=dt.datetime(2026, 3, 2))  # naive


def filled_store(
    customers: list[Customer], interactions: list[Interaction], cases: list[Case]
) -> MemoryStore:
    store = MemoryStore()
    store.customers.add_many(customers)
    store.interactions.add_many(interactions)
    store.cases.add_many(cases)
    return store


def test_store_is_read_and_is_the_segment_lookup() -> None:
    store = filled_store([DATA.ada, DATA.bo], list(DATA.interactions), list(DATA.cases))
    kwargs = {"by": "segment", "targets": [FIRST_RESPONSE], "at": AT}
    assert scorecard(store, **kwargs) == scorecard(  # type: ignore[arg-type]
        DATA.interactions, DATA.cases, customers=store, **kwargs
    )


class PushdownStore(MemoryStore):
    """A store that answers some scorecard queries itself."""

    def __init__(self, answer: Scorecard | None) -> None:
        super().__init__()
        self.answer = answer
        self.queries: list[ScorecardQuery] = []

    def scorecard_pushdown(self, query: ScorecardQuery) -> Scorecard | None:
        self.queries.append(query)
        return self.answer


def test_a_store_that_can_push_the_scorecard_down_is_asked_first() -> None:
    canned = scorecard([])
    store = PushdownStore(canned)
    assert isinstance(store, ScorecardPushdown)
    assert (
        scorecard(store, by="week", targets=[FIRST_RESPONSE], at=AT, timezone="Asia/Tokyo")
        is canned
    )
    assert store.queries == [
        ScorecardQuery(GroupBy.WEEK, (FIRST_RESPONSE,), AT, "Asia/Tokyo", None)
    ]
    # declining (None) means: stream it
    store = PushdownStore(None)
    store.customers.add_many([DATA.ada, DATA.bo])
    store.interactions.add_many(DATA.interactions)
    assert scorecard(store).interactions == 6
    assert len(store.queries) == 1
    # given separate cases or customers, the store is not asked
    scorecard(store, cases=[])
    assert len(store.queries) == 1


# --- properties --------------------------------------------------------------------


def records() -> st.SearchStrategy[tuple[list[Customer], list[Interaction], list[Case]]]:
    """A few customers, each with a few interactions and cases."""
    return cst.customer_records(max_interactions=4)


TARGETS = (
    ServiceTarget(Metric.FIRST_RESPONSE, pendulum.duration(days=2)),
    ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(days=5)),
)
EVALUATED_AT = pendulum.datetime(2040, 1, 1)


def _in_range(value: float | None, low: float, high: float) -> bool:
    return value is None or low <= value <= high


@given(records())
def test_percentages_and_nps_stay_in_range(
    data: tuple[list[Customer], list[Interaction], list[Case]],
) -> None:
    _, interactions, cases = data
    card = scorecard(interactions, cases, targets=TARGETS, at=EVALUATED_AT)
    assert _in_range(card.csat, 0, 100)
    assert _in_range(card.first_contact_resolution, 0, 100)
    assert _in_range(card.nps, -100, 100)
    for attainment in card.targets.values():
        assert _in_range(attainment.attainment, 0, 100)
        assert attainment.cases == sum(1 for c in cases if c.merged_into is None)
    for verdict in Verdict:
        assert _in_range(card.verdicts.percent(verdict), 0, 100)
    assert (card.csat is None) == (card.csat_responses == 0)
    assert (card.nps is None) == (card.nps_responses == 0)
    assert card.with_feedback == card.verdicts.total
    if card.wait_median is not None:
        assert card.wait_p90 is not None
        assert card.wait_median <= card.wait_p90


@settings(max_examples=30)
@given(records(), st.sampled_from(GroupBy), cst.timezones())
def test_groups_add_up_to_the_totals(
    data: tuple[list[Customer], list[Interaction], list[Case]], by: GroupBy, zone: str
) -> None:
    customers, interactions, cases = data
    lookup = {c.id: c.segment for c in customers}
    plain = scorecard(interactions, cases, targets=TARGETS, at=EVALUATED_AT, timezone=zone)
    grouped = scorecard(
        interactions,
        cases,
        by=by,
        targets=TARGETS,
        at=EVALUATED_AT,
        customers=lookup,
        timezone=zone,
    )
    # the outer card of a grouped scorecard is the ungrouped one, figure for figure
    assert attrs.evolve(grouped, by=None, groups={}) == plain
    if by is GroupBy.TAG:
        return  # a record with several tags is in several groups: see the tag test
    groups = grouped.groups.values()
    for field in (
        "interactions",
        "cases",
        "resolved",
        "first_contact_resolved",
        "with_feedback",
        "csat_responses",
        "nps_responses",
        "waits",
        "handoffs",
    ):
        assert sum(getattr(g, field) for g in groups) == getattr(plain, field), field
    assert sum((g.verdicts for g in groups), VerdictCounts()) == plain.verdicts
    for measure in ("queue_wait", "first_reply", "resolution"):
        per_group = [getattr(g, measure).buckets for g in groups]
        assert [sum(column) for column in zip(*per_group, strict=True)] == list(
            getattr(plain, measure).buckets
        ) or not per_group, measure
    for metric, attainment in plain.targets.items():
        for state in ("achieved", "breached", "active", "paused", "not_due"):
            assert sum(getattr(g.targets[metric], state) for g in groups) == getattr(
                attainment, state
            )


@settings(max_examples=25)
@given(records(), st.none() | st.sampled_from(GroupBy))
def test_a_store_gives_the_same_scorecard_as_its_records(
    data: tuple[list[Customer], list[Interaction], list[Case]], by: GroupBy | None
) -> None:
    customers, interactions, cases = data
    with filled_store(customers, interactions, cases) as store:
        from_store = scorecard(store, by=by, targets=TARGETS, at=EVALUATED_AT)
    from_lists = scorecard(
        interactions, cases, by=by, targets=TARGETS, at=EVALUATED_AT, customers=customers
    )
    assert from_store == from_lists
