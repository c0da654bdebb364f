"""Exports of a store: every row says the tenant its record was written under, a scope's
rows are its own, and a SQL store's interactions, read from the typed columns, are the very
rows their records give, on every built-in store."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pendulum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import _sql_stores
from tests._sql_stores import Fresh

from custservice import (
    Case,
    Channel,
    Customer,
    FixedClock,
    Interaction,
    Store,
    ValidationError,
    open_store,
)
from custservice.export import export_columns, export_rows, write_csv
from custservice.testing import strategies as cst

fresh = _sql_stores.fresh
admin = _sql_stores.admin

TENANTS = (None, "north", "south")
KINDS = {"customers": "customer", "interactions": "interaction", "cases": "case"}
Desk = list[tuple[str | None, Customer, list[Interaction], list[Case]]]


@st.composite
def desks(draw: st.DrawFn) -> Desk:
    """Customers of several tenants (or of none), each with interactions and cases."""
    desk: Desk = []
    seen: set[Any] = set()

    def new(records: list[Any]) -> list[Any]:
        fresh = [r for r in {r.id: r for r in records}.values() if r.id not in seen]
        seen.update(r.id for r in fresh)
        return fresh

    for customer in new(draw(st.lists(cst.customers(), max_size=3))):
        calls = new(draw(st.lists(cst.interactions(customer_id=customer.id), max_size=3)))
        tickets = new(draw(st.lists(cst.cases(customer_id=customer.id), max_size=2)))
        desk.append((draw(st.sampled_from(TENANTS)), customer, calls, tickets))
    return desk


def write(store: Store, desk: Desk) -> dict[tuple[str, str], str | None]:
    """Store the desk, each customer's records under its tenant; returns who wrote each
    record, by kind and id."""
    written: dict[tuple[str, str], str | None] = {}
    for tenant, customer, calls, tickets in desk:
        target: Any = store if tenant is None else store.scoped(tenant)
        target.customers.add(customer)
        target.interactions.add_many(calls)
        target.cases.add_many(tickets)
        for kind, records in (("customers", [customer]), ("interactions", calls),
                              ("cases", tickets)):  # fmt: skip
            written |= {(kind, str(r.id)): tenant for r in records}
    return written


def check_exports(store: Store, written: dict[tuple[str, str], str | None]) -> None:
    for kind, singular in KINDS.items():
        for personal in (False, True):
            rows = list(export_rows(store, kind=kind, personal_data=personal))  # type: ignore[arg-type]
            # Every row carries the tenant its record was written under, first.
            assert sorted((r["id"], r["tenant"]) for r in rows) == sorted(
                (rid, tenant) for (k, rid), tenant in written.items() if k == kind
            )
            assert all(next(iter(r)) == "tenant" for r in rows)
            # The rows are the records' own, each led by its tenant (a SQL store's
            # interactions are read from the typed columns: the same values).
            pairs = list(store.tenant_records(singular))  # type: ignore[attr-defined]
            records = [record for _, record in pairs]
            expected = [
                {"tenant": tenant} | row
                for (tenant, _), row in zip(
                    pairs,
                    export_rows(records, kind=kind, personal_data=personal),  # type: ignore[arg-type]
                    strict=True,
                )
            ]
            assert rows == expected, kind
            # A tenant's scope exports its own rows, each with its tenant.
            for tenant in TENANTS[1:]:
                scope = store.scoped(tenant)  # type: ignore[attr-defined]
                scoped = export_rows(scope, kind=kind, personal_data=personal, attributes={})  # type: ignore[arg-type]
                assert list(scoped) == [
                    {c: v for c, v in r.items() if not c.startswith("attributes.")}
                    for r in rows
                    if r["tenant"] == tenant
                ]


@settings(max_examples=min(50, settings.default.max_examples))
@given(desks())
def test_memory_rows_carry_their_tenant(desk: Desk) -> None:
    with open_store("memory://") as store:
        check_exports(store, write(store, desk))


@settings(
    max_examples=min(25, settings.default.max_examples),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    deadline=None,
)
@given(desk=desks())
def test_sql_rows_carry_their_tenant_and_are_the_records_own(fresh: Fresh, desk: Desk) -> None:
    with fresh() as store:
        check_exports(store, write(store, desk))


def test_a_csv_export_of_a_store_leads_with_the_tenant(tmp_path: Any) -> None:
    clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris"))
    with open_store(f"sqlite:///{tmp_path / 'desk.db'}") as store:
        north = store.scoped("north")
        ada = north.customers.add(Customer.new("Ada", clock=clock))
        north.interactions.add(Interaction.open(ada.id, Channel.CHAT, clock=clock))
        out = io.StringIO(newline="")
        assert write_csv(store, out, kind="interactions") == 1
        out.seek(0)
        [row] = csv.DictReader(out)
    assert list(row) == list(export_columns("interactions", with_tenant=True))
    assert (row["tenant"], row["customer_id"]) == ("north", str(ada.id))


def test_records_export_without_a_tenant_column() -> None:
    assert "tenant" not in export_columns("cases")
    assert list(export_columns("cases", with_tenant=True))[:2] == ["tenant", "id"]
    with pytest.raises(ValidationError) as raised:
        export_columns("cases", with_tenant="yes")  # type: ignore[arg-type]
    assert raised.value.field == "with_tenant"


class _NoTenants:
    """A store that keeps no tenants apart: it has no ``scoped`` nor ``tenant_records``."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if name in ("scoped", "tenant_records", "sql_snapshot"):
            raise AttributeError(name)
        return getattr(self._store, name)  # type: ignore[no-any-return]


def test_a_store_without_tenants_exports_its_records_as_of_no_tenant() -> None:
    from custservice.storage.protocols import Store as StoreProtocol

    with open_store("memory://") as inner:
        clock = FixedClock(pendulum.datetime(2026, 3, 2, 9, tz="Europe/Paris"))
        ada = inner.customers.add(Customer.new("Ada", clock=clock))
        store = _NoTenants(inner)
        assert isinstance(store, StoreProtocol)
        [row] = export_rows(store, kind="customers")  # type: ignore[arg-type]
        assert (row["tenant"], row["id"]) == (None, str(ada.id))
