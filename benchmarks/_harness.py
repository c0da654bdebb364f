"""Shared helpers for the benchmark scripts: timing, and one way of printing results.

A figure is printed beside a baseline measured in the same run, as a ratio
(:func:`report`), because on a small, noisy machine only ratios are worth
comparing; a few details are printed alone, for context (latency
percentiles, setup times, what a baseline raised).

``run.py --record`` keeps what each module printed (:class:`Recording`): its
lines exactly as printed, each :func:`report` line with its cells too, the
date, the command and the machine, in ``docs/benchmarks/NAME.json``, which
the docs' benchmarks page shows (``scripts/docs_benchmarks.py``).
"""

from __future__ import annotations

import datetime as dt
import gc
import io
import json
import math
import os
import platform
import shlex
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

QUICK = False
"""Set by ``run.py --quick``: smaller sizes, for a smoke run."""

RECORDED = Path(__file__).resolve().parent.parent / "docs" / "benchmarks"
"""Where ``run.py --record`` keeps each module's result, as ``NAME.json``."""

_reported: list[dict[str, str]] = []
"""Each :func:`report` since the recording began: its printed line and its cells."""


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
    line = (
        f"{name:<52} {value:>12.3f} {unit:<6} vs {baseline} {baseline_value:.3f} {unit}"
        f"  ratio {_ratio(ratio)}{aim_text}"
    )
    print(line, flush=True)
    _reported.append(
        {
            "line": line,
            "what": name,
            "figure": f"{value:.3f} {unit}",
            "baseline": f"{baseline} {baseline_value:.3f} {unit}",
            "ratio": _ratio(ratio),
            "aim": aim,
        }
    )
    return ratio


def _ratio(ratio: float) -> str:
    """A ratio to two decimals, or to two significant digits below 0.1 (``0.0033x``)."""
    if 0 < ratio < 0.1:
        return f"{ratio:.{1 - math.floor(math.log10(ratio))}f}x"
    return f"{ratio:.2f}x"


# ------------------------------------------------------------------ recording


class _Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self.kept = io.StringIO()

    def write(self, text: str) -> int:
        self.kept.write(text)
        return self.terminal.write(text)

    def flush(self) -> None:
        self.terminal.flush()


def _postgresql() -> str | None:
    """The version of the server at ``CUSTSERVICE_PG_URL`` (as the benchmarks
    default it), or ``None`` when none answers."""
    url = os.environ.get("CUSTSERVICE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception:  # no driver, no server: the record says so
        return None
    return str(row[0]).split()[0] if row else None


def machine() -> dict[str, Any]:
    """What the figures were measured on: versions, cores, and the load right now."""
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgresql(),
        "system": f"{platform.system()} {platform.machine()}",
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def command() -> str:
    """The command this process runs, as typed from the repository's root: the
    ``CUSTSERVICE_BENCH_*`` settings in force, ``python`` and the arguments."""
    settings = [
        f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("CUSTSERVICE_BENCH_")
    ]
    return " ".join([*settings, "python", "benchmarks/run.py", shlex.join(sys.argv[1:])]).strip()


class Recording:
    """``with Recording("lifecycle"): ...``: what the block prints, kept with its
    date, the command and the machine, in ``RECORDED / "lifecycle.json"``.

    The file holds ``lines``: each line printed, in order, either as printed (a
    string) or, for a :func:`report` line, its cells with the line as printed
    (``line``, ``what``, ``figure``, ``baseline``, ``ratio``, ``aim``). A block
    that raises records nothing.
    """

    def __init__(self, name: str, *, directory: Path = RECORDED) -> None:
        self.name = name
        self.path = directory / f"{name}.json"

    def __enter__(self) -> Recording:
        self.started = dt.datetime.now(dt.UTC)
        self.clock = time.perf_counter()
        self.machine = machine()  # the load average at the start
        _reported.clear()
        self.stdout = sys.stdout
        self.tee = _Tee(sys.stdout)
        sys.stdout = self.tee
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        sys.stdout = self.stdout
        if kind is not None:
            return
        pending = list(_reported)
        lines: list[str | dict[str, str]] = []
        for line in self.tee.kept.getvalue().splitlines():
            if pending and line == pending[0]["line"]:
                lines.append(pending.pop(0))
            else:
                lines.append(line)
        result = {
            "benchmark": self.name,
            "date": self.started.strftime("%Y-%m-%d %H:%M UTC"),
            "command": command(),
            "quick": QUICK,
            "seconds": round(time.perf_counter() - self.clock, 1),
            "machine": self.machine,
            "lines": lines,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
