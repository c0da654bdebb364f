"""Stores written by custservice 0.1.0 open, upgrade in one transaction, and lose nothing.

The 0.1.0 fixtures are made here, not kept as files: the release's source is
taken from its commit with ``git archive`` and run in a subprocess, where its
own demo fills a SQLite file and a PostgreSQL schema and a forget leaves
gaps in the change feed. The old code then writes down every record (in its
``to_dict`` form) and the feed. This version opens the store and must read
back equal records, the same feed positions, a counter that goes on from
where it was, and typed columns filled from the records. A process killed
in the middle of the upgrade must leave the old schema as it was, readable by
0.1.0.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import attrs
import pendulum
import pytest
import sqlalchemy as sa

from custservice import (
    Case,
    Channel,
    Customer,
    FixedClock,
    Interaction,
    Priority,
    from_dict,
    open_store,
)
from custservice.storage.sql import VERSION
from custservice.storage.sql.rows import row

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "1e03bfb56bc4d880a4e527fc6588aff30391ccbf"
"""The commit that released 0.1.0."""
KINDS = {"customers": Customer, "interactions": Interaction, "cases": Case}

# Run by 0.1.0: fill the store with its simulation, forget two customers, write it all down.
_WRITE = textwrap.dedent(
    """
    import json, sys
    from custservice import to_dict
    from custservice.simulation import simulate

    def opened(url):  # 0.1.0's own backends, whatever the entry points name now
        if url.startswith("sqlite"):
            from custservice.storage.sqlite import open_sqlite_store
            return open_sqlite_store(url)
        from custservice.storage.postgres import open_postgres_store
        return open_postgres_store(url)

    url, out = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        with opened(url) as store:
            simulate(store, customers=40, months=3, seed=7)
            for customer in list(store.customers.all())[:2]:
                store.forget(customer.id)
    with opened(url) as store:
        dump = {
            kind: [to_dict(r) for r in getattr(store, kind).all()]
            for kind in ("customers", "interactions", "cases")
        }
        dump["events"] = [
            [e.position, e.kind, e.action, str(e.record_id), str(e.customer_id), e.version]
            for e in store.events.since(0)
        ]
        dump["latest"] = store.events.latest()
    with open(out, "w") as f:
        json.dump(dump, f)
    """
)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 0.1.0 source tree, taken from its commit."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", RELEASE, "src"],
        capture_output=True,
    )
    if archive.returncode != 0:
        pytest.fail(
            f"the 0.1.0 commit {RELEASE[:12]} is not in this clone (fetch the whole history): "
            + archive.stderr.decode(errors="replace").strip()
        )
    target = tmp_path_factory.mktemp("release-0.1.0")
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


def run_release(release: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the 0.1.0 writer script in a subprocess that imports the release's source."""
    env = {**os.environ, "PYTHONPATH": str(release)}
    result = subprocess.run(
        [sys.executable, "-c", _WRITE, *args], env=env, capture_output=True, text=True
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def written_by_release(release: Path, url: str, tmp_path: Path) -> dict[str, Any]:
    """Fill a store with 0.1.0 and return what it wrote down."""
    out = tmp_path / "before.json"
    run_release(release, url, str(out), "fill")
    data: dict[str, Any] = json.loads(out.read_text())
    assert data["customers"]
    assert data["interactions"]
    assert data["cases"]
    return data


def assert_reads_back(url: str, before: dict[str, Any]) -> None:
    """The store, upgraded, holds exactly what 0.1.0 wrote, and goes on from there."""
    with open_store(url) as store:
        for kind, cls in KINDS.items():
            read = list(getattr(store, kind).all())
            assert read == [from_dict(cls, d) for d in before[kind]], kind
        events = [
            [e.position, e.kind, e.action, str(e.record_id), str(e.customer_id), e.version]
            for e in store.events.since(0)
        ]
        assert events == before["events"]
        assert store.events.latest() == before["latest"]
        # The counter goes on from where 0.1.0 left it: no position is reused.
        customer = store.customers.get(uuid.UUID(before["customers"][0]["id"]))
        store.customers.save(customer)
        assert [e.position for e in store.events.since(before["latest"])] == [before["latest"] + 1]
        with store.sql_snapshot() as snapshot:
            check_typed_columns(snapshot.connection, snapshot.tables, store)


def check_typed_columns(conn: sa.Connection, tables: Any, store: Any) -> None:
    """Every typed column holds what this version derives from the record."""
    for kind in KINDS:
        table = tables[kind]
        stored = {str(r.id): r for r in getattr(store, kind).all()}
        typed = [c for c in table.columns if c.name not in ("data",)]
        for found in conn.execute(sa.select(*typed)).mappings():
            record = stored[str(found["id"])]
            expected = row(record, record.version)
            for column in typed:
                if column.name in ("id", "customer_id", "case_id"):
                    continue
                assert found[column.name] == expected[column.name], (kind, column.name)


def test_a_sqlite_file_of_0_1_0_is_upgraded_with_nothing_lost(
    release: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    before = written_by_release(release, url, tmp_path)
    assert_reads_back(url, before)
    with open_store(url) as store, store.sql_snapshot() as snapshot:
        version = snapshot.connection.exec_driver_sql("PRAGMA user_version").scalar_one()
    assert version == VERSION


def kill_mid_upgrade(url: str) -> None:
    """Open ``url`` in a process that dies, without cleaning up, while filling typed columns."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from custservice import open_store
        from custservice.storage.sql import migrations
        fill = migrations._fill
        def dying(conn, table, *args, **kwargs):
            fill(conn, table, *args, **kwargs)
            if table.name == "interactions":
                os.kill(os.getpid(), signal.SIGKILL)
        migrations._fill = dying
        open_store({url!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr


def test_a_sqlite_upgrade_killed_midway_leaves_the_0_1_0_file_intact(
    release: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    before = written_by_release(release, url, tmp_path)
    kill_mid_upgrade(url)
    after = tmp_path / "after.json"
    run_release(release, url, str(after))  # 0.1.0 still opens it and reads the same
    assert json.loads(after.read_text()) == before
    assert_reads_back(url, before)  # and the next open upgrades it


@pytest.mark.postgres
def test_a_postgresql_schema_of_0_1_0_is_upgraded_with_nothing_lost(
    release: Path, tmp_path: Path, pg_url: str
) -> None:
    before = written_by_release(release, pg_url, tmp_path)
    assert_reads_back(pg_url, before)


@pytest.mark.postgres
def test_a_postgresql_upgrade_killed_midway_leaves_the_0_1_0_schema_intact(
    release: Path, tmp_path: Path, pg_url: str
) -> None:
    before = written_by_release(release, pg_url, tmp_path)
    kill_mid_upgrade(pg_url)
    after = tmp_path / "after.json"
    run_release(release, pg_url, str(after))
    assert json.loads(after.read_text()) == before
    assert_reads_back(pg_url, before)


# --- schema version 2 (typed columns, before the desk's) ---------------------------------------

DESK_COLUMNS = {"cases": ("priority", "channel", "assignee", "team"), "interactions": ("team",)}
"""The typed columns schema version 3 added."""
DESK_INDEXES = ("cases_assignee", "cases_team", "cases_priority")
DESK_KEYS = {
    "cases": (
        "priority",
        "channel",
        "assignee",
        "team",
        "tags",
        "attributes",
        "assignments",
        "priority_changes",
    ),
    "interactions": ("team", "tags", "attributes"),
}
"""The keys the stored form gained with the desk: records written before have none."""


class Database:
    """Plain SQL on a store's database, whatever the driver's parameter style."""

    def __init__(self, conn: Any, mark: str, qualify: Callable[[str], str]) -> None:
        self.conn, self.mark, self.qualify = conn, mark, qualify

    def run(self, sql: str, *params: object) -> list[Any]:
        cursor = self.conn.execute(sql.replace("?", self.mark), params)
        rows = cursor.fetchall() if cursor.description else []
        return list(rows)


def as_schema_2(db: Database) -> None:
    """Take a current store back to what schema version 2 held: no desk columns or
    indexes, records stored without the desk's keys, version 2 recorded."""
    for index in DESK_INDEXES:
        db.run(f"DROP INDEX {db.qualify(index)}")
    for table, columns in DESK_COLUMNS.items():
        for column in columns:
            db.run(f"ALTER TABLE {db.qualify(table)} DROP COLUMN {column}")
        for rid, text in db.run(f"SELECT id, data FROM {db.qualify(table)}"):
            data = {k: v for k, v in json.loads(text).items() if k not in DESK_KEYS[table]}
            stripped = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            db.run(f"UPDATE {db.qualify(table)} SET data = ? WHERE id = ?", stripped, rid)
    db.run(f"UPDATE {db.qualify('custservice_meta')} SET value = '2' WHERE key = 'schema_version'")


def fill_desk(url: str) -> dict[str, list[Any]]:
    """A store with a customer, interactions and cases that use every desk field."""
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))
    with open_store(url) as store:
        ada = store.customers.add(Customer.new("Ada", clock=clock))
        call = Interaction.open(ada.id, Channel.CHAT, clock=clock, team="tier 2", tags={"vip"})
        case = Case.open(
            ada.id,
            "Refund",
            clock=clock,
            channel=Channel.EMAIL,
            team="billing",
            attributes={"due": pendulum.date(2026, 3, 9)},
        )
        case = case.assign("ana", at=clock.now()).reprioritize(Priority.HIGH, at=clock.now())
        plain = Case.open(ada.id, "Login", clock=clock)
        store.interactions.add(call)
        store.cases.add_many([case, plain])
        return {kind: list(getattr(store, kind).all()) for kind in KINDS}


def assert_upgraded_from_2(url: str, stored: dict[str, list[Any]]) -> None:
    """Every record reads as it was stored before the desk (the new fields at their
    defaults), the desk's columns and indexes exist and are filled from the records."""
    with open_store(url) as store:
        for kind in ("interactions", "cases"):
            for before, after in zip(stored[kind], getattr(store, kind).all(), strict=True):
                defaults = {k: attrs.fields_dict(type(before))[k].default for k in DESK_KEYS[kind]}
                assert after == attrs.evolve(before, **defaults)
        with store.sql_snapshot() as snapshot:
            conn = snapshot.connection
            check_typed_columns(conn, snapshot.tables, store)
            cases = snapshot.tables["cases"]
            assert conn.execute(sa.select(cases.c.priority)).scalars().all() == ["normal"] * 2
            inspector = sa.inspect(conn)
            names = {i["name"] for i in inspector.get_indexes("cases", schema=cases.schema)}
            assert set(DESK_INDEXES) <= names
            assert store.driver.read_version(conn, snapshot.tables) == VERSION
        # From here on a desk's fields are stored and their columns written.
        plain = stored["cases"][1]
        saved = store.cases.save(store.cases.get(plain.id).assign("bo", at=plain.opened_at))
        with store.sql_snapshot() as snapshot:
            cases = snapshot.tables["cases"]
            row = snapshot.connection.execute(
                sa.select(cases.c.assignee, cases.c.priority).where(cases.c.id == str(saved.id))
            ).one()
            assert tuple(row) == ("bo", "normal")


def test_a_sqlite_file_of_schema_2_is_upgraded_with_the_desk_columns_filled(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "two.db"
    stored = fill_desk(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    as_schema_2(Database(conn, "?", lambda name: name))
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    assert_upgraded_from_2(f"sqlite:///{path}", stored)


@pytest.mark.postgres
def test_a_postgresql_schema_of_schema_2_is_upgraded_with_the_desk_columns_filled(
    pg_admin: Any, pg_schema: str, pg_url: str
) -> None:
    stored = fill_desk(pg_url)
    as_schema_2(Database(pg_admin, "%s", lambda name: f'"{pg_schema}".{name}'))
    assert_upgraded_from_2(pg_url, stored)
