"""Party API: ingest reports, fund-control commands and receipts, interception results."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from fanzha.api.schemas.types import Account, AmountFen, Moment, Phone, ShortText
from fanzha.records.normalise import MAX_FEN


class IngestPublic(BaseModel):
    kind: str
    rows_read: int
    landed: int
    rejected: int
    duplicates: int
    rejections: list[dict[str, Any]] = Field(
        default_factory=list, description="most frequent rejection reasons with row counts"
    )


class CommandPublic(BaseModel):
    id: str
    kind: str
    status: str
    account: str
    bank: str | None
    amount_fen: int | None = Field(description="None asks for the whole balance")
    case_id: str | None
    reason: str
    requested_at: datetime | None = None
    sent_at: datetime | None = None
    expires_at: datetime | None = None
    held_fen: int = 0


class NextHop(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: Account
    bank: ShortText | None = None
    amount_fen: AmountFen


class ReceiptCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")
    outcome: Literal["acknowledged", "executed", "partial", "rejected"] = Field(description="bank's result")
    held_fen: StrictInt = Field(0, ge=0, le=MAX_FEN)
    balance_fen: StrictInt | None = Field(None, ge=0, le=MAX_FEN)
    moved_on_fen: StrictInt = Field(0, ge=0, le=MAX_FEN)
    next_hops: list[NextHop] = Field(
        default_factory=list, max_length=100, description="where moved money went"
    )
    note: ShortText | None = None


class InterceptionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Phone
    action: Literal["call_blocked", "sms_blocked", "number_suspended", "flash_warning_sent"]
    at: Moment
    count: int = Field(1, ge=1, le=1_000_000)
    target: Phone | None = Field(None, description="the protected subscriber, if one")
    note: ShortText | None = None


class InterceptionPublic(BaseModel):
    accepted: bool
    number: str
    action: str
