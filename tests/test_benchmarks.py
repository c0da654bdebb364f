"""The benchmarks stay runnable and recorded: each imports, and the docs page reports it."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
MODULES = sorted(p.stem for p in BENCHMARKS.glob("bench_*.py"))


@pytest.fixture(autouse=True)
def _on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))


@pytest.mark.parametrize("module", MODULES)
def test_each_benchmark_imports_and_has_a_main(module: str) -> None:
    loaded = importlib.import_module(module)
    assert callable(loaded.main)
    assert (loaded.__doc__ or "").strip(), f"{module} says nothing of what it measures"
    sys.modules.pop(module, None)


@pytest.mark.parametrize("module", MODULES)
def test_each_benchmark_has_its_figures_and_command_on_the_docs_page(module: str) -> None:
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    name = module.removeprefix("bench_")
    assert f"benchmarks/run.py {name}" in page, f"docs/benchmarks.md does not report {name}"
