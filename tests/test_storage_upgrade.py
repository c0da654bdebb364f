"""Stores written by custservice 0.1.0, and by the schema versions since, open, upgrade in
one transaction, and lose nothing.

The 0.1.0 fixtures are made here, not kept as files: the release's source is
taken from its commit with ``git archive`` and run in a subprocess, where its
own demo fills a SQLite file and a PostgreSQL schema and a forget leaves
gaps in the change feed. The old code then writes down every record (in its
``to_dict`` form) and the feed. This version opens the store and must read
back equal records, the same feed positions, a counter that goes on from
where it was, and typed columns filled from the records. A process killed
in the middle of the upgrade must leave the old schema as it was, readable by
0.1.0.

Stores of schema version 3 (the desk's, before tenants) are written the same
way by the source of the last commit that wrote that version; version 2 is
that store with the desk's columns and keys taken out again.
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
    Customer,
    FixedClock,
    Interaction,
    NotFound,
    from_dict,
    open_store,
)
from custservice.storage.sql import VERSION
from custservice.storage.sql.rows import row

ROOT = Path(__file__).resolve().parent.parent
RELEASE = "1e03bfb56bc4d880a4e527fc6588aff30391ccbf"
"""The commit that released 0.1.0."""
SCHEMA_3 = "9668fbb10ebc8adacc00194a5ad8f55306b26894"
"""The last commit that wrote schema version 3 (the desk's, before tenants)."""
KINDS = {"customers": Customer, "interactions": Interaction, "cases": Case}

# Run by the old code: everything a store holds, written down.
_WRITTEN_DOWN = textwrap.dedent(
    """
    import json, sys
    from custservice import to_dict

    def written_down(store, out):
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

# Run by 0.1.0: fill the store with its simulation, forget two customers, write it all down.
_WRITE = _WRITTEN_DOWN + textwrap.dedent(
    """
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
        written_down(store, out)
    """
)


def source_tree(tmp_path_factory: pytest.TempPathFactory, commit: str, what: str) -> Path:
    """The library's source as ``commit`` had it."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "src"],
        capture_output=True,
    )
    if archive.returncode != 0:
        pytest.fail(
            f"the {what} commit {commit[:12]} is not in this clone (fetch the whole history): "
            + archive.stderr.decode(errors="replace").strip()
        )
    target = tmp_path_factory.mktemp(what.replace(" ", "-"))
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(target, filter="data")
    return target / "src"


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 0.1.0 source tree, taken from its commit."""
    return source_tree(tmp_path_factory, RELEASE, "0.1.0")


@pytest.fixture(scope="module")
def schema_3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The source tree of the last commit that wrote schema version 3."""
    return source_tree(tmp_path_factory, SCHEMA_3, "schema 3")


def run_release(
    release: Path, *args: str, check: bool = True, script: str = _WRITE
) -> subprocess.CompletedProcess[str]:
    """Run a writer script (0.1.0's by default) in a subprocess that imports ``release``."""
    env = {**os.environ, "PYTHONPATH": str(release)}
    result = subprocess.run(
        [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
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
            assert found["tenant"] == ""  # upgraded records are of no tenant
            for column in typed:
                if column.name in ("id", "customer_id", "case_id", "tenant"):
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
        # Read whole to fill the typed columns, each row was written in the short form.
        texts = [
            text
            for table in ("customers", "interactions", "cases")
            for text in snapshot.connection.exec_driver_sql(f"SELECT data FROM {table}").scalars()
        ]
    assert version == VERSION
    assert texts
    assert not any({"id", "customer_id", "version"} & json.loads(text).keys() for text in texts)


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


# Run by the schema-3 source: a customer, interactions and cases using every desk field.
_FILL_DESK = _WRITTEN_DOWN + textwrap.dedent(
    """
    import pendulum
    from custservice import Case, Channel, Customer, FixedClock, Interaction, Priority
    from custservice import open_store

    url, out = sys.argv[1], sys.argv[2]
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))
    with open_store(url) as store:
        ada = store.customers.add(Customer.new("Ada", clock=clock))
        call = Interaction.open(ada.id, Channel.CHAT, clock=clock, team="tier 2", tags={"vip"})
        case = Case.open(
            ada.id, "Refund", clock=clock, channel=Channel.EMAIL, team="billing",
            attributes={"due": pendulum.date(2026, 3, 9)},
        )
        case = case.assign("ana", at=clock.now()).reprioritize(Priority.HIGH, at=clock.now())
        plain = Case.open(ada.id, "Login", clock=clock)
        store.interactions.add(call)
        store.cases.add_many([case, plain])
        written_down(store, out)
    """
)


def fill_desk(schema_3: Path, url: str, tmp_path: Path) -> dict[str, Any]:
    """A store of schema version 3, written by its source, and what it holds."""
    out = tmp_path / "desk.json"
    run_release(schema_3, url, str(out), script=_FILL_DESK)
    dump: dict[str, Any] = json.loads(out.read_text())
    return {
        **{kind: [from_dict(cls, d) for d in dump[kind]] for kind, cls in KINDS.items()},
        "events": dump["events"],
    }


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
    schema_3: Path, tmp_path: Path
) -> None:
    import sqlite3

    path = tmp_path / "two.db"
    stored = fill_desk(schema_3, f"sqlite:///{path}", tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    as_schema_2(Database(conn, "?", lambda name: name))
    conn.execute("PRAGMA user_version = 2")
    conn.close()
    assert_upgraded_from_2(f"sqlite:///{path}", stored)


@pytest.mark.postgres
def test_a_postgresql_schema_of_schema_2_is_upgraded_with_the_desk_columns_filled(
    schema_3: Path, tmp_path: Path, pg_admin: Any, pg_schema: str, pg_url: str
) -> None:
    stored = fill_desk(schema_3, pg_url, tmp_path)
    as_schema_2(Database(pg_admin, "%s", lambda name: f'"{pg_schema}".{name}'))
    assert_upgraded_from_2(pg_url, stored)


# --- schema version 3 (the desk's, before tenants) --------------------------------------------


def assert_upgraded_from_3(url: str, stored: dict[str, Any]) -> None:
    """Every record and feed entry reads back as the records of no tenant; the tenant leads
    every key and index; tenants' records can be written next to them."""
    with open_store(url) as store:
        for kind in KINDS:
            assert list(getattr(store, kind).all()) == stored[kind], kind
        events = [
            [e.position, e.kind, e.action, str(e.record_id), str(e.customer_id), e.version]
            for e in store.events.since(0)
        ]
        assert events == stored["events"]
        assert {e.tenant for e in store.events.since(0)} == {None}
        with store.sql_snapshot() as snapshot:
            conn = snapshot.connection
            assert store.driver.read_version(conn, snapshot.tables) == VERSION
            inspector = sa.inspect(conn)
            schema = snapshot.tables["customers"].schema
            for name in KINDS:
                key = inspector.get_pk_constraint(name, schema=schema)["constrained_columns"]
                assert key == ["tenant", "id"], name
                for index in inspector.get_indexes(name, schema=schema):
                    assert index["column_names"][0] == "tenant", (name, index["name"])
            check_typed_columns(conn, snapshot.tables, store)
        ada = stored["customers"][0]
        north = store.scoped("north")
        north.customers.add(ada)  # the same id, another tenant's
        with pytest.raises(NotFound):
            north.cases.get(stored["cases"][0].id)
        assert store.customers.get(ada.id) == ada  # the records of no tenant come first
        assert store.customers.count() == 2


def test_a_sqlite_file_of_schema_3_is_upgraded_to_tenants_with_nothing_lost(
    schema_3: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'three.db'}"
    assert_upgraded_from_3(url, fill_desk(schema_3, url, tmp_path))


@pytest.mark.postgres
def test_a_postgresql_schema_of_schema_3_is_upgraded_to_tenants_with_nothing_lost(
    schema_3: Path, tmp_path: Path, pg_url: str
) -> None:
    assert_upgraded_from_3(pg_url, fill_desk(schema_3, pg_url, tmp_path))


def test_a_mariadb_database_of_schema_3_is_upgraded_to_tenants_with_nothing_lost(
    schema_3: Path, tmp_path: Path, mysql_url: str
) -> None:
    assert_upgraded_from_3(mysql_url, fill_desk(schema_3, mysql_url, tmp_path))


def kill_mid_tenants_upgrade(url: str, after: int) -> None:
    """Open ``url`` in a process that dies, without cleaning up, in the upgrade to tenants:
    just before its ``after``-th index drop (a record table or two already rebuilt)."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from custservice import open_store
        from custservice.storage.sql import migrations
        drop = migrations._drop_index
        calls = []
        def dying(*args):
            calls.append(args)
            if len(calls) == {after}:
                os.kill(os.getpid(), signal.SIGKILL)
            drop(*args)
        migrations._drop_index = dying
        open_store({url!r})
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.parametrize("after", [2, 6])
@pytest.mark.parametrize("engine", ["sqlite", "postgresql", "mariadb"])
def test_an_upgrade_to_tenants_killed_midway_is_finished_by_the_next_open(
    schema_3: Path, tmp_path: Path, request: pytest.FixtureRequest, engine: str, after: int
) -> None:
    """Where schema changes are transactional the kill leaves version 3 as it was; where
    each commits on its own (MariaDB) it leaves some tables rebuilt: either way the next
    open finishes the upgrade with nothing lost."""
    url = {
        "sqlite": lambda: f"sqlite:///{tmp_path / 'three.db'}",
        "postgresql": lambda: request.getfixturevalue("pg_url"),
        "mariadb": lambda: request.getfixturevalue("mysql_url"),
    }[engine]()
    stored = fill_desk(schema_3, url, tmp_path)
    kill_mid_tenants_upgrade(url, after)
    assert_upgraded_from_3(url, stored)


# --- schema version 4 (tenants, before a case's merged_into) ------------------------------

MERGE_KEYS = ("pipeline", "links", "merges")
"""The keys a case's stored form gained with pipelines, links and merges."""


def fill_merged(url: str) -> dict[str, Case]:
    """A store with a case merged into another, and a case stored as schema 4 wrote it."""
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))
    with open_store(url) as store:
        ada = store.customers.add(Customer.new("Ada", clock=clock))
        first = Case.open(ada.id, "Parcel lost", clock=clock)
        again = Case.open(ada.id, "Where is my parcel?", clock=clock).link(first.id, "duplicate")
        again = again.merge_into(first.id, at=clock.now())
        plain = Case.open(ada.id, "Login", clock=clock)
        store.cases.add_many([first, again, plain])
        return {"first": first, "again": store.cases.get(again.id), "plain": plain}


def as_schema_4(db: Database, plain: Case) -> None:
    """Take a current store back to schema version 4: no ``merged_into`` column or index,
    ``plain`` stored without the keys pipelines, links and merges added."""
    db.run(f"DROP INDEX {db.qualify('cases_merged_into')}")
    db.run(f"ALTER TABLE {db.qualify('cases')} DROP COLUMN merged_into")
    ((text,),) = db.run(f"SELECT data FROM {db.qualify('cases')} WHERE id = ?", str(plain.id))
    data = {k: v for k, v in json.loads(text).items() if k not in MERGE_KEYS}
    stripped = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    db.run(f"UPDATE {db.qualify('cases')} SET data = ? WHERE id = ?", stripped, str(plain.id))
    db.run(f"UPDATE {db.qualify('custservice_meta')} SET value = '4' WHERE key = 'schema_version'")


def assert_upgraded_from_4(url: str, stored: dict[str, Case]) -> None:
    """Every case reads as stored (the one stored without the new keys with their
    defaults), and ``merged_into`` is filled from the records."""
    with open_store(url) as store:
        for case in stored.values():
            assert store.cases.get(case.id) == attrs.evolve(case, version=1)
        with store.sql_snapshot() as snapshot:
            conn = snapshot.connection
            check_typed_columns(conn, snapshot.tables, store)
            cases = snapshot.tables["cases"]
            merged = conn.execute(
                sa.select(cases.c.id, cases.c.merged_into).where(cases.c.merged_into.is_not(None))
            ).all()
            assert [(str(a), str(b)) for a, b in merged] == [
                (str(stored["again"].id), str(stored["first"].id))
            ]
            names = {i["name"] for i in sa.inspect(conn).get_indexes("cases", schema=cases.schema)}
            assert "cases_merged_into" in names
            assert store.driver.read_version(conn, snapshot.tables) == VERSION


def test_a_sqlite_file_of_schema_4_is_upgraded_with_merged_into_filled(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "four.db"
    stored = fill_merged(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    as_schema_4(Database(conn, "?", lambda name: name), stored["plain"])
    conn.execute("PRAGMA user_version = 4")
    conn.close()
    assert_upgraded_from_4(f"sqlite:///{path}", stored)


@pytest.mark.postgres
def test_a_postgresql_schema_of_schema_4_is_upgraded_with_merged_into_filled(
    pg_admin: Any, pg_schema: str, pg_url: str
) -> None:
    stored = fill_merged(pg_url)
    as_schema_4(Database(pg_admin, "%s", lambda name: f'"{pg_schema}".{name}'), stored["plain"])
    assert_upgraded_from_4(pg_url, stored)


# --- schema version 5 (before a case's reply and resolution times and the tags) ------------


def fill_measured(url: str) -> dict[str, Any]:
    """A store with a case replied to and solved, tagged, and a tagged interaction."""
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/London"))
    with open_store(url) as store:
        ada = store.customers.add(Customer.new("Ada", clock=clock))
        case = Case.open(ada.id, "Refund", clock=clock, tags={"vip", "refund"})
        case = case.record_update(at=clock.advance(pendulum.duration(minutes=20)))
        case = case.advance("solve", at=clock.advance(pendulum.duration(hours=2)))
        call = Interaction.open(ada.id, "chat", clock=clock, tags={"bug"})
        store.cases.add(case)
        store.interactions.add(call)
        return {"case": store.cases.get(case.id), "call": store.interactions.get(call.id)}


def as_schema_5(db: Database) -> None:
    """Take a current store back to schema version 5: no ``first_reply``, ``resolution`` or
    ``tags`` on cases, no ``tags`` on interactions."""
    for table, column in (
        ("cases", "first_reply"),
        ("cases", "resolution"),
        ("cases", "tags"),
        ("interactions", "tags"),
    ):
        db.run(f"ALTER TABLE {db.qualify(table)} DROP COLUMN {column}")
    db.run(f"UPDATE {db.qualify('custservice_meta')} SET value = '5' WHERE key = 'schema_version'")


def assert_upgraded_from_5(url: str, stored: dict[str, Any]) -> None:
    """The records read as stored, and the new columns are filled from them."""
    with open_store(url) as store:
        assert store.cases.get(stored["case"].id) == stored["case"]
        assert store.interactions.get(stored["call"].id) == stored["call"]
        with store.sql_snapshot() as snapshot:
            conn = snapshot.connection
            check_typed_columns(conn, snapshot.tables, store)
            cases = snapshot.tables["cases"]
            found = conn.execute(
                sa.select(cases.c.first_reply, cases.c.resolution, cases.c.tags)
            ).one()
            assert tuple(found) == (20 * 60_000_000, 140 * 60_000_000, '["refund","vip"]')
            assert store.driver.read_version(conn, snapshot.tables) == VERSION


def test_a_sqlite_file_of_schema_5_is_upgraded_with_the_new_columns_filled(
    tmp_path: Path,
) -> None:
    import sqlite3

    path = tmp_path / "five.db"
    stored = fill_measured(f"sqlite:///{path}")
    conn = sqlite3.connect(path, isolation_level=None)
    as_schema_5(Database(conn, "?", lambda name: name))
    conn.execute("PRAGMA user_version = 5")
    conn.close()
    assert_upgraded_from_5(f"sqlite:///{path}", stored)


@pytest.mark.postgres
def test_a_postgresql_schema_of_schema_5_is_upgraded_with_the_new_columns_filled(
    pg_admin: Any, pg_schema: str, pg_url: str
) -> None:
    stored = fill_measured(pg_url)
    as_schema_5(Database(pg_admin, "%s", lambda name: f'"{pg_schema}".{name}'))
    assert_upgraded_from_5(pg_url, stored)
