"""Crashes: a writer killed with SIGKILL at random moments loses nothing it was told committed.

Every rule here is checked on each SQL engine: SQLite, PostgreSQL and MariaDB.

A writer process runs transactions (a customer, interactions, a case, saves,
sometimes a forget) and records each one in a side file only once
``transaction()`` has returned. The test kills it with SIGKILL after a random
delay, waits until the database server has ended the killed writer's sessions (one
killed just after sending ``COMMIT`` leaves the server to finish that commit), reopens
the store, and checks, each time:

- every acknowledged transaction is stored, whole;
- the transaction in flight at the kill is stored whole or not at all (it may
  have committed before it could be acknowledged), and the next one is absent;
- no transaction is partly stored, a forget included;
- the change feed holds exactly the entries of the committed transactions, in
  commit order, with no gap and nothing of a forgotten customer;
- the store accepts writes (a probe write, then the next writer's).

A final pass reads the whole store and checks the feed against the data.

Schema changes killed half way:

- a migration killed in its step leaves the schema version recorded before it
  and the data intact, and the store opens and takes writes. On SQLite and
  PostgreSQL the step's change is rolled back too; MariaDB (and MySQL) commit
  every schema change on its own, so there the change made before the kill
  stays: a step must be one that can run again over its own partial work (each
  real step is: 1 to 2 and 2 to 3 add only the columns missing, 3 to 4 looks at
  each table's state before each part of its rebuild);
- creating a new store, killed before any one of its statements or its commit,
  leaves a database that opens as a complete, empty store.

Sizes, in kills that land inside a transaction (writers are killed until that
many have): ``CUSTSERVICE_KILLS`` (SQLite, default 200), ``CUSTSERVICE_PG_KILLS``
(PostgreSQL, default 50) and ``CUSTSERVICE_MYSQL_KILLS`` (MariaDB, default 50);
``CUSTSERVICE_KILL_SEED`` repeats a run's kill delays. The figures of a run are
printed (``pytest -rP`` shows them).

Other crash and schema guarantees are proved elsewhere: an interrupted
migration raising an exception, a newer schema refused untouched
(``tests/test_sqlite.py``, ``tests/test_postgres.py``); a lost PostgreSQL
connection mid-transaction (``tests/test_postgres.py``).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
import sqlalchemy as sa
from tests._reliability import (
    COMMAND,
    ENGINES,
    ROOT,
    T0,
    Databases,
    env_int,
    fresh_databases,
    ids_of,
    size,
    tag,
    victim,
)

from custservice import (
    Customer,
    FixedClock,
    InteractionStage,
    NotFound,
    Store,
    open_store,
)
from custservice.storage.sql import VERSION, SqlStore, metadata

SEED = env_int("CUSTSERVICE_KILL_SEED", random.randrange(2**32))


@dataclass(frozen=True)
class Plan:
    """How the crash tests treat one engine.

    Attributes:
        kills: how many kills of the random-kill test must land inside a transaction.
        longest: the longest wait before a kill, in seconds (see :func:`run`).
        options: query strings the writers add to the store's URL in turn.
        transactional_ddl: a schema change is undone with its transaction.
    """

    kills: int
    longest: float
    options: tuple[str, ...] = ("",)
    transactional_ddl: bool = True


PLANS = {
    # Every other SQLite writer commits without waiting for the disk (synchronous=normal):
    # a process crash must lose nothing either way, and kills land more evenly within the
    # transactions when commits are not mostly a wait for fsync.
    "SQLite": Plan(env_int("CUSTSERVICE_KILLS", 200), 0.04, ("", "?synchronous=normal")),
    "PostgreSQL": Plan(env_int("CUSTSERVICE_PG_KILLS", 50), 0.25),
    "MariaDB": Plan(env_int("CUSTSERVICE_MYSQL_KILLS", 50), 0.25, transactional_ddl=False),
}

Entry = tuple[Any, ...]


# --- the forking writer ----------------------------------------------------------------


class Zygote:
    """A process that forks writers on request (see ``tests/_reliability.py``)."""

    def __init__(self, workdir: Path) -> None:
        self.errors = workdir / "zygote.err"
        self._err: IO[str] = self.errors.open("w")
        self._process = subprocess.Popen(
            [*COMMAND, "zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
        )
        assert self._read() == "ready"

    def _read(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        assert line, f"the forking writer died: {self.errors.read_text()}"
        return line.strip()

    def fork(self, **command: Any) -> int:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        pid: int = json.loads(self._read())["pid"]
        return pid

    def kill(self, pid: int) -> None:
        """SIGKILL the forked child ``pid`` and check that the kill is what ended it."""
        os.kill(pid, signal.SIGKILL)
        ended = json.loads(self._read())
        assert ended == {"pid": pid, "signal": signal.SIGKILL}
        self.check()

    def check(self) -> None:
        """No child has failed: a child that fails writes why, then waits to be killed."""
        assert self.errors.stat().st_size == 0, self.errors.read_text()

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"do": "exit"}) + "\n")
        self._process.stdin.close()
        self._process.wait(60)
        assert self._process.stdout is not None
        self._process.stdout.close()
        self._err.close()


@pytest.fixture(scope="module")
def zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Zygote]:
    z = Zygote(tmp_path_factory.mktemp("zygote"))
    yield z
    z.close()


@pytest.fixture(params=ENGINES)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Databases]:
    with fresh_databases(request, tmp_path) as databases:
        yield databases


# --- what the checker knows ----------------------------------------------------------------


class Ledger:
    """The checker's account of a store the writers write to, and the run's figures."""

    def __init__(self, url: str, acks: Path) -> None:
        self.url = url
        self.acks = acks
        self.clock = FixedClock(T0)
        with open_store(url) as store:
            self.counter = store.customers.add(Customer.new("Counter", clock=self.clock)).id
        self.committed = 0  # transactions committed, over every life
        self.present: dict[str, int] = {}  # tag -> number, of the transactions still stored
        self.forgotten = 0
        self.probes = 0
        self.position = 1  # the feed position checked up to
        self.figures: Counter[str] = Counter()

    def acknowledged(self, life: int) -> tuple[int, bool]:
        """How many transactions life ``life`` acknowledged, and whether it had begun the next."""
        text = self.acks.read_text() if self.acks.exists() else ""
        lines = [line for line in text.split("\n")[:-1] if line.lstrip("+").startswith(f"L{life}-")]
        done = [line for line in lines if not line.startswith("+")]
        assert done == [tag(life, n) for n in range(len(done))]
        begun = len(lines) - len(done)
        assert begun in (len(done), len(done) + 1)
        return len(done), begun > len(done)

    def wait_until_begun(self, life: int, written: int) -> None:
        """Wait until life ``life`` has begun its first transaction: its mark follows the
        ``written`` bytes the acknowledgements held before it was forked."""
        first = f"+{tag(life, 0)}\n".encode()
        deadline = time.monotonic() + 60
        while True:
            if self.acks.exists():
                with self.acks.open("rb") as acks:
                    acks.seek(written)
                    if first in acks.read():
                        return
            assert time.monotonic() < deadline, f"life {life} never began a transaction"
            time.sleep(0.001)

    def check_life(self, life: int) -> None:
        """After the kill of life ``life``: reopen and check everything it did."""
        acked, inside = self.acknowledged(life)
        with open_store(self.url) as store:
            in_flight = state(store, life, acked)
            assert state(store, life, acked + 1) == "absent"
            committed = acked + (in_flight == "complete")
            erased = {v for n in range(committed) if (v := victim(n)) is not None}
            for n in range(acked):
                assert state(store, life, n) == ("absent" if n in erased else "complete"), n
            counter = store.customers.get(self.counter)
            assert counter.version == 1 + self.committed + committed
            if committed:
                assert counter.segment == tag(life, committed - 1)
            # The store accepts writes.
            probe = store.customers.add(Customer.new(f"Probe {life}", clock=self.clock))
            store.customers.save(probe.with_profile(segment="probe"))
            self.check_feed(store, life, committed, probe.id)
        self.committed += committed
        self.forgotten += len(erased)
        self.probes += 1
        self.present.update({tag(life, n): n for n in range(committed) if n not in erased})
        self.figures["kills"] += 1
        self.figures["acknowledged"] += acked
        if inside:
            self.figures["inside a transaction"] += 1
            self.figures["committed, not yet acknowledged"] += in_flight == "complete"
        else:
            assert in_flight == "absent"

    def check_feed(self, store: Store, life: int, committed: int, probe: uuid.UUID) -> None:
        """The entries since the last check are exactly those of what committed since."""
        expected: list[Entry] = []
        erased: set[uuid.UUID] = set()
        for n in range(committed):
            cid, iids, kid = ids_of(tag(life, n), n)
            expected += [
                ("customer", "add", cid, cid, 1),
                *(("interaction", "add", i, cid, 1) for i in iids),
                ("case", "add", kid, cid, 1),
                ("interaction", "save", iids[0], cid, 2),
                ("customer", "save", cid, cid, 2),
                ("customer", "save", self.counter, self.counter, 2 + self.committed + n),
            ]
            if (v := victim(n)) is not None:
                gone = ids_of(tag(life, v), v)[0]
                expected.append(("customer", "forget", gone, gone, None))
                erased.add(gone)
        expected += [("customer", "add", probe, probe, 1), ("customer", "save", probe, probe, 2)]
        numbered = [(self.position + k, *e) for k, e in enumerate(expected, start=1)]
        kept = [e for e in numbered if e[4] not in erased or e[2] == "forget"]
        got = [
            (e.position, e.kind, e.action, e.record_id, e.customer_id, e.version)
            for e in store.events.since(self.position)
        ]
        assert got == kept
        self.position += len(expected)
        assert store.events.latest() == self.position

    def check_all(self) -> None:
        """Read the whole store: the data is what was committed, and the feed agrees with it."""
        with open_store(self.url) as store:
            customers = {c.id: c for c in store.customers.all()}
            interactions = defaultdict(list)
            for i in store.interactions.all():
                interactions[i.customer_id].append(i)
            cases = defaultdict(list)
            for k in store.cases.all():
                cases[k.customer_id].append(k)
            tags = {c.name for c in customers.values() if c.name.startswith("L")}
            assert tags == set(self.present)
            assert len(customers) == 1 + self.probes + len(self.present)
            for t, n in self.present.items():
                cid, iids, kid = ids_of(t, n)
                assert sorted(i.id for i in interactions[cid]) == sorted(iids)
                assert [k.id for k in cases[cid]] == [kid]
            assert store.interactions.count() == sum(size(n) for n in self.present.values())
            assert store.cases.count() == len(self.present)
            assert customers[self.counter].version == 1 + self.committed
            feed_agrees_with_data(store, customers, interactions, cases, self.forgotten)
            assert store.events.latest() == self.position

    def summary(self, backend: str) -> str:
        f = self.figures
        return (
            f"{backend}: {f['kills']} SIGKILLs survived; {f['acknowledged']} acknowledged "
            f"transactions, every one found whole; {f['inside a transaction']} kills inside a "
            f"transaction, of which {f['committed, not yet acknowledged']} after it had "
            f"committed (found whole) and the rest before (found absent); "
            f"{self.committed} committed, {self.forgotten} of them later forgotten; "
            f"feed checked to position {self.position}; seed {SEED}"
        )


def state(store: Store, life: int, n: int) -> str:
    """``"complete"`` or ``"absent"``: transaction ``n`` of ``life`` is never partly stored."""
    t = tag(life, n)
    cid, iids, kid = ids_of(t, n)
    lookups: list[tuple[Any, uuid.UUID]] = [
        (store.customers, cid),
        *((store.interactions, i) for i in iids),
        (store.cases, kid),
    ]
    found: list[Any] = []
    for repository, record_id in lookups:
        try:
            found.append(repository.get(record_id))
        except NotFound:
            found.append(None)
    if all(f is None for f in found):
        return "absent"
    assert None not in found, f"transaction {t} is partly stored: {found}"
    customer, *calls, case = found
    assert (customer.name, customer.segment, customer.version) == (t, t, 2)
    assert (calls[0].stage, calls[0].version) == (InteractionStage.RECEIVING, 2)
    assert [c.version for c in calls[1:]] == [1] * (len(calls) - 1)
    assert case.version == 1
    return "complete"


def feed_agrees_with_data(
    store: Store,
    customers: dict[uuid.UUID, Any],
    interactions: dict[uuid.UUID, list[Any]],
    cases: dict[uuid.UUID, list[Any]],
    forgotten: int,
) -> None:
    """Each stored record has its add entry and one save entry per version, in order;
    every other entry is a forget, naming a customer no longer stored."""
    records = {("customer", c.id): c for c in customers.values()}
    records.update({("interaction", i.id): i for rows in interactions.values() for i in rows})
    records.update({("case", k.id): k for rows in cases.values() for k in rows})
    versions: dict[tuple[str, uuid.UUID], list[int]] = defaultdict(list)
    positions = []
    forgets = 0
    for e in store.events.since(0):
        positions.append(e.position)
        if e.action == "forget":
            forgets += 1
            assert e.customer_id not in customers
            continue
        record = records.get((e.kind, e.record_id))
        assert record is not None, e
        assert e.customer_id == (record.id if e.kind == "customer" else record.customer_id)
        versions[(e.kind, e.record_id)].append(e.version)
    assert positions == sorted(set(positions))
    assert forgets == forgotten
    for key, record in records.items():
        assert versions[key] == list(range(1, record.version + 1)), key


def run(zygote: Zygote, ledger: Ledger, databases: Databases) -> None:
    """Writer lives, each killed after a random delay, until the engine's number of kills
    have landed inside a transaction; writers take turns with the URL's options the
    engine's plan lists.

    The delay runs from the writer's first transaction (opening the store can take longer
    than a whole transaction on a busy machine) and is up to the plan's longest, or up to
    the time the writers have been taking for ten transactions if that is longer, so that
    most kills land among the transactions. Kills while a store opens are the schema
    tests' below.
    """
    backend = databases.engine
    plan = PLANS[backend]
    delays = random.Random(f"{SEED}-{backend}")
    alive = 0.0
    life = 0
    while (inside := ledger.figures["inside a transaction"]) < plan.kills:
        assert life < 4 * plan.kills, f"only {inside} of {life} kills landed in a transaction"
        acks, counter = str(ledger.acks), str(ledger.counter)
        done = ledger.figures["acknowledged"]
        upper = max(plan.longest, 10 * alive / done) if done else plan.longest
        url = ledger.url + plan.options[life % len(plan.options)]
        began = time.time()
        written = ledger.acks.stat().st_size if ledger.acks.exists() else 0
        pid = zygote.fork(do="write", url=url, life=life, acks=acks, counter=counter)
        ledger.wait_until_begun(life, written)
        delay = delays.uniform(0, upper)
        time.sleep(delay)
        zygote.kill(pid)
        databases.settle(began)
        alive += delay
        ledger.check_life(life)
        life += 1
    ledger.check_all()
    assert ledger.figures["acknowledged"] > 0
    print(ledger.summary(backend))


@pytest.mark.slow
def test_survives_writers_killed_at_random(
    zygote: Zygote, databases: Databases, tmp_path: Path
) -> None:
    ledger = Ledger(databases.fresh(), tmp_path / "acks")
    run(zygote, ledger, databases)


# --- schema changes killed half way --------------------------------------------------------


def wait_for(marker: Path) -> str:
    """What the child marked once it reached the point to kill it at."""
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert time.monotonic() < deadline, "the child never reached the point to kill it at"
        time.sleep(0.01)
    return marker.read_text()


def layout(store: Store) -> dict[str, tuple[set[str], set[str]]]:
    """Each table of ``store`` with its columns and its indexes, as the database has them."""
    assert isinstance(store, SqlStore)
    with store.sql_snapshot() as snapshot:
        inspector = sa.inspect(snapshot.connection)
        schema = next(iter(snapshot.tables.values())).schema
        return {
            name: (
                {c["name"] for c in inspector.get_columns(name, schema=schema)},
                {str(i["name"]) for i in inspector.get_indexes(name, schema=schema)},
            )
            for name in inspector.get_table_names(schema=schema)
        }


def test_migration_killed_half_way_leaves_the_old_schema_version(
    zygote: Zygote, databases: Databases, tmp_path: Path
) -> None:
    url = databases.fresh()
    clock = FixedClock(T0)
    with open_store(url) as store:
        ada = store.customers.add(Customer.new("Ada", clock=clock))
    marker = tmp_path / "migrating"
    began = time.time()
    pid = zygote.fork(do="migrate", url=url, marker=str(marker))
    assert wait_for(marker) == "stalled"  # the step has added a column; it now stalls
    zygote.kill(pid)
    databases.settle(began)
    with open_store(url) as store:  # a newer version recorded, it would refuse to open
        assert isinstance(store, SqlStore)
        with store.sql_snapshot() as snapshot:
            recorded = store.driver.read_version(snapshot.connection, snapshot.tables)
        assert recorded == VERSION
        assert store.customers.get(ada.id) == ada
        # The step's own change is undone too, unless the engine commits each on its own.
        kept = "note" in layout(store)["customers"][0]
        assert kept == (not PLANS[databases.engine].transactional_ddl)
        store.customers.add(Customer.new("Bob", clock=clock))
        assert store.customers.count() == 2


@pytest.mark.slow
def test_creating_a_store_killed_at_any_step_leaves_one_that_opens_whole(
    zygote: Zygote, databases: Databases, tmp_path: Path
) -> None:
    """Killed before each statement of the creation in turn, then before its commit: the
    next open finds the database empty or partly made, and gives a complete, empty store,
    every table, column and index there, the change feed at 0."""
    wanted = {
        t.name: ({c.name for c in t.columns}, {str(i.name) for i in t.indexes})
        for t in metadata().tables.values()
    }
    clock = FixedClock(T0)
    stall = 0
    while True:
        url = databases.fresh()
        marker = tmp_path / f"creating-{stall}"
        began = time.time()
        pid = zygote.fork(do="create", url=url, marker=str(marker), stall=stall)
        reached = wait_for(marker)
        zygote.kill(pid)
        databases.settle(began)
        with open_store(url) as store:
            found = layout(store)
            for name, (columns, indexes) in wanted.items():
                assert name in found, (stall, name)
                assert columns == found[name][0], (stall, name)
                assert indexes <= found[name][1], (stall, name)
            assert (store.customers.count(), store.events.latest()) == (0, 0), stall
            ada = store.customers.add(Customer.new("Ada", clock=clock))
            assert [e.position for e in store.events.since(0)] == [1]
            assert store.customers.get(ada.id) == ada
        if reached == "opened":
            break
        assert reached == "stalled"
        stall += 1
    print(f"{databases.engine}: creation killed at each of its {stall} steps")
    assert stall > len(wanted)  # every table took at least one step
