"""SQLAlchemy 2 models of the operational store (the Alembic migrations create exactly these).

Conventions: money is integer fen (BigInteger), times are tz-aware UTC (:class:`UTCDateTime` keeps
them aware on SQLite too), identifiers are normalised before they get here. Columns named
``*_key`` that are unique but nullable enforce "at most one live row" on both SQLite and
PostgreSQL (NULLs never collide): the database, not the Python code, guarantees that two workers
cannot open the same warning episode, hold the same money twice or plan the same refund twice.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from fanzha.errors import ValidationError


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValidationError(f"time {value!r} has no timezone; pass a tz-aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


# ---------------------------------------------------------------- audit log
class AuditHead(Base):
    """One row: the last sequence number and hash; locked FOR UPDATE to serialise appends."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(256))
    subject_kind: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(256), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# ---------------------------------------------------------------- warnings (预警劝阻)
class PersonProfile(Base):
    """What the warning rules need to know about a person: age, earlier victim, family contacts."""

    __tablename__ = "person_profiles"
    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    birth_date: Mapped[date | None] = mapped_column(Date)
    earlier_victim: Mapped[bool] = mapped_column(Boolean, default=False)
    family_contacts: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime]


class WarningTask(Base):
    __tablename__ = "warnings"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    episode_key: Mapped[str] = mapped_column(String(128))
    # "<person>|<episode>" while the warning is open, NULL once closed: one open warning per episode
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(8), index=True)
    score: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    signals: Mapped[list[Any]] = mapped_column(JSON)
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    amount_at_stake_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    vulnerability: Mapped[list[Any]] = mapped_column(JSON)
    channels: Mapped[list[Any]] = mapped_column(JSON)
    family_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    deadline_at: Mapped[datetime]
    issued_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    contacted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    contact_channel: Mapped[str | None] = mapped_column(String(16))
    officer: Mapped[str | None] = mapped_column(String(128))
    outcome_note: Mapped[str | None] = mapped_column(Text)
    merged_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]


class WarningEvent(Base):
    __tablename__ = "warning_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    warning_id: Mapped[str] = mapped_column(ForeignKey("warnings.id"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    officer: Mapped[str | None] = mapped_column(String(128))
    channel: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)


# ---------------------------------------------------------------- fund control (资金查控)
class FundCommand(Base):
    __tablename__ = "fund_commands"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # caller's idempotency key
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    bank: Mapped[str | None] = mapped_column(String(64))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("fund_commands.id"), index=True)
    root_id: Mapped[str | None] = mapped_column(String(64), index=True)
    hop: Mapped[int] = mapped_column(Integer, default=0)
    victim_ids: Mapped[list[Any]] = mapped_column(JSON)
    request_hash: Mapped[str] = mapped_column(String(64))
    officer: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    executed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    respond_by: Mapped[datetime | None]  # the bank must answer before this, else expired
    expires_at: Mapped[datetime | None]  # legal end of the hold (stop-payment 48 h, freeze term)
    held_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_fen: Mapped[int | None] = mapped_column(BigInteger)
    moved_on_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    next_hops: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    escalated: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]


class FundCommandEvent(Base):
    __tablename__ = "fund_command_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    command_id: Mapped[str] = mapped_column(ForeignKey("fund_commands.id"), index=True)
    at: Mapped[datetime]
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)


class BankReceipt(Base):
    __tablename__ = "bank_receipts"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the bank's receipt number
    command_id: Mapped[str] = mapped_column(ForeignKey("fund_commands.id"), index=True)
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    held_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    balance_fen: Mapped[int | None] = mapped_column(BigInteger)
    moved_on_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    next_hops: Mapped[list[Any]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    payload_hash: Mapped[str] = mapped_column(String(64))


class FundHold(Base):
    """Money actually held at a bank by an executed stop-payment or freeze."""

    __tablename__ = "fund_holds"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    command_id: Mapped[str] = mapped_column(ForeignKey("fund_commands.id"), unique=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # "<kind>:<account>" while active: the same money is never held twice by two commands
    active_key: Mapped[str | None] = mapped_column(String(48), unique=True)
    started_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
    release_reason: Mapped[str | None] = mapped_column(String(64))


# ---------------------------------------------------------------- refunds (冻结资金返还)
class TraceLink(Base):
    """Evidence that a victim's money reached an account (from the fund trace); backs refund claims."""

    __tablename__ = "trace_links"
    __table_args__ = (UniqueConstraint("victim_id", "account", "transfer_id", name="uq_trace_link"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    victim_id: Mapped[str] = mapped_column(String(64), index=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    transfer_id: Mapped[str] = mapped_column(String(64))
    hop: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(32))
    recorded_at: Mapped[datetime]


class RefundPlan(Base):
    __tablename__ = "refund_plans"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16))
    active_key: Mapped[str | None] = mapped_column(String(48), unique=True)  # account while planned
    method: Mapped[str] = mapped_column(String(16))
    pool_fen: Mapped[int] = mapped_column(BigInteger)
    claimed_fen: Mapped[int] = mapped_column(BigInteger)
    eligible_fen: Mapped[int] = mapped_column(BigInteger)
    returned_fen: Mapped[int] = mapped_column(BigInteger)
    calculation: Mapped[dict[str, Any]] = mapped_column(JSON)
    calculation_hash: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    executed_at: Mapped[datetime | None]


class RefundAllocation(Base):
    __tablename__ = "refund_allocations"
    __table_args__ = (UniqueConstraint("plan_id", "victim_id", name="uq_refund_victim"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("refund_plans.id"), index=True)
    victim_id: Mapped[str] = mapped_column(String(64))
    claimed_fen: Mapped[int] = mapped_column(BigInteger)
    eligible_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))  # allocated | rejected
    reason: Mapped[str] = mapped_column(Text)


# ---------------------------------------------------------------- block / allow lists
class ListEntry(Base):
    __tablename__ = "list_entries"
    __table_args__ = (Index("ix_list_lookup", "kind", "value"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(2048))
    match: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    # sha256 of kind|match|value|action|source while active: no duplicate live entries
    live_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    starts_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(128))
    removal_reason: Mapped[str | None] = mapped_column(Text)


class ListAppeal(Base):
    __tablename__ = "list_appeals"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("list_entries.id"), index=True)
    appellant: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    filed_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decision_note: Mapped[str | None] = mapped_column(Text)


def check_length(field: str, value: str | None, limit: int) -> None:
    """Refuse a text longer than its column with a clear message (PostgreSQL would raise a raw error)."""
    if value is not None and len(value) > limit:
        raise ValidationError(
            f"{field} {value[:40]!r}… has {len(value)} characters, more than the {limit} allowed", field=field
        )


def check_key(field: str, value: str, limit: int = 64, *, hint: str = "") -> None:
    """A caller-chosen id (idempotency key) must be a non-blank text that fits its column."""
    if not isinstance(value, str) or not value.strip():
        hint = hint or "give the id you will use for retries, e.g. case-001/freeze/1"
        raise ValidationError(f"{field} {value!r} is blank; {hint}", field=field, value=value)
    check_length(field, value, limit)


def check_choice(field: str, value: str | None, choices: tuple[str, ...] | frozenset[str]) -> None:
    """A filter value that no row can have is a typo: say so instead of answering "nothing found"."""
    if value is not None and value not in choices:
        raise ValidationError(
            f"{field} {value!r} is unknown; use one of {', '.join(sorted(choices))}", field=field, value=value
        )


def check_limit(limit: int) -> None:
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError(f"limit {limit!r} must be a whole number ≥ 1", field="limit", value=limit)
