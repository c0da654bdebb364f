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
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from custservice import Case, Customer, Interaction, from_dict, open_store
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
