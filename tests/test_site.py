"""The docs site in a real browser: every page loads cleanly, links work, code and
tables fit the column, diagrams and pictures render legibly in light and dark, search
finds what it should. Screenshots land in ``test-artifacts/`` (ignored by git): the
home page, the tutorial in light and dark, the lifecycle diagrams, and each concept
picture in light and dark."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple
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


class Visit(NamedTuple):
    """What one page showed the browser."""

    status: int
    errors: list[str]
    links: list[str]
    too_wide: list[str]
    """Code blocks and tables wider than their box (they would scroll sideways)."""
    elsewhere: list[str]
    """What the page fetched from another host."""


# Every code block and table that scrolls sideways (a table scrolls in the box Material
# wraps it in), by its longest line.
TOO_WIDE = """() => [...document.querySelectorAll(
    'article pre > code, article .md-typeset__scrollwrap, article table')]
  .filter(e => e.scrollWidth > e.clientWidth)
  .map(e => `${e.tagName.toLowerCase()} ${e.scrollWidth}px in ${e.clientWidth}px: ` +
            e.textContent.split('\\n').reduce((a, b) => b.length > a.length ? b : a, '')
             .trim().slice(0, 80))"""


def _wait_for_diagrams(page: Any) -> None:
    diagrams = page.locator(".mermaid").count()
    if diagrams:
        page.locator(".mermaid svg").nth(diagrams - 1).wait_for(state="attached", timeout=15_000)


# On a phone: whether the page itself scrolls sideways, and how much each diagram
# is shrunk (its drawn width over its natural width).
ON_A_PHONE = """() => ({
  page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
  diagrams: [...document.querySelectorAll('.mermaid')].map(d => {
    const svg = d.shadowRoot.querySelector('svg');
    return svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
  }),
})"""

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# After the viewport changes: the layout and Material's own handlers have run.
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture(scope="module")
def walk(browser: Any, site_url: str, built_site: Path) -> tuple[dict[str, Visit], dict[str, Any]]:
    """Every page of the site, loaded once: what a desktop browser 1280 px wide
    shows, then, the same page narrowed to a phone's 390 px, what a phone shows.

    One page in one context walks the site: each page's layout, diagrams and
    pictures follow the viewport through CSS alone, so narrowing a loaded page
    lays it out as loading it on a phone would."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    elsewhere: list[str] = []
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith((site_url, "data:", "blob:")) else elsewhere.append(r.url)
        ),
    )
    # Each page's search would fetch and index the whole site again: the first
    # fetch gets the real index, the later ones an index with the same settings
    # and no pages (search itself is tested below).
    index = json.loads((built_site / "search" / "search_index.json").read_text("utf-8"))
    empty = json.dumps({**index, "docs": []})
    served: list[str] = []

    def search_index(route: Any) -> None:
        if served:
            route.fulfill(content_type="application/json", body=empty)
        else:
            served.append(route.request.url)
            route.continue_()

    page.route("**/search/search_index.json", search_index)
    desktop, phone = {}, {}
    for path in _pages(built_site):
        errors.clear()
        elsewhere.clear()
        page.set_viewport_size(DESKTOP)
        response = page.goto(urljoin(site_url, path), wait_until="load")
        assert response is not None
        _wait_for_diagrams(page)
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        too_wide = page.evaluate(TOO_WIDE)
        page.set_viewport_size(PHONE)
        page.evaluate(SETTLED)
        phone[path] = page.evaluate(ON_A_PHONE)
        desktop[path] = Visit(response.status, list(errors), links, too_wide, list(elsewhere))
    page.close()
    return desktop, phone


@pytest.fixture(scope="module")
def desktop_visits(walk: tuple[dict[str, Visit], dict[str, Any]]) -> dict[str, Visit]:
    """Every page of the site, as a desktop browser 1280 px wide shows it."""
    return walk[0]


@pytest.fixture(scope="module")
def phone_visits(walk: tuple[dict[str, Visit], dict[str, Any]]) -> dict[str, Any]:
    """Every page of the site on a phone 390 px wide."""
    return walk[1]


def test_every_page_loads_without_errors(desktop_visits: dict[str, Visit]) -> None:
    assert len(desktop_visits) >= 8
    problems = [
        f"{path}: {problem}"
        for path, visit in desktop_visits.items()
        for problem in ([f"HTTP {visit.status}"] if visit.status != 200 else []) + visit.errors
    ]
    assert problems == []


def test_every_link_within_the_site_resolves(
    desktop_visits: dict[str, Visit], site_url: str
) -> None:
    broken, checked = [], set()
    for path, visit in desktop_visits.items():
        for href in visit.links:
            target = urldefrag(href).url
            if target.startswith(site_url) and target not in checked:
                checked.add(target)
                try:
                    urllib.request.urlopen(target, timeout=10).close()
                except urllib.error.URLError as exc:
                    broken.append(f"{path}: {target} ({exc})")
    assert broken == []
    assert len(checked) >= len(desktop_visits)


def test_the_site_fetches_nothing_from_another_host(desktop_visits: dict[str, Visit]) -> None:
    """No fonts, scripts or repository facts from elsewhere."""
    elsewhere = {url for visit in desktop_visits.values() for url in visit.elsewhere}
    assert elsewhere == set()


def test_no_code_block_or_table_scrolls_sideways_at_desktop_width(
    desktop_visits: dict[str, Visit],
) -> None:
    """At 1280 px the column holds 80 characters of code: every code block and table
    fits it whole, so no reader has to scroll one sideways to read a line's end."""
    too_wide = {
        f"{path}: {what}" for path, visit in desktop_visits.items() for what in visit.too_wide
    }
    assert too_wide == set()


def test_no_page_scrolls_sideways_on_a_phone(phone_visits: dict[str, Any]) -> None:
    """At 390 px the page itself never scrolls sideways. Inside it, a code block, a
    table, a diagram or a picture wider than the column scrolls sideways in its own
    box (code formatted to 80 columns cannot fit a phone at a readable size)."""
    scrolling = {path: visit["page"] for path, visit in phone_visits.items() if visit["page"]}
    assert scrolling == {}


LEGIBLE = 0.75
"""The least a diagram may be shrunk on a phone: its 16 px labels stay 12 px or more."""


def test_lifecycle_diagrams_stay_legible_on_a_phone(phone_visits: dict[str, Any]) -> None:
    shrunk = {
        path: [round(scale, 2) for scale in visit["diagrams"] if scale < LEGIBLE]
        for path, visit in phone_visits.items()
    }
    assert {path: scales for path, scales in shrunk.items() if scales} == {}
    assert sum(len(visit["diagrams"]) for visit in phone_visits.values()) >= 4


# Each concept picture (scripts/docs_pictures.py) and the page it is drawn on.
PICTURES = {
    "zone-of-tolerance": "concepts/expectations/",
    "score-scales": "concepts/expectations/",
    "business-time": "concepts/service-levels/",
    "dimensions-and-factors": "concepts/service/",
    "programme-areas": "concepts/service/",
    "policy-change": "concepts/policies/",
}

# A picture's colours as the page shows them: its words' fill, the page's background
# (its first ancestor that paints one), and the width it has.
COLOURS = """(figure) => {
  const svg = figure.querySelector('svg');
  let e = figure;
  let background = 'rgba(0, 0, 0, 0)';
  while (e && /rgba\\(.*, 0\\)$|transparent/.test(background)) {
    background = getComputedStyle(e).backgroundColor;
    e = e.parentElement;
  }
  return {
    words: [...new Set([...svg.querySelectorAll('text')].map(t => getComputedStyle(t).fill))],
    texts: svg.querySelectorAll('text').length,
    background,
    width: svg.getBoundingClientRect().width,
    room: figure.querySelector('.cs-picture__scroll').clientWidth,
  };
}"""


def _rgb(css: str, under: tuple[float, ...] = (1.0, 1.0, 1.0)) -> tuple[float, ...]:
    """A CSS colour as red, green and blue from 0 to 1, blended over ``under``."""
    parts = [float(v) for v in re.findall(r"[\d.]+", css)]
    alpha = parts[3] if len(parts) == 4 else 1.0
    return tuple(alpha * c / 255 + (1 - alpha) * u for c, u in zip(parts[:3], under, strict=True))


def _contrast(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    """The WCAG contrast ratio of two colours."""

    def luminance(rgb: tuple[float, ...]) -> float:
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_concept_picture_is_drawn_and_reads_in_light_and_dark(
    chromium_page: Any, site_url: str, scheme: str
) -> None:
    """Each picture is on its page, whole at desktop width, with words that stand out
    from the page's background in either scheme (no black drawn on a dark page)."""
    reader = chromium_page(color_scheme=scheme)
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []
    for name, path in PICTURES.items():
        if reader.page.url != urljoin(site_url, path):
            reader.page.goto(urljoin(site_url, path), wait_until="load")
        figure = reader.page.locator(f"figure#picture-{name}")
        if figure.count() != 1:
            problems.append(f"{name}: not on {path}")
            continue
        seen = figure.evaluate(COLOURS)
        background = _rgb(seen["background"])
        contrasts = [_contrast(_rgb(fill, background), background) for fill in seen["words"]]
        if seen["texts"] < 5 or min(contrasts) < 4.5:
            problems.append(f"{name}: words {seen['words']} on {seen['background']}")
        if seen["width"] > seen["room"]:
            problems.append(f"{name}: {seen['width']}px wide in {seen['room']}px")
        figure.screenshot(path=str(ARTIFACTS / f"picture-{name}-{scheme}.png"))
    assert reader.errors == []
    assert problems == []


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
