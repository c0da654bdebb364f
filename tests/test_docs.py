"""The docs are part of the product: their code runs, and the reference is complete."""

from __future__ import annotations

import contextlib
import enum
import importlib
import inspect
import io
import json
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

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
SESSION_PAGES = [ROOT / "docs" / "tutorial.md", ROOT / "docs" / "concepts" / "policies.md"]

# Code is formatted for the page's column: no line of a code block is wider than
# it, so none scrolls sideways (tests/test_site.py measures it in a browser).
COLUMN = 80
DOCS = ROOT / "docs"


@pytest.mark.parametrize("page", SESSION_PAGES, ids=lambda p: p.name)
def test_a_page_read_as_one_session_says_so_before_its_first_block(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert 0 <= text.find(ONE_SESSION) < text.find("```python")


def _too_wide(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    return [
        line
        for block in ANY_FENCE.finditer(text)
        for line in block.group(1).splitlines()
        if len(line) > COLUMN
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_code_fits_the_column(page: Path) -> None:
    assert _too_wide(page) == []


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


# The benchmarks page shows, for each module benchmarks/bench_NAME.py, the result
# that `benchmarks/run.py --record` kept in docs/benchmarks/NAME.json, where the
# page's marker asks for it (scripts/docs_benchmarks.py renders it).
BENCHMARKS_PAGE = DOCS / "benchmarks.md"
RECORDED = DOCS / "benchmarks"
RECORDED_MARKER = re.compile(r"^<!-- recorded: benchmarks/run\.py (\w+) -->$", re.M)
BENCH_MODULES = sorted(
    p.stem.removeprefix("bench_") for p in (ROOT / "benchmarks").glob("bench_*.py")
)


def _markers() -> list[str]:
    return RECORDED_MARKER.findall(BENCHMARKS_PAGE.read_text(encoding="utf-8"))


def _recorded(name: str) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((RECORDED / f"{name}.json").read_text("utf-8"))
    return result


@pytest.mark.parametrize("name", BENCH_MODULES)
def test_every_benchmark_has_its_recorded_result_and_its_marker(name: str) -> None:
    assert (RECORDED / f"{name}.json").exists(), (
        f"no recorded result: run benchmarks/run.py --record {name}"
    )
    assert _markers().count(name) == 1, (
        f"docs/benchmarks.md needs one line <!-- recorded: benchmarks/run.py {name} -->"
    )


def test_every_marker_and_every_result_belongs_to_a_benchmark() -> None:
    """A marker with no result would fail the build; a result or a marker left
    from a benchmark that is gone would show figures nothing measures now."""
    results = sorted(p.stem for p in RECORDED.glob("*.json"))
    assert [m for m in _markers() if m not in results] == []
    assert [m for m in _markers() if m not in BENCH_MODULES] == []
    assert [r for r in results if r not in BENCH_MODULES] == []


@pytest.mark.parametrize("name", [m for m in BENCH_MODULES if (RECORDED / f"{m}.json").exists()])
def test_a_recorded_result_says_when_how_and_on_what_it_was_measured(name: str) -> None:
    result = _recorded(name)
    assert result["benchmark"] == name
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", result["date"])
    words = result["command"].split()
    run = words.index("benchmarks/run.py")
    names = [w for w in words[run + 1 :] if not w.startswith("-")]
    assert names == [] or name in names, result["command"]
    assert ("--quick" in words) == result["quick"]
    machine = result["machine"]
    assert machine["python"]
    assert machine["sqlite"]
    assert machine["cores"] >= 1
    assert len(machine["load_average"]) == 3
    assert "postgresql" in machine  # None when no server answered


@pytest.mark.parametrize("name", [m for m in BENCH_MODULES if (RECORDED / f"{m}.json").exists()])
def test_every_recorded_row_is_its_printed_line_in_cells(name: str) -> None:
    """Each figure of a table is the part of the line the benchmark printed, and
    every row has its figure, its baseline and their ratio."""
    rows = [line for line in _recorded(name)["lines"] if isinstance(line, dict)]
    assert rows, f"{name} recorded no figure"
    for row in rows:
        assert all(row[cell] for cell in ("what", "figure", "baseline", "ratio")), row
        words = {key: " ".join(text.split()) for key, text in row.items()}
        cells = f"{words['what']} {words['figure']} vs {words['baseline']} ratio {words['ratio']}"
        assert words["line"] == cells + (f" (aim: {words['aim']})" if row["aim"] else ""), row


STORE_GUIDE = DOCS / "guides" / "storage-backend.md"


def test_the_store_skeleton_gives_every_protocol_method_its_own_signature() -> None:
    """The plugin guide's skeleton has every method of every storage protocol, each with
    the protocol's parameters, defaults and types (its own classes standing in for the
    protocols they implement)."""
    from custservice.storage import protocols

    [skeleton] = [b for b in python_blocks(STORE_GUIDE) if "class YourStore" in b.code]
    namespace: dict[str, object] = {"__name__": "skeleton"}
    exec(compile(skeleton.code, f"{STORE_GUIDE.name}:{skeleton.line}", "exec"), namespace)
    stands_for = {
        "Store": "YourStore",
        "CustomerRepository": "YourRecords[Customer]",
        "LinkedRepository[Interaction]": "YourRecords[Interaction]",
        "LinkedRepository[Case]": "YourRecords[Case]",
        "EventFeed": "YourFeed",
    }
    implemented_by = {
        protocols.Repository: "YourRecords",
        protocols.LinkedRepository: "YourRecords",
        protocols.EventFeed: "YourFeed",
        protocols.Store: "YourStore",
        protocols.TenantScoped: "YourStore",
    }

    def shape(function: object, names: dict[str, str]) -> list[object]:
        signature = inspect.signature(function)  # type: ignore[arg-type]
        return [
            *(
                (p.name, p.kind, p.default, names.get(p.annotation, p.annotation))
                for p in signature.parameters.values()
            ),
            names.get(signature.return_annotation, signature.return_annotation),
        ]

    differ = []
    for protocol, name in implemented_by.items():
        ours = namespace[name]
        for method, value in vars(protocol).items():
            if method.startswith("_") and method not in ("__enter__", "__exit__"):
                continue
            mine = getattr(ours, method, None)
            if isinstance(value, property):
                value, mine = value.fget, getattr(mine, "fget", None)
            if mine is None or shape(value, stands_for) != shape(mine, {}):
                differ.append(f"{protocol.__name__}.{method}")
    assert differ == []


BACKENDS_GUIDE = DOCS / "guides" / "backends.md"


def _options_documented(section: str) -> dict[str, str]:
    """The options table of one section of the backends guide: each option's default."""
    text = BACKENDS_GUIDE.read_text(encoding="utf-8")
    body = text.split(f"\n## {section}", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", body, re.M))


def _options_known(url: str) -> set[str]:
    """The options a backend takes, as its error for an unknown one lists them."""
    with pytest.raises(custservice.StorageError, match="known options: ") as refused:
        custservice.open_store(url)
    return set(str(refused.value).rpartition("known options: ")[2].split(", "))


def _defaults(opener: object) -> dict[str, object]:
    """The keyword options of a store's opener, with their defaults."""
    return {
        p.name: p.default
        for p in inspect.signature(opener).parameters.values()  # type: ignore[arg-type]
        if p.kind is p.KEYWORD_ONLY and p.name not in ("create", "migrate", "asynchronous")
    }


def _same(shown: str, default: object) -> bool:
    return shown == str(default) or (
        isinstance(default, int | float) and float(shown) == float(default)
    )


def test_every_backend_option_is_documented_with_its_default() -> None:
    """What the backends guide lists for each engine is what the code accepts, with the
    defaults the code gives (MariaDB's defaults live in its URL parser alone)."""
    from custservice.storage.sql.postgresql import postgres_store
    from custservice.storage.sql.sqlite import sqlite_store

    sqlite = _options_documented("SQLite")
    assert set(sqlite) == _options_known("sqlite:///:memory:?no_such_option=1")
    assert all(_same(sqlite[k], v) for k, v in _defaults(sqlite_store).items())

    postgres = _options_documented("PostgreSQL")
    own = _defaults(postgres_store)
    assert set(own) <= set(postgres)
    assert all(_same(postgres[k], v) for k, v in own.items())

    mariadb = _options_documented("MariaDB and MySQL")
    assert set(mariadb) == _options_known("mariadb://root@127.0.0.1/test?no_such_option=1")

    assert "takes **no options**" in BACKENDS_GUIDE.read_text(encoding="utf-8")
    with pytest.raises(custservice.StorageError):
        custservice.open_store("memory://?no_such_option=1")


REPOSITORY_LINK = re.compile(r"\]\((https://github\.com/[^)\s]+)\)")


def test_links_into_the_repository_name_what_it_holds() -> None:
    """A link to the repository starts with mkdocs.yml's ``repo_url``, and a link to a
    file or folder of its main branch names one this checkout has."""
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    repository = re.search(r"^repo_url: (\S+?)/?$", config, re.M).group(1)  # type: ignore[union-attr]
    links = [
        (page.relative_to(ROOT), url)
        for page in PAGES
        for url in REPOSITORY_LINK.findall(page.read_text(encoding="utf-8"))
    ]
    assert len(links) >= 5
    wrong = []
    for page, url in links:
        path = url.removeprefix(repository)
        kind, _, inside = path.lstrip("/").partition("/main/")
        if not url.startswith(repository) or (
            path and not (kind in ("tree", "blob") and (ROOT / inside).exists())
        ):
            wrong.append(f"{page}: {url}")
    assert wrong == []
