"""The conformance kit against the PostgreSQL store, on a real server.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it cannot be reached the
tests are skipped with the reason, or fail if ``CUSTSERVICE_REQUIRE_PG=1``
(as CI sets it). The tests work in a schema of the class's own, with a random
name, put back as new before each test and dropped after the last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import with_options
from tests import _sql_stores

from custservice import Store, open_store
from custservice.testing import StoreConformance

pytestmark = pytest.mark.postgres
kit_postgres = _sql_stores.kit_postgres
kit_postgres_url = _sql_stores.kit_postgres_url


class TestPostgresStore(StoreConformance):
    """``postgresql://…``: shared by threads, processes and machines; data outlives a store."""

    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def url(self, kit_postgres_url: str) -> str:
        # A pool of two: a thread that needed a second connection while it holds one
        # (an iteration under way while it reads or writes) would show up as a wait.
        return with_options(kit_postgres_url, max_size=2)

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        with open_store(url) as store:
            yield store

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[], Store]:
        return lambda: open_store(url)
