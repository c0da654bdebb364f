"""The async store on PostgreSQL: many concurrent clients, and the cost of one call.

1. 64 clients each run read-modify-save cycles (``get`` a customer of
   their own, change its segment, ``save``) for a fixed number of cycles
   (QUICK: fewer): through the async store, as 64 asyncio tasks on one
   event loop, against the blocking store driven from a thread pool of 64
   threads. Both stores hold at most 16 pooled connections. Figures:
   cycles per second (aim: the async store at least equal) and the p50 and
   p99 latency of one cycle.
2. One ``await store.customers.get(id)`` (median of many) against the same
   read through psycopg's async connection directly: ``SELECT data FROM
   customers WHERE id = %s`` and ``json.loads`` of the row, on one open
   connection. The gap is the store's own work: a pooled connection, the
   greenlet that runs the shared code, and building the ``Customer``.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``); the run works in a schema of
its own and drops it. Without psycopg or a server, it prints why and skips.

Run: .venv/bin/python benchmarks/run.py async (``--quick``: fewer cycles)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import _harness
import pendulum
from _harness import report

from custservice import Customer, FixedClock, open_async_store, open_store

CLIENTS = 64
POOL = 16
CLOCK = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="UTC"))


def _server() -> str | None:
    url = os.environ.get("CUSTSERVICE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=3).close()
    except Exception as exc:  # no driver, no server: say why and skip
        print(f"skipped: no PostgreSQL at {url} ({type(exc).__name__}: {exc})")
        return None
    return url


def _with(url: str, **options: object) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), *((k, str(v)) for k, v in options.items())]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _cycle(store: Any, customer_id: uuid.UUID, n: int) -> None:
    customer = store.customers.get(customer_id)
    store.customers.save(customer.with_profile(segment=f"s{n}"))


async def _async_cycle(store: Any, customer_id: uuid.UUID, n: int) -> None:
    customer = await store.customers.get(customer_id)
    await store.customers.save(customer.with_profile(segment=f"s{n}"))


def _threads(url: str, ids: list[uuid.UUID], cycles: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    with open_store(url) as store:

        def client(customer_id: uuid.UUID) -> None:
            for n in range(cycles):
                start = time.perf_counter()
                _cycle(store, customer_id, n)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(client, ids))
        elapsed = time.perf_counter() - start
    return len(ids) * cycles / elapsed, latencies


async def _tasks(url: str, ids: list[uuid.UUID], cycles: int) -> tuple[float, list[float]]:
    latencies: list[float] = []
    async with await open_async_store(url) as store:

        async def client(customer_id: uuid.UUID) -> None:
            for n in range(cycles):
                start = time.perf_counter()
                await _async_cycle(store, customer_id, n)
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(client(i) for i in ids))
        elapsed = time.perf_counter() - start
    return len(ids) * cycles / elapsed, latencies


async def _one_call(url: str, conninfo: str, schema: str, customer_id: uuid.UUID) -> None:
    import psycopg

    calls = 300 if _harness.QUICK else 2000
    async with await open_async_store(url) as store:
        for _ in range(50):
            await store.customers.get(customer_id)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            await store.customers.get(customer_id)
            times.append(time.perf_counter() - start)
    ours = statistics.median(times)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        sql = f'SELECT data FROM "{schema}".customers WHERE id = %s'
        times = []
        for n in range(calls + 50):
            start = time.perf_counter()
            cursor = await conn.execute(sql, (customer_id,))
            json.loads((await cursor.fetchone())[0])  # type: ignore[index]
            if n >= 50:
                times.append(time.perf_counter() - start)
    raw = statistics.median(times)
    report(
        "await customers.get(id)",
        ours * 1e6,
        "µs",
        baseline="raw async psycopg SELECT + json.loads",
        baseline_value=raw * 1e6,
        aim="the store's own work",
    )


def main() -> None:
    server = _server()
    if server is None:
        return
    import psycopg

    schema = f"cs_bench_{uuid.uuid4().hex[:8]}"
    url = _with(server, schema=schema, max_size=POOL, min_size=POOL)
    cycles = 10 if _harness.QUICK else 60
    try:
        with open_store(url) as store:
            ids = [
                store.customers.add(Customer.new(f"c{n}", clock=CLOCK)).id for n in range(CLIENTS)
            ]
        rounds = 2 if _harness.QUICK else 3
        sync_best, async_best = (0.0, []), (0.0, [])  # type: tuple[float, list[float]], tuple[float, list[float]]
        for _ in range(rounds):  # interleaved; the best of each side
            sync_run = _threads(url, ids, cycles)
            async_run = asyncio.run(_tasks(url, ids, cycles))
            sync_best = max(sync_best, sync_run, key=lambda r: r[0])
            async_best = max(async_best, async_run, key=lambda r: r[0])
        report(
            f"{CLIENTS} async tasks: read-modify-save cycles",
            async_best[0],
            "/s",
            baseline=f"{CLIENTS} threads, blocking store",
            baseline_value=sync_best[0],
            aim=">= 1x",
        )
        for name, (_, latencies) in (("async tasks", async_best), ("threads", sync_best)):
            print(
                f"  {name}: cycle latency p50 {_percentile(latencies, 0.5) * 1e3:.1f} ms, "
                f"p99 {_percentile(latencies, 0.99) * 1e3:.1f} ms",
                flush=True,
            )
        asyncio.run(_one_call(url, server, schema, ids[0]))
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
