"""Pure-ASGI fast path for the four single-event decision routes.

Starlette's exception middleware, router matching and FastAPI's request wrapping cost more than a
decision; this middleware answers ``POST /v1/decide/{call,sms,url,payment}`` directly with the same
handlers and the same error mapping (:mod:`fanzha.api.errors`), and passes everything else on. The
routes stay registered with FastAPI, so the OpenAPI description and direct calls are unchanged.
"""

from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from fanzha.api import errors
from fanzha.api.routers.decide import HOT
from fanzha.errors import FanzhaError


class FastDecisions:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        handler = HOT.get(scope["path"])
        if handler is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        service: Any = scope["app"].state.service  # Starlette sets scope["app"] before its middleware
        try:
            response = await handler(request, service)
        except FanzhaError as exc:
            response = await errors.fanzha_error(request, exc)
        except RequestValidationError as exc:
            response = await errors.request_invalid(request, exc)
        await response(scope, receive, send)
