"""Real-time decisions (事中阻断): call, SMS, URL visit, payment. In memory end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends

from fanzha.api.auth import Principal
from fanzha.api.deps import ServiceDep, require
from fanzha.api.responses import FastJSON
from fanzha.api.schemas.decide import CallCreate, DecisionPublic, PaymentCreate, SmsCreate, UrlVisitCreate
from fanzha.decide.features import CallEvent, PaymentEvent, SmsEvent, UrlEvent
from fanzha.records.normalise import url_host

router = APIRouter(prefix="/v1/decide", tags=["decide"])
MAX_BATCH = 1000


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/call", response_model=DecisionPublic, summary="Decide on a call (caller → callee)")
async def decide_call(
    body: CallCreate, who: Annotated[Principal, Depends(require("decide:call"))], service: ServiceDep
) -> FastJSON:
    d = service.engine.decide(CallEvent(body.caller, body.callee, body.at or _now(), body.duration_s))
    service.audit_decision(who, d)
    return FastJSON(d.public())


@router.post("/sms", response_model=DecisionPublic, summary="Decide on an SMS (sender → receiver, text)")
async def decide_sms(
    body: SmsCreate, who: Annotated[Principal, Depends(require("decide:sms"))], service: ServiceDep
) -> FastJSON:
    d = service.engine.decide(SmsEvent(body.sender, body.receiver, body.at or _now(), body.text))
    service.audit_decision(who, d)
    return FastJSON(d.public())


@router.post("/url", response_model=DecisionPublic, summary="Decide on a URL visit")
async def decide_url(
    body: UrlVisitCreate, who: Annotated[Principal, Depends(require("decide:url"))], service: ServiceDep
) -> FastJSON:
    d = service.engine.decide(UrlEvent(body.url, url_host(body.url), body.at or _now(), body.visitor))
    service.audit_decision(who, d)
    return FastJSON(d.public())


def _payment(body: PaymentCreate) -> PaymentEvent:
    return PaymentEvent(
        body.payer, body.payee, body.amount_fen, body.channel, body.at or _now(), body.payer_phone
    )


@router.post("/payment", response_model=DecisionPublic, summary="Decide on a payment (payer → payee, fen)")
async def decide_payment(
    body: PaymentCreate, who: Annotated[Principal, Depends(require("decide:payment"))], service: ServiceDep
) -> FastJSON:
    d = service.engine.decide(_payment(body))
    service.audit_decision(who, d)
    return FastJSON(d.public())


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
