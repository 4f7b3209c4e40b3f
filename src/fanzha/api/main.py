"""The app factory: a thin ``create_app`` that wires the service, the routers and the error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fanzha import __version__
from fanzha.api import errors
from fanzha.api.fastpath import FastDecisions, OuterFastDecisions
from fanzha.api.routers import admin, decide, lookup, party, rules
from fanzha.api.service import DecisionService, ServiceOptions
from fanzha.settings import Settings, get_settings

DESCRIPTION = """反诈 fanzha real-time decisions (事中阻断) and party API.

Every request carries an API key (`Authorization: Bearer fz_<id>_<secret>`); each role sees only
what it needs. Outcomes climb the ladder **proceed < warn < delay < block**; every decision carries
its score, reasons (codes and values) and the rule-set, list and model versions used."""


def create_app(
    settings: Settings | None = None,
    *,
    options: ServiceOptions | None = None,
    service: DecisionService | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "service", None) is None:
            app.state.service = DecisionService(settings, options)
        app.state.service.start()
        try:
            yield
        finally:
            app.state.service.stop()

    app = FastAPI(
        title="fanzha decision service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.service = service
    errors.install(app)
    for module in (decide, lookup, party, rules, admin):
        app.include_router(module.router)
    app.add_middleware(FastDecisions)
    return app


def app_from_env() -> OuterFastDecisions:
    """Factory for ``uvicorn --factory fanzha.api.main:app_from_env`` (each worker builds its own)."""
    return OuterFastDecisions(create_app(options=ServiceOptions(tune_gc=True)))
