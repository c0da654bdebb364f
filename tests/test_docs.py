"""The docs are part of the product: their code runs, and the reference is complete."""

from __future__ import annotations

import contextlib
import enum
import importlib
import io
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

import custservice
import custservice.storage

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
# What a block prints, shown right after it in a fence titled "Output".
OUTPUT = re.compile(r'\n*```text title="Output"\n(.*?)^```', re.S | re.M)
ANY_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)


class Block(NamedTuple):
    line: int
    code: str
    output: str | None


def python_blocks(page: Path) -> list[Block]:
    """Every ```python block of a page, with the line it starts on and the
    output shown after it, if any."""
    text = page.read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        shown = OUTPUT.match(text, m.end())
        output = shown.group(1) if shown else None
        blocks.append(Block(text.count("\n", 0, m.start()) + 2, m.group(1), output))
    return blocks


# A page that talks to PostgreSQL says so on its first line; its blocks read the
# server from CUSTSERVICE_PG_URL, pointed here at a schema of their own.
NEEDS_POSTGRES = "<!-- requires: postgresql -->"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_blocks_run(
    page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Blocks of one page run in order in one namespace, as a reader would type them."""
    monkeypatch.chdir(tmp_path)
    if page.read_text(encoding="utf-8").startswith(NEEDS_POSTGRES):
        monkeypatch.setenv("CUSTSERVICE_PG_URL", request.getfixturevalue("pg_url"))
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    for line, code, output in python_blocks(page):
        compiled = compile(code, f"{page.relative_to(ROOT)}:{line}", "exec")
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compiled, namespace)
        if output is not None:
            assert printed.getvalue() == output, f"{page.relative_to(ROOT)}:{line}"


# A page read as one session tells its reader so before its first block (the
# runner above runs every page's blocks in order in one namespace).
ONE_SESSION = '!!! note "Every block continues the one before"'
SESSION_PAGES = [ROOT / "docs" / "tutorial.md"]

# Pages whose code is formatted for the page's column: no line of a code block is
# wider than it, so none scrolls sideways.
COLUMN = 80
FITS_THE_COLUMN = [
    ROOT / "docs" / name for name in ("tutorial.md", "glossary.md", "errors.md", "why.md")
]


@pytest.mark.parametrize("page", SESSION_PAGES, ids=lambda p: p.name)
def test_a_page_read_as_one_session_says_so_before_its_first_block(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert 0 <= text.find(ONE_SESSION) < text.find("```python")


@pytest.mark.parametrize("page", FITS_THE_COLUMN, ids=lambda p: p.name)
def test_code_fits_the_column(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    wide = [
        line
        for block in ANY_FENCE.finditer(text)
        for line in block.group(1).splitlines()
        if len(line) > COLUMN
    ]
    assert wide == []


def test_output_shown_after_a_block_is_found() -> None:
    # Guards the runner: an output fence it cannot pair with its block would go unchecked.
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        shown = sum(b.output is not None for b in python_blocks(page))
        assert text.count('```text title="Output"') == shown, page


def test_every_page_with_code_has_python_blocks_found() -> None:
    # Guards the runner itself: a fence it cannot see would silently not run.
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert text.count("```python") == len(python_blocks(page)), page


SUBPACKAGES = ("analytics", "export", "policies", "report", "storage", "testing")
PROTOCOLS = (
    custservice.Store,
    custservice.AsyncStore,
    *(getattr(custservice.storage, n) for n in custservice.storage.__all__ if n[0].isupper()),
)


@pytest.fixture(scope="module")
def reference(built_site: Path) -> set[str]:
    """The anchor of every entry of the API reference's pages."""
    pages = (built_site / "reference").rglob("*.html")
    return {
        a for page in pages for a in re.findall(r'id="(custservice\.[\w.]+)"', page.read_text())
    }


def anchor_of(value: object, paths: list[str], reference: set[str]) -> str | None:
    """Which of ``paths`` (all naming ``value``) the reference has an entry at."""
    return next((path for path in paths if path in reference), None)


def public_names() -> Iterator[tuple[object, list[str]]]:
    """Every public object, with the paths it can be imported from: the top level first."""
    top = {id(getattr(custservice, n)): n for n in custservice.__all__}
    for name in custservice.__all__:
        if not name.startswith("__"):
            yield getattr(custservice, name), [f"custservice.{name}"]
    for package in SUBPACKAGES:
        module = importlib.import_module(f"custservice.{package}")
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, types.ModuleType):
                continue
            paths = [f"custservice.{package}.{name}"]
            if id(value) in top:
                paths.insert(0, f"custservice.{top[id(value)]}")
            # Where it is defined, when a submodule takes its name in the package.
            if hasattr(value, "__qualname__"):
                paths.append(f"{value.__module__}.{value.__qualname__}")
            yield value, paths


def test_every_public_name_is_in_the_api_reference(reference: set[str]) -> None:
    missing = [
        paths[-1] for value, paths in public_names() if not anchor_of(value, paths, reference)
    ]
    assert missing == []


def test_every_enum_member_is_in_the_api_reference(reference: set[str]) -> None:
    missing = []
    for value, paths in public_names():
        if isinstance(value, type) and issubclass(value, enum.Enum):
            at = anchor_of(value, paths, reference)
            missing += [f"{at}.{m.name}" for m in value if f"{at}.{m.name}" not in reference]
    assert missing == []


def test_every_protocol_method_is_in_the_api_reference(reference: set[str]) -> None:
    missing = []
    for protocol in PROTOCOLS:
        paths = [f"custservice.{protocol.__name__}", f"custservice.storage.{protocol.__name__}"]
        at = anchor_of(protocol, paths, reference)
        assert at is not None, protocol
        methods = [n for n, v in vars(protocol).items() if not n.startswith("_") and callable(v)]
        missing += [f"{at}.{n}" for n in methods if f"{at}.{n}" not in reference]
    assert missing == []


def test_every_error_type_has_its_section_on_the_errors_page() -> None:
    from custservice import errors

    kinds = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type)
        and issubclass(value, Exception)
        and value.__module__ == errors.__name__
    }
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\w+)$", text, re.M))
    assert kinds - sections == set()
    assert "CustServiceError" in kinds


# A row of a benchmarks table gives every cell, a dash where it has nothing
# (the page's opening paragraph says what each dash means).
BENCHMARK_ROW = re.compile(r"^\|(?!---)(.*)\|$", re.M)


def test_every_benchmark_row_fills_its_figure_baseline_and_ratio() -> None:
    text = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    empty = []
    for table in text.split("\n| What | Figure | Baseline | Ratio | Aim |\n")[1:]:
        rows = table.split("\n\n", 1)[0]
        for row in BENCHMARK_ROW.findall(rows):
            cells = [cell.strip() for cell in row.split("|")]
            if "" in cells[:4]:
                empty.append(row)
    assert empty == []
