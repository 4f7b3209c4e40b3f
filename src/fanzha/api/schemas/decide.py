"""Decision requests (one per event kind) and the decision returned."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fanzha.api.schemas.types import Account, AmountFen, DecisionMoment, Phone, Text, Url
from fanzha.records.contracts import CHANNELS

Outcome = Literal["proceed", "warn", "delay", "block"]
Channel = Literal[CHANNELS]  # type: ignore[valid-type]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=4096)


class CallCreate(_Strict):
    caller: Phone
    callee: Phone
    at: DecisionMoment | None = Field(None, description="call set-up time; default now")
    duration_s: int | None = Field(
        None, ge=0, le=86_400, description="after the call: 0 = not answered (feeds cross-signal fusion)"
    )


class SmsCreate(_Strict):
    sender: Phone
    receiver: Phone
    text: Text
    at: DecisionMoment | None = None


class UrlVisitCreate(_Strict):
    url: Url
    visitor: Phone | None = Field(None, description="visitor's phone number when the platform knows it")
    at: DecisionMoment | None = None


class PaymentCreate(_Strict):
    payer: Account
    payee: Account
    amount_fen: AmountFen
    channel: Channel
    at: DecisionMoment | None = None
    payer_phone: Phone | None = Field(None, description="payer's registered mobile, links calls to payments")


class ReasonPublic(BaseModel):
    code: str
    message: str
    value: float | int | str | bool | None = None
    weight: float = 0.0
    floor: Outcome | None = Field(None, description="least outcome the rule forces (only when it has one)")
    ceiling: Outcome | None = Field(None, description="most severe outcome the rule allows")
    override: Outcome | None = Field(None, description="outcome the rule decides outright (list hits)")
    delay_tier: str | None = Field(None, description="delay tier the rule asks for")


class DecisionPublic(BaseModel):
    decision_id: str
    event: Literal["call", "sms", "url", "payment"]
    outcome: Outcome = Field(description="proceed < warn < delay < block")
    score: float = Field(ge=0, le=1)
    reasons: list[ReasonPublic]
    delay_minutes: int = Field(0, description="tiered delay (延时层级) when outcome is delay")
    delay_tier: str | None = None
    delay_basis: str | None = Field(
        None, description="why this tier: 'T2: amount ≥ 50,000 yuan', 'T3: score 0.9612 ≥ 0.95', 'T1: rule …'"
    )
    versions: dict[str, str] = Field(description="rule set, lists and models used")
