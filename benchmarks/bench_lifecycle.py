"""The lifecycle engine: cost per transition, cost against history length, cost to create.

1. CUSTOMER_LIFECYCLE driven along a fixed cyclic path of valid events, in ns per
   transition, against a plain dict lookup (the floor), `transitions` and
   python-statemachine driving the same path.
2. Firing on a state with 10,000 past changes against firing on a fresh one; and
   firing from an older position (one the caller kept, half-way back along
   10,000 changes: every such firing branches) against the same on a fresh state
   and on a position 44 changes in.
3. Recording a case update and handing an interaction off, on records with
   20,000 updates (handoffs) against records with none.
4. Creating 10,000 customer lifecycle states against creating 10,000 machines.

Run: .venv/bin/python benchmarks/run.py lifecycle
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

import _harness
import pendulum
from _harness import best_of, report

from custservice import Case, Channel, FixedClock, Interaction
from custservice.lifecycle import Lifecycle, LifecycleState
from custservice.lifecycles import CUSTOMER_LIFECYCLE

AT = pendulum.datetime(2026, 1, 5, 9)
CYCLE = ["retain", "reward", "champion", "flag_risk", "recover", "churn", "win_back"]
"""From NEW back to NEW, through every stage but PROSPECT."""


def path(cycles: int) -> list[str]:
    return ["acquire", *CYCLE * cycles]


def drive(lifecycle: Lifecycle, state: LifecycleState, events: list[str]) -> LifecycleState:
    fire = lifecycle.fire
    for event in events:
        state = fire(state, event, at=AT)
    return state


TABLE = {(s, t.event): t.target for t in CUSTOMER_LIFECYCLE.transitions for s in t.sources}
"""The floor: the same transitions as a plain dict ``(state, event) -> target``."""


def dict_floor(events: list[str]) -> str:
    table = TABLE
    state: str = CUSTOMER_LIFECYCLE.initial
    for event in events:
        state = table[state, event]
    return state


def transitions_spec() -> dict[str, object]:
    rows = [(s, t.event, t.target) for t in CUSTOMER_LIFECYCLE.transitions for s in t.sources]
    return {
        "states": [str(s) for s in CUSTOMER_LIFECYCLE.states],
        "transitions": [[e, str(s), str(t)] for s, e, t in rows],
        "initial": str(CUSTOMER_LIFECYCLE.initial),
        "auto_transitions": False,
    }


def statemachine_class() -> type:
    from statemachine import State, StateMachine

    states = {
        str(s): State(initial=s == CUSTOMER_LIFECYCLE.initial) for s in CUSTOMER_LIFECYCLE.states
    }
    body: dict[str, object] = dict(states)
    for t in CUSTOMER_LIFECYCLE.transitions:
        sources = sorted(str(s) for s in t.sources)
        event = states[sources[0]].to(states[str(t.target)])
        for source in sources[1:]:
            event = event | states[source].to(states[str(t.target)])
        body[t.event] = event
    return type("CustomerMachine", (StateMachine,), body)


def per_event_ns(fn: Callable[[], object], count: int, *, repeat: int = 5) -> float:
    return best_of(fn, repeat=repeat) / count * 1e9


def bench_path() -> None:
    from transitions import Machine

    quick = _harness.QUICK
    events = path(100 if quick else 1000)
    slow_events = path(20 if quick else 150)  # python-statemachine is slow: a shorter path
    assert drive(CUSTOMER_LIFECYCLE, CUSTOMER_LIFECYCLE.start(AT), events).current == "new"

    floor = per_event_ns(lambda: dict_floor(events), len(events))
    drive(CUSTOMER_LIFECYCLE, CUSTOMER_LIFECYCLE.start(AT), events)  # warm the allocator up
    ours = per_event_ns(
        lambda: drive(CUSTOMER_LIFECYCLE, CUSTOMER_LIFECYCLE.start(AT), events), len(events)
    )
    spec = transitions_spec()

    class Model:
        state: str

    def run_transitions() -> None:
        model = Model()
        Machine(model=model, **spec)  # type: ignore[arg-type]
        trigger = model.trigger  # type: ignore[attr-defined]
        for event in events:
            trigger(event)
        assert model.state == "new"

    machine_class = statemachine_class()

    def run_statemachine() -> None:
        machine = machine_class()
        send = machine.send
        for event in slow_events:
            send(event)

    theirs = per_event_ns(run_transitions, len(events))
    slowest = per_event_ns(run_statemachine, len(slow_events), repeat=3)
    print(f"customer path of {len(events)} events (python-statemachine: {len(slow_events)})")
    report(
        "fire, ns per transition",
        ours,
        "ns",
        baseline="dict lookup",
        baseline_value=floor,
        aim="<= 10x",
    )
    report(
        "transitions 0.9.3, ns per transition",
        theirs,
        "ns",
        baseline="fire",
        baseline_value=ours,
        aim=">= 5x",
    )
    report(
        "python-statemachine 3.2.2, ns per transition",
        slowest,
        "ns",
        baseline="fire",
        baseline_value=ours,
        aim=">= 5x",
    )


def bench_history_length() -> None:
    repeat = 7
    events = CYCLE * (60 if _harness.QUICK else 300)
    long_path = path(10_000 // len(CYCLE) + 1)
    start = CUSTOMER_LIFECYCLE.start
    # One start per timed run, each driven on its own log, so no run pays for a branch.
    long_starts = [drive(CUSTOMER_LIFECYCLE, start(AT), long_path) for _ in range(repeat)]
    fresh_starts = [drive(CUSTOMER_LIFECYCLE, start(AT), ["acquire"]) for _ in range(repeat)]
    past = len(long_starts[0].history)
    assert past >= 10_000
    # Interleaved, so that the allocator's moods (fresh arenas, page faults) hit both alike.
    on_fresh, on_long = [], []
    for fresh, long in zip(fresh_starts, long_starts, strict=True):
        on_fresh.append(best_of(partial(drive, CUSTOMER_LIFECYCLE, fresh, events), repeat=1))
        on_long.append(best_of(partial(drive, CUSTOMER_LIFECYCLE, long, events), repeat=1))
    report(
        f"fire with {past:,} past changes, ns per transition",
        min(on_long) / len(events) * 1e9,
        "ns",
        baseline="fresh state",
        baseline_value=min(on_fresh) / len(events) * 1e9,
        aim="~1x",
    )


def interleaved(
    one: Callable[[], object], other: Callable[[], object], *, repeat: int = 7
) -> tuple[float, float]:
    """The best times of ``one`` and ``other``, run in turn, so that the machine's moods
    (other processes, the allocator) hit both alike."""
    ones, others = [], []
    for _ in range(repeat):
        ones.append(best_of(one, repeat=1))
        others.append(best_of(other, repeat=1))
    return min(ones), min(others)


def fire_each(lifecycle: Lifecycle, states: list[LifecycleState], event: str) -> None:
    fire = lifecycle.fire
    for state in states:
        fire(state, event, at=AT)


def bench_older_position() -> None:
    """Firing from a position the log has moved on from: each firing branches."""
    count = 2_000 if _harness.QUICK else 20_000
    long_path = path(10_000 // len(CYCLE) + 1)
    states = [CUSTOMER_LIFECYCLE.start(AT)]
    fire = CUSTOMER_LIFECYCLE.fire
    for event in long_path:
        states.append(fire(states[-1], event, at=AT))
    fresh = states[2]  # two changes in: "acquire", "retain"
    half = len(states) // 2
    kept = states[half - (half - 2) % len(CYCLE)]  # half-way back, where fresh stands
    assert kept.current == fresh.current  # the same event is allowed from both
    assert len(kept.history) >= 5_000
    event = sorted(CUSTOMER_LIFECYCLE.allowed(fresh))[0]
    on_kept, on_fresh = interleaved(
        partial(fire_each, CUSTOMER_LIFECYCLE, [kept] * count, event),
        partial(fire_each, CUSTOMER_LIFECYCLE, [fresh] * count, event),
    )
    report(
        f"fire from a kept position {len(kept.history):,} changes in, ns",
        on_kept / count * 1e9,
        "ns",
        baseline="fresh state",
        baseline_value=on_fresh / count * 1e9,
        aim="~1x",
    )
    # Past a few dozen changes a branch no longer copies the log's newest entries: against
    # a kept position 44 changes in, both sides branch alike and only the length differs.
    near = states[44]
    assert near.current == fresh.current
    on_kept, on_near = interleaved(
        partial(fire_each, CUSTOMER_LIFECYCLE, [kept] * count, event),
        partial(fire_each, CUSTOMER_LIFECYCLE, [near] * count, event),
    )
    report(
        f"fire from a kept position {len(kept.history):,} changes in, ns",
        on_kept / count * 1e9,
        "ns",
        baseline=f"{len(near.history)} in",
        baseline_value=on_near / count * 1e9,
        aim="~1x",
    )


def bench_growing_records() -> None:
    """A case update and a handoff on records holding 20,000 of them, against none."""
    count = 2_000 if _harness.QUICK else 20_000
    grown = 20_000
    clock = FixedClock(AT)
    case = Case.open(uuid.UUID(int=1), "many messages", clock=clock).advance("open", at=AT)
    call = Interaction.open(uuid.UUID(int=1), Channel.CHAT, clock=clock)
    empty_case, empty_call = case, call
    for i in range(grown):
        case = case.record_update(at=AT, from_customer=i % 2 == 0)
        call = call.handoff(f"desk {i % 5}", at=AT)

    def updates(record: Case) -> None:
        update = record.record_update
        for _ in range(count):
            update(at=AT)

    def handoffs(record: Interaction) -> None:
        hand = record.handoff
        for _ in range(count):
            hand("billing", at=AT)

    for name, run, full, empty in (
        ("record_update", updates, case, empty_case),
        ("handoff", handoffs, call, empty_call),
    ):
        with_many, with_none = interleaved(partial(run, full), partial(run, empty))
        report(
            f"{name} with {grown:,} before it, us",
            with_many / count * 1e6,
            "us",
            baseline="none before",
            baseline_value=with_none / count * 1e6,
            aim="~1x",
        )


def bench_creation() -> None:
    from transitions import Machine

    count = 1_000 if _harness.QUICK else 10_000
    spec = transitions_spec()
    machine_class = statemachine_class()
    start = CUSTOMER_LIFECYCLE.start

    class Model:
        pass

    ours = best_of(lambda: [start(AT) for _ in range(count)])
    shared = Machine(model=None, **spec)  # type: ignore[arg-type]
    theirs = best_of(lambda: [Machine(model=Model(), **spec) for _ in range(count)], repeat=3)  # type: ignore[arg-type]

    def add_models() -> None:
        for _ in range(count):
            shared.add_model(Model())

    theirs_shared = best_of(add_models, repeat=3)
    slowest = best_of(lambda: [machine_class() for _ in range(count)], repeat=3)
    print(f"creating {count:,}")
    unit = "ms"
    report("start(at), ms", ours * 1e3, unit, baseline="-", baseline_value=ours * 1e3)
    report(
        "transitions Machine(model), ms",
        theirs * 1e3,
        unit,
        baseline="start",
        baseline_value=ours * 1e3,
    )
    report(
        "transitions add_model (one shared machine), ms",
        theirs_shared * 1e3,
        unit,
        baseline="start",
        baseline_value=ours * 1e3,
    )
    report(
        "python-statemachine machine(), ms",
        slowest * 1e3,
        unit,
        baseline="start",
        baseline_value=ours * 1e3,
    )


def main() -> None:
    bench_path()
    bench_history_length()
    bench_older_position()
    bench_growing_records()
    bench_creation()


if __name__ == "__main__":
    main()
