"""The example web service (examples/web-service) as a client sees it: a real server
process on PostgreSQL, driven over HTTP, killed in the middle of a request.

Each write request runs in one transaction of the application's connection,
joined by the async store: killed between the store's writes and the
shop's own, the server leaves neither behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from conftest import PG_SERVER
from tests._reliability import with_options

from custservice import open_store

pytestmark = pytest.mark.postgres

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "web-service"


class Server:
    """``uvicorn shop:app`` in a process of its own, on a free port."""

    def __init__(self, schema: str, *, pause: float = 0) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = {**os.environ, "SHOP_DATABASE": PG_SERVER, "SHOP_SCHEMA": schema}
        if pause:
            env["SHOP_PAUSE"] = str(pause)
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "shop:app", "--app-dir", str(EXAMPLE)),
                *("--port", str(self.port), "--log-level", "warning"),
            ],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.call("GET", "/scorecard")
                return
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the example server did not start") from None
                time.sleep(0.2)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=data, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def stop(self, how: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(how)
        self.process.wait(timeout=30)
        assert self.process.stdout is not None
        self.process.stdout.close()


def _landed(schema: str, pg_admin: Any) -> tuple[int, int, int, int]:
    """Customers, cases and change-feed entries in the store, and the shop's orders."""
    with open_store(with_options(PG_SERVER, schema=schema)) as store:
        stored = store.customers.count(), store.cases.count(), store.events.latest()
    orders = pg_admin.execute(f'SELECT count(*) FROM "{schema}".orders').fetchone()[0]
    return (*stored, orders)


def test_the_service_opens_cases_records_updates_and_serves_figures(pg_schema: str) -> None:
    server = Server(pg_schema)
    try:
        status, order = server.call("POST", "/orders", {"customer": "Ada", "problem": "damaged"})
        assert status == 201
        status, update = server.call("POST", f"/cases/{order['case']}/updates", {})
        assert (status, update) == (200, {"updates": 1, "version": 2})
        assert server.call("GET", "/scorecard") == (
            200,
            {"interactions": 0, "cases": 1, "resolved": 0},
        )
        status, refused = server.call("POST", "/orders", {"customer": " ", "problem": "x"})
        assert status == 422
        assert "name" in refused["error"]
        unknown = "01a23a24-f769-7505-8fb5-f5996ade6eae"
        assert server.call("POST", f"/cases/{unknown}/updates", {})[0] == 404
    finally:
        server.stop()


def test_a_server_killed_mid_request_leaves_nothing_half_written(
    pg_schema: str, pg_admin: Any
) -> None:
    schema = pg_schema
    server = Server(schema)
    try:
        assert server.call("POST", "/orders", {"customer": "Ada", "problem": "late"})[0] == 201
    finally:
        server.stop()
    before = _landed(schema, pg_admin)
    assert before == (1, 1, 2, 1)

    slow = Server(schema, pause=60)
    failures: list[BaseException] = []

    def doomed() -> None:
        try:
            slow.call("POST", "/orders", {"customer": "Grace", "problem": "broken"})
        except (urllib.error.URLError, ConnectionError) as exc:
            failures.append(exc)

    request = threading.Thread(target=doomed)
    request.start()
    assert slow.process.stdout is not None
    assert slow.process.stdout.readline().strip() == "paused"  # the store has written
    slow.stop(signal.SIGKILL)
    request.join(timeout=30)
    assert failures  # the client saw the request fail

    assert _landed(schema, pg_admin) == before  # neither the store's writes nor an order

    again = Server(schema)
    try:
        assert again.call("POST", "/orders", {"customer": "Grace", "problem": "broken"})[0] == 201
    finally:
        again.stop()
    assert _landed(schema, pg_admin) == (2, 2, 4, 2)
