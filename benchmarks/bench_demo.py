"""The demo at scale: wall time and peak memory, how both grow with the customer base,
and ``custservice report`` against 0.1.0's on the same demo store.

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

Then the report against 0.1.0's (10,000 customers; QUICK: 1,000;
``CUSTSERVICE_BENCH_REPORT_CUSTOMERS=N``: N), every figure checked to print the
same report in both versions:

3. 0.1.0 is extracted from its release commit with ``git archive`` into a
   temporary directory and makes its demo store with its own
   ``custservice demo``. Ours reports on a copy of that file, which it
   upgrades when it first opens it (not timed). Each ``custservice report
   --store sqlite:///… --at …`` (the command the demo prints) runs in a
   subprocess, 0.1.0's with ``PYTHONPATH`` at its source (both compiled to
   bytecode beforehand, as an installed package is), the two
   interleaved, best of three; both must print the same report (but for
   ours' sections from the desk to the customers at risk, which 0.1.0 has
   not, and the follow-ups, which ours plans by the demo's SLA policies,
   escalation rules and survey policy). Aim: ours at
   least 5x faster. The same without ``--at`` (the report then first finds
   the latest change, which reads every record), best of two, no aim.
4. ``build_report(store, at=…, targets=())`` and ``render_text``, in both
   versions alike, best of two: the report but for the service-target
   engine, which both run in Python on every case (with the demo's three
   targets, most of either report's time). It shows what reading only what
   the report needs saves. No aim.

Run: .venv/bin/python benchmarks/run.py demo
"""

from __future__ import annotations

import compileall
import difflib
import itertools
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _harness
from _harness import report

import custservice

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


def growth() -> None:
    """Figures 1 and 2: the demo at each size against the one ten times smaller."""
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


# --- against 0.1.0 ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "1e03bfb56bc4d880a4e527fc6588aff30391ccbf"
"""The commit that released 0.1.0."""

# Run first in 0.1.0's processes: the backends' entry points installed now name this
# version's modules, so 0.1.0 is pointed at its own by their own names.
_OWN_BACKENDS = """
from importlib.metadata import EntryPoint
import custservice.storage.registry as registry
own = {"memory": "custservice.storage.memory:open_memory_store",
       "sqlite": "custservice.storage.sqlite:open_sqlite_store"}
registry._entry_points = lambda: {k: EntryPoint(k, v, registry.GROUP) for k, v in own.items()}
"""
_CLI = "import sys; from custservice.cli import main; sys.exit(main(sys.argv[1:]))"
_WITHOUT_TARGETS = """
import sys, pendulum
from custservice.report import build_report, render_text
from custservice.storage.registry import open_store
with open_store(sys.argv[1]) as store:
    report = build_report(store, at=pendulum.parse(sys.argv[2]), targets=())
print(render_text(report), end="")
"""


class _Version:
    """One version of custservice, run in subprocesses: ours, or 0.1.0's from ``source``."""

    def __init__(self, source: Path | None) -> None:
        self._prefix = "" if source is None else _OWN_BACKENDS
        self._env = dict(os.environ)
        if source is not None:
            self._env["PYTHONPATH"] = str(source)

    def run(self, code: str, *args: str) -> tuple[float, str]:
        """Seconds ``code`` took in a new interpreter, and what it printed."""
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", self._prefix + code, *args],
            env=self._env,
            capture_output=True,
            text=True,
            check=True,
        )
        return time.perf_counter() - start, done.stdout


def _release_source(directory: Path) -> Path:
    """0.1.0's ``src`` directory, extracted from its commit into ``directory``."""
    command = f"git archive --format=tar {RELEASE} src | tar -x -C {shlex.quote(str(directory))}"
    subprocess.run(command, shell=True, cwd=ROOT, check=True)
    if not (directory / "src" / "custservice").is_dir():
        raise RuntimeError(f"the 0.1.0 commit {RELEASE[:12]} is not in this clone")
    return directory / "src"


_DESK = re.compile(
    r"^(?:The desk: |Attainment per SLA policy ).*?\n\n(?=The \d+ customers most at risk)",
    re.M | re.S,
)
"""Our report's sections from the desk to the customers at risk (the desk, reply and
resolution times, the backlog, staffing, attainment per SLA policy; on a store without
the desk's fields, attainment alone): 0.1.0's has none."""
_FOLLOW_UPS = re.compile(r"^Follow-ups due in the week .*", re.M | re.S)
"""The follow-ups, to the end: ours, by the demo's SLA policies, escalation rules and
survey policy, propose more than 0.1.0's."""


def _same(ours: str, theirs: str, what: str) -> None:
    """Both versions printed the same report (ours but for the sections 0.1.0 has not
    and, printed by the command line, which plans by the demo's rules, the follow-ups),
    or the difference is shown and it fails."""
    ours = _DESK.sub("", ours, count=1)
    if what.startswith("custservice"):
        ours, theirs = _FOLLOW_UPS.sub("", ours), _FOLLOW_UPS.sub("", theirs)
    if ours == theirs:
        return
    diff = difflib.unified_diff(
        theirs.splitlines(), ours.splitlines(), "0.1.0", "ours", lineterm="", n=1
    )
    print("\n".join(diff), flush=True)
    raise AssertionError(f"{what}: the reports differ (shown above)")


def against_release(customers: int, repeat: int = 3) -> None:
    """Figures 3 and 4: the report of ours against 0.1.0's, on 0.1.0's demo store."""
    directory = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        source = _release_source(directory)
        # Both compiled to bytecode first, as an installed package is: neither pays for
        # compiling its modules on every start (PYTHONDONTWRITEBYTECODE may be set).
        for tree in (source, Path(custservice.__file__).parent):
            compileall.compile_dir(tree, quiet=1)
        release, ours = _Version(source), _Version(None)
        theirs_url = f"sqlite:///{directory / 'release.db'}"
        our_url = f"sqlite:///{directory / 'ours.db'}"
        seconds, printed = release.run(
            _CLI, "demo", "--customers", str(customers), "--store", theirs_url
        )
        found = re.search(r"--at (\S+)", printed)
        assert found is not None, "0.1.0's demo printed no report command"
        at = found.group(1)
        print(f"(setup: 0.1.0's demo of {customers:,} customers: {seconds:.1f} s)", flush=True)
        shutil.copyfile(directory / "release.db", directory / "ours.db")
        seconds, _ = ours.run(_CLI, "report", "--store", our_url, "--at", at)
        print(f"(setup: ours upgrading 0.1.0's file, then reporting: {seconds:.1f} s)", flush=True)
        runs = [
            ("custservice report --at, as the demo prints it", _CLI, ("report", "--at", at)),
            ("custservice report, no --at", _CLI, ("report",)),
            ("build_report without service targets", _WITHOUT_TARGETS, (at,)),
        ]
        for n, (label, code, args) in enumerate(runs):
            if code is _CLI:
                theirs_args, our_args = (*args, "--store", theirs_url), (*args, "--store", our_url)
            else:
                theirs_args, our_args = (theirs_url, *args), (our_url, *args)
            _same(ours.run(code, *our_args)[1], release.run(code, *theirs_args)[1], label)
            # Interleaved, best of each: load from elsewhere on the machine hits both alike.
            best_ours = best_theirs = float("inf")
            for _ in range(repeat if n == 0 else max(repeat - 1, 1)):
                best_theirs = min(best_theirs, release.run(code, *theirs_args)[0])
                best_ours = min(best_ours, ours.run(code, *our_args)[0])
            report(
                f"{label}, {customers:,} customers: 0.1.0 (s)",
                best_theirs,
                "s",
                baseline="ours",
                baseline_value=best_ours,
                aim=">= 5x" if n == 0 else "",
            )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    growth()
    default = 1_000 if _harness.QUICK else 10_000
    against_release(int(os.environ.get("CUSTSERVICE_BENCH_REPORT_CUSTOMERS", default)))


if __name__ == "__main__":
    main()
