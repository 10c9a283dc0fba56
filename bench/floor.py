"""Floor apps on the gateway's own stack (FastAPI + SQLAlchemy async + asyncpg, same JSON encoder):
what the same process costs with no gateway logic. The gateway's numbers are read as ratios to these.

Each floor statement runs the cheapest way the gateway knows, in a ``single()`` session (autocommit
on PostgreSQL, no BEGIN/COMMIT round trips), so that the floor stays the best the stack can do."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime

import orjson
from fastapi import FastAPI
from sqlalchemy import insert, select
from starlette.responses import Response

from tollway.db.engine import create_engine, sessionmaker
from tollway.db.models import PaymentPrepare

engine = create_engine(os.environ["TOLLWAY_DATABASE_URL"])
sessions = sessionmaker(engine)
app = FastAPI()


def _ok(data: object) -> Response:
    return Response(orjson.dumps({"code": 0, "message": None, "response": data}), media_type="application/json")


@app.get("/json")
async def bare() -> Response:
    return _ok({"hello": "world"})


@app.get("/select/{merchant_uid}")
async def one_select(merchant_uid: str) -> Response:
    async with sessions.single() as session:
        row = (
            await session.execute(
                select(PaymentPrepare.merchant_uid, PaymentPrepare.amount).where(
                    PaymentPrepare.merchant_uid == merchant_uid
                )
            )
        ).one()
    return _ok({"merchant_uid": row.merchant_uid, "amount": row.amount})


@app.post("/insert")
async def one_insert() -> Response:
    now = datetime.now(UTC)
    async with sessions.single() as session:
        await session.execute(
            insert(PaymentPrepare).values(
                merchant_id=1,
                merchant_uid=secrets.token_hex(8),
                amount=1000,
                currency=None,
                created_at=now,
                updated_at=now,
            )
        )
        await session.commit()
    return _ok(None)
