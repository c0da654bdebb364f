"""Staffing: Erlang C and Erlang A, checked against exact fractions, a birth-death chain
solved numerically, the transient chain of one waiting customer, and simulation."""

from __future__ import annotations

import datetime as dt
import heapq
import math
import random
from fractions import Fraction

import pendulum
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tests._wrong_kinds import anything, only_validation_errors

from custservice.analytics import (
    StaffingNeed,
    abandonment,
    agents_needed,
    average_speed_of_answer,
    erlang_a,
    erlang_c,
    service_level,
)
from custservice.errors import ValidationError
from custservice.serialization import from_dict, to_dict

MINUTE = pendulum.duration(minutes=1)
SECONDS = pendulum.duration

rates = st.integers(1, 20_000)  # contacts per hour
handle_minutes = st.integers(1, 30)
patience_minutes = st.integers(1, 20)


def load_of(rate: int, minutes: int) -> Fraction:
    return Fraction(rate * minutes, 60)


def exact_erlang_c(load: Fraction, agents: int) -> Fraction:
    """Erlang C straight from its textbook formula, in exact fractions."""
    terms = [Fraction(1)]
    for k in range(1, agents + 1):
        terms.append(terms[-1] * load / k)
    top = terms[agents] * agents / (agents - load)
    return top / (sum(terms[:agents]) + top)


# --- Erlang C ----------------------------------------------------------------------------------


@given(rates, handle_minutes, st.integers(1, 400))
def test_erlang_c_is_a_probability_that_falls_as_agents_are_added(
    rate: int, minutes: int, extra: int
) -> None:
    load = load_of(rate, minutes)
    agents = math.floor(load) + extra
    waiting = erlang_c(rate, minutes * MINUTE, agents)
    more = erlang_c(rate, minutes * MINUTE, agents + 1)
    assert 0.0 <= more <= waiting <= 1.0
    assert more < waiting or waiting == 0.0


@given(st.integers(1, 600), st.integers(1, 10), st.integers(1, 25))
def test_erlang_c_equals_the_textbook_formula_in_exact_fractions(
    rate: int, minutes: int, extra: int
) -> None:
    load = load_of(rate, minutes)
    agents = math.floor(load) + extra
    exact = exact_erlang_c(load, agents)
    assert erlang_c(rate, minutes * MINUTE, agents) == pytest.approx(float(exact), rel=1e-12)


@given(st.integers(501, 700), st.integers(0, 4))
def test_erlang_c_is_finite_and_in_range_at_500_erlangs(agents: int, seconds_off: int) -> None:
    # 500 erlangs: 10,000 contacts an hour of 3 minutes (a few microseconds either way)
    handle = pendulum.duration(minutes=3, microseconds=seconds_off)
    waiting = erlang_c(10_000, handle, agents)
    assert math.isfinite(waiting)
    assert 0.0 <= waiting <= 1.0
    level = service_level(10_000, handle, agents, answer_within=SECONDS(seconds=20))
    assert 0.0 <= level <= 1.0


def test_erlang_c_where_a_factorial_overflows_matches_the_exact_formula() -> None:
    # 300 erlangs, 320 agents: 320! alone is beyond any float.
    exact = exact_erlang_c(Fraction(300), 320)
    assert erlang_c(6_000, 3 * MINUTE, 320) == pytest.approx(float(exact), rel=1e-12)


def test_a_textbook_table_ten_erlangs() -> None:
    # 10 erlangs (600 calls an hour of one minute): the probability of waiting with 11 to
    # 15 agents, as Erlang C tables print it.
    table = {11: 0.6821, 12: 0.4494, 13: 0.2853, 14: 0.1741, 15: 0.1020}
    for agents, waiting in table.items():
        assert round(erlang_c(600, MINUTE, agents), 4) == waiting


@given(st.integers(1, 600), st.integers(1, 10), st.integers(1, 25), st.integers(0, 600))
def test_service_level_and_speed_of_answer_follow_from_erlang_c(
    rate: int, minutes: int, extra: int, within: int
) -> None:
    load = load_of(rate, minutes)
    agents = math.floor(load) + extra
    waiting = float(exact_erlang_c(load, agents))
    spare = float(agents - load)
    level = service_level(rate, minutes * MINUTE, agents, answer_within=SECONDS(seconds=within))
    assert level == pytest.approx(1 - waiting * math.exp(-spare * within / (minutes * 60)))
    asa = average_speed_of_answer(rate, minutes * MINUTE, agents)
    assert asa.total_seconds() == pytest.approx(waiting * minutes * 60 / spare, abs=1e-6)


def simulate(
    rate: float, handle: float, agents: int, patience: float | None, calls: int, seed: int
) -> tuple[float, float, float, float]:
    """A first-come-first-served queue, simulated: the share that waited, that hung up,
    that was answered within 20 (time units) and the mean wait of those answered."""
    rng = random.Random(seed)
    free_at = [0.0] * agents  # when each agent is next free
    heapq.heapify(free_at)
    queue_clock = 0.0
    waited = dropped = in_time = 0
    answered_waits = 0.0
    answered = 0
    # FCFS with a renege: a caller is served at the earliest free agent unless they hang
    # up first; an abandoning caller takes no agent's time.
    for _ in range(calls):
        queue_clock += rng.expovariate(rate)
        earliest = free_at[0]
        wait = max(0.0, earliest - queue_clock)
        limit = math.inf if patience is None else rng.expovariate(1 / patience)
        if wait > 0:
            waited += 1
        if wait > limit:
            dropped += 1
            continue
        heapq.heapreplace(free_at, queue_clock + wait + rng.expovariate(1 / handle))
        answered += 1
        answered_waits += wait
        in_time += wait <= 20
    return waited / calls, dropped / calls, in_time / calls, answered_waits / answered


def test_erlang_c_agrees_with_a_simulation() -> None:
    # 6 contacts a minute of 1 minute on 8 agents; times in seconds.
    waited, _, in_time, mean_wait = simulate(6 / 60, 60, 8, None, 200_000, seed=7)
    assert erlang_c(360, MINUTE, 8) == pytest.approx(waited, abs=0.01)
    level = service_level(360, MINUTE, 8, answer_within=SECONDS(seconds=20))
    assert level == pytest.approx(in_time, abs=0.01)
    asa = average_speed_of_answer(360, MINUTE, 8).total_seconds()
    assert asa == pytest.approx(mean_wait, rel=0.05)


# --- agents_needed -----------------------------------------------------------------------------


@settings(max_examples=40)
@given(
    rates,
    handle_minutes,
    st.integers(0, 120),
    st.floats(0.05, 0.99),
    st.sampled_from([1.0, 0.9, 0.85, 0.7]),
    st.floats(0.0, 0.5),
)
# 1,591.1 erlangs fill 2,273 agents to exactly 70%: a load rounded twice asked one more.
@example(13638, 7, 0, 0.5, 0.7, 0.0)
def test_agents_needed_is_the_least_that_meets_the_targets(
    rate: int, minutes: int, within: int, target: float, occupancy: float, shrinkage: float
) -> None:
    handle, answer = minutes * MINUTE, SECONDS(seconds=within)
    need = agents_needed(
        rate,
        handle,
        answer_within=answer,
        service_level=target,
        max_occupancy=occupancy,
        shrinkage=shrinkage,
    )
    load = float(load_of(rate, minutes))
    assert need.load == pytest.approx(load)
    assert need.service_level >= target
    assert need.occupancy <= occupancy
    assert need.service_level == pytest.approx(
        service_level(rate, handle, need.agents, answer_within=answer)
    )
    assert need.scheduled >= need.agents
    assert need.scheduled * (1 - shrinkage) >= need.agents * (1 - 1e-9)
    fewer = need.agents - 1
    assert (
        fewer <= load
        or load / fewer > occupancy
        or service_level(rate, handle, fewer, answer_within=answer) < target
    )


def test_agents_needed_at_300_erlangs() -> None:
    need = agents_needed(
        6_000, 3 * MINUTE, answer_within=SECONDS(seconds=20), service_level=0.8, shrinkage=0.3
    )
    assert need.load == 300.0
    assert 300 < need.agents < 330
    assert (
        service_level(6_000, 3 * MINUTE, need.agents - 1, answer_within=SECONDS(seconds=20)) < 0.8
    )
    assert need.scheduled == math.ceil(need.agents / 0.7)


def test_shrinkage_rounds_up_but_not_float_noise() -> None:
    need = agents_needed(
        60, 6 * MINUTE, answer_within=SECONDS(seconds=0), service_level=0.2, shrinkage=0.2
    )
    assert need.scheduled == math.ceil(need.agents / 0.8 - 1e-9)


def test_a_staffing_need_round_trips_through_to_dict() -> None:
    need = agents_needed(
        120,
        4 * MINUTE,
        answer_within=SECONDS(seconds=30),
        service_level=0.9,
        patience=2 * MINUTE,
    )
    assert from_dict(StaffingNeed, to_dict(need)) == need


# --- Erlang A ----------------------------------------------------------------------------------


def birth_death(load: float, agents: int, theta: float) -> tuple[float, float, list[float]]:
    """The Erlang A chain's stationary law, solved numerically (truncated where negligible):
    the probability of waiting, of abandoning, and the law itself."""
    law = [1.0]
    k = 0
    while True:
        k += 1
        law.append(law[-1] * load / (min(k, agents) + theta * max(k - agents, 0)))
        if k > agents + 10 and law[-1] < 1e-18 * sum(law):
            break
    total = sum(law)
    law = [p / total for p in law]
    waiting = sum(law[agents:])
    queued = sum((k - agents) * p for k, p in enumerate(law) if k > agents)
    return waiting, queued * theta / load, law


def answered_in_time(agents: int, theta: float, ahead: int, limit: float) -> float:
    """One waiting customer with ``ahead`` others before it: the probability it is answered
    within ``limit``, by uniformization of its own transient chain."""
    top = agents + (ahead + 1) * theta
    at = [0.0] * (ahead + 1)
    at[ahead] = 1.0  # the chance of being with j ahead
    answered = 0.0
    poisson = math.exp(-top * limit)
    steps = 0
    mass = poisson
    cumulative = 0.0
    while True:
        # after `steps` jumps: answered (absorbed) so far counts with P(N(limit) >= steps)
        nxt = [0.0] * (ahead + 1)
        gained = 0.0
        for j, p in enumerate(at):
            if not p:
                continue
            move = (agents + j * theta) / top
            hang = theta / top
            if j == 0:
                gained += p * move
            else:
                nxt[j - 1] += p * move
            nxt[j] += p * (1 - move - hang)
        cumulative += mass
        steps += 1
        # absorbed at jump `steps`: counts when at least `steps` jumps happen by `limit`
        answered += gained * (1 - cumulative)
        mass *= top * limit / steps
        at = nxt
        if sum(at) < 1e-16 or (steps > top * limit and mass < 1e-18):
            break
    return answered


@pytest.mark.parametrize(
    ("load", "agents", "theta"),
    [(10.0, 8, 0.5), (10.0, 12, 0.1), (3.3, 4, 2.0), (50.0, 45, 0.05), (0.4, 1, 1.0)],
)
def test_erlang_a_matches_the_birth_death_chain(load: float, agents: int, theta: float) -> None:
    # handle time 1 minute, so load = contacts per minute; patience = 1/theta minutes
    waiting, hung_up, _ = birth_death(load, agents, theta)
    patience = pendulum.duration(microseconds=round(60_000_000 / theta))
    rate = load * 60
    assert erlang_a(rate, MINUTE, agents, patience=patience) == pytest.approx(waiting, rel=1e-9)
    assert abandonment(rate, MINUTE, agents, patience=patience) == pytest.approx(hung_up, rel=1e-9)


@pytest.mark.parametrize(
    ("load", "agents", "theta", "within"),
    [(10.0, 8, 0.5, 0.3), (10.0, 12, 0.1, 0.2), (3.3, 4, 2.0, 0.5), (6.0, 5, 1.0, 1.0)],
)
def test_erlang_a_service_level_matches_each_waiting_customers_own_chain(
    load: float, agents: int, theta: float, within: float
) -> None:
    waiting, _, law = birth_death(load, agents, theta)
    expected = 1 - waiting
    for k in range(agents, len(law)):
        if law[k] < 1e-14:
            break
        expected += law[k] * answered_in_time(agents, theta, k - agents, within)
    patience = pendulum.duration(microseconds=round(60_000_000 / theta))
    answer = pendulum.duration(microseconds=round(within * 60_000_000))
    level = service_level(load * 60, MINUTE, agents, answer_within=answer, patience=patience)
    assert level == pytest.approx(expected, abs=1e-9)


def test_erlang_a_agrees_with_a_simulation() -> None:
    # 6 contacts a minute of 1 minute on 6 agents, patient for 40 s on average; seconds.
    waited, dropped, in_time, mean_wait = simulate(6 / 60, 60, 6, 40, 200_000, seed=11)
    patience = SECONDS(seconds=40)
    assert erlang_a(360, MINUTE, 6, patience=patience) == pytest.approx(waited, abs=0.01)
    assert abandonment(360, MINUTE, 6, patience=patience) == pytest.approx(dropped, abs=0.01)
    level = service_level(360, MINUTE, 6, answer_within=SECONDS(seconds=20), patience=patience)
    assert level == pytest.approx(in_time, abs=0.01)
    asa = average_speed_of_answer(360, MINUTE, 6, patience=patience).total_seconds()
    assert asa == pytest.approx(mean_wait, rel=0.05)


# Near full load the queue is about 1/(1 - rho) long, and no patience the API takes (a
# million handle times at most) is long beside what so many customers wait: so at most
# 90% of the agents' time is busy here.
@settings(max_examples=30)
@given(st.integers(1, 3_000), handle_minutes, st.floats(0.01, 0.9), st.integers(0, 120))
def test_erlang_a_tends_to_erlang_c_as_patience_grows(
    rate: int, minutes: int, busy: float, within: int
) -> None:
    load = load_of(rate, minutes)
    agents = max(math.floor(load) + 1, math.ceil(load / busy))
    handle, answer = minutes * MINUTE, SECONDS(seconds=within)
    previous = None
    for times in (1_000, 100_000):
        patience = handle * times
        gap = abs(
            erlang_a(rate, handle, agents, patience=patience) - erlang_c(rate, handle, agents)
        )
        if previous is not None:
            assert gap <= previous + 1e-12
        previous = gap
    patient = handle * 100_000
    assert erlang_a(rate, handle, agents, patience=patient) == pytest.approx(
        erlang_c(rate, handle, agents), rel=1e-3, abs=1e-9
    )
    assert service_level(
        rate, handle, agents, answer_within=answer, patience=patient
    ) == pytest.approx(service_level(rate, handle, agents, answer_within=answer), abs=1e-3)
    assert abandonment(rate, handle, agents, patience=patient) < 1e-3


@settings(max_examples=30)
@given(st.integers(1, 20_000), handle_minutes, patience_minutes, st.integers(1, 900))
def test_erlang_a_figures_are_probabilities_and_more_agents_do_better(
    rate: int, minutes: int, patience: int, agents: int
) -> None:
    handle, wait = minutes * MINUTE, patience * MINUTE
    answer = SECONDS(seconds=20)
    one = (
        erlang_a(rate, handle, agents, patience=wait),
        abandonment(rate, handle, agents, patience=wait),
        service_level(rate, handle, agents, answer_within=answer, patience=wait),
    )
    two = (
        erlang_a(rate, handle, agents + 1, patience=wait),
        abandonment(rate, handle, agents + 1, patience=wait),
        service_level(rate, handle, agents + 1, answer_within=answer, patience=wait),
    )
    for figure in (*one, *two):
        assert 0.0 <= figure <= 1.0
    assert one[1] <= one[0]
    assert two[0] <= one[0] + 1e-12
    assert two[1] <= one[1] + 1e-12
    assert two[2] >= one[2] - 1e-9


@settings(max_examples=25)
@given(
    st.integers(1, 20_000),
    handle_minutes,
    patience_minutes,
    st.floats(0.05, 0.95),
    st.none() | st.floats(0.01, 0.5),
)
def test_agents_needed_with_patience_is_the_least_that_meets_the_targets(
    rate: int, minutes: int, patience: int, target: float, max_abandonment: float | None
) -> None:
    handle, wait, answer = minutes * MINUTE, patience * MINUTE, SECONDS(seconds=20)
    need = agents_needed(
        rate,
        handle,
        answer_within=answer,
        service_level=target,
        patience=wait,
        max_abandonment=max_abandonment,
    )
    assert need.service_level >= target
    assert need.patience == wait
    assert need.abandonment == pytest.approx(abandonment(rate, handle, need.agents, patience=wait))
    if max_abandonment is not None:
        assert need.abandonment <= max_abandonment
    fewer = need.agents - 1
    if fewer >= 1:
        level = service_level(rate, handle, fewer, answer_within=answer, patience=wait)
        hung_up = abandonment(rate, handle, fewer, patience=wait)
        assert level < target or (max_abandonment is not None and hung_up > max_abandonment)


def test_erlang_a_is_stable_at_hundreds_of_erlangs() -> None:
    for agents in (200, 290, 300, 310, 400):
        patience = SECONDS(seconds=90)
        for figure in (
            erlang_a(6_000, 3 * MINUTE, agents, patience=patience),
            abandonment(6_000, 3 * MINUTE, agents, patience=patience),
            service_level(
                6_000, 3 * MINUTE, agents, answer_within=SECONDS(seconds=20), patience=patience
            ),
        ):
            assert math.isfinite(figure)
            assert 0.0 <= figure <= 1.0
    waiting, hung_up, _ = birth_death(300.0, 290, 3 / 1.5)
    patience = SECONDS(seconds=90)
    assert erlang_a(6_000, 3 * MINUTE, 290, patience=patience) == pytest.approx(waiting, rel=1e-9)
    assert abandonment(6_000, 3 * MINUTE, 290, patience=patience) == pytest.approx(
        hung_up, rel=1e-9
    )


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: erlang_c(0, MINUTE, 2), "arrival_rate"),
        (lambda: erlang_c(-5, MINUTE, 2), "arrival_rate"),
        (lambda: erlang_c(math.inf, MINUTE, 2), "arrival_rate"),
        (lambda: erlang_c(math.nan, MINUTE, 2), "arrival_rate"),
        (lambda: erlang_c(True, MINUTE, 2), "arrival_rate"),
        (lambda: erlang_c(60, SECONDS(0), 2), "handle_time"),
        (lambda: erlang_c(60, -MINUTE, 2), "handle_time"),
        (lambda: erlang_c(60, 5, 2), "handle_time"),
        (lambda: erlang_c(60, MINUTE, 0), "agents"),
        (lambda: erlang_c(60, MINUTE, 1), "agents"),  # 1 erlang on 1 agent never clears
        (lambda: erlang_c(600, MINUTE, 9), "agents"),
        (lambda: erlang_c(60, MINUTE, 2.0), "agents"),
        (lambda: erlang_a(60, MINUTE, 1, patience=SECONDS(0)), "patience"),
        (lambda: erlang_a(60, MINUTE, 1, patience=MINUTE * 10_000_000), "patience"),
        (
            lambda: service_level(60, MINUTE, 3, answer_within=-MINUTE),
            "answer_within",
        ),
        (
            lambda: agents_needed(60, MINUTE, answer_within=MINUTE, service_level=1.0),
            "service_level",
        ),
        (
            lambda: agents_needed(60, MINUTE, answer_within=MINUTE, service_level=0),
            "service_level",
        ),
        (
            lambda: agents_needed(
                60, MINUTE, answer_within=MINUTE, service_level=0.8, max_occupancy=0
            ),
            "max_occupancy",
        ),
        (
            lambda: agents_needed(60, MINUTE, answer_within=MINUTE, service_level=0.8, shrinkage=1),
            "shrinkage",
        ),
        (
            lambda: agents_needed(
                60, MINUTE, answer_within=MINUTE, service_level=0.8, max_abandonment=0.1
            ),
            "max_abandonment",
        ),
    ],
)
def test_bad_input_names_the_argument(call: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.problems[0].path == field


@given(anything, anything, anything)
def test_only_validation_errors_escape(rate: object, handle: object, agents: object) -> None:
    only_validation_errors(lambda: erlang_c(rate, handle, agents))  # type: ignore[arg-type]
    only_validation_errors(
        lambda: agents_needed(
            rate,  # type: ignore[arg-type]
            handle,  # type: ignore[arg-type]
            answer_within=dt.timedelta(seconds=20),
            service_level=agents,  # type: ignore[arg-type]
        )
    )
