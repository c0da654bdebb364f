"""Run every benchmark and print each figure with its ratio against a baseline.

Usage: .venv/bin/python benchmarks/run.py [--quick] [NAME ...]

NAME selects benchmark modules by their name without ``bench_`` (``lifecycle``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _harness  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args()
    _harness.QUICK = args.quick
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    wanted = [m for m in modules if not args.names or m.removeprefix("bench_") in args.names]
    for name in wanted:
        print(f"\n## {name.removeprefix('bench_')}", flush=True)
        importlib.import_module(name).main()


if __name__ == "__main__":
    main()
