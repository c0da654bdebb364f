"""The lifecycle engine: cost per transition, cost against history length, cost to create.

1. CUSTOMER_LIFECYCLE driven along a fixed cyclic path of valid events, in ns per
   transition, against a plain dict lookup (the floor), `transitions` and
   python-statemachine driving the same path.
2. Firing on a state with 10,000 past changes against firing on a fresh one.
3. Creating 10,000 customer lifecycle states against creating 10,000 machines.

Run: .venv/bin/python benchmarks/run.py lifecycle
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import _harness
import pendulum
from _harness import best_of, report

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
    bench_creation()


if __name__ == "__main__":
    main()
