"""The PostgreSQL store: bulk ingest, reading one customer's history, streaming a table.

1. Ingesting 1,000,000 interactions for 10,000 customers (QUICK: 50,000)
   through the public API (``add_many``: each record's stored text and typed
   columns computed, ``COPY`` of the rows, the change-feed entries, the
   customers checked by the foreign key, one transaction) against a raw
   psycopg ``COPY`` of the same rows (every column, typed ones included,
   computed beforehand; same table, indexes and foreign key; no change feed)
   with ``copy.write_row`` in one transaction. Aim: at least half the raw rate.
2. ``interactions.for_customer`` over ~100 interactions (median of many
   calls; the store's pool holds one connection) against the hand-written
   indexed query on that same connection that reads what a record is stored
   in (``data``, ``id``, ``customer_id``, ``version``) and ``json.loads``
   each row's text. Aim: within 2x.
3. Streaming every interaction with ``interactions.all()`` (keyset pages, no
   connection held between them): the peak of memory allocated while
   iterating (tracemalloc). Aim: under 50 MB.
4. Bytes on disk per interaction: the same customers and the first 100,000
   interactions (QUICK: all 50,000) written with ``add_many`` by this version
   and by 0.1.0 (extracted from its release commit, run in a subprocess, as
   ``bench_storage`` does) into schemas of their own; after ``VACUUM FULL``
   of every table, the sum of their ``pg_total_relation_size`` (indexes and
   TOAST included) divided by the number of interactions. Aim: no more than
   0.1.0's.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); each run works in schemas of
its own and drops them. Without psycopg or a server, it prints why and skips.

Run: .venv/bin/python benchmarks/run.py postgres (``--quick``: 50,000 interactions)
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import tempfile
import tracemalloc
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import _harness
from _harness import median_of, report
from bench_storage import (
    DISK_RECORDS,
    PER_CUSTOMER,
    _customers,
    _interactions,
    _timed,
    records_file,
    release_tree,
    release_write,
)

from custservice import Customer, Interaction, open_store
from custservice.storage.sql import SqlStore, metadata
from custservice.storage.sql.rows import row
from custservice.storage.sql.schema import NO_TENANT

SERVER = os.environ.get("CUSTSERVICE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
COLUMNS = [c.name for c in metadata().tables["interactions"].columns]


def _url(schema: str, **options: object) -> str:
    parts = urlsplit(SERVER)
    extra = [(k, str(v)) for k, v in options.items()]
    query = [*parse_qsl(parts.query), ("schema", schema), *extra]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _server() -> Any:
    """An autocommit admin connection, or ``None`` (with the reason printed)."""
    try:
        import psycopg
    except ImportError:
        print('postgres: skipped (psycopg is not installed: pip install "custservice[postgres]")')
        return None
    try:
        return psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"postgres: skipped (no server at CUSTSERVICE_PG_URL: {reason})")
        return None


def _open(schema: str, **options: object) -> SqlStore:
    store = open_store(_url(schema, **options))
    assert isinstance(store, SqlStore)
    return store


class _Schemas:
    """Fresh schemas for one run, each with the customers stored; all dropped at the end."""

    def __init__(self, admin: Any) -> None:
        self.admin = admin
        self.names: list[str] = []

    def fresh(self, customers: list[Customer]) -> str:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        self.names.append(name)
        with _open(name) as store:
            store.customers.add_many(customers)
        self.admin.execute(f'ANALYZE "{name}".customers')
        return name

    def drop(self, name: str) -> None:
        self.admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def drop_all(self) -> None:
        for name in self.names:
            self.drop(name)


def _raw_run(schema: str, rows: list[tuple[object, ...]]) -> float:
    import psycopg

    conn = psycopg.connect(SERVER)
    sql = f'COPY "{schema}".interactions ({", ".join(COLUMNS)}) FROM STDIN'

    def run() -> None:
        with conn.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for values in rows:
                write(values)
        conn.commit()

    seconds = _timed(run)
    conn.close()
    return seconds


def _our_run(schema: str, records: list[Interaction]) -> float:
    store = _open(schema)
    seconds = _timed(lambda: store.interactions.add_many(records))
    assert store.interactions.count() == len(records)
    assert store.events.latest() == len(records) + len(records) // PER_CUSTOMER
    store.close()
    return seconds


def ingest(schemas: _Schemas, customers: list[Customer], n: int) -> str:
    records = _interactions(customers, n)
    # The very rows the store writes, computed before the clock starts.
    # The records of no tenant, as the store writes them.
    rows = [
        tuple(values.get(c) for c in COLUMNS)
        for values in ({"tenant": NO_TENANT, **row(r, 1)} for r in records)
    ]
    # Alternate the two, best of each: a commit's WAL flush competes with the
    # checkpoint and autovacuum work the run before it left.
    raw_seconds = our_seconds = float("inf")
    repeat = 3 if _harness.QUICK else 2
    kept = ""
    for k in range(repeat):
        raw = schemas.fresh(customers)
        raw_seconds = min(raw_seconds, _raw_run(raw, rows))
        schemas.drop(raw)
        ours = schemas.fresh(customers)
        our_seconds = min(our_seconds, _our_run(ours, records))
        if k < repeat - 1:
            schemas.drop(ours)
        kept = ours
    report(
        f"ingest {n:,} interactions, add_many (k rows/s)",
        n / our_seconds / 1000,
        "k/s",
        baseline="raw psycopg COPY write_row, same rows and table",
        baseline_value=n / raw_seconds / 1000,
        aim=">= 0.5x",
    )
    schemas.admin.execute(f'ANALYZE "{kept}".interactions')
    return kept


def for_customer(schema: str, customers: list[Customer]) -> None:
    store = _open(schema, min_size=1, max_size=1)
    ids = [c.id for c in customers[:200]]
    sizes = {len(list(store.interactions.for_customer(i))) for i in ids}
    # The records of no tenant: the tenant leads the index, as in the store's query.
    query = (
        f'SELECT data, id, customer_id, version FROM "{schema}".interactions'
        " WHERE tenant = '' AND customer_id = %s ORDER BY opened_at, id"
    )
    loads = json.loads
    turn = iter(range(10**9))
    repeat = 201 if _harness.QUICK else 1001

    def hand_written(conn: Any) -> object:
        cid = str(ids[next(turn) % len(ids)])
        return [loads(r[0]) for r in conn.execute(query, (cid,))]

    def api() -> object:
        return list(store.interactions.for_customer(ids[next(turn) % len(ids)]))

    # Interleaved, so that load from elsewhere on the machine hits both alike. The
    # baseline runs on the pool's only connection, which the API uses next, checked out
    # outside its timing: it pays no pool round trip, the API does.
    base_times: list[float] = []
    our_times: list[float] = []
    for _ in range(repeat):
        pooled = store._engine.raw_connection()
        conn = pooled.driver_connection
        base_times.append(median_of(partial(hand_written, conn), repeat=1))
        pooled.close()
        our_times.append(median_of(api, repeat=1))
    report(
        f"for_customer over {max(sizes)} interactions (us per call)",
        statistics.median(our_times) * 1e6,
        "us",
        baseline="indexed SELECT of the row + json.loads, same connection",
        baseline_value=statistics.median(base_times) * 1e6,
        aim="<= 2x",
    )
    store.close()


def stream(schema: str) -> None:
    store = _open(schema)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    count = 0
    for _ in store.interactions.all():
        count += 1
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    store.close()
    report(
        f"stream all {count:,} interactions: peak extra memory (MB)",
        (peak - before) / 1e6,
        "MB",
        baseline="the aim",
        baseline_value=50.0,
        aim="< 1x (under 50 MB)",
    )


_TABLES = (
    "SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE n.nspname = %s AND c.relkind = 'r'"
)
"""The oids of a schema's tables."""


def _vacuumed_size(admin: Any, schema: str) -> int:
    """The bytes the schema's tables take (indexes and TOAST included), each vacuumed full."""
    names = admin.execute(f"SELECT oid::regclass::text FROM ({_TABLES}) t", (schema,))
    for (table,) in names.fetchall():
        admin.execute(f"VACUUM FULL {table}")
    found = admin.execute(f"SELECT sum(pg_total_relation_size(oid)) FROM ({_TABLES}) t", (schema,))
    return int(found.fetchone()[0])


def disk(schemas: _Schemas, customers: list[Customer], records: list[Interaction]) -> None:
    n = len(records)
    ours = schemas.fresh(customers)
    with _open(ours) as store:
        store.interactions.add_many(records)
    theirs = f"bench_{uuid.uuid4().hex[:10]}"
    schemas.names.append(theirs)
    directory = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    try:
        release_write(
            release_tree(directory),
            "postgres",
            _url(theirs),
            records_file(directory, customers, records),
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    report(
        f"bytes on disk per interaction, {n:,} of them (B)",
        _vacuumed_size(schemas.admin, ours) / n,
        "B",
        baseline="0.1.0 writing the same records, every table vacuumed full",
        baseline_value=_vacuumed_size(schemas.admin, theirs) / n,
        aim="<= 1x",
    )


def _guarded(admin: Any, body: Callable[[_Schemas], None]) -> None:
    schemas = _Schemas(admin)
    try:
        body(schemas)
    finally:
        schemas.drop_all()
        admin.close()


def main() -> None:
    admin = _server()
    if admin is None:
        return
    n = 50_000 if _harness.QUICK else 1_000_000

    def run(schemas: _Schemas) -> None:
        customers = _customers(n // PER_CUSTOMER)
        schema = ingest(schemas, customers, n)
        for_customer(schema, customers)
        stream(schema)
        kept = customers[: min(n, DISK_RECORDS) // PER_CUSTOMER]
        disk(schemas, kept, _interactions(kept, len(kept) * PER_CUSTOMER))

    _guarded(admin, run)


if __name__ == "__main__":
    main()
