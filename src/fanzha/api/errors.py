"""One place that maps fanzha errors to HTTP status codes: bad input is a clear 4xx, never a 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError

from fanzha.api.ops_bridge import Unavailable
from fanzha.api.ratelimit import RateLimited
from fanzha.api.responses import FastJSON
from fanzha.errors import (
    AccessDenied,
    ConfigError,
    ConflictError,
    EngineError,
    FanzhaError,
    InputFileError,
    ModelError,
    NotFoundError,
    StateError,
    StoreUnavailable,
    ValidationError,
)


class Unauthenticated(AccessDenied):
    """No usable credentials: 401 (a known caller without the right role gets 403)."""


# most specific first: the first matching class decides
STATUS: tuple[tuple[type[FanzhaError], int], ...] = (
    (Unauthenticated, 401),
    (AccessDenied, 403),
    (RateLimited, 429),
    (NotFoundError, 404),
    (ValidationError, 422),
    (ConfigError, 422),
    (InputFileError, 400),
    (ConflictError, 409),
    (StateError, 409),
    (Unavailable, 503),
    (StoreUnavailable, 503),
    (EngineError, 503),
    (ModelError, 503),
)


def status_of(exc: FanzhaError) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 400


async def fanzha_error(request: Request, exc: Exception) -> FastJSON:
    assert isinstance(exc, FanzhaError)
    code = status_of(exc)
    body: dict[str, object] = {"error": type(exc).__name__, "message": str(exc)}
    field = getattr(exc, "field", None)
    if field:
        body["field"] = field
    headers: dict[str, str] = {}
    if code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    return FastJSON(body, status_code=code, headers=headers)


async def request_invalid(request: Request, exc: Exception) -> FastJSON:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "message": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()[:20]
    ]
    first = problems[0] if problems else {"loc": [], "message": "invalid request"}
    return FastJSON(
        {
            "error": "ValidationError",
            "message": f"{'.'.join(first['loc'])}: {first['message']}",
            "problems": problems,
        },
        status_code=422,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(FanzhaError, fanzha_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
