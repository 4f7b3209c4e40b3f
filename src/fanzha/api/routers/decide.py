"""Real-time decisions (事中阻断): call, SMS, URL visit, payment. In memory end to end.

The four single-event routes are the hot path: they skip FastAPI's dependency injection and body
machinery (which cost more than the decision itself) and validate the raw JSON with the same pydantic
models in one ``model_validate_json`` call. The OpenAPI description still names the request model,
the security scheme and the response model, so clients and schemathesis see the same contract.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from fanzha.api.auth import Principal
from fanzha.api.deps import ServiceDep, authorize, require
from fanzha.api.responses import FastJSON
from fanzha.api.schemas.decide import CallCreate, DecisionPublic, PaymentCreate, SmsCreate, UrlVisitCreate
from fanzha.api.service import DecisionService
from fanzha.decide.features import CallEvent, Event, PaymentEvent, SmsEvent, UrlEvent
from fanzha.records.normalise import url_host

router = APIRouter(prefix="/v1/decide", tags=["decide"])
MAX_BATCH = 1000


def _now() -> datetime:
    return datetime.now(UTC)


def _call(b: Any) -> Event:
    return CallEvent(b.caller, b.callee, b.at or _now(), b.duration_s)


def _sms(b: Any) -> Event:
    return SmsEvent(b.sender, b.receiver, b.at or _now(), b.text)


def _url(b: Any) -> Event:
    return UrlEvent(b.url, url_host(b.url), b.at or _now(), b.visitor)


def _payment(b: Any) -> PaymentEvent:
    return PaymentEvent(b.payer, b.payee, b.amount_fen, b.channel, b.at or _now(), b.payer_phone)


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        return model.model_validate_json(body)
    except PydanticError as exc:
        raise RequestValidationError(
            [
                {**e, "loc": ("body", *e.get("loc", ()))}
                for e in exc.errors(include_url=False, include_context=False)
            ]
        ) from None


# path → handler; the fast-path middleware (fanzha.api.fastpath) dispatches these before routing
HOT: dict[str, Callable[[Request, DecisionService], Awaitable[FastJSON]]] = {}


def _fast_route(
    path: str, model: type[BaseModel], permission: str, to_event: Callable[[Any], Event], summary: str
) -> None:
    async def handle(request: Request, service: DecisionService) -> FastJSON:
        who = authorize(request, service, permission)
        d = service.engine.decide(to_event(_parse(model, await request.body())))
        service.audit_decision(who, d)
        return FastJSON(d.public())

    async def endpoint(request: Request) -> FastJSON:
        return await handle(request, request.app.state.service)

    HOT[router.prefix + path] = handle

    endpoint.__name__ = f"decide_{path.strip('/')}"
    schema = model.model_json_schema()
    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        response_model=DecisionPublic,
        summary=summary,
        responses={
            401: {"description": "no or unknown API key"},
            403: {"description": "role may not"},
            422: {"description": "invalid input, with the field and the reason"},
        },
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
            "security": [{"HTTPBearer": []}],
        },
    )


_fast_route("/call", CallCreate, "decide:call", _call, "Decide on a call (caller → callee)")
_fast_route("/sms", SmsCreate, "decide:sms", _sms, "Decide on an SMS (sender → receiver, text)")
_fast_route("/url", UrlVisitCreate, "decide:url", _url, "Decide on a URL visit")
_fast_route("/payment", PaymentCreate, "decide:payment", _payment, "Decide on a payment (payer → payee, fen)")


@router.post(
    "/payments",
    response_model=list[DecisionPublic],
    summary=f"Decide on up to {MAX_BATCH} payments in one request, in order",
)
async def decide_payments(
    body: Annotated[list[PaymentCreate], Body(max_length=MAX_BATCH)],
    who: Annotated[Principal, Depends(require("decide:payment"))],
    service: ServiceDep,
) -> FastJSON:
    out = []
    for item in body:
        d = service.engine.decide(_payment(item))
        service.audit_decision(who, d)
        out.append(d.public())
    return FastJSON(out)
