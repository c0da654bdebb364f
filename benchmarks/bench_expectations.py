"""Classifying observations with a band, and the cost of importing custservice."""

from __future__ import annotations

import random
import subprocess
import sys

import _harness

from custservice import ExpectationBand, Factor, Verdict

_D, _S, _G = Verdict.DISSATISFIED, Verdict.SATISFIED, Verdict.DELIGHTED


def _hand_written(observed: float) -> Verdict:
    # The floor: the same decision as plain if/else, with no checks.
    if observed <= 0:
        return _G
    return _S if observed <= 2 else _D


def classify() -> None:
    n = 100_000 if _harness.QUICK else 1_000_000
    rng = random.Random(7)
    values = [rng.randint(0, 5) for _ in range(n)]
    band = ExpectationBand(Factor.SPEED, "handoffs", adequate=2, desired=0)
    assert [band.classify(v) for v in values[:1000]] == [_hand_written(v) for v in values[:1000]]
    base = _harness.best_of(lambda: [_hand_written(v) for v in values])
    ours = _harness.best_of(lambda: [band.classify(v) for v in values])
    _harness.report(
        f"classify {n:,} observations (ns each)",
        ours / n * 1e9,
        "ns",
        baseline="hand-written if/else",
        baseline_value=base / n * 1e9,
        aim="<= 3x",
    )


def _import_time(statement: str, runs: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return min(times)


def import_time() -> None:
    runs = 5 if _harness.QUICK else 15
    pendulum_only = _import_time("import pendulum", runs)
    floor = _import_time("import attrs, pendulum", runs)
    ours = _import_time("import custservice", runs)
    _harness.report(
        "import custservice (ms)",
        ours * 1e3,
        "ms",
        baseline="import pendulum",
        baseline_value=pendulum_only * 1e3,
        aim="<= 1.3x",
    )
    _harness.report(
        "import custservice (ms)",
        ours * 1e3,
        "ms",
        baseline="import attrs, pendulum",
        baseline_value=floor * 1e3,
        aim="<= 1.3x",
    )


def main() -> None:
    classify()
    import_time()


if __name__ == "__main__":
    main()
