"""Append-only, tamper-evident audit log (审计日志) of every personal-data query and every command.

Each row carries actor, role, time, purpose, action and subject, and
``hash = sha256(prev_hash ‖ canonical JSON of the row)``. The ``audit_head`` row holds the last
sequence number and hash; appenders lock it (``FOR UPDATE``) so the chain is linear even with many
workers. :func:`verify` recomputes the chain: an edited row breaks its own hash, a deleted row
breaks the sequence and the next ``prev_hash``, a deleted last row disagrees with the head.
Someone able to rewrite the whole table *and* the head can forge a consistent chain, so publish
the head hash elsewhere now and then (``fanzha audit verify`` prints it; ``--anchor SEQ:HASH``
checks a published one).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Text, func, insert, select, type_coerce, update
from sqlalchemy.orm import Session

from fanzha.errors import ValidationError
from fanzha.ops.models import AuditEntry, AuditHead, check_length, check_limit
from fanzha.ops.store import Store

GENESIS = "0" * 64
SUBJECT_MAX = 256  # the subject_id column


def subject_key(subject_id: str | None) -> str | None:
    """The subject as stored and searched: a text longer than the column (a long URL) keeps its start
    and the sha256 of the whole (the full text goes into the row's detail)."""
    if subject_id is None or len(subject_id) <= SUBJECT_MAX:
        return subject_id
    digest = hashlib.sha256(subject_id.encode("utf-8")).hexdigest()
    return f"{subject_id[: SUBJECT_MAX - 72]}…sha256:{digest}"


@dataclass(frozen=True)
class Actor:
    """Who does something and why: every service function takes one and logs it."""

    name: str
    role: str
    purpose: str

    def __post_init__(self) -> None:
        for attr in ("name", "role", "purpose"):
            if not str(getattr(self, attr) or "").strip():
                raise ValidationError(
                    f"actor {attr} is empty; every query and command needs a named actor, a role "
                    "and a stated purpose (e.g. Actor('wang.li', 'police', 'case 2024-001'))",
                    field=attr,
                )
        check_length("actor name", self.name, 128)
        check_length("actor role", self.role, 64)
        check_length("purpose", self.purpose, 256)


SYSTEM = Actor("fanzha", "system", "scheduled processing")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_of(now: datetime | None) -> datetime:
    """The instant an operation acts at: ``now`` (tests, replays) or the clock, in UTC."""
    if now is not None and now.tzinfo is None:
        raise ValidationError(
            f"time {now.isoformat()} has no timezone; pass an aware datetime (e.g. tzinfo=UTC)", value=now
        )
    return (now or utcnow()).astimezone(UTC)


def _canonical(value: Any) -> Any:
    """JSON round trip so what is hashed is exactly what the database gives back."""
    return json.loads(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))


def row_hash(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256 over the previous hash and the canonical JSON of the row's fields."""
    body = json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _fields(entry: Any) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": entry.actor,
        "role": entry.role,
        "action": entry.action,
        "purpose": entry.purpose,
        "subject_kind": entry.subject_kind,
        "subject_id": entry.subject_id,
        "detail": entry.detail,
    }


def append(
    session: Session,
    actor: Actor,
    action: str,
    *,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    detail: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it commits or rolls back with the work).

    Core statements, not the ORM unit of work: this runs once per command, so it must be cheap.
    """
    seq, prev = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()
    ).one()
    at = as_of(now)
    stored = subject_key(subject_id)
    if stored != subject_id:  # too long for the column: the whole subject is kept in the detail
        detail = {**(detail or {}), "subject_id": subject_id}
    entry = AuditEntry(
        seq=seq + 1,
        at=at,
        actor=actor.name,
        role=actor.role,
        action=action,
        purpose=actor.purpose,
        subject_kind=subject_kind,
        subject_id=stored,
        detail=_canonical(detail or {}),
        prev_hash=prev,
        hash="",
    )
    entry.hash = row_hash(prev, _fields(entry))
    values = {c: getattr(entry, c) for c in _COLUMNS}
    session.execute(insert(AuditEntry).values(**values))
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=entry.seq, hash=entry.hash))
    return entry


_COLUMNS = (
    "seq",
    "at",
    "actor",
    "role",
    "action",
    "purpose",
    "subject_kind",
    "subject_id",
    "detail",
    "prev_hash",
    "hash",
)


@dataclass
class VerifyReport:
    rows: int
    head_seq: int
    head_hash: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(session: Session, batch: int = 5000) -> Iterator[Any]:
    """The log's rows in seq order; ``detail`` read as stored text and parsed here, so a row whose
    detail was overwritten with something that is not JSON is reported as edited, not a crash."""
    columns = [getattr(AuditEntry, c) for c in _COLUMNS if c != "detail"]
    columns.append(type_coerce(AuditEntry.detail, Text).label("detail"))
    stored_as_text = session.get_bind().dialect.name == "sqlite"
    last = 0
    while True:
        chunk = session.execute(
            select(*columns).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not chunk:
            return
        for row in chunk:
            values = dict(row._mapping)
            if stored_as_text:  # SQLite; PostgreSQL's driver parses JSON itself (and it is valid there)
                # not JSON: kept as the raw text, which cannot match the hash of what was logged
                with contextlib.suppress(ValueError):
                    values["detail"] = json.loads(values["detail"])
            yield SimpleNamespace(**values)
        last = chunk[-1].seq


def verify(store: Store, *, anchor: tuple[int, str] | None = None, max_problems: int = 20) -> VerifyReport:
    """Recompute the whole chain; report every edited, deleted or inserted row (up to a limit)."""
    with store.transaction() as session:
        head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
        head_seq, head_hash = head.seq, head.hash
        report = VerifyReport(rows=0, head_seq=head_seq, head_hash=head_hash)
        expected_seq, prev = 1, GENESIS
        for entry in _rows(session):
            report.rows += 1
            if entry.seq != expected_seq:
                report.problems.append(
                    f"rows {expected_seq}–{entry.seq - 1} are missing (deleted?)"
                    if entry.seq > expected_seq
                    else f"row {entry.seq} is out of sequence"
                )
            if entry.prev_hash != prev:
                report.problems.append(f"row {entry.seq}: prev_hash does not match row {entry.seq - 1}")
            if row_hash(entry.prev_hash, _fields(entry)) != entry.hash:
                report.problems.append(f"row {entry.seq}: content does not match its hash (edited?)")
            if anchor and entry.seq == anchor[0] and entry.hash != anchor[1]:
                report.problems.append(f"row {entry.seq}: hash differs from the published anchor")
            prev, expected_seq = entry.hash, entry.seq + 1
            if len(report.problems) >= max_problems:
                return report
        last = expected_seq - 1
        if last < head_seq:
            report.problems.append(
                f"last row is {last} but the head says {head_seq}: rows at the end were deleted"
            )
        elif last > head_seq:
            report.problems.append(
                f"last row is {last} but the head says {head_seq}: rows appended outside fanzha, "
                "or the head was rewound"
            )
        elif prev != head_hash:
            report.problems.append(
                f"the head's hash does not match row {last}, the last row (head or last row rewritten?)"
            )
        if anchor and anchor[0] > head_seq:
            report.problems.append(f"anchor row {anchor[0]} is beyond the head {head_seq}")
    return report


def entries(
    store: Store,
    actor: Actor,
    *,
    subject_id: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Read the log (newest first); reading it is itself logged."""
    check_limit(limit)
    with store.transaction() as session:
        query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
        if subject_id:
            query = query.where(AuditEntry.subject_id == subject_key(subject_id))
        if action:
            query = query.where(AuditEntry.action == action)
        if since:
            query = query.where(AuditEntry.at >= since)
        rows = list(session.execute(query).scalars().all())
        append(
            session, actor, "audit.read", subject_id=subject_id, detail={"action": action, "rows": len(rows)}
        )
        return rows


def count(store: Store) -> int:
    with store.transaction() as session:
        return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())
