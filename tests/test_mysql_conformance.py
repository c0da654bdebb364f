"""``mariadb://`` and ``mysql://`` pass the conformance kit on a real server.

The server is read from ``CUSTSERVICE_MYSQL_URL`` (default
``mariadb://root@127.0.0.1:3306/test``); the kit works in a database of the
class's own, put back as new before each test and dropped after the last.
Without a reachable server the tests are skipped with the reason;
``CUSTSERVICE_REQUIRE_MYSQL=1`` (as CI sets it) makes that a failure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from tests import _sql_stores

from custservice import Store, open_store
from custservice.testing import StoreConformance

kit_mariadb = _sql_stores.kit_mariadb
kit_mariadb_url = _sql_stores.kit_mariadb_url


class TestMariaDBStore(StoreConformance):
    """The whole kit, on stores opened by URL as an application would."""

    survives_reopen = True
    shared_between_stores = True
    thread_safe = True

    @pytest.fixture
    def store(self, kit_mariadb_url: str) -> Iterator[Store]:
        with open_store(kit_mariadb_url) as store:
            yield store

    @pytest.fixture
    def reopen(self, kit_mariadb_url: str) -> Callable[[], Store]:
        return lambda: open_store(kit_mariadb_url)


def test_mysql_and_mariadb_urls_name_one_backend(mysql_url: str) -> None:
    """``mysql://`` opens the store ``mariadb://`` wrote."""
    import pendulum

    from custservice import Customer, FixedClock

    clock = FixedClock(pendulum.datetime(2026, 1, 5, 9, tz="UTC"))
    with open_store(mysql_url) as store:
        ada = store.customers.add(Customer.new("Ada", clock=clock))
    with open_store(mysql_url.replace("mariadb://", "mysql://", 1)) as store:
        assert store.customers.get(ada.id) == ada
