"""The jsonfile backend: the custservice conformance kit, and what is its own."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pendulum
import pytest
from custservice import (
    Customer,
    FixedClock,
    StorageError,
    Store,
    available_backends,
    open_store,
    to_dict,
)
from custservice.testing import StoreConformance

from custservice_jsonfile import FORMAT, JsonFileStore


@pytest.fixture
def url(tmp_path: Path) -> str:
    # An absolute path: jsonfile:/// then /tmp/...: four slashes in all.
    return f"jsonfile:///{tmp_path / 'store.json'}"


class TestJsonFileStore(StoreConformance):
    """Every behaviour the storage contract asks for."""

    survives_reopen = True
    tenants = False  # one file, one organisation: no store.scoped()

    @pytest.fixture
    def store(self, url: str) -> Iterator[Store]:
        with open_store(url) as store:
            yield store

    @pytest.fixture
    def reopen(self, url: str) -> Callable[[], Store]:
        return lambda: open_store(url)


def test_the_entry_point_is_registered() -> None:
    assert "jsonfile" in available_backends()


def test_the_file_holds_each_record_in_to_dict_form(url: str, tmp_path: Path) -> None:
    ada = Customer.new("Ada", clock=FixedClock(pendulum.datetime(2026, 1, 5, 9)))
    with open_store(url) as store:
        assert isinstance(store, JsonFileStore)
        assert not (tmp_path / "store.json").exists()  # nothing is written until a commit
        stored = store.customers.add(ada)
    document = json.loads((tmp_path / "store.json").read_text())
    assert document["format"] == FORMAT
    assert document["customers"] == [to_dict(stored)]
    assert document["events"] == [[1, "customer", "add", str(ada.id), str(ada.id), 1]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json"]


@pytest.mark.parametrize("content", ["not json", '{"format": "something else"}', "[]"])
def test_a_file_that_is_not_a_store_is_refused_untouched(
    url: str, tmp_path: Path, content: str
) -> None:
    (tmp_path / "store.json").write_text(content)
    with pytest.raises(StorageError):
        open_store(url)
    assert (tmp_path / "store.json").read_text() == content


@pytest.mark.parametrize("bad", ["jsonfile://", "jsonfile://host/x.json", "jsonfile:///x.json?a=1"])
def test_malformed_urls_are_storage_errors(bad: str) -> None:
    with pytest.raises(StorageError):
        open_store(bad)
