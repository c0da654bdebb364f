"""The docs are part of the product: their code runs, and the reference is complete."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import custservice

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


def test_every_public_name_is_in_the_api_reference(built_site: Path) -> None:
    html = (built_site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    anchors = set(re.findall(r'id="(custservice\.[\w.]+)"', html))
    missing = [
        name
        for name in custservice.__all__
        if not name.startswith("__") and f"custservice.{name}" not in anchors
    ]
    assert missing == []
