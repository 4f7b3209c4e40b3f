"""Dependencies (``Annotated``): the service, the authenticated caller, and role checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fanzha.api.auth import Principal
from fanzha.api.errors import Unauthenticated
from fanzha.api.service import DecisionService
from fanzha.errors import AccessDenied

bearer = HTTPBearer(auto_error=False, description="API key: `Authorization: Bearer fz_<id>_<secret>`")


async def get_service(request: Request) -> DecisionService:
    service: DecisionService = request.app.state.service
    return service


ServiceDep = Annotated[DecisionService, Depends(get_service)]


def identify(request: Request, service: DecisionService, token: str | None) -> Principal:
    """Who is calling (plain function: the hot decision routes call it without dependency injection)."""
    now = time.monotonic()
    client = request.client.host if request.client else "unknown"
    if not token:
        service.auth_limiter.hit(client, now)
        raise Unauthenticated("no API key; send 'Authorization: Bearer fz_<id>_<secret>'")
    service.keys.maybe_reload(now)
    try:
        who = service.keys.authenticate(token)
    except AccessDenied as exc:
        service.auth_limiter.hit(client, now)  # slows down key guessing from one address
        raise Unauthenticated(str(exc)) from None
    if who.role == "public":
        service.public_limiter.hit(who.key_id, now)
    return who


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.headers.get("x-api-key")


def authorize(request: Request, service: DecisionService, permission: str) -> Principal:
    """Authenticate and check ``permission``; denials are audited."""
    return permit(request, service, identify(request, service, bearer_token(request)), permission)


def permit(request: Request, service: DecisionService, who: Principal, permission: str) -> Principal:
    """``who`` when they hold ``permission``; otherwise audit the denial and raise AccessDenied."""
    if not who.allowed(permission):
        service.audit(
            who,
            "denied",
            subject_kind="endpoint",
            subject_id=request.url.path,
            detail={"permission": permission},
        )
        who.require(permission)
    return who


async def authenticate(
    request: Request,
    service: ServiceDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Principal:
    return identify(
        request, service, credentials.credentials if credentials else request.headers.get("x-api-key")
    )


CallerDep = Annotated[Principal, Depends(authenticate)]


def require(permission: str) -> Callable[..., Any]:
    """A dependency that lets the caller through only with ``permission``; denials are audited."""

    async def check(request: Request, service: ServiceDep, who: CallerDep) -> Principal:
        return permit(request, service, who, permission)

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check
