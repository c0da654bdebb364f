"""The conformance kit against the PostgreSQL backend, on a real server.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it cannot be reached the
tests are skipped with the reason, or fail if ``CUSTSERVICE_REQUIRE_PG=1``
(as CI sets it). Each test works in a schema of its own, with a random name,
dropped when the test ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from conftest import require

from custservice import Store
from custservice.storage.postgres import open_postgres_store
from custservice.testing import StoreConformance

SERVER = os.environ.get("CUSTSERVICE_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

pytestmark = pytest.mark.postgres


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema=`` added to its query string."""
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query), ("schema", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


@pytest.fixture(scope="module")
def admin() -> Iterator[Any]:
    """An autocommit connection to the server, or a visible skip (a failure in CI)."""
    try:
        import psycopg
    except ImportError:
        require("PostgreSQL", "CUSTSERVICE_REQUIRE_PG", "psycopg is not installed")
    try:
        conn = psycopg.connect(SERVER, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        host = urlsplit(SERVER).hostname
        reason = f"no server at {host} ({str(exc).strip().splitlines()[0]})"
        require("PostgreSQL", "CUSTSERVICE_REQUIRE_PG", reason)
    yield conn
    conn.close()


class TestPostgresStore(StoreConformance):
    """``postgresql://…``: shared by threads, processes and machines; data outlives a store."""

    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def url(self, admin: Any) -> Iterator[str]:
        schema = f"cs_kit_{uuid.uuid4().hex[:12]}"
        yield with_schema(SERVER, schema)
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        with open_postgres_store(url) as store:
            yield store

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[], Store]:
        return lambda: open_postgres_store(url)
