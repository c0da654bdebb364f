"""The demo at scale: wall time and peak memory, and how both grow with the customer base.

The demo's work (``simulate`` over 12 months into a fresh SQLite file, then
``build_report``, ``render_text`` and ``render_html``, as ``custservice demo``
does) runs for 1,000, 10,000 and 100,000 customers (QUICK: 1,000 and
10,000), each in a fresh interpreter so that its peak resident memory
(``ru_maxrss``) is its own.

Each size is compared with the one ten times smaller:

1. Wall time, simulation and report apart, against ten times the smaller
   run's (linear growth). Aim: at most 1.2x of linear.
2. Peak resident memory against the smaller run's. The simulation writes in
   chunks and the report streams, so memory should barely grow. Aim: under
   2x for ten times the customers.

Run: .venv/bin/python benchmarks/run.py demo
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import _harness
from _harness import report

CHILD = """
import json, resource, sys, time
import custservice.report as r
from custservice.simulation import simulate
from custservice.storage.registry import open_store

customers, path = int(sys.argv[1]), sys.argv[2]
start = time.perf_counter()
with open_store(f"sqlite:///{path}") as store:
    result = simulate(store, customers=customers, months=12, seed=7)
    simulated = time.perf_counter()
    simulate_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = r.build_report(store, at=result.ended_at)
    text, page = r.render_text(report), r.render_html(report)
reported = time.perf_counter()
print(json.dumps({
    "simulate": simulated - start,
    "report": reported - simulated,
    "simulate_peak_mb": simulate_peak,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "interactions": result.interactions,
    "cases": result.cases,
    "text_bytes": len(text.encode()),
}))
"""


def run(customers: int, directory: Path) -> dict[str, float]:
    """The demo's work for ``customers`` in a fresh interpreter: its figures."""
    path = directory / f"demo-{customers}.db"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(customers), str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    figures["db_mb"] = path.stat().st_size / 1e6
    path.unlink()
    return figures


def main() -> None:
    sizes = [1_000, 10_000] if _harness.QUICK else [1_000, 10_000, 100_000]
    directory = Path(tempfile.mkdtemp(prefix="bench-demo-"))
    try:
        runs = {}
        for n in sizes:
            f = runs[n] = run(n, directory)
            print(
                f"  {n:>7,} customers: {f['interactions']:,.0f} interactions, "
                f"{f['cases']:,.0f} cases; simulate {f['simulate']:.1f} s, "
                f"report {f['report']:.1f} s; peak RSS {f['simulate_peak_mb']:.0f} MB "
                f"after simulating, {f['peak_mb']:.0f} MB in all; "
                f"file {f['db_mb']:.0f} MB",
                flush=True,
            )
        for small, big in itertools.pairwise(sizes):
            s, b = runs[small], runs[big]
            scale = big / small
            for phase in ("simulate", "report"):
                report(
                    f"demo {big:,} customers: {phase} (s)",
                    b[phase],
                    "s",
                    baseline=f"{scale:.0f} x the {small:,}-customer run",
                    baseline_value=scale * s[phase],
                    aim="<= 1.2x (linear)",
                )
            report(
                f"demo {big:,} customers: whole run (s)",
                b["simulate"] + b["report"],
                "s",
                baseline=f"{scale:.0f} x the {small:,}-customer run",
                baseline_value=scale * (s["simulate"] + s["report"]),
                aim="<= 1.2x (linear)",
            )
            report(
                f"demo {big:,} customers: peak RSS (MB)",
                b["peak_mb"],
                "MB",
                baseline=f"the {small:,}-customer run",
                baseline_value=s["peak_mb"],
                aim="< 2x for 10x the customers",
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
