"""The ``custservice`` command, run for real in a subprocess, as a user runs it.

The demo on SQLite (and on PostgreSQL when a server is reachable), the
report from the file it wrote, the HTML report in headless Chromium, the
progress bar on a terminal, and every kind of bad input: one clear line on
stderr, a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import pty
import re
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pendulum
import pytest
from conftest import BrowserPage

import custservice
from custservice.simulation import DEMO_TENANTS
from custservice.storage.registry import open_store

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}
SMALL = ("--customers", "60", "--months", "6")


def cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``custservice ARGS`` in a fresh interpreter; stdout and stderr captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "custservice.cli", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env or ENV,
        timeout=600,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a run that must have succeeded quietly."""
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def the_report(demo_stdout: str) -> str:
    """The report part of the demo's output: after the summary line, before the notes."""
    body = demo_stdout.split("\n\n", 1)[1]
    return body.split("\nHTML report written to", 1)[0].split("\nThe same report again", 1)[0]


def report_instant(demo_stdout: str) -> str:
    found = re.search(r"--at (\S+)$", demo_stdout, re.M)
    assert found is not None, demo_stdout
    return found.group(1)


class Demo:
    """One demo run in a directory of its own, on the default store (a file there)."""

    def __init__(self, directory: Path, *args: str) -> None:
        self.directory = directory
        self.result = cli("demo", *SMALL, "--html", "report.html", *args, cwd=directory)
        self.stdout = ok(self.result)
        self.url = f"sqlite:///{directory / 'custservice-demo.db'}"
        self.html = (directory / "report.html").read_bytes()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    return Demo(tmp_path_factory.mktemp("demo"))


# --- the demo and the report -------------------------------------------------------


def test_demo_prints_every_part_of_the_report(demo: Demo) -> None:
    out = demo.stdout
    assert out.startswith("Simulated 60 customers, ")
    assert "over 6 months into sqlite:///custservice-demo.db." in out
    for part in (
        "Service report at 2026-07-05 08:00 UTC",
        "Lifecycle funnel",
        "won back after churning",
        "Verdicts\n  overall",
        "CSAT ",
        "NPS ",
        "first-contact resolution",
        "Service targets\n  first response",
        "periodic update",
        "resolution",
        "The desk: ",
        "  by priority  urgent ",
        "customers most at risk",
        "Follow-ups due in the week from 2026-07-05",
        "HTML report written to report.html",
    ):
        assert part in out, part
    assert (demo.directory / "custservice-demo.db").is_file()


def test_the_demo_runs_two_organisations_and_a_report_takes_one(demo: Demo) -> None:
    """The demo's customers are split between its tenants; ``report --tenant`` counts one
    tenant's records, and the tenants' counts add up to the whole report's."""
    at = report_instant(demo.stdout)
    assert f"--at {at} --tenant {DEMO_TENANTS[0]}" in demo.stdout
    totals = re.compile(r"^(\d+) customers, (\d+) interactions, (\d+) cases$", re.M)

    def counts(*tenant: str) -> tuple[int, ...]:
        out = ok(cli("report", "--store", demo.url, "--at", at, *tenant))
        found = totals.search(out)
        assert found is not None, out
        return tuple(int(n) for n in found.groups())

    parts = [counts("--tenant", tenant) for tenant in DEMO_TENANTS]
    with open_store(demo.url) as store:
        for tenant, part in zip(DEMO_TENANTS, parts, strict=True):
            scoped = store.scoped(tenant)
            assert part == (
                scoped.customers.count(),
                scoped.interactions.count(),
                scoped.cases.count(),
            )
            assert part[0] == 30  # 60 customers, shared evenly
    assert tuple(map(sum, zip(*parts, strict=True))) == counts()


def test_an_export_takes_one_tenant(demo: Demo) -> None:
    """``export --tenant`` writes that tenant's records only: a header and one row each."""
    rows = {
        tenant: ok(cli("export", "--store", demo.url, "--kind", "customers", "--tenant", tenant))
        for tenant in DEMO_TENANTS
    }
    everyone = ok(cli("export", "--store", demo.url, "--kind", "customers"))
    assert [len(out.splitlines()) for out in rows.values()] == [31, 31]
    assert sorted(everyone.splitlines()[1:]) == sorted(
        line for out in rows.values() for line in out.splitlines()[1:]
    )


@pytest.mark.parametrize(
    ("tenant", "words"),
    [("nobody", ("no customers of tenant 'nobody'",)), ("", ("tenant", "1 to 100"))],
)
def test_a_report_on_a_tenant_with_no_customers_is_refused(
    demo: Demo, tenant: str, words: tuple[str, ...]
) -> None:
    assert_one_line_error(cli("report", "--store", demo.url, "--tenant", tenant), *words)


def test_demo_output_names_no_contact_details_or_birthdays(demo: Demo) -> None:
    with open_store(demo.url) as store:
        people = list(store.customers.all())
    html = demo.html.decode()
    assert "@" not in demo.stdout
    assert "@" not in html.split("</style>", 1)[1]  # the style sheet has its @media rules
    assert sum(c.phone is not None for c in people) > 10
    assert sum(c.birthday is not None for c in people) == len(people)
    for customer in people:
        assert customer.email is not None
        for output in (demo.stdout, html):
            assert customer.email not in output
            assert customer.phone is None or customer.phone not in output
            assert customer.birthday is not None
            assert customer.birthday.isoformat() not in output
        # A listed follow-up shows a date beside a name; never one that tells a birthday.
        day = customer.birthday.format("DD MMM")
        for line in demo.stdout.splitlines():
            assert not (customer.name in line and day in line), line


def test_report_from_the_file_is_the_demos_report(demo: Demo) -> None:
    at = report_instant(demo.stdout)
    assert at == "2026-07-05T08:00:00+00:00"
    out = ok(cli("report", "--store", demo.url, "--at", at))
    assert out == the_report(demo.stdout)


def test_report_by_default_is_at_the_latest_change(demo: Demo) -> None:
    from custservice.report import latest_change

    with open_store(demo.url) as store:
        latest = latest_change(store)
    assert latest is not None
    end = pendulum.parse(report_instant(demo.stdout))
    assert end.subtract(days=30) < latest < end
    out = ok(cli("report", "--store", demo.url))
    assert (
        out.splitlines()[0] == f"Service report at {latest.in_timezone('UTC'):%Y-%m-%d %H:%M} UTC"
    )
    assert out.splitlines()[1] == the_report(demo.stdout).splitlines()[1]  # the same counts


def test_report_writes_the_same_html_as_the_demo(demo: Demo, tmp_path: Path) -> None:
    page = tmp_path / "again.html"
    at = report_instant(demo.stdout)
    out = ok(cli("report", "--store", demo.url, "--at", at, "--html", str(page)))
    assert out.endswith(f"\nHTML report written to {page}\n")
    assert page.read_bytes() == demo.html


def test_demo_is_byte_identical_for_the_same_seed(demo: Demo, tmp_path: Path) -> None:
    again = Demo(tmp_path)
    assert again.stdout == demo.stdout
    assert again.html == demo.html


def test_demo_differs_for_another_seed(demo: Demo, tmp_path: Path) -> None:
    other = Demo(tmp_path, "--seed", "8")
    assert the_report(other.stdout) != the_report(demo.stdout)
    assert other.html != demo.html


def test_demo_replaces_its_own_default_file(demo: Demo, tmp_path: Path) -> None:
    first = Demo(tmp_path, "--seed", "3")
    second = Demo(tmp_path, "--seed", "3", "--quiet")
    assert second.stdout == first.stdout


def test_demo_into_a_store_that_holds_customers_is_refused(demo: Demo) -> None:
    result = cli("demo", *SMALL, "--store", demo.url)
    assert_one_line_error(result, "already holds customers")


def test_demo_on_memory_prints_no_way_back(tmp_path: Path) -> None:
    out = ok(cli("demo", "--customers", "5", "--months", "2", "--store", "memory://"))
    assert "into memory://." in out
    assert "The same report again" not in out


# --- PostgreSQL -----------------------------------------------------------------


@pytest.mark.postgres
def test_demo_on_postgresql_reports_as_on_sqlite(demo: Demo, pg_url: str) -> None:
    out = ok(cli("demo", *SMALL, "--store", pg_url, "--quiet"))
    assert the_report(out) == the_report(demo.stdout)
    at = report_instant(out)
    assert ok(cli("report", "--store", pg_url, "--at", at)) == the_report(demo.stdout)


@pytest.mark.postgres
def test_report_on_a_mistyped_postgresql_schema_is_refused_and_creates_nothing(
    pg_url: str, pg_schema: str, pg_admin: Any
) -> None:
    result = cli("report", "--store", pg_url)
    assert_one_line_error(result, f"schema '{pg_schema}' does not exist")
    found = pg_admin.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (pg_schema,))
    assert found.fetchone() is None


# --- the HTML report in a browser ------------------------------------------------------


@pytest.mark.browser
@pytest.mark.parametrize(
    ("width", "height", "scheme"),
    [(1280, 900, "light"), (390, 844, "dark")],
    ids=["desktop", "phone"],
)
def test_html_report_renders_cleanly_in_chromium(
    demo: Demo,
    chromium_page: Callable[..., BrowserPage],
    width: int,
    height: int,
    scheme: str,
) -> None:
    url = (demo.directory / "report.html").as_uri()
    view = chromium_page(width=width, height=height, color_scheme=scheme)
    page: Any = view.page
    response = page.goto(url, wait_until="load")
    assert response is not None
    assert response.ok
    assert view.errors == []
    assert view.requests == [url]  # self-contained: nothing else is fetched
    assert page.title() == "Service report, 2026-07-05 08:00 UTC"
    charts = {
        "funnel": "Lifecycle funnel",
        "verdicts": "Verdicts per factor",
        "attainment": "Target attainment by month",
        "backlog": "Open cases by age",
        "staffing": "Arrivals and agents needed per half hour",
    }
    for chart_id, label in charts.items():
        chart = page.locator(f"svg#{chart_id}")
        assert chart.count() == 1
        assert chart.get_attribute("aria-label") == label
        box = chart.bounding_box()
        assert box is not None
        assert box["width"] > 300
        assert box["height"] > 50
    assert page.locator("svg#funnel rect").count() == 5
    assert page.locator("svg#verdicts rect").count() >= 4 * 2  # overall and three factors
    assert page.locator("svg#attainment polyline").count() == 3  # one line per target
    desk = page.locator("h2:text-is('The desk') + p + table")
    assert desk.count() == 1
    assert desk.locator("thead th").all_inner_texts() == [
        "Team",
        "Urgent",
        "High",
        "Normal",
        "Low",
        "All",
    ]
    assert desk.locator("tbody tr").last.locator("td").first.inner_text() == "All teams"
    # Readable at this width: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"demo-report-{width}px.png"), full_page=True)


# --- bad input --------------------------------------------------------------------


def assert_one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("custservice")
    for word in words:
        assert word in lines[0], lines[0]
    assert result.stdout == ""


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bad")
    (directory / "notes.db").write_text("not a database at all\n" * 100)
    (directory / "empty.db").touch()
    other = sqlite3.connect(directory / "other.db")
    other.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    other.commit()
    other.close()
    (directory / "folder").mkdir()
    return directory


BAD = {
    "unknown scheme": (("report", "--store", "ftp://example.com/x"), ("'ftp'", "sqlite")),
    "no scheme": (("report", "--store", "reports.db"), ("has no scheme", "sqlite:///")),
    "malformed sqlite url": (("report", "--store", "sqlite:/x.db"), ("malformed SQLite URL",)),
    "unknown url option": (
        ("report", "--store", "sqlite:///notes.db?colour=blue"),
        ("unknown SQLite URL option 'colour'",),
    ),
    "missing file": (("report", "--store", "sqlite:///missing.db"), ("no such", "missing.db")),
    "not a database": (("report", "--store", "sqlite:///notes.db"), ("not a SQLite database",)),
    "another application's database": (
        ("report", "--store", "sqlite:///other.db"),
        ("another application",),
    ),
    "empty file": (("report", "--store", "sqlite:///empty.db"), ("empty", "not a custservice")),
    "a directory": (("report", "--store", "sqlite:///folder"), ("folder",)),
    "a memory store": (("report", "--store", "memory://"), ("memory://", "new, empty")),
    "a private sqlite database": (
        ("report", "--store", "sqlite:///:memory:"),
        (":memory:", "new, empty"),
    ),
    "missing file, scheme in capitals": (
        ("report", "--store", "SQLite:///missing.db"),
        ("no such", "missing.db"),
    ),
    "unreachable server": (
        ("report", "--store", "postgresql://nobody@127.0.0.1:1/nothing"),
        ("PostgreSQL",),
    ),
    "customers zero": (("demo", "--customers", "0"), ("--customers", "positive", "'0'")),
    "customers negative": (("demo", "--customers", "-3"), ("--customers", "'-3'")),
    "customers not a number": (("demo", "--customers", "many"), ("--customers", "'many'")),
    "months zero": (("demo", "--months", "0"), ("--months",)),
    "seed not a number": (("demo", "--seed", "lucky"), ("--seed", "'lucky'")),
    "at not a date": (
        ("report", "--store", "sqlite:///notes.db", "--at", "yesterday"),
        ("--at", "ISO 8601", "'yesterday'"),
    ),
    "at without offset": (
        ("report", "--store", "sqlite:///notes.db", "--at", "2026-03-02T09:00"),
        ("--at", "offset"),
    ),
    "html into a missing directory": (
        ("demo", *SMALL, "--html", "nowhere/report.html"),
        ("no such directory", "nowhere"),
    ),
    "html onto a directory": (
        ("report", "--store", "sqlite:///notes.db", "--html", "folder"),
        ("is a directory", "folder"),
    ),
    "report without a store": (("report",), ("--store",)),
    "unknown lifecycle": (("lifecycle", "order"), ("'order'", "customer")),
    "unknown command": (("serve",), ("'serve'",)),
    "no command": ((), ("COMMAND",)),
}


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file()}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_is_one_clear_line_and_changes_nothing(case: str, bad_files: Path) -> None:
    args, words = BAD[case]
    before = snapshot(bad_files)
    result = cli(*args, cwd=bad_files)
    assert_one_line_error(result, *words)
    assert snapshot(bad_files) == before  # no demo file made, no database set up or altered


# --- the other commands -------------------------------------------------------------


def test_version() -> None:
    assert ok(cli("--version")) == f"custservice {custservice.__version__}\n"


def test_backends_lists_each_scheme_and_where_it_comes_from() -> None:
    lines = ok(cli("backends")).splitlines()
    table = dict(line.split(maxsplit=1) for line in lines)
    assert table["memory"] == "custservice: custservice.storage.memory:open_memory_store"
    assert table["sqlite"] == "custservice: custservice.storage.sql.sqlite:open_sqlite_store"
    assert table["postgresql"] == (
        "custservice: custservice.storage.sql.postgresql:open_postgres_store"
    )
    assert (
        table["mariadb"]
        == table["mysql"]
        == ("custservice: custservice.storage.sql.mysql:open_mysql_store")
    )
    assert list(table) == sorted(table)


def test_lifecycle_prints_mermaid() -> None:
    out = ok(cli("lifecycle", "customer"))
    assert out == custservice.CUSTOMER_LIFECYCLE.to_mermaid() + "\n"
    assert out.startswith("stateDiagram-v2\n")
    assert 'state "prospect" as s0' in out
    assert "s0 --> s1: acquire" in out
    assert 'state "pending" as s2' in ok(cli("lifecycle", "case"))
    assert "s1 --> s2: await_customer" in ok(cli("lifecycle", "case"))
    assert "s1 --> s2: understand" in ok(cli("lifecycle", "interaction"))


def test_help_names_every_command() -> None:
    out = ok(cli("--help"))
    for command in ("demo", "report", "backends", "lifecycle"):
        assert command in out


# --- terminals, pipes and encodings -------------------------------------------------------


class Terminal:
    """A run whose stderr is a pseudo-terminal (as in an interactive shell); stdout is a pipe."""

    def __init__(self, *args: str, cwd: Path) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "custservice.cli", *args],
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=cwd,
            env=ENV,
            # As typed at a terminal: a run launched in the background ignores Ctrl-C, and
            # its children would inherit that.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        os.close(slave)
        self._master = master
        self._seen = bytearray()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:  # the other side is closed
                data = b""
            with self._changed:
                self._seen += data
                self._changed.notify_all()
            if not data:
                return

    def wait_for(self, text: bytes) -> None:
        """Block until the terminal has shown ``text``."""
        with self._changed:
            assert self._changed.wait_for(lambda: text in self._seen, timeout=300), self._seen

    def finish(self) -> tuple[int, str, str]:
        """Exit status, stdout and what the terminal showed."""
        assert self.proc.stdout is not None
        out = self.proc.stdout.read().decode()
        self.proc.stdout.close()
        status = self.proc.wait(timeout=600)
        self._reader.join(timeout=60)
        os.close(self._master)
        return status, out, self._seen.decode(errors="replace")


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    status, out, shown = Terminal(
        "demo", "--customers", "120", "--months", "2", cwd=tmp_path
    ).finish()
    assert status == 0
    assert "] 100%" in shown
    assert "120/120 customers" in shown
    assert "building the report" in shown
    assert "Traceback" not in shown
    assert out.startswith("Simulated 120 customers")


def test_quiet_turns_the_progress_bar_off(tmp_path: Path) -> None:
    run = Terminal("demo", "--customers", "120", "--months", "2", "--quiet", cwd=tmp_path)
    status, out, shown = run.finish()
    assert status == 0
    assert shown == ""
    assert out.startswith("Simulated 120 customers")


def test_no_progress_bar_when_stderr_is_not_a_terminal(demo: Demo) -> None:
    assert demo.result.stderr == ""


def test_interrupt_stops_cleanly_leaving_whole_customers(tmp_path: Path) -> None:
    run = Terminal("demo", "--customers", "100000", cwd=tmp_path)
    run.wait_for(b"customers, about")  # the simulation is under way
    run.proc.send_signal(signal.SIGINT)
    status, out, shown = run.finish()
    assert status == 130
    assert "custservice: interrupted" in shown
    assert "Traceback" not in shown
    assert out == ""
    from custservice.simulation import CHUNK

    with open_store(f"sqlite:///{tmp_path / 'custservice-demo.db'}") as store:
        count = store.customers.count()
    assert count > 0
    assert count % CHUNK == 0  # a transaction per chunk: nothing half-written


def test_a_closed_pipe_ends_quietly(demo: Demo) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "custservice.cli", "report", "--store", demo.url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    proc.stdout.close()  # like `| head -0`: the reader is gone before anything is written
    assert proc.wait(timeout=600) == 141
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_a_terminal_that_cannot_show_the_bars_gets_ascii(demo: Demo) -> None:
    at = report_instant(demo.stdout)
    result = cli(
        "report", "--store", demo.url, "--at", at, env={**ENV, "PYTHONIOENCODING": "ascii"}
    )
    out = ok(result)
    expected = the_report(demo.stdout).replace("█", "#").replace("·", ".").replace("…", "...")
    assert out == expected.replace("≥", ">=")
