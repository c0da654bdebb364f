"""What the reliability tests share: fresh databases of each engine, the crash writer, the
load worker.

Run as a module (``python -m tests._reliability zygote``, from the repository's
root: :data:`COMMAND`) this is the forking writer the crash tests kill: a
process that has imported everything once, then forks a fresh child for each
command it reads on stdin (write until killed, migrate, or create a store),
reports the child's pid, and reports how it ended. Killing a forked child
costs a few milliseconds, where starting a new interpreter for each kill
costs half a second.

``python -m tests._reliability load URL SECONDS SEED SETUP`` runs one process of
the load test (see :func:`load_worker`).
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pendulum
from conftest import MYSQL_SERVER, PG_SERVER, pg_connect, with_options

from custservice import (
    Case,
    Channel,
    ConcurrencyError,
    Customer,
    CustServiceError,
    FixedClock,
    Interaction,
    Store,
    open_store,
)

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "tests._reliability"]
"""Runs this module in a new interpreter; with ``cwd=ROOT``, so that it finds the
root's ``conftest`` (the servers' addresses) as the tests do."""
SERVER = PG_SERVER
pg_admin = pg_connect
"""An autocommit connection to the PostgreSQL server, or a visible skip (a failure in CI)."""
T0 = pendulum.datetime(2026, 1, 5, 9)
NAMESPACE = uuid.UUID("4f1d3c2a-7e0b-4c5d-9a8b-1c2d3e4f5a6b")


def env_int(name: str, default: int) -> int:
    """A whole number from the environment (sizes of the long runs), or ``default``."""
    return int(os.environ.get(name, default))


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


# --- fresh databases of each engine ------------------------------------------------------

ENGINES = ("sqlite", "postgresql", "mariadb")
"""The SQL engines every reliability rule is checked on."""


def new_schema() -> str:
    return f"cs_rel_{uuid.uuid4().hex[:12]}"


def drop_schema(admin: Any, schema: str) -> None:
    admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@dataclass(frozen=True)
class Databases:
    """New, empty databases of one engine, for one test.

    Attributes:
        engine: the engine's name in messages: ``"memory"``, ``"SQLite"``,
            ``"PostgreSQL"`` or ``"MariaDB"``.
        fresh: the URL of a new, empty store each call: a file, a schema or a
            database of the test's own, removed when the test ends.
        settle: given when (``time.time()``) a killed client began, waits until the
            server has ended every session that client opened. A client killed just
            after sending ``COMMIT`` leaves the server committing on its behalf: a
            checker reading before the session ends may not yet see what is, in fact,
            committed.
    """

    engine: str
    fresh: Callable[[], str]
    settle: Callable[[float], None] = lambda since: None


SETTLE_SECONDS = 60.0


def _wait_until_none(count_sessions: Callable[[], int], what: str) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while (left := count_sessions()) > 0:
        assert time.monotonic() < deadline, f"{left} sessions of {what} outlived it"
        time.sleep(0.01)


@contextmanager
def fresh_databases(request: Any, tmp_path: Path) -> Iterator[Databases]:
    """The :class:`Databases` of the engine ``request.param`` names (``"memory"`` or one
    of :data:`ENGINES`). A server that cannot be reached is a visible skip (a failure
    in CI), through the root ``conftest``'s ``pg_admin`` and ``mysql_admin`` fixtures."""
    name = request.param
    if name == "memory":
        yield Databases("memory", lambda: "memory://")
        return
    if name == "sqlite":
        yield Databases("SQLite", lambda: f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}")
        return
    made: list[str] = []
    if name == "postgresql":
        admin = request.getfixturevalue("pg_admin")

        def fresh() -> str:
            made.append(new_schema())
            return with_options(SERVER, schema=made[-1])

        def drop(made_name: str) -> None:
            drop_schema(admin, made_name)

        def settle(since: float) -> None:
            def sessions() -> int:
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                    " AND backend_start >= to_timestamp(%s)",
                    (since,),
                ).fetchone()
                return int(row[0])

            _wait_until_none(sessions, "a killed client")

        databases = Databases("PostgreSQL", fresh, settle)
    else:
        assert name == "mariadb", name
        server = request.getfixturevalue("mysql_admin")

        def fresh() -> str:
            made.append(new_schema())
            with server.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE `{made[-1]}`")
            return urlsplit(MYSQL_SERVER)._replace(path=f"/{made[-1]}").geturl()

        def drop(made_name: str) -> None:
            with server.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS `{made_name}`")

        def settle(since: float) -> None:
            # Only the clients under test connect to a test's own databases.
            def sessions() -> int:
                with server.cursor() as cursor:
                    cursor.execute(
                        "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                        " WHERE DB IN %s AND ID <> CONNECTION_ID()",
                        (tuple(made),),
                    )
                    return int(cursor.fetchone()[0])

            if made:
                _wait_until_none(sessions, "a killed client")

        databases = Databases("MariaDB", fresh, settle)
    try:
        yield databases
    finally:
        for each in made:
            drop(each)


# --- the crash writer ---------------------------------------------------------------------
#
# Transaction ``n`` of writer life ``life`` is named by its tag, ``L{life}-T{n}``; the ids
# of its records derive from the tag, so a checker knows what each transaction wrote
# without being told. Every transaction:
#
#   adds a customer, 1 to 3 interactions (alternately one by one and with add_many) and a
#   case; saves the first interaction (received) and the customer (segment = tag); saves
#   the shared counter customer (segment = tag); and every fifth (n % 5 == 4) forgets the
#   customer of transaction n - 4 of the same life.
#
# The writer appends ``+tag`` to the acknowledgement file as it begins a transaction, and
# ``tag`` only once ``transaction()`` has returned: an acknowledged transaction is one a
# caller was told had committed.


def tag(life: int, n: int) -> str:
    return f"L{life}-T{n}"


def size(n: int) -> int:
    """How many interactions transaction ``n`` adds."""
    return 1 + n % 3


def victim(n: int) -> int | None:
    """The transaction whose customer transaction ``n`` forgets, if any."""
    return n - 4 if n % 5 == 4 else None


def ids_of(t: str, n: int) -> tuple[uuid.UUID, list[uuid.UUID], uuid.UUID]:
    """The ids transaction ``t`` (number ``n``) gives its customer, interactions and case."""
    return (
        uuid.uuid5(NAMESPACE, f"{t}/customer"),
        [uuid.uuid5(NAMESPACE, f"{t}/interaction/{j}") for j in range(size(n))],
        uuid.uuid5(NAMESPACE, f"{t}/case"),
    )


def write_transaction(
    store: Store, life: int, n: int, counter_id: uuid.UUID, clock: FixedClock
) -> None:
    t = tag(life, n)
    cid, iids, kid = ids_of(t, n)
    with store.transaction():
        ada = store.customers.add(
            Customer.new(t, clock=clock, id=cid, email=f"{t.lower()}@example.org")
        )
        calls = [Interaction.open(cid, Channel.CHAT, clock=clock, topic=t, id=i) for i in iids]
        if n % 2:
            store.interactions.add_many(calls)
        else:
            for call in calls:
                store.interactions.add(call)
        store.cases.add(Case.open(cid, t, clock=clock, id=kid))
        first = store.interactions.get(iids[0])
        store.interactions.save(first.advance("receive", at=clock.now()))
        store.customers.save(ada.with_profile(segment=t))
        counter = store.customers.get(counter_id)
        store.customers.save(counter.with_profile(segment=t))
        old = victim(n)
        if old is not None:
            store.forget(ids_of(tag(life, old), old)[0])


def writer(url: str, life: int, acks: str, counter: str) -> None:
    """Write transactions until killed, acknowledging each once it has committed."""
    fd = os.open(acks, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    clock = FixedClock(T0)
    counter_id = uuid.UUID(counter)
    with open_store(url) as store:
        for n in range(1_000_000):
            os.write(fd, f"+{tag(life, n)}\n".encode())  # begun
            write_transaction(store, life, n, counter_id, clock)
            os.write(fd, f"{tag(life, n)}\n".encode())  # committed


def migrator(url: str, marker: str) -> None:
    """Open ``url`` with one more, never-ending, schema step, and mark when it runs."""
    from custservice.storage.sql import migrations, schema

    def stall(conn: Any, tables: Any, driver: Any) -> None:
        customers = conn.dialect.identifier_preparer.format_table(tables["customers"])
        conn.exec_driver_sql(f"ALTER TABLE {customers} ADD COLUMN note TEXT")
        mark(marker, "stalled")
        time.sleep(3600)

    migrations.STEPS.append(stall)
    schema.VERSION += 1
    open_store(url)


def creator(url: str, marker: str, stall: int) -> None:
    """Create the store ``url`` names, stalling before its statement number ``stall`` (or
    its commit, the last step) is sent; mark ``stalled`` there, or ``opened`` if the store
    opened first."""
    import sqlalchemy as sa

    steps = count()

    def step(*args: Any) -> None:
        if next(steps) == stall:
            mark(marker, "stalled")
            time.sleep(3600)

    sa.event.listen(sa.Engine, "before_cursor_execute", step)
    sa.event.listen(sa.Engine, "commit", step)
    open_store(url)
    mark(marker, "opened")
    time.sleep(3600)


def mark(marker: str, text: str) -> None:
    """Write ``marker`` at once, whole: a reader never sees it half-written."""
    Path(f"{marker}.part").write_text(text)
    os.replace(f"{marker}.part", marker)


def _forked(command: dict[str, Any]) -> None:
    """What a forked child runs. It never returns: it is killed, or it waits to be."""
    try:
        if command["do"] == "write":
            writer(command["url"], command["life"], command["acks"], command["counter"])
        elif command["do"] == "migrate":
            migrator(command["url"], command["marker"])
        else:
            creator(command["url"], command["marker"], command["stall"])
        sys.stderr.write(f"{command['do']} ended without being killed\n")
    except BaseException:
        sys.stderr.write(traceback.format_exc())
    sys.stderr.flush()
    # Wait for the kill, so that the pid the parent kills is always this process.
    while True:
        time.sleep(3600)


def zygote() -> None:
    """Fork a child per command read on stdin; report its pid, then how it ended."""
    warm_up()
    print("ready", flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["do"] == "exit":
            return
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _forked(command)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        signalled = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        print(json.dumps({"pid": pid, "signal": signalled}), flush=True)


def warm_up() -> None:
    """Import and build everything a writer uses, so a forked child starts writing at once."""
    from custservice.storage.sql import sqlite  # noqa: F401

    with suppress(ImportError):
        import psycopg  # noqa: F401

        from custservice.storage.sql import postgresql  # noqa: F401
    with suppress(ImportError):
        import pymysql  # noqa: F401

        from custservice.storage.sql import mysql  # noqa: F401
    clock = FixedClock(T0)
    with open_store("sqlite:///:memory:") as store:
        counter = store.customers.add(Customer.new("Counter", clock=clock))
        write_transaction(store, 0, 1, counter.id, clock)


# --- the load worker ------------------------------------------------------------------------


class Boom(Exception):
    """Raised inside a transaction to roll it back."""


def load_worker(
    store: Store,
    worker: int,
    seed: int,
    counters: list[uuid.UUID],
    shared: list[uuid.UUID],
    stop: threading.Event | float,
) -> dict[str, Any]:
    """Mixed reads and writes on ``store`` until ``stop`` (an event, or a monotonic deadline).

    Every operation either succeeds (and is counted, with what it changed) or raises a
    library error (counted by type; it changed nothing). Anything else is a leak, kept
    with its traceback. Reads of the worker's own records are checked against what it
    wrote: a mismatch is a problem.

    Returns the tally: ``ok`` and ``errors`` by operation and error type, ``leaks``,
    ``problems``, the worker's surviving customers with what each holds
    (``own``: id -> [version, interactions, cases]), ``forgotten``, the successful saves
    of each shared counter and the interactions added to shared customers.
    """
    rng = random.Random(seed)
    clock = FixedClock(T0.add(minutes=worker))
    ok: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    leaks: list[str] = []
    problems: list[str] = []
    own: dict[uuid.UUID, list[int]] = {}
    forgotten = 0
    counter_saves: Counter[str] = Counter()
    shared_interactions = 0
    made = 0

    def done() -> bool:
        if isinstance(stop, threading.Event):
            return stop.is_set()
        return time.monotonic() >= stop

    def mine() -> uuid.UUID | None:
        return rng.choice(list(own)) if own else None

    def fresh() -> Customer:
        nonlocal made
        made += 1
        return Customer.new(
            f"Worker {worker} customer {made}",
            clock=clock,
            email=f"w{worker}.c{made}@example.org",
        )

    def call(owner: uuid.UUID) -> Interaction:
        return Interaction.open(owner, rng.choice(list(Channel)), clock=clock, topic="load")

    operations = [
        "add_customer",
        "add_customer",
        "add_interaction",
        "add_many",
        "transaction",
        "rollback",
        "save_counter",
        "save_counter",
        "save_counter_in_transaction",
        "save_own",
        "shared_interaction",
        "forget",
        "get",
        "for_customer",
        "count",
        "feed",
        "export",
    ]
    while not done():
        op = rng.choice(operations)
        target = mine()
        if target is None and op not in (
            "add_customer",
            "save_counter",
            "save_counter_in_transaction",
            "count",
            "feed",
        ):
            op = "add_customer"
        try:
            if op == "add_customer":
                added = store.customers.add(fresh())
                own[added.id] = [1, 0, 0]
            elif op == "add_interaction":
                assert target is not None
                store.interactions.add(call(target))
                own[target][1] += 1
            elif op == "add_many":
                assert target is not None
                n = rng.randint(2, 5)
                store.interactions.add_many(call(target) for _ in range(n))
                own[target][1] += n
            elif op == "transaction":
                assert target is not None
                with store.transaction():
                    store.interactions.add(call(target))
                    store.cases.add(Case.open(target, "load", clock=clock))
                own[target][1] += 1
                own[target][2] += 1
            elif op == "rollback":
                assert target is not None
                try:
                    with store.transaction():
                        store.customers.add(fresh())
                        store.interactions.add(call(target))
                        raise Boom
                except Boom:
                    pass
            elif op == "save_counter":
                which = rng.choice(counters)
                current = store.customers.get(which)
                store.customers.save(current.with_profile(segment=f"w{worker}"))
                counter_saves[str(which)] += 1
            elif op == "save_counter_in_transaction":
                # The block reads first: a save from what it read must still be refused
                # with ConcurrencyError if another worker saved since, whatever the
                # block's read saw.
                which = rng.choice(counters)
                with store.transaction():
                    current = store.customers.get(which)
                    store.customers.save(current.with_profile(segment=f"t{worker}"))
                counter_saves[str(which)] += 1
            elif op == "save_own":
                assert target is not None
                current = store.customers.get(target)
                if current.version != own[target][0]:
                    problems.append(f"read version {current.version}, wrote {own[target][0]}")
                store.customers.save(current.with_profile(segment=f"v{current.version}"))
                own[target][0] += 1
            elif op == "shared_interaction":
                store.interactions.add(call(rng.choice(shared)))
                shared_interactions += 1
            elif op == "forget":
                assert target is not None
                store.forget(target)
                del own[target]
                forgotten += 1
            elif op == "get":
                assert target is not None
                if store.customers.get(target).version != own[target][0]:
                    problems.append("get: version differs from what was written")
            elif op == "for_customer":
                assert target is not None
                got = sum(1 for _ in store.interactions.for_customer(target))
                if got != own[target][1]:
                    problems.append(f"for_customer: {got} interactions, wrote {own[target][1]}")
            elif op == "count":
                store.customers.count()
            elif op == "feed":
                list(store.events.since(max(0, store.events.latest() - 20)))
            elif op == "export":
                assert target is not None
                data = store.export(target)
                if (len(data["interactions"]), len(data["cases"])) != tuple(own[target][1:]):
                    problems.append("export differs from what was written")
            ok[op] += 1
        except CustServiceError as exc:
            # The one expected: two workers saving the same counter from the same version.
            errors[f"{op}: {type(exc).__name__}"] += 1
            if not (op.startswith("save_counter") and isinstance(exc, ConcurrencyError)):
                problems.append(f"{op}: {type(exc).__name__}: {exc}")
        except Exception:
            leaks.append(traceback.format_exc())
    return {
        "ok": dict(ok),
        "errors": dict(errors),
        "leaks": leaks,
        "problems": problems,
        "own": {str(k): v for k, v in own.items()},
        "forgotten": forgotten,
        "counter_saves": dict(counter_saves),
        "shared_interactions": shared_interactions,
    }


def _load_process(url: str, seconds: float, seed: int, setup: str) -> None:
    """One process of the multi-process load test: ready, wait for go, work, report."""
    ids = json.loads(setup)
    counters = [uuid.UUID(i) for i in ids["counters"]]
    shared = [uuid.UUID(i) for i in ids["shared"]]
    with open_store(url) as store:
        print("ready", flush=True)
        sys.stdin.readline()
        tally = load_worker(store, seed, seed, counters, shared, time.monotonic() + seconds)
    print(json.dumps(tally), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "zygote":
        zygote()
    elif sys.argv[1] == "load":
        _load_process(sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
