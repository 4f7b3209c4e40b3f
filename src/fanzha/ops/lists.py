"""Block and allow lists (黑白名单) for numbers, accounts, hosts / URLs and devices.

Every entry has a reason, a source, an owner, a start and an optional expiry; entries are never
deleted, only removed (with who and why) so decisions stay explainable. Precedence of a lookup,
strongest first:

1. ``fatal_block`` — blocks, and no allow override can lift it (e.g. a confirmed fraud number);
2. ``allow`` — an override that lifts ordinary blocks and warnings (a legitimate customer-service
   number, a verified merchant account: 避免一刀切, do not block legitimate users wholesale);
3. ``block``;
4. ``warn``.

Hosts match exactly or by suffix (a ``suffix`` entry ``example.com`` covers ``a.example.com`` and
``example.com`` itself, never ``badexample.com``); a URL is checked as itself and as its host.
Appeals (申诉) against an entry are filed and decided; an upheld appeal removes the entry.
"""

from __future__ import annotations

import csv
import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fanzha.errors import ConflictError, InputFileError, NotFoundError, StateError, ValidationError
from fanzha.ops import audit
from fanzha.ops.audit import Actor
from fanzha.ops.models import ListAppeal, ListEntry, check_choice, check_length, check_limit
from fanzha.ops.store import Store
from fanzha.records.normalise import (
    normalise_account,
    normalise_host,
    normalise_imei,
    normalise_phone,
    normalise_url,
    url_host,
)

KINDS = ("number", "account", "host", "url", "device")
ACTIONS = ("fatal_block", "allow", "block", "warn")  # precedence order, strongest first
MATCHES = ("exact", "suffix")


NORMALISERS: dict[str, Callable[[object], str]] = {
    "number": normalise_phone,
    "account": normalise_account,
    "host": normalise_host,
    "url": normalise_url,
    "device": normalise_imei,
}


def normalise_value(kind: str, value: object) -> str:
    if kind not in KINDS:
        raise ValidationError(f"list kind {kind!r} is unknown; use one of {KINDS}", field="kind")
    return NORMALISERS[kind](value)


def _live_key(kind: str, match: str, value: str, action: str, source: str) -> str:
    return hashlib.sha256(f"{kind}|{match}|{value}|{action}|{source}".encode()).hexdigest()


def _entry_row(
    kind: str,
    value: object,
    action: str,
    match: str,
    reason: str,
    source: str,
    owner: str,
    starts_at: datetime,
    expires_at: datetime | None,
    now: datetime,
) -> dict[str, Any]:
    if action not in ACTIONS:
        raise ValidationError(f"list action {action!r} is unknown; use one of {ACTIONS}", field="action")
    if match not in MATCHES or (match == "suffix" and kind != "host"):
        raise ValidationError(
            f"match {match!r} is not allowed for {kind}; suffix match is for hosts only", field="match"
        )
    if not reason.strip() or not source.strip():
        raise ValidationError("a list entry needs a reason and a source", field="reason")
    check_length("source", source, 64)
    check_length("owner", owner, 128)
    if expires_at is not None and expires_at <= starts_at:
        raise ValidationError(f"expiry {expires_at} is not after the start {starts_at}", field="expires_at")
    norm = normalise_value(kind, value)
    check_length(kind, norm, 2048)
    return {
        "id": "l_" + uuid.uuid4().hex[:24],
        "kind": kind,
        "value": norm,
        "match": match,
        "action": action,
        "reason": reason,
        "source": source,
        "owner": owner,
        "status": "active",
        "live_key": _live_key(kind, match, norm, action, source),
        "starts_at": starts_at,
        "expires_at": expires_at,
        "created_at": now,
    }


def add_entry(
    store: Store,
    actor: Actor,
    *,
    kind: str,
    value: object,
    action: str,
    reason: str,
    source: str,
    owner: str | None = None,
    match: str = "exact",
    starts_at: datetime | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> ListEntry:
    """Add an entry; adding one that is already live (same kind, match, value, action, source) returns it."""
    now = audit.as_of(now)
    row = _entry_row(
        kind, value, action, match, reason, source, owner or actor.name, starts_at or now, expires_at, now
    )
    for _ in range(2):
        with store.transaction() as session:
            existing = session.execute(
                select(ListEntry).where(ListEntry.live_key == row["live_key"])
            ).scalar_one_or_none()
            if existing is not None:
                return existing
            try:
                with session.begin_nested():
                    entry = ListEntry(**row)
                    session.add(entry)
            except IntegrityError:
                continue
            audit.append(
                session,
                actor,
                f"list.add.{action}",
                subject_kind=kind,
                subject_id=row["value"],
                detail={"entry_id": entry.id, "source": source, "match": match},
                now=now,
            )
            return entry
    raise StateError("list entry kept colliding with a concurrent writer; retry")  # pragma: no cover


def remove_entry(
    store: Store, actor: Actor, entry_id: str, reason: str, *, now: datetime | None = None
) -> ListEntry:
    """Take an entry off the list (kept with who, when and why)."""
    now = audit.as_of(now)
    if not reason.strip():
        raise ValidationError("removing a list entry needs a reason", field="reason")
    with store.transaction() as session:
        entry = _get_entry(session, entry_id, lock=True)
        if entry.status == "removed":
            return entry
        _remove(entry, actor.name, reason, now)
        audit.append(
            session,
            actor,
            "list.remove",
            subject_kind=entry.kind,
            subject_id=entry.value,
            detail={"entry_id": entry_id, "reason": reason},
            now=now,
        )
        return entry


def _remove(entry: ListEntry, who: str, reason: str, now: datetime) -> None:
    entry.status, entry.live_key, entry.removed_at, entry.removed_by, entry.removal_reason = (
        "removed",
        None,
        now,
        who,
        reason,
    )


def _get_entry(session: Session, entry_id: str, *, lock: bool = False) -> ListEntry:
    query = select(ListEntry).where(ListEntry.id == entry_id)
    entry = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if entry is None:
        raise NotFoundError(f"list entry {entry_id!r} does not exist; find it with `fanzha lists check`")
    return entry


@dataclass
class Verdict:
    """Result of a lookup: ``action`` is block / allow / warn / none, with the entries behind it."""

    kind: str
    value: str
    action: str
    fatal: bool = False
    deciding_entry: str | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    matched: list[dict[str, Any]] = field(default_factory=list)


def _suffixes(host: str) -> list[str]:
    parts = host.split(".")
    return [".".join(parts[i:]) for i in range(len(parts) - 1)]


def in_force(now: datetime) -> tuple[ColumnElement[bool], ...]:
    """WHERE conditions of the entries in force at ``now`` (active, started, not expired)."""
    return (
        ListEntry.status == "active",
        ListEntry.starts_at <= now,
        or_(ListEntry.expires_at.is_(None), ListEntry.expires_at > now),
    )


def matching(session: Session, kind: str, value: str, now: datetime) -> list[ListEntry]:
    """Live entries that cover an already normalised value (exact, host suffix, URL's host)."""
    conds = [(ListEntry.kind == kind) & (ListEntry.value == value) & (ListEntry.match == "exact")]
    host = url_host(value) if kind == "url" else value if kind == "host" else None
    if host is not None:
        conds.append((ListEntry.kind == "host") & (ListEntry.value == host) & (ListEntry.match == "exact"))
        conds.append(
            (ListEntry.kind == "host")
            & (ListEntry.value.in_(_suffixes(host)))
            & (ListEntry.match == "suffix")
        )
    query = select(ListEntry).where(or_(*conds), *in_force(now))
    return list(session.execute(query).scalars().all())


def decide(kind: str, value: str, entries: Iterable[ListEntry]) -> Verdict:
    """Apply the precedence fatal_block > allow override > block > warn (pure)."""
    ordered = sorted(
        entries, key=lambda e: (ACTIONS.index(e.action), e.match != "exact", -len(e.value), e.id)
    )
    matched = [
        {
            "entry_id": e.id,
            "action": e.action,
            "match": e.match,
            "value": e.value,
            "source": e.source,
            "reason": e.reason,
        }
        for e in ordered
    ]
    if not ordered:
        return Verdict(
            kind, value, "none", reasons=[{"code": "not_listed", "message": "on no list", "value": value}]
        )
    top = ordered[0]
    action = "block" if top.action == "fatal_block" else top.action
    reasons: list[dict[str, Any]] = [
        {
            "code": f"list_{top.action}",
            "message": f"{top.action} by {top.source}: {top.reason}",
            "value": top.value,
        }
    ]
    lifted = [e for e in ordered[1:] if e.action in ("block", "warn")]
    if top.action == "allow" and lifted:
        reasons.append(
            {
                "code": "override",
                "message": f"allow override lifts {len(lifted)} block/warn entr(ies)",
                "value": [e.id for e in lifted],
            }
        )
    if top.action == "fatal_block" and any(e.action == "allow" for e in ordered):
        reasons.append(
            {
                "code": "override_refused",
                "message": "a fatal block cannot be lifted by an allow entry",
                "value": [e.id for e in ordered if e.action == "allow"],
            }
        )
    return Verdict(kind, value, action, top.action == "fatal_block", top.id, reasons, matched)


def check(store: Store, actor: Actor, kind: str, value: object, *, now: datetime | None = None) -> Verdict:
    """Look a number / account / host / URL / device up on the lists (logged)."""
    now = audit.as_of(now)
    norm = normalise_value(kind, value)
    with store.transaction() as session:
        verdict = decide(kind, norm, matching(session, kind, norm, now))
        audit.append(
            session,
            actor,
            "list.check",
            subject_kind=kind,
            subject_id=norm,
            detail={"action": verdict.action, "entry": verdict.deciding_entry},
            now=now,
        )
        return verdict


def list_entries(
    store: Store,
    actor: Actor,
    *,
    kind: str | None = None,
    source: str | None = None,
    value: str | None = None,
    status: str = "active",
    limit: int = 100,
) -> list[ListEntry]:
    check_choice("kind", kind or None, KINDS)
    check_limit(limit)
    with store.transaction() as session:
        query = (
            select(ListEntry)
            .where(ListEntry.status == status)
            .order_by(ListEntry.created_at.desc(), ListEntry.id)
            .limit(limit)
        )
        if kind:
            query = query.where(ListEntry.kind == kind)
        if source:
            query = query.where(ListEntry.source == source)
        if value and kind:
            query = query.where(ListEntry.value == normalise_value(kind, value))
        rows = list(session.execute(query).scalars().all())
        audit.append(
            session, actor, "list.read", subject_kind=kind, detail={"source": source, "rows": len(rows)}
        )
        return rows


def appeal(
    store: Store, actor: Actor, entry_id: str, *, appellant: str, reason: str, now: datetime | None = None
) -> ListAppeal:
    """File an appeal (申诉) against a live entry."""
    now = audit.as_of(now)
    if not reason.strip() or not appellant.strip():
        raise ValidationError("an appeal needs the appellant and a reason", field="reason")
    check_length("appellant", appellant, 128)
    with store.transaction() as session:
        entry = _get_entry(session, entry_id, lock=True)  # one appeal filed at a time per entry
        if entry.status != "active":
            raise StateError(f"list entry {entry_id} is already {entry.status}; nothing to appeal")
        pending = session.execute(
            select(ListAppeal).where(ListAppeal.entry_id == entry_id, ListAppeal.status == "open")
        ).scalar_one_or_none()
        if pending is not None:
            raise ConflictError(
                f"list entry {entry_id} already has an open appeal {pending.id} (filed "
                f"{pending.filed_at:%Y-%m-%d %H:%M} UTC by {pending.appellant}); decide it before another"
            )
        item = ListAppeal(
            id="a_" + uuid.uuid4().hex[:24],
            entry_id=entry_id,
            appellant=appellant,
            reason=reason,
            status="open",
            filed_at=now,
        )
        session.add(item)
        audit.append(
            session,
            actor,
            "list.appeal",
            subject_kind=entry.kind,
            subject_id=entry.value,
            detail={"appeal_id": item.id, "entry_id": entry_id},
            now=now,
        )
        return item


def decide_appeal(
    store: Store, actor: Actor, appeal_id: str, *, uphold: bool, note: str, now: datetime | None = None
) -> ListAppeal:
    """Decide an open appeal; upholding it removes the entry (a fatal block included: that is its only way off)."""
    now = audit.as_of(now)
    with store.transaction() as session:
        item = session.execute(
            select(ListAppeal).where(ListAppeal.id == appeal_id).with_for_update()
        ).scalar_one_or_none()
        if item is None:
            raise NotFoundError(f"appeal {appeal_id!r} does not exist")
        if item.status != "open":
            raise StateError(f"appeal {appeal_id} was already decided ({item.status})")
        item.status, item.decided_at, item.decided_by, item.decision_note = (
            "upheld" if uphold else "rejected",
            now,
            actor.name,
            note,
        )
        entry = _get_entry(session, item.entry_id, lock=True)
        if uphold and entry.status == "active":
            _remove(entry, actor.name, f"appeal {appeal_id} upheld: {note}", now)
        audit.append(
            session,
            actor,
            f"list.appeal.{item.status}",
            subject_kind=entry.kind,
            subject_id=entry.value,
            detail={"appeal_id": appeal_id, "entry_id": entry.id},
            now=now,
        )
        return item


@dataclass
class LoadReport:
    file: str
    read: int = 0
    added: int = 0
    already: int = 0
    rejected: int = 0
    examples: list[str] = field(default_factory=list)


def bulk_add(
    store: Store,
    actor: Actor,
    rows: list[tuple[str, object, str, str]],
    *,
    source: str,
    owner: str,
    file: str,
    now: datetime | None = None,
) -> LoadReport:
    """Add many ``(kind, value, action, match)`` rows from one source; bad values are counted with reasons."""
    now = audit.as_of(now)
    report = LoadReport(file=file, read=len(rows))
    fresh: dict[str, dict[str, Any]] = {}
    for kind, value, action, match in rows:
        try:
            row = _entry_row(
                kind, value, action, match, f"listed by {source} ({file})", source, owner, now, None, now
            )
        except ValidationError as exc:
            report.rejected += 1
            if len(report.examples) < 5:
                report.examples.append(str(exc))
            continue
        fresh.setdefault(row["live_key"], row)
    for attempt in range(3):
        try:
            with store.transaction() as session:
                _bulk_insert(session, actor, fresh, report, source, file, now)
            return report
        except IntegrityError:  # a concurrent load stored some of these entries first (PostgreSQL)
            if attempt == 2:
                raise StateError(
                    f"{file}: entries kept colliding with a concurrent load; load it again"
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _bulk_insert(
    session: Session,
    actor: Actor,
    fresh: dict[str, dict[str, Any]],
    report: LoadReport,
    source: str,
    file: str,
    now: datetime,
) -> None:
    """Insert the entries not live yet (counted in ``report``) and log the load."""
    keys = list(fresh)
    known: set[str | None] = set()
    for i in range(0, len(keys), 500):
        known.update(
            session.execute(
                select(ListEntry.live_key).where(ListEntry.live_key.in_(keys[i : i + 500]))
            ).scalars()
        )
    new = [row for key, row in fresh.items() if key not in known]
    for i in range(0, len(new), 2000):
        session.execute(insert(ListEntry), new[i : i + 2000])
    report.added, report.already = len(new), report.read - report.rejected - len(new)
    audit.append(
        session,
        actor,
        "list.load",
        detail={"file": file, "source": source, "added": report.added, "rejected": report.rejected},
        now=now,
    )


def _read_csv(path: Path, column: str) -> list[str]:
    if not path.is_file():
        raise InputFileError(f"{path} is missing; point --dir at a copy of the tw165 lists")
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if column not in (reader.fieldnames or []):
                raise InputFileError(f"{path} has no column {column!r} (columns: {reader.fieldnames})")
            return [r[column] for r in reader if r.get(column)]
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> InputFileError:
    return InputFileError(
        f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
        "save it as UTF-8 (the tw165 files are published in UTF-8)"
    )


def _adguard_hosts(path: Path) -> list[str]:
    """Hosts of AdGuard allow rules ``@@||host^`` (comments ``!`` and other rule kinds skipped)."""
    if not path.is_file():
        raise InputFileError(f"{path} is missing")
    hosts = []
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("@@||"):
            hosts.append(line[4:].split("^", 1)[0].split("$", 1)[0])
    return hosts


def load_tw165(
    store: Store,
    actor: Actor,
    directory: Path,
    *,
    owner: str = "tw165 open data",
    now: datetime | None = None,
) -> list[LoadReport]:
    """Load Taiwan's 165 anti-fraud open lists as an example source (phones, accounts, scam sites
    → block; the AdGuard allow list → host-suffix allow). Nothing is bundled: read from ``directory``."""
    directory = Path(directory)
    plan: list[tuple[str, list[tuple[str, object, str, str]]]] = [
        (
            "tw165_blacklisted_phones.csv",
            [
                ("number", v, "block", "exact")
                for v in _read_csv(directory / "tw165_blacklisted_phones.csv", "phone")
            ],
        ),
        (
            "tw165_blacklisted_bank_accounts.csv",
            [
                ("account", v, "block", "exact")
                for v in _read_csv(directory / "tw165_blacklisted_bank_accounts.csv", "account")
            ],
        ),
        (
            "tw165_scam_websites_train.csv",
            [
                ("host", v, "block", "exact")
                for v in _read_csv(directory / "tw165_scam_websites_train.csv", "host")
            ],
        ),
        (
            "allowlist_adguard.txt",
            [("host", v, "allow", "suffix") for v in _adguard_hosts(directory / "allowlist_adguard.txt")],
        ),
    ]
    return [
        bulk_add(store, actor, rows, source="tw165", owner=owner, file=name, now=now) for name, rows in plan
    ]
