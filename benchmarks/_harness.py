"""Shared helpers for the benchmark scripts: timing, and one way of printing results.

A figure is printed beside a baseline measured in the same run, as a ratio
(:func:`report`), because on a small, noisy machine only ratios are worth
comparing; a few details are printed alone, for context (latency
percentiles, setup times, what a baseline raised).
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable

QUICK = False
"""Set by ``run.py --quick``: smaller sizes, for a smoke run."""


def best_of(fn: Callable[[], object], *, repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs of ``fn``, in seconds (GC off while timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def median_of(fn: Callable[[], object], *, repeat: int = 101) -> float:
    """The median of ``repeat`` runs of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def report(
    name: str,
    value: float,
    unit: str,
    *,
    baseline: str,
    baseline_value: float,
    aim: str = "",
) -> float:
    """Print one result line: the figure, the baseline and their ratio; return the ratio."""
    ratio = value / baseline_value if baseline_value else float("inf")
    aim_text = f"  (aim: {aim})" if aim else ""
    print(
        f"{name:<52} {value:>12.3f} {unit:<6} vs {baseline} {baseline_value:.3f} {unit}"
        f"  ratio {ratio:.2f}x{aim_text}",
        flush=True,
    )
    return ratio
