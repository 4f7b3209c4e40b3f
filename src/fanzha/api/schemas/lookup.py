"""Lookups (反诈名片-style labels), 一证通查 and tips."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fanzha.api.schemas.decide import ReasonPublic
from fanzha.api.schemas.types import Moment, ShortText, Text

Label = Literal["verified", "high_risk", "suspicious", "no_record"]


class LookupPublic(BaseModel):
    kind: Literal["phone", "account", "url"]
    identifier: str = Field(description="masked for roles that do not need the full identifier")
    label: Label
    label_text: str = Field(description="what a phone or app shows, e.g. 工商银行客服 or 疑似诈骗")
    tier: str | None = Field(None, description="risk tier (police, procurator and parties only)")
    probability: float | None = None
    reasons: list[ReasonPublic] | None = None
    sources: list[str] | None = None


class PhoneCardPublic(BaseModel):
    number: str
    carrier: str | None
    card_type: str | None
    status: str | None
    opened_at: datetime | None


class PhoneCardsPublic(BaseModel):
    id_number: str
    cards: list[PhoneCardPublic]
    count: int


class TipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifier_kind: Literal["phone", "account", "url", "wallet", "app_account"]
    identifier: ShortText
    text: Text | None = None
    reported_at: Moment | None = None


class TipPublic(BaseModel):
    tip_id: str
    identifier_kind: str
    identifier: str
    stored: str = Field(
        description="queued: landed in the lake (tips table) by the background writer within a second"
    )
