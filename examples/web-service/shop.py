"""A small shop's service desk over HTTP: Starlette, the async store, PostgreSQL.

Each request that writes runs in one transaction of the application's own
connection: the shop's ``orders`` table, the store's records and their
change-feed entries commit together or not at all, whatever happens to the
process in between.

    POST /orders             {"customer": "Ada", "problem": "damaged"}
                             a customer, their order, and a case about it
    POST /cases/{id}/updates {"from_customer": false}
                             a public update on the case
    GET  /scorecard          the desk's figures, read by the store's SQL

Run it (the database's tables are created on start):

    SHOP_DATABASE=postgresql://postgres@127.0.0.1:5432/test \\
        uvicorn shop:app --app-dir examples/web-service

``SHOP_SCHEMA`` puts the tables in a PostgreSQL schema of their own.
``SHOP_PAUSE`` (seconds) makes ``POST /orders`` wait between the store's
writes and the order's, printing ``paused`` first: the end-to-end test
kills the server there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from custservice import (
    Case,
    Customer,
    CustServiceError,
    NotFound,
    SystemClock,
    ValidationError,
    open_async_store,
)
from custservice.analytics import scorecard
from custservice.storage import migrate

ORDERS = sa.Table(
    "orders",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("customer", sa.Uuid, nullable=False),
    sa.Column("case", sa.Uuid, nullable=False),
)
clock = SystemClock()


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    url = sa.make_url(os.environ.get("SHOP_DATABASE", "postgresql://postgres@127.0.0.1/test"))
    schema = os.environ.get("SHOP_SCHEMA")
    # The store's tables first (custservice's URL names the schema), then the shop's.
    store_url = url.update_query_dict({"schema": schema}) if schema else url
    await asyncio.to_thread(migrate, store_url.render_as_string(hide_password=False))
    engine = create_async_engine(
        url.set(drivername="postgresql+psycopg_async"),
        connect_args={"options": f"-c search_path={schema}"} if schema else {},
    )
    async with engine.begin() as conn:
        await conn.run_sync(ORDERS.metadata.create_all)
    app.state.engine = engine
    yield
    await engine.dispose()


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ValidationError("expected a JSON object")
    return body


async def _in_one_transaction(request: Request, work: Any) -> Any:
    """Run ``work(conn, store)`` in one transaction of the application's connection."""
    engine: AsyncEngine = request.app.state.engine
    async with engine.begin() as conn:
        store = await open_async_store(conn)
        return await work(conn, store)


async def new_order(request: Request) -> JSONResponse:
    body = await _body(request)
    pause = float(os.environ.get("SHOP_PAUSE", "0"))

    async def work(conn: AsyncConnection, store: Any) -> dict[str, str]:
        customer = await store.customers.add(Customer.new(body.get("customer"), clock=clock))
        case = await store.cases.add(Case.open(customer.id, body.get("problem"), clock=clock))
        if pause:
            print("paused", flush=True)
            await asyncio.sleep(pause)
        await conn.execute(ORDERS.insert().values(customer=customer.id, case=case.id))
        return {"customer": str(customer.id), "case": str(case.id)}

    return JSONResponse(await _in_one_transaction(request, work), status_code=201)


async def case_update(request: Request) -> JSONResponse:
    body = await _body(request)
    case_id: uuid.UUID = request.path_params["case_id"]

    async def work(conn: AsyncConnection, store: Any) -> dict[str, int]:
        case = await store.cases.get(case_id)
        updated = case.record_update(at=clock.now(), from_customer=bool(body.get("from_customer")))
        saved = await store.cases.save(updated)
        return {"updates": len(saved.updates), "version": saved.version}

    return JSONResponse(await _in_one_transaction(request, work))


async def figures(request: Request) -> JSONResponse:
    engine: AsyncEngine = request.app.state.engine
    async with await open_async_store(engine) as store:
        card = await store.run_sync(scorecard, store.sync)
    return JSONResponse(
        {"interactions": card.interactions, "cases": card.cases, "resolved": card.resolved}
    )


async def refused(request: Request, exc: Exception) -> JSONResponse:
    status = 404 if isinstance(exc, NotFound) else 422
    return JSONResponse({"error": str(exc)}, status_code=status)


app = Starlette(
    routes=[
        Route("/orders", new_order, methods=["POST"]),
        Route("/cases/{case_id:uuid}/updates", case_update, methods=["POST"]),
        Route("/scorecard", figures),
    ],
    exception_handlers={CustServiceError: refused},
    lifespan=lifespan,
)

if __name__ == "__main__":
    sys.exit("run it with uvicorn: uvicorn shop:app --app-dir examples/web-service")
