"""The conformance kit: built-in backends and a plugin package pass it; broken stores fail it.

- ``memory://`` and ``sqlite:///…`` (a real file) run the whole kit here,
  in this process, opened through ``open_store`` as an application would.
- The example plugin in ``examples/custservice-jsonfile`` is built and
  installed into a temporary directory (no network, nothing added to this
  virtual environment), and its own test suite, which subclasses the kit,
  runs in a subprocess that finds the backend through its entry point.
- Stores broken on purpose, each in one way, run the kit in a subprocess,
  and each must fail the tests that check what it breaks, and the stateful
  test; an unbroken control built the same way must pass everything.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custservice import Customer, FixedClock, NotFound, StorageError, Store, open_store
from custservice._records import replace
from custservice.storage.memory import MemoryStore
from custservice.testing import StoreConformance
from custservice.testing.conformance import T0

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "custservice-jsonfile"


# --- the built-in backends -------------------------------------------------------------


class TestMemoryStore(StoreConformance):
    """``memory://``: the reference checked against itself, and every focused test."""

    @pytest.fixture
    def store(self) -> Iterator[Store]:
        with open_store("memory://") as store:
            yield store


class TestSQLiteStore(StoreConformance):
    """``sqlite:///…`` on a real file; several stores may open it at once."""

    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'store.db'}"

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        with open_store(url) as store:
            yield store

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[], Store]:
        return lambda: open_store(url)


# --- stores broken on purpose ------------------------------------------------------------
#
# Each passes every call to a memory store, through the public API only, except
# for the one thing it breaks. The subprocess below imports them from this file.


class _Repository:
    """A repository that passes every call to another."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class Delegating:
    """An unbroken store that passes every call to a memory store: the control."""

    def __init__(self) -> None:
        self.inner = MemoryStore()

    @property
    def customers(self) -> Any:
        return self.repository(self.inner.customers)

    @property
    def interactions(self) -> Any:
        return self.repository(self.inner.interactions)

    @property
    def cases(self) -> Any:
        return self.repository(self.inner.cases)

    @property
    def events(self) -> Any:
        return self.inner.events

    def repository(self, inner: Any) -> Any:
        return _Repository(inner)

    def transaction(self) -> AbstractContextManager[None]:
        return self.inner.transaction()

    def forget(self, customer_id: uuid.UUID) -> None:
        self.inner.forget(customer_id)

    def export(self, customer_id: uuid.UUID) -> dict[str, Any]:
        return self.inner.export(customer_id)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> Delegating:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _SavesWithoutChecking(_Repository):
    def save(self, record: Any) -> Any:
        current = self.inner.get(record.id)
        return self.inner.save(replace(record, version=current.version))


class IgnoresVersionOnSave(Delegating):
    """``save`` overwrites whatever is stored, whatever version the caller had."""

    def repository(self, inner: Any) -> Any:
        return _SavesWithoutChecking(inner)


class KeepsWritesOfFailedTransactions(Delegating):
    """``transaction()`` does nothing: each change lands at once, and stays if the block fails."""

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()


class _OrdersById(_Repository):
    def for_customer(self, customer_id: uuid.UUID, since: Any = None, until: Any = None) -> Any:
        rows = list(self.inner.for_customer(customer_id, since, until))
        return iter(sorted(rows, key=lambda r: r.id))


class OrdersHistoryById(Delegating):
    """``for_customer`` orders by id alone, as if ids always followed opening time."""

    def repository(self, inner: Any) -> Any:
        return _OrdersById(inner) if hasattr(inner, "for_customer") else _Repository(inner)


class _KeepsForgotten(_Repository):
    def __init__(self, inner: Any, left: dict[uuid.UUID, Any]) -> None:
        super().__init__(inner)
        self.left = left

    def get(self, id: uuid.UUID) -> Any:
        try:
            return self.inner.get(id)
        except NotFound:
            if id in self.left:
                return self.left[id]
            raise

    def count(self) -> int:
        return int(self.inner.count()) + len(self.left)

    def all(self) -> Any:
        return iter([*self.inner.all(), *self.left.values()])

    def for_customer(self, customer_id: uuid.UUID, since: Any = None, until: Any = None) -> Any:
        ours = [r for r in self.left.values() if r.customer_id == customer_id]
        return iter([*self.inner.for_customer(customer_id, since, until), *ours])


class ForgetLeavesCasesBehind(Delegating):
    """``forget`` erases the customer and their interactions, but their cases stay readable."""

    def __init__(self) -> None:
        super().__init__()
        self.left: dict[uuid.UUID, Any] = {}

    @property
    def cases(self) -> Any:
        return _KeepsForgotten(self.inner.cases, self.left)

    def forget(self, customer_id: uuid.UUID) -> None:
        theirs = list(self.inner.cases.for_customer(customer_id))
        self.inner.forget(customer_id)
        self.left.update((c.id, c) for c in theirs)


# The tests each broken store must fail (besides the stateful test, which all must).
FLAWS: dict[str, list[str]] = {
    "IgnoresVersionOnSave": [
        "test_a_save_from_another_version_is_a_concurrency_error[older-customers]",
        "test_a_save_from_another_version_is_a_concurrency_error[newer-cases]",
        "test_two_writers_from_the_same_version_one_wins",
        "test_a_record_cannot_move_to_another_customer[interactions]",
        "test_a_failed_change_leaves_no_entry",
    ],
    "KeepsWritesOfFailedTransactions": [
        "test_an_exception_in_a_transaction_undoes_every_change",
        "test_a_nested_transaction_joins_the_outer_one",
        "test_a_transaction_belongs_to_the_thread_that_opened_it",
    ],
    "OrdersHistoryById": [
        "test_for_customer_is_oldest_first_by_opening_time[interactions]",
        "test_for_customer_is_oldest_first_by_opening_time[cases]",
        "test_order_and_windows_go_by_instant_when_clocks_go_back[cases]",
    ],
    "ForgetLeavesCasesBehind": [
        "test_forget_removes_the_customer_and_every_record_of_theirs",
    ],
}
STATEFUL = "test_answers_like_the_memory_reference"

SUITE = textwrap.dedent(
    """
    import importlib.util
    import sys

    import pytest

    from custservice.testing import StoreConformance

    spec = importlib.util.spec_from_file_location("broken_stores", {path!r})
    broken = importlib.util.module_from_spec(spec)
    sys.modules["broken_stores"] = broken
    spec.loader.exec_module(broken)


    def kit_for(name):
        class Kit(StoreConformance):
            tenants = False  # each wraps one memory store, and gives no scopes

            @pytest.fixture
            def store(self):
                with getattr(broken, name)() as store:
                    yield store

        Kit.__name__ = Kit.__qualname__ = f"Test{{name}}"
        return Kit


    for name in ["Delegating", *{flaws!r}]:
        globals()[f"Test{{name}}"] = kit_for(name)
    """
)

PROFILE = textwrap.dedent(
    """
    from hypothesis import Phase, settings

    # Deterministic, and no shrinking: these runs only have to fail, not explain.
    settings.register_profile(
        "broken", max_examples=40, derandomize=True, deadline=None, database=None,
        phases=[Phase.explicit, Phase.generate],
    )
    settings.load_profile("broken")
    """
)


def run_pytest(
    args: list[str], cwd: Path, report: Path, env: dict[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """Run pytest in a subprocess; each test class's test outcomes, by test name."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}
    environment.pop("PYTEST_ADDOPTS", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(
        [*command, "--junitxml", str(report), *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert report.exists(), result.stdout + result.stderr
    outcomes: dict[str, dict[str, str]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        cls = case.get("classname", "").rsplit(".", 1)[-1]
        children = {child.tag for child in case}
        outcome = next(
            (tag for tag in ("failure", "error", "skipped") if tag in children), "passed"
        )
        outcomes.setdefault(cls, {})[case.get("name", "")] = outcome
    return outcomes


@pytest.fixture(scope="module")
def broken_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """The kit, run once against the control and every broken store."""
    here = tmp_path_factory.mktemp("broken")
    (here / "conftest.py").write_text(PROFILE)
    (here / "pytest.ini").write_text("[pytest]\n")
    (here / "test_broken_stores.py").write_text(
        SUITE.format(path=str(Path(__file__).resolve()), flaws=list(FLAWS))
    )
    return run_pytest(["test_broken_stores.py"], here, here / "report.xml")


def test_the_unbroken_control_passes_the_kit(broken_runs: dict[str, dict[str, str]]) -> None:
    outcomes = broken_runs["TestDelegating"]
    assert len(outcomes) > 50
    assert {name for name, outcome in outcomes.items() if outcome not in ("passed", "skipped")} == (
        set()
    )


@pytest.mark.parametrize("flaw", list(FLAWS))
def test_the_kit_fails_a_broken_store(broken_runs: dict[str, dict[str, str]], flaw: str) -> None:
    outcomes = broken_runs[f"Test{flaw}"]
    failed = {name for name, outcome in outcomes.items() if outcome in ("failure", "error")}
    missed = {*FLAWS[flaw], STATEFUL} - failed
    assert missed == set(), f"{flaw}: the kit did not fail {sorted(missed)}"
    # and only tests about what is broken fail: most of the kit still passes
    assert len(failed) < len(outcomes) / 2, sorted(failed)


# --- a plugin package, installed and run against the kit -------------------------------------


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example plugin, built and installed into a directory of its own."""
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-build-isolation",
            "--no-deps",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--quiet",
            "--target",
            str(target),
            str(EXAMPLE),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return target


def test_the_example_plugin_is_installed_with_its_entry_point(installed_example: Path) -> None:
    code = (
        "from custservice import available_backends, open_store\n"
        "from custservice.storage.registry import backend_origins\n"
        "assert 'jsonfile' in available_backends()\n"
        "with open_store('jsonfile:///store.json') as store:\n"
        "    print(backend_origins()['jsonfile'])\n"
        "    print(type(store).__module__, __import__(type(store).__module__).__file__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=installed_example.parent,
        env={**os.environ, "PYTHONPATH": str(installed_example)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out[0] == "custservice-jsonfile: custservice_jsonfile:open_jsonfile_store"
    module, file = out[1].split()
    assert module == "custservice_jsonfile"
    assert Path(file).is_relative_to(installed_example)  # the installed copy, not the source


def test_the_example_plugin_passes_the_kit(installed_example: Path, tmp_path: Path) -> None:
    outcomes = run_pytest(
        [str(EXAMPLE / "tests")],
        tmp_path,  # the Hypothesis database lands here, not in the example
        tmp_path / "report.xml",
        # The quick profile: the kit's every test runs at length on the built-in stores.
        env={"PYTHONPATH": str(installed_example), "HYPOTHESIS_PROFILE": "dev"},
    )
    kit = outcomes["TestJsonFileStore"]
    assert len(kit) > 50
    assert STATEFUL in kit
    problems = {name: o for cls in outcomes.values() for name, o in cls.items() if o != "passed"}
    assert problems == {}
    # jsonfile keeps one store per file: the tests of several stores at once are not its own
    assert "test_everything_survives_close_and_reopen" in kit
    assert "test_stores_on_the_same_data_see_each_others_commits" not in kit


def test_a_backend_keeps_its_own_version_of_a_capability_test() -> None:
    class TestOwnThreads(StoreConformance):
        def test_threads_sharing_a_store_lose_no_change(self, store: Store) -> None:
            """This backend checks threads its own way."""

    class TestNoThreads(StoreConformance):
        thread_safe = False

    own = TestOwnThreads.test_threads_sharing_a_store_lose_no_change
    assert own.__qualname__.endswith("TestOwnThreads.test_threads_sharing_a_store_lose_no_change")
    assert TestNoThreads.test_threads_sharing_a_store_lose_no_change is None
    assert callable(TestMemoryStore.test_threads_sharing_a_store_lose_no_change)


# --- opening by URL: what every backend shares ----------------------------------------------


def mixed_case(text: str) -> st.SearchStrategy[str]:
    """``text`` with each letter in either case."""
    return st.tuples(*(st.sampled_from(sorted({c.lower(), c.upper()})) for c in text)).map("".join)


def test_any_case_of_the_scheme_opens_the_same_store(tmp_path: Path) -> None:
    """Schemes are case-insensitive (RFC 3986): ``SQLite:///f.db`` is ``sqlite:///f.db``,
    through ``open_store`` and through the backend's own opener alike."""
    from custservice.storage.memory import open_memory_store
    from custservice.storage.sql.sqlite import open_sqlite_store

    path = tmp_path / "store.db"
    with open_store(f"sqlite:///{path}") as store:
        ada = store.customers.add(Customer.new("Ada", clock=FixedClock(T0)))

    @settings(max_examples=30)
    @given(scheme=mixed_case("sqlite"), direct=st.booleans())
    def sqlite(scheme: str, direct: bool) -> None:
        opener = open_sqlite_store if direct else open_store
        with opener(f"{scheme}:///{path}") as again:
            assert again.customers.get(ada.id) == ada

    @settings(max_examples=30)
    @given(scheme=mixed_case("memory"), direct=st.booleans(), slashes=st.sampled_from(["", "//"]))
    def memory(scheme: str, direct: bool, slashes: str) -> None:
        opener = open_memory_store if direct else open_store
        with opener(f"{scheme}:{slashes}") as fresh:
            assert isinstance(fresh, MemoryStore)
            assert fresh.customers.count() == 0

    sqlite()
    memory()


def test_opening_only_an_existing_store_creates_nothing(tmp_path: Path) -> None:
    """``open_store(url, create=False)`` (what ``custservice report`` asks) refuses a store
    that does not exist with a ``StorageError`` naming it, and makes nothing."""
    missing = tmp_path / "missing.db"
    with pytest.raises(StorageError, match="no such SQLite database file"):
        open_store(f"sqlite:///{missing}", create=False)
    empty = tmp_path / "empty.db"
    empty.touch()
    with pytest.raises(StorageError, match="empty: not a custservice database"):
        open_store(f"SQLITE:///{empty}", create=False)
    assert [p.name for p in tmp_path.iterdir()] == ["empty.db"]
    assert empty.read_bytes() == b""
    for url in ("memory://", "sqlite:///:memory:"):
        with pytest.raises(StorageError, match="new, empty"):
            open_store(url, create=False)
    made = tmp_path / "made.db"
    with open_store(f"sqlite:///{made}") as store:
        ada = store.customers.add(Customer.new("Ada", clock=FixedClock(T0)))
    with open_store(f"sqlite:///{made}", create=False) as store:
        assert store.customers.get(ada.id) == ada


def test_create_is_passed_only_to_backends_that_take_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A plugin's opener that takes no ``create`` keyword is called as before, with the
    URL alone (whether opening creates anything is then up to it); one that takes it is
    told."""
    from custservice.storage import registry

    calls: list[tuple[str, dict[str, Any]]] = []

    def plain(url: str) -> Store:
        calls.append((url, {}))
        return MemoryStore()

    def careful(url: str, *, create: bool = True) -> Store:
        calls.append((url, {"create": create}))
        return MemoryStore()

    class Found:
        def __init__(self, factory: Callable[..., Store]) -> None:
            self.factory = factory
            self.value = f"tests:{factory.__name__}"

        def load(self) -> Callable[..., Store]:
            return self.factory

    found = {"plain": Found(plain), "careful": Found(careful)}
    monkeypatch.setattr(registry, "_entry_points", lambda: found)
    for create in (True, False):
        open_store("PLAIN://x", create=create).close()
        open_store("Careful://x", create=create).close()
    assert calls == [
        ("plain://x", {}),
        ("careful://x", {"create": True}),
        ("plain://x", {}),
        ("careful://x", {"create": False}),
    ]
