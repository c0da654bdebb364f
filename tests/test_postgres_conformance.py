"""The conformance kit against the PostgreSQL store, on a real server.

The server is ``CUSTSERVICE_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``). When it cannot be reached the
tests are skipped with the reason, or fail if ``CUSTSERVICE_REQUIRE_PG=1``
(as CI sets it). Each test works in a schema of its own, with a random name,
dropped when the test ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import with_options

from custservice import Store, open_store
from custservice.testing import StoreConformance

pytestmark = pytest.mark.postgres


class TestPostgresStore(StoreConformance):
    """``postgresql://…``: shared by threads, processes and machines; data outlives a store."""

    survives_reopen = True
    shared_between_stores = True

    @pytest.fixture
    def url(self, pg_url: str) -> str:
        # A pool of two: a thread that needed a second connection while it holds one
        # (an iteration under way while it reads or writes) would show up as a wait.
        return with_options(pg_url, max_size=2)

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        with open_store(url) as store:
            yield store

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[], Store]:
        return lambda: open_store(url)
