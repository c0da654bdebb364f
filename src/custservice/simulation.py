"""A deterministic simulation of a customer base, for the demo and for benchmarks.

Same seed, same customers, same interactions, same ids: the simulation reads
no clock and draws every random choice from one seeded generator. What
customers experience drives their lifecycle: dissatisfied customers drift to
risk and churn, delighted ones become loyal and advocates, and some of the
churned are won back.

The desk works as a real one does: each case goes to the team of its topic
(:data:`DEMO_TEAMS`) at a priority chosen from what it is about and who is
asking, is held to the SLA policy of its priority (:data:`DEMO_POLICIES`),
is taken by one of the team's agents, and may change hands or priority on
the way (a device sent to be replaced, an agent who left it, a resolution
target about to breach, a customer who chased it), each change with its
reason. Cases and contacts carry tags, and cases custom attributes (the
product, the order's value). The report plans the desk's follow-ups by its
escalation rules (:data:`DEMO_ESCALATIONS`) and survey policy
(:data:`DEMO_SURVEY`).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import types
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs
import pendulum

from ._time import FixedClock, micros
from .calendars import BusinessCalendar
from .cases import Case
from .customers import Customer
from .enums import (
    Channel,
    CustomerStage,
    EscalationAction,
    Factor,
    Metric,
    Priority,
    ServiceArea,
    TargetState,
    Verdict,
)
from .errors import ValidationError
from .expectations import NPS_SCALE, SATISFACTION_10, ExpectationBand, Expectations
from .feedback import Feedback
from .interactions import Interaction
from .policies import Condition, EscalationRule, SlaPolicies, SlaPolicy, SurveyPolicy
from .policies.sla import measured
from .service_levels import ServiceTarget

if TYPE_CHECKING:
    from .storage.protocols import Store

__all__ = [
    "CHUNK",
    "DEMO_CALENDAR",
    "DEMO_ESCALATIONS",
    "DEMO_EXPECTATIONS",
    "DEMO_POLICIES",
    "DEMO_START",
    "DEMO_SURVEY",
    "DEMO_TARGETS",
    "DEMO_TEAMS",
    "Simulation",
    "simulate",
]

DEMO_START = pendulum.datetime(2026, 1, 5, 8, tz="UTC")
"""When every simulation starts: a Monday morning."""

DEMO_CALENDAR = BusinessCalendar(
    "Europe/London",
    {day: [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(18))] for day in range(5)},
    holidays=[
        dt.date(2026, 1, 1),
        dt.date(2026, 4, 3),
        dt.date(2026, 4, 6),
        dt.date(2026, 5, 4),
        dt.date(2026, 5, 25),
        dt.date(2026, 8, 31),
        dt.date(2026, 12, 25),
        dt.date(2026, 12, 28),
    ],
)
"""The simulated support desk's hours: weekdays 08:00–12:00 and 13:00–18:00 in London."""


def _minutes(n: float) -> pendulum.Duration:
    return pendulum.duration(seconds=round(n * 60))


DEMO_EXPECTATIONS = Expectations(
    defaults=[
        ExpectationBand(Factor.SPEED, "queue_wait", adequate=_minutes(8), desired=_minutes(2)),
        ExpectationBand(Factor.COMPETENCE, "handoffs", adequate=1, desired=0),
    ],
    segments={
        "enterprise": [
            ExpectationBand(Factor.SPEED, "queue_wait", adequate=_minutes(3), desired=_minutes(1)),
            ExpectationBand(Factor.COMPETENCE, "handoffs", adequate=0, desired=0),
        ],
    },
)
"""What the simulated customers expect: queue waits and handoffs, stricter for enterprise."""

DEMO_TARGETS = (
    ServiceTarget(
        Metric.FIRST_RESPONSE,
        pendulum.duration(hours=4),
        calendar=DEMO_CALENDAR,
        band=ExpectationBand(
            Factor.SPEED,
            Metric.FIRST_RESPONSE,
            adequate=pendulum.duration(hours=4),
            desired=pendulum.duration(hours=1),
        ),
    ),
    ServiceTarget(Metric.PERIODIC_UPDATE, pendulum.duration(hours=9), calendar=DEMO_CALENDAR),
    ServiceTarget(Metric.RESOLUTION, pendulum.duration(hours=27), calendar=DEMO_CALENDAR),
)
"""The simulated desk's promises, in business time: a first reply within 4 hours,
an update every working day (9 hours), a solution within 3 working days."""

_HALF_DAY = pendulum.duration(hours=4, minutes=30)
"""Half a working day of the desk's calendar."""

DEMO_POLICIES = SlaPolicies(
    [
        SlaPolicy(
            "Urgent",
            Condition.where("priority", "==", Priority.URGENT),
            [
                ServiceTarget(
                    Metric.FIRST_RESPONSE,
                    pendulum.duration(hours=2),
                    calendar=DEMO_CALENDAR,
                    band=DEMO_TARGETS[0].band,
                    warn_before=pendulum.duration(minutes=30),
                ),
                DEMO_TARGETS[1],
                ServiceTarget(
                    Metric.RESOLUTION,
                    pendulum.duration(hours=18),
                    calendar=DEMO_CALENDAR,
                    warn_before=_HALF_DAY,
                ),
            ],
        ),
        SlaPolicy(
            "Normal",
            Condition.all_of(),
            [
                attrs.evolve(DEMO_TARGETS[0], warn_before=pendulum.duration(hours=1)),
                DEMO_TARGETS[1],
                attrs.evolve(DEMO_TARGETS[2], warn_before=_HALF_DAY),
            ],
        ),
    ]
)
"""The simulated desk's SLA policies, by priority: urgent cases get a first reply
within 2 working hours and a solution within 2 working days; the others are held to
:data:`DEMO_TARGETS`. Each warns before it breaches: half an hour or an hour before a
first reply is due, half a working day before a solution is."""

DEMO_ESCALATIONS = (
    EscalationRule(
        Condition.where("priority", ">=", Priority.HIGH),
        on_breach=Metric.FIRST_RESPONSE,
        action=EscalationAction.NOTIFY,
        level=1,
    ),
    EscalationRule(
        Condition.where("priority", "<=", Priority.NORMAL),
        after=pendulum.duration(days=5),
        action=EscalationAction.RAISE_PRIORITY,
        level=1,
    ),
    EscalationRule(
        Condition.all_of(),
        on_breach=Metric.RESOLUTION,
        action=EscalationAction.REASSIGN,
        level=2,
    ),
)
"""The simulated desk's escalation rules: tell the team lead when a high or urgent case
waits too long for a first reply; raise a low or normal case's priority once it has been
open five days (not counting time on hold); hand any case whose solution is late to
someone else."""

DEMO_SURVEY = SurveyPolicy(
    delay=pendulum.duration(hours=2),
    min_interval=pendulum.duration(days=14),
    sample_rate=0.5,
    skip_if=Condition.where("channel", "==", Channel.SELF_SERVICE),
    remind_after=pendulum.duration(days=2),
    expire_after=pendulum.duration(days=7),
    seed=7,
)
"""The simulated desk's survey policy: half of the resolved contacts, two hours after
the resolution, never a customer twice in a fortnight, none after self-service; one
reminder two days later, and a request expires after a week."""

_FIRST = (
    "Ada",
    "Ben",
    "Chidi",
    "Dana",
    "Emeka",
    "Fatima",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemi",
    "Luca",
    "Maya",
    "Noor",
    "Olu",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tariq",
)
_LAST = (
    "Okafor",
    "Smith",
    "Nakamura",
    "Garcia",
    "Haddad",
    "Kowalski",
    "Mensah",
    "Rossi",
    "Silva",
    "Novak",
    "Adeyemi",
    "Dubois",
    "Khan",
    "Larsen",
    "Moreau",
    "Osei",
)
_ZONES = ("Europe/London", "Africa/Lagos", "America/New_York", "Asia/Kolkata", "Europe/Berlin")
_HOBBIES = ("chess", "running", "gardening", "jazz", "cooking", "cycling", "photography")
_SEGMENTS = ("smb", "smb", "smb", "enterprise", "consumer", "consumer")
_TOPICS = ("billing", "delivery", "login", "refund", "upgrade", "broken device")

DEMO_TEAMS: Mapping[str, tuple[str, ...]] = types.MappingProxyType(
    {
        "billing": ("ana", "bo"),
        "returns": ("chidi", "dee"),
        "technical": ("eli", "femi", "gus"),
    }
)
"""The simulated desk's teams and the ids of their agents, the team lead first."""

_AGENTS = tuple(agent for agents in DEMO_TEAMS.values() for agent in agents)
# Which team works a topic, and how urgent the topic is before we know who asks.
_TEAM = {
    "billing": "billing",
    "upgrade": "billing",
    "delivery": "returns",
    "refund": "returns",
    "login": "technical",
    "broken device": "technical",
}
_URGENCY = {
    "billing": Priority.NORMAL,
    "upgrade": Priority.LOW,
    "delivery": Priority.NORMAL,
    "refund": Priority.NORMAL,
    "login": Priority.HIGH,
    "broken device": Priority.HIGH,
}
_PRODUCTS = ("router", "phone", "tablet", "laptop", "smart speaker")
_HIGH_VALUE = 500.0
"""An order worth at least this much is handled ahead of the others."""
_PRIORITIES = tuple(Priority)
# Mean queue wait in minutes per channel: phones queue, self-service does not.
_WAIT = {
    Channel.PHONE: 6.0,
    Channel.EMAIL: 30.0,
    Channel.CHAT: 2.5,
    Channel.IN_PERSON: 5.0,
    Channel.SOCIAL: 20.0,
    Channel.SELF_SERVICE: 0.2,
}


@attrs.frozen
class Simulation:
    """What a simulation wrote: counts, and when it ended.

    Attributes:
        customers: customers stored (prospects included).
        interactions: interactions stored (contacts and surveys).
        cases: cases stored.
        ended_at: the end of the simulated period; nothing stored happened
            at or after it, so it is the natural instant to report at.
    """

    customers: int
    interactions: int
    cases: int
    ended_at: pendulum.DateTime


CHUNK = 50
"""Customers whose stories are written per transaction (with ``add_many``)."""

DEMO_TENANTS = ("north", "south")
"""The organisations the demo runs, each a tenant of the store (``store.scoped(tenant)``)."""


def simulate(
    store: Store,
    *,
    customers: int = 1000,
    months: int = 12,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
    tenants: Sequence[str] = (),
) -> Simulation:
    """Simulate a customer base into ``store`` through the public API.

    Every customer is a prospect first; most are acquired, then contact the
    desk over every channel, wait in queues, are handed off, give feedback
    on the 1–10 scale and answer relationship (NPS) surveys; a quarter of
    contacts open a case, worked against :data:`DEMO_TARGETS` on
    :data:`DEMO_CALENDAR` by the team of its topic (:data:`DEMO_TEAMS`), at
    a priority that may rise on the way, held by agents who may hand it on.
    What each customer experienced moves them along
    the customer lifecycle. The story stops at the end of the period: work
    still under way then stays open, as it would on the day a report is run.

    Records are written :data:`CHUNK` customers per transaction, so an
    interrupted run leaves whole customers behind, never half of one.

    Args:
        store: where to write; should be empty.
        customers: how many prospects to start with (at least 1).
        months: how many months to simulate (at least 1), from :data:`DEMO_START`.
        seed: the random seed; the same seed gives the same records, ids included.
        progress: called with (customers written, customers in all) after
            each transaction.
        tenants: organisations to simulate, each a tenant of the store with
            its share of the customers (the first ones one more, when they do
            not divide evenly) and its own desk; none: one organisation,
            written unscoped.

    Returns:
        What was written.

    Raises:
        ValidationError: ``customers`` or ``months`` is not a whole number of
            at least 1, there are more tenants than customers, or a tenant's
            name is not one the store takes.

    Examples:
        >>> from custservice.simulation import simulate
        >>> with open_store("memory://") as store:
        ...     result = simulate(store, customers=3, months=2, seed=1)
        ...     result.customers == store.customers.count() == 3
        True
        >>> result.ended_at.isoformat()
        '2026-03-05T08:00:00+00:00'
    """
    for name, value in (("customers", customers), ("months", months)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError("must be a whole number of at least 1", field=name)
    end = DEMO_START.add(months=months)
    if not tenants:
        written = _organisation(store, customers=customers, end=end, seed=seed, progress=progress)
        return Simulation(*written, end)
    if isinstance(tenants, str) or len(tenants) > customers:
        raise ValidationError("give a sequence of at most `customers` names", field="tenants")
    scoped = getattr(store, "scoped", None)
    if scoped is None:
        raise ValidationError("the store keeps no tenants apart", field="tenants")
    scopes: list[Store] = [scoped(tenant) for tenant in tenants]
    totals = (0, 0, 0)
    done = 0
    for index, (tenant, scope) in enumerate(zip(tenants, scopes, strict=True)):
        share = customers // len(tenants) + (index < customers % len(tenants))

        def step(written: int, _: int, before: int = done) -> None:
            if progress is not None:
                progress(before + written, customers)

        # Each organisation draws from its own generator: adding one changes no other's.
        counts = _organisation(
            scope, customers=share, end=end, seed=f"{seed}/{tenant}", progress=step
        )
        totals = (totals[0] + counts[0], totals[1] + counts[1], totals[2] + counts[2])
        done += share
    return Simulation(*totals, end)


def _organisation(
    store: Store,
    *,
    customers: int,
    end: pendulum.DateTime,
    seed: int | str,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, int, int]:
    """One organisation's customer base and desk, simulated into ``store``.

    Everything the organisation does is drawn from its own generator, so
    organisations simulated one after the other do not change each other's
    records; they are written to ``store`` as given (a tenant's scope, or
    the store itself).

    Returns:
        The customers, interactions and cases written.
    """
    rng = random.Random(seed)
    counts = [0, 0, 0]
    for first in range(0, customers, CHUNK):
        people: list[Customer] = []
        interactions: list[Interaction] = []
        cases: list[Case] = []
        for n in range(first, min(first + CHUNK, customers)):
            customer, records = _one_customer(rng, n, end)
            people.append(customer)
            for record in records:
                if isinstance(record, Interaction):
                    interactions.append(record)
                else:
                    cases.append(record)
        with store.transaction():
            counts[0] += store.customers.add_many(people)
            counts[1] += store.interactions.add_many(interactions)
            counts[2] += store.cases.add_many(cases)
        if progress is not None:
            progress(first + len(people), customers)
    return counts[0], counts[1], counts[2]


class _Until:
    """Lets the steps of a story happen only before the end of the simulated period.

    Once a step falls at or after the end, it and every later step are cut.
    """

    __slots__ = ("_end", "cut")

    def __init__(self, end: pendulum.DateTime) -> None:
        self._end = end.timestamp()
        self.cut = False

    def __call__(self, at: pendulum.DateTime) -> bool:
        if not self.cut and at.timestamp() >= self._end:
            self.cut = True
        return not self.cut


def _one_customer(
    rng: random.Random, n: int, end: pendulum.DateTime
) -> tuple[Customer, list[Interaction | Case]]:
    """One customer's whole story: the customer in their final state, and their records."""
    clock = FixedClock(DEMO_START.add(minutes=rng.randrange(0, 60 * 24 * 30)))
    segment = rng.choice(_SEGMENTS)
    customer = Customer.new(
        f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
        clock=clock,
        rng=rng,
        email=f"customer{n}@example.com",
        # London's range reserved for drama, 020 7946 0000-0999 (Ofcom): it reaches nobody.
        phone=f"+44 20 7946 {n % 1000:04d}" if rng.random() < 0.6 else None,
        birthday=pendulum.date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        timezone=rng.choice(_ZONES),
        segment=segment,
        hobbies=frozenset(rng.sample(_HOBBIES, rng.randint(0, 2))),
        preferred_channel=rng.choice(list(Channel)),
    )
    records: list[Interaction | Case] = []
    acquired = clock.advance(pendulum.duration(days=rng.randint(1, 20)))
    if rng.random() < 0.15 or acquired >= end:  # some prospects never become customers
        return customer, records
    customer = customer.advance("acquire", at=acquired)
    patience = rng.gauss(0.0, 1.0)  # some customers forgive more than others
    verdicts: list[Verdict] = []
    while True:
        clock.advance(pendulum.duration(days=rng.expovariate(1 / 24), hours=rng.random() * 9))
        if clock.now() >= end:
            break
        if customer.stage is CustomerStage.CHURNED:
            if rng.random() < 0.08:
                customer = customer.advance("win_back", at=clock.now(), reason="win-back offer")
            continue
        interaction, case, verdict = _contact(rng, clock, customer, patience, end)
        records.append(interaction)
        if case is not None:
            records.append(case)
        if verdict is None:  # the period ended during the contact
            break
        verdicts.append(verdict)
        if rng.random() < 0.15:
            survey = _survey(rng, clock, customer, verdicts, end)
            if survey is not None:
                records.append(survey)
        customer = _react(rng, customer, verdicts, clock.now())
    return customer, records


def _contact(
    rng: random.Random,
    clock: FixedClock,
    customer: Customer,
    patience: float,
    end: pendulum.DateTime,
) -> tuple[Interaction, Case | None, Verdict | None]:
    """One contact and the case it may open; the verdict is ``None`` if the period ended first."""
    channel = rng.choices(list(Channel), weights=(30, 25, 25, 5, 5, 10))[0]
    topic = rng.choice(_TOPICS)
    team = _TEAM[topic]
    case = None
    if rng.random() < 0.25:
        case = _open_case(rng, clock, customer, topic, channel)
    call = Interaction.open(
        customer.id,
        channel,
        clock=clock,
        rng=rng,
        topic=topic,
        case_id=case.id if case else None,
        agent=rng.choice(DEMO_TEAMS[team]),
        team=team,
        tags=(topic.replace(" ", "-"),),
    )
    until = _Until(end)
    wait = _minutes(rng.expovariate(1 / _WAIT[channel]))
    if until(at := clock.advance(wait)):
        call = call.advance("receive", at=at)
    if until(at := clock.advance(_minutes(rng.uniform(1, 5)))):
        call = call.advance("understand", at=at)
    if until(at := clock.advance(_minutes(rng.uniform(1, 5)))):
        call = call.advance("help", at=at)
    handoffs = rng.choices((0, 1, 2), weights=(70, 22, 8))[0]
    for _ in range(handoffs):
        if until(at := clock.advance(_minutes(rng.uniform(2, 15)))):
            call = call.handoff(rng.choice(_AGENTS), at=at, reason="needs a specialist")
    if call.handoffs:
        call = call.tag("handed-off")
    resolved = rng.random() < 0.85 - 0.15 * handoffs
    if resolved and until(at := clock.advance(_minutes(rng.uniform(2, 20)))):
        call = call.resolve(at=at)
    # The score follows what they experienced against what they expect.
    speed = DEMO_EXPECTATIONS.classify(Factor.SPEED, "queue_wait", wait, segment=customer.segment)
    competence = DEMO_EXPECTATIONS.classify(
        Factor.COMPETENCE, "handoffs", handoffs, segment=customer.segment
    )
    base = 5.0 + 1.5 * speed.rank + 1.2 * competence.rank + (1.5 if resolved else -2.0)
    score = max(1, min(10, round(base + patience + rng.gauss(0, 1.2))))
    ratings = {
        Factor.SPEED: max(1, min(10, round(3 + 3 * speed.rank + rng.gauss(0, 1)))),
        Factor.COMPETENCE: max(1, min(10, round(3 + 3 * competence.rank + rng.gauss(0, 1)))),
        Factor.ATTITUDE: max(1, min(10, round(score + rng.gauss(0.5, 1.5)))),
    }
    if rng.random() < 0.7 and until(at := clock.advance(_minutes(rng.uniform(5, 120)))):
        call = call.record_feedback(Feedback(score, SATISFACTION_10, at=at, ratings=ratings))
    if until.cut:
        return call, case, None
    if score < 6:
        area = ServiceArea.SERVICE_PROCESS if handoffs else rng.choice(list(ServiceArea))
        call = call.tag_root_cause(area)
    call = call.advance("close", at=clock.now())
    if case is not None:
        case = _work_case(rng, clock.now(), case, resolved, until)
    return call, case, SATISFACTION_10.classify(score)


def _open_case(
    rng: random.Random,
    clock: FixedClock,
    customer: Customer,
    topic: str,
    channel: Channel,
) -> Case:
    """A case for the team of ``topic``, at a priority chosen from what it is about and
    who is asking: each of an enterprise customer, one at risk and a valuable order moves
    it a step up from the topic's own."""
    value = round(rng.lognormvariate(4.5, 1.0), 2)
    reasons = {
        "vip": customer.segment == "enterprise",
        "at-risk": customer.stage is CustomerStage.AT_RISK,
        "high-value": value >= _HIGH_VALUE,
    }
    labels = {topic.replace(" ", "-"), *(tag for tag, applies in reasons.items() if applies)}
    rank = _URGENCY[topic].rank + sum(reasons.values())
    return Case.open(
        customer.id,
        topic.capitalize(),
        clock=clock,
        rng=rng,
        promised_by=clock.now().add(days=3),
        channel=channel,
        priority=_PRIORITIES[min(rank, len(_PRIORITIES) - 1)],
        team=_TEAM[topic],
        tags=labels,
        attributes={"product": rng.choice(_PRODUCTS), "order_value": value},
    )


def _survey(
    rng: random.Random,
    clock: FixedClock,
    customer: Customer,
    verdicts: list[Verdict],
    end: pendulum.DateTime,
) -> Interaction | None:
    """A relationship survey by email: how likely are you to recommend us (0–10)?"""
    survey = Interaction.open(
        customer.id, Channel.EMAIL, clock=clock, rng=rng, topic="recommendation survey"
    )
    mood = sum(v.rank for v in verdicts[-5:]) / len(verdicts[-5:])  # 0 (bad) to 2 (great)
    score = max(0, min(10, round(4.5 + 2.6 * mood + rng.gauss(0, 1.5))))
    answered = clock.now() + _minutes(rng.uniform(60, 48 * 60))
    if answered >= end:
        return survey  # sent, not yet answered when the period ends
    survey = survey.record_feedback(Feedback(score, NPS_SCALE, at=answered))
    return survey.advance("close", at=answered)


def _hours(n: float) -> pendulum.Duration:
    return pendulum.duration(seconds=round(n * 3600))


def _work_case(
    rng: random.Random, at: pendulum.DateTime, case: Case, resolved: bool, until: _Until
) -> Case:
    """The desk works the case from ``at``: an agent of its team takes it, replies, waits
    on the customer, solves, closes; on the way it may change hands or priority."""
    if not until(at):
        return case
    case = case.advance("open", at=at).assign(
        rng.choice(_agents(case)), at=at, reason="next in the team's queue"
    )
    at = DEMO_CALENDAR.deadline(at, _hours(rng.uniform(0.2, 5)))
    if not until(at):
        return case
    case = case.record_update(at=at)
    if "broken-device" in case.tags and rng.random() < 0.3:
        case = case.assign(
            rng.choice(DEMO_TEAMS["returns"]),
            at=at,
            team="returns",
            reason="the device is to be replaced",
        )
    if rng.random() < 0.3:
        case = case.advance("await_customer", at=at)
        at = at + _hours(rng.uniform(2, 72))
        if not until(at):
            return case
        case = case.record_update(at=at, from_customer=True).advance("resume", at=at)
        if rng.random() < 0.25:
            case = _hand_on(rng, case, at, "its agent was away when the customer replied")
        at = DEMO_CALENDAR.deadline(at, _hours(rng.uniform(0.5, 8)))
        if not until(at):
            return case
        case = case.record_update(at=at)
    if not resolved and rng.random() < 0.1:
        # Forgotten: nobody works the case until the customer chases it, weeks later.
        at = at + pendulum.duration(days=rng.uniform(7, 40))
        if not until(at):
            return case
        case = case.record_update(at=at, from_customer=True).tag("chased")
        case = _raise(case, at, "the customer chased it")
        case = _hand_on(rng, case, at, "its agent had left it")
    work = rng.uniform(1, 30)
    if work > 8:  # a busy desk still sends an update each working day, mostly
        watch = _Watch(case, at)
        while work > 8:
            step = rng.uniform(6, 10)
            at = DEMO_CALENDAR.deadline(at, _hours(step))
            if not until(at):
                return case
            case = watch(case, at).record_update(at=at)
            work -= step
    at = DEMO_CALENDAR.deadline(at, _hours(max(work, 0.5)))
    if not until(at):
        return case
    case = case.advance("solve", at=at)
    if rng.random() < 0.1:
        at = at + pendulum.duration(days=rng.uniform(1, 5))
        if not until(at):
            return case
        case = case.advance("reopen", at=at, reason="customer says it is not fixed")
        case = _raise(case.tag("reopened"), at, "reopened: the customer says it is not fixed")
        at = DEMO_CALENDAR.deadline(at, _hours(rng.uniform(1, 8)))
        if not until(at):
            return case
        case = case.record_update(at=at).advance("solve", at=at)
    if rng.random() < 0.8 and until(at := at.add(days=7)):
        case = case.advance("close", at=at)
    return case


def _raise(case: Case, at: pendulum.DateTime, reason: str) -> Case:
    """The case a step up in priority (urgent stays urgent)."""
    rank = min(case.priority.rank + 1, len(_PRIORITIES) - 1)
    return case.reprioritize(_PRIORITIES[rank], at=at, reason=reason)


def _hand_on(rng: random.Random, case: Case, at: pendulum.DateTime, reason: str) -> Case:
    """The case handed to another agent of its team."""
    others = [a for a in _agents(case) if a != case.assignee]
    return case.assign(rng.choice(others), at=at, reason=reason)


class _Watch:
    """Raises a case whose resolution target warns (half a working day is left, by
    :data:`DEMO_POLICIES`), and again once it breached, handing it to its team's lead
    each time.

    The target is evaluated when the watch starts and after each raise (a higher
    priority may bring a stricter policy): while the case stays open its clock runs on
    the calendar without pause, so the instants it starts to warn and breaches are
    known from then.
    """

    __slots__ = ("_breach", "_warn")

    def __init__(self, case: Case, at: pendulum.DateTime) -> None:
        self._plan(case, at, warned=False)

    def _plan(self, case: Case, at: pendulum.DateTime, *, warned: bool) -> None:
        # Only the resolution target's figures are read: measured, not a status of each.
        _, found = measured(DEMO_POLICIES, case, micros(at), None)
        resolution = [(o, c) for t, o, c in found if t.metric is Metric.RESOLUTION]
        self._breach = self._warn = at.timestamp()  # already due, or breached: at once
        if resolution:
            outcome, carried = resolution[0]
            due = outcome.due
            if carried is None and outcome.state is TargetState.ACTIVE and due is not None:
                self._breach = due / 1e6
                left = pendulum.duration(microseconds=outcome.remaining)
                if left > _HALF_DAY:
                    self._warn = DEMO_CALENDAR.deadline(at, left - _HALF_DAY).timestamp()
            elif carried is None and outcome.state is not TargetState.BREACHED:
                self._breach = self._warn = math.inf  # nothing owed: nothing to watch
        else:
            self._breach = self._warn = math.inf
        if warned:
            self._warn = math.inf

    def __call__(self, case: Case, at: pendulum.DateTime) -> Case:
        """The case at ``at``, raised and handed on if it has come near or past its due time."""
        t = at.timestamp()
        if t >= self._breach:
            self._breach = self._warn = math.inf
            return _escalate(case, at, "the resolution target was breached")
        if t >= self._warn:
            case = _escalate(case, at, "the resolution target is due within half a working day")
            self._plan(case, at, warned=True)
        return case


def _escalate(case: Case, at: pendulum.DateTime, why: str) -> Case:
    """The case a step up in priority, tagged and handed to its team's lead, for ``why``."""
    case = _raise(case.tag("escalated"), at, why)
    return case.assign(_agents(case)[0], at=at, reason=f"escalated to the team lead: {why}")


def _agents(case: Case) -> tuple[str, ...]:
    """The agents of the case's team, its lead first; every agent for a case with none."""
    return DEMO_TEAMS[case.team] if case.team is not None else _AGENTS


def _react(
    rng: random.Random, customer: Customer, verdicts: list[Verdict], at: pendulum.DateTime
) -> Customer:
    """Move the customer along their lifecycle by what they have lately experienced."""
    recent = verdicts[-3:]
    bad = recent.count(Verdict.DISSATISFIED)
    great = recent.count(Verdict.DELIGHTED)
    stage = customer.stage
    event, reason = None, None
    if stage is CustomerStage.AT_RISK:
        if bad >= 2 and rng.random() < 0.5:
            event, reason = "churn", "left after repeated bad experiences"
        elif recent[-1] is not Verdict.DISSATISFIED and bad == 0:
            event, reason = "recover", "recent contacts went well"
    elif bad >= 2 or (bad == 1 and rng.random() < 0.25):
        event, reason = "flag_risk", "dissatisfied in recent contacts"
    elif stage is CustomerStage.NEW and len(verdicts) >= 2:
        event, reason = "retain", "came back and stayed"
    elif stage is CustomerStage.ACTIVE and great >= 2 and rng.random() < 0.35:
        event, reason = "reward", "delighted repeatedly: a loyal customer"
    elif stage is CustomerStage.LOYAL and great >= 3 and rng.random() < 0.15:
        event, reason = "champion", "delighted, recommends us"
    if event is None:
        return customer
    return customer.advance(event, at=at, reason=reason)
