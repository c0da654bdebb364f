"""The docs site in a real browser: every page loads cleanly, links work, diagrams
render, search finds what it should. Screenshots land in ``test-artifacts/``."""

from __future__ import annotations

import functools
import http.server
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest
from hypothesis import given, settings
from tests._diagrams import awkward_lifecycles, mermaid_text

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser closing a connection early is not a site problem


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


# Material draws each diagram in a closed shadow root; opening it lets the
# test see the SVG that was really rendered.
OPEN_SHADOW_ROOTS = (
    "const attach = Element.prototype.attachShadow;"
    "Element.prototype.attachShadow = function (init) {"
    " return attach.call(this, {...init, mode: 'open'}); };"
)


@pytest.fixture(scope="module")
def browser(chromium_browser: Any) -> Iterator[Any]:
    """A context of the session's Chromium in which shadow roots are open to queries."""
    context = chromium_browser.new_context()
    context.add_init_script(OPEN_SHADOW_ROOTS)
    yield context
    context.close()


def _pages(site: Path) -> list[str]:
    return sorted(
        str(page.relative_to(site).parent).replace(".", "") + "/" if page.parent != site else ""
        for page in site.rglob("index.html")
        if "assets" not in page.parts
    )


def test_every_page_loads_without_errors_and_its_links_resolve(
    browser: object, site_url: str, built_site: Path
) -> None:
    pages = _pages(built_site)
    assert len(pages) >= 8
    problems: list[str] = []
    checked_links: set[str] = set()
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The site makes no request to any other host: no fonts, scripts or repository facts.
    elsewhere: set[str] = set()
    page.on(
        "request",
        lambda r: None if r.url.startswith((site_url, "data:", "blob:")) else elsewhere.add(r.url),
    )
    for path in pages:
        url = urljoin(site_url, path.lstrip("/"))
        errors.clear()
        response = page.goto(url, wait_until="networkidle")
        assert response is not None
        if response.status != 200:
            problems.append(f"{path}: HTTP {response.status}")
        diagrams = page.locator(".mermaid").count()
        if diagrams:
            page.locator(".mermaid svg").nth(diagrams - 1).wait_for(
                state="attached", timeout=15_000
            )
        problems += [f"{path}: console: {e}" for e in errors]
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            target = urldefrag(href).url
            if target.startswith(site_url) and target not in checked_links:
                checked_links.add(target)
                try:
                    urllib.request.urlopen(target, timeout=10).close()
                except urllib.error.URLError as exc:
                    problems.append(f"{path}: broken link {target} ({exc})")
    page.close()
    assert problems == []
    assert elsewhere == set()
    assert len(checked_links) >= len(pages)


def test_mermaid_diagrams_render_to_svg(browser: object, site_url: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(urljoin(site_url, "concepts/lifecycles/"), wait_until="networkidle")
    svgs = page.locator(".mermaid svg")
    svgs.nth(2).wait_for(state="attached", timeout=15_000)
    labels = [svgs.nth(i).text_content() or "" for i in range(3)]
    assert "acquire" in labels[0]
    assert "understand" in labels[1]
    assert "await_customer" in labels[2]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "concepts-lifecycles.png"), full_page=True)
    page.close()


def test_search_finds_zone_of_tolerance(browser: object, site_url: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(site_url, wait_until="networkidle")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    query = page.locator("input[data-md-component='search-query']")
    query.focus()
    query.press_sequentially("zone of tolerance", delay=30)  # as a reader types
    results = page.locator(".md-search-result__item")
    results.first.wait_for(state="attached", timeout=20_000)
    texts = " ".join(results.all_text_contents()).lower()
    assert "zone of tolerance" in texts
    hrefs = page.eval_on_selector_all(".md-search-result__link", "els => els.map(e => e.href)")
    assert any("concepts/expectations" in h for h in hrefs)
    page.close()


GLOSSARY = ROOT / "docs" / "glossary.md"


def _glossary_queries() -> list[tuple[str, str]]:
    """What a reader types for each glossary entry, and the entry's anchor: its title,
    and each word it gives in brackets ("Case (ticket)": "Case" and "ticket")."""
    text = GLOSSARY.read_text(encoding="utf-8")
    queries = []
    for title, anchor in re.findall(r"^## (.+?) \{ #([\w-]+) \}$", text, re.M):
        name, _, also = title.partition(" (")
        queries.append((name, anchor))
        if also:
            queries.append((also.rstrip(")"), anchor))
    return queries


# Whether the result list holds a link to the glossary entry with this anchor.
SHOWS_ENTRY = """(anchor) => [...document.querySelectorAll('.md-search-result__link')]
  .some(a => { const u = new URL(a.href);
               return u.pathname.endsWith('/glossary/') && u.hash === '#' + anchor; })"""


def test_search_finds_every_glossary_entry(browser: object, site_url: str) -> None:
    """The words readers search for (ticket, SLA, GDPR, ...) each lead to their entry.

    Typed as a reader types them, about thirty queries at half a second each: the
    slowest test here after the walk over every page, and bounded by the glossary."""
    queries = _glossary_queries()
    wanted = {
        *("ticket", "SLA", "CSAT", "NPS", "CES", "Escalation", "GDPR", "Tenant", "Backlog"),
        *("Zone of tolerance", "First-contact resolution", "Business time", "Verdicts"),
        "Erlang C",
    }
    assert wanted <= {query for query, _ in queries}
    from playwright.sync_api import TimeoutError as NotShown

    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(site_url, wait_until="networkidle")
    query = page.locator("input[data-md-component='search-query']")
    query.focus()
    missed = []
    for words, anchor in queries:
        query.press("Control+a")
        query.press("Backspace")
        page.wait_for_function("!document.querySelector('.md-search-result__link')")
        query.press_sequentially(words)
        try:
            page.wait_for_function(SHOWS_ENTRY, arg=anchor, timeout=10_000)
        except NotShown:
            missed.append(words)
    page.close()
    assert missed == []


def test_the_colour_scheme_follows_the_system_setting(chromium_page: Any, site_url: str) -> None:
    for system, scheme in (("light", "default"), ("dark", "slate")):
        reader = chromium_page(color_scheme=system)
        reader.page.goto(urljoin(site_url, "tutorial/"), wait_until="networkidle")
        assert reader.page.get_attribute("body", "data-md-color-scheme") == scheme
        if system == "dark":
            ARTIFACTS.mkdir(exist_ok=True)
            reader.page.screenshot(path=str(ARTIFACTS / "tutorial-dark.png"), full_page=True)
        assert reader.errors == []


def test_pages_lead_to_the_previous_and_the_next(browser: object, site_url: str) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(urljoin(site_url, "tutorial/"), wait_until="networkidle")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "tutorial.png"), full_page=True)
    previous = page.get_attribute(".md-footer__link--prev", "href")
    following = page.get_attribute(".md-footer__link--next", "href")
    assert (urljoin(page.url, previous), urljoin(page.url, following)) == (
        site_url,
        urljoin(site_url, "quickstart/"),
    )
    page.close()


def test_awkward_state_and_event_names_render_as_labels(browser: object, site_url: str) -> None:
    """States named like Mermaid's own words and events holding its punctuation draw as
    themselves (the concepts page's fourth diagram)."""
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(urljoin(site_url, "concepts/lifecycles/"), wait_until="networkidle")
    svgs = page.locator(".mermaid svg")
    svgs.nth(3).wait_for(state="attached", timeout=15_000)
    drawn = svgs.nth(3).text_content() or ""
    for label in ("s1", "state", "note", "default", "next; then", 'say "hi"', "go [now]: #1"):
        assert label in drawn, label
    assert "Syntax error" not in drawn
    assert errors == []
    page.close()


# Mermaid's own parser, as the site loads it: the states (alias -> label) and the
# transitions (alias, alias, label) a diagram's text holds.
PARSE = """async (text) => {
  try {
    const db = (await mermaid.mermaidAPI.getDiagramFromText(text)).db;
    const states = db.getStates();
    const entries = states instanceof Map ? [...states.entries()] : Object.entries(states);
    return {
      states: entries.map(([id, s]) => [id, s.descriptions]),
      moves: db.getRelations().map(r => [r.id1, r.id2, r.relationTitle || ""]),
    };
  } catch (e) { return {error: String(e)}; }
}"""


def test_mermaid_reads_every_lifecycle_diagram_as_drawn(browser: object, site_url: str) -> None:
    """Whatever its states and events are named, a lifecycle's diagram parses in the
    site's Mermaid into exactly its states and transitions."""
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(urljoin(site_url, "concepts/lifecycles/"), wait_until="networkidle")
    # Mermaid loads each diagram type when the page first draws one: parse only after
    # the page's own diagrams are drawn, or the first parse may find no state diagrams.
    page.locator(".mermaid svg").first.wait_for(state="attached", timeout=15_000)

    @settings(max_examples=150, deadline=None)
    @given(lifecycle=awkward_lifecycles())
    def parses_as_drawn(lifecycle: Any) -> None:
        parsed = page.evaluate(PARSE, lifecycle.to_mermaid())
        assert "error" not in parsed, parsed
        labels = {
            alias: mermaid_text(descriptions[0])
            for alias, descriptions in parsed["states"]
            if descriptions
        }
        assert sorted(labels.values()) == sorted(str(s) for s in lifecycle.states)
        moves = sorted(
            (labels[a], mermaid_text(label), labels[b])
            for a, b, label in parsed["moves"]
            if a in labels and b in labels
        )
        assert moves == sorted(
            (str(s), t.event, str(t.target)) for t in lifecycle.transitions for s in t.sources
        )

    try:
        parses_as_drawn()
    finally:
        page.close()
