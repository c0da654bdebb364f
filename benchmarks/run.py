"""Run every benchmark and print each figure with its ratio against a baseline.

Usage: .venv/bin/python benchmarks/run.py [--quick] [--record] [NAME ...]

NAME selects benchmark modules by their name without ``bench_`` (``lifecycle``).
``--record`` also keeps each module's output, date, command and machine in
``docs/benchmarks/NAME.json``, the result the docs' benchmarks page shows.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument(
        "--record",
        action="store_true",
        help="keep each module's result in docs/benchmarks/NAME.json for the docs",
    )
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args()
    _harness.QUICK = args.quick
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    unknown = set(args.names) - {m.removeprefix("bench_") for m in modules}
    if unknown:
        parser.error(f"no benchmark named {', '.join(sorted(unknown))}")
    wanted = [m for m in modules if not args.names or m.removeprefix("bench_") in args.names]
    for name in wanted:
        short = name.removeprefix("bench_")
        print(f"\n## {short}", flush=True)
        recording = _harness.Recording(short) if args.record else contextlib.nullcontext()
        with recording:
            importlib.import_module(name).main()
        if args.record:
            print(f"(recorded in docs/benchmarks/{short}.json)", flush=True)


if __name__ == "__main__":
    main()
