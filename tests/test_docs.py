"""The docs are part of the product: their code runs, and the reference is complete."""

from __future__ import annotations

import enum
import importlib
import re
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import custservice
import custservice.storage

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
FENCE = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(page: Path) -> list[tuple[int, str]]:
    """Every ```python block of a page, with the line it starts on."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m.group(1)) for m in FENCE.finditer(text)]


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
    for line, code in python_blocks(page):
        compiled = compile(code, f"{page.relative_to(ROOT)}:{line}", "exec")
        exec(compiled, namespace)


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
