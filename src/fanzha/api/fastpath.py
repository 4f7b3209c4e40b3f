"""Pure-ASGI fast path for the four single-event decision routes.

Starlette's exception middleware, router matching and FastAPI's request wrapping cost more than a
decision; this answers ``POST /v1/decide/{call,sms,url,payment}`` directly with the same handlers and
the same error mapping (:mod:`fanzha.api.errors`), and passes everything else on. The routes stay
registered with FastAPI, so the OpenAPI description and direct calls are unchanged.
:class:`FastDecisions` is installed as middleware by ``create_app``; ``fanzha serve`` additionally
wraps the whole app in :class:`OuterFastDecisions`, which sees requests before any middleware.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from fanzha.api import errors
from fanzha.api.routers.decide import HOT
from fanzha.errors import FanzhaError


async def _serve(handler: Any, service: Any, scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    try:
        response = await handler(request, service)
    except FanzhaError as exc:
        response = await errors.fanzha_error(request, exc)
    except RequestValidationError as exc:
        response = await errors.request_invalid(request, exc)
    await response(scope, receive, send)


def _hot(scope: Scope) -> Any:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    return HOT.get(scope["path"])


class FastDecisions:
    """Middleware form (inside the FastAPI app: ``scope["app"]`` is set)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = _hot(scope)
        if handler is None:
            await self.app(scope, receive, send)
        else:
            await _serve(handler, scope["app"].state.service, scope, receive, send)


class OuterFastDecisions:
    """Wrapper form (outside the app, for the server): lifespan and every other path go to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = _hot(scope)
        if handler is None:
            await self.app(scope, receive, send)
        else:
            scope["app"] = self.app
            await _serve(handler, self.app.state.service, scope, receive, send)
