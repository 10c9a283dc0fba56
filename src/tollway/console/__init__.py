"""The merchant console at ``/console``: server-rendered pages (Jinja2) with htmx as progressive
enhancement, calling the same domain services as the REST API. ``install(app)`` adds it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    from tollway.console import access, auth, billing, channels, dashboard, operator, payments, webhooks
    from tollway.console.web import not_found_router

    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (auth, dashboard, payments, billing, webhooks, channels, access, operator):
        app.include_router(module.router)
    app.include_router(not_found_router)
