"""Fund control (资金查控): query / stop_payment / freeze / extend / unfreeze commands to banks.

State machine (illegal moves raise StateError)::

    requested → sent → acknowledged → executed | partial | rejected
    requested / sent / acknowledged → expired          (bank did not answer by respond_by)
    executed | partial → expired                       (legal term of the hold ran out: `fanzha ops tick`)
    executed | partial → released                      (unfrozen, or a stop-payment taken over by a freeze)

Legal time limits (constants below, documented in docs/ops.md): a stop-payment (紧急止付) holds
for 48 h and is not renewable: a freeze must follow within the window; a freeze (冻结) holds for
six months (taken as 180 days) and each extension (续冻) adds another term counted from the current
expiry; banks must answer within 24 h. Command ids are the caller's idempotency keys: the same id
with the same request returns the stored command, with a different request raises ConflictError.
A bank receipt id is likewise applied once. The same money is never held twice: an account has at
most one active stop-payment hold and one active freeze hold (unique ``active_key``), and a freeze
executed on a stop-paid account takes the stop-payment's money over instead of counting it again.
When the money had moved on, :func:`escalate` follows it to the next hop (from the fund trace when
given, else from the bank's receipt).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fanzha.errors import ConflictError, NotFoundError, StateError, ValidationError
from fanzha.ops import audit
from fanzha.ops.audit import SYSTEM, Actor
from fanzha.ops.models import (
    BankReceipt,
    FundCommand,
    FundCommandEvent,
    FundHold,
    WarningTask,
    check_choice,
    check_key,
    check_length,
    check_limit,
)
from fanzha.ops.store import Store
from fanzha.records.normalise import MAX_FEN, normalise_account

KINDS = ("query", "stop_payment", "freeze", "extend", "unfreeze")
HOLD_KINDS = ("stop_payment", "freeze")
STOP_PAYMENT_TERM = timedelta(hours=48)
FREEZE_TERM = timedelta(days=180)
RESPOND_WITHIN = timedelta(hours=24)
OUTCOMES = ("acknowledged", "executed", "partial", "rejected")
TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"sent", "expired"}),
    "sent": frozenset({"acknowledged", "rejected", "expired"}),
    "acknowledged": frozenset({"executed", "partial", "rejected", "expired"}),
    "executed": frozenset({"expired", "released"}),
    "partial": frozenset({"expired", "released"}),
    "rejected": frozenset(),
    "expired": frozenset(),
    "released": frozenset(),
}
LIVE = ("executed", "partial")


@dataclass(frozen=True)
class Receipt:
    """A bank's answer to a command. ``next_hops``: ``[{"account", "bank", "amount_fen"}]`` where
    the money went when it had moved on (``moved_on_fen``)."""

    receipt_id: str
    outcome: str
    held_fen: int = 0
    balance_fen: int | None = None
    moved_on_fen: int = 0
    next_hops: tuple[dict[str, Any], ...] = ()
    note: str | None = None
    received_at: datetime | None = None

    def payload_hash(self) -> str:
        return _request_hash(**{k: v for k, v in self.__dict__.items() if k != "received_at"})


def _request_hash(**fields: Any) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _lock(session: Session, command_id: str) -> FundCommand:
    cmd = session.execute(
        select(FundCommand).where(FundCommand.id == command_id).with_for_update()
    ).scalar_one_or_none()
    if cmd is None:
        raise NotFoundError(
            f"fund-control command {command_id!r} does not exist; list them with `fanzha ops commands list`"
        )
    return cmd


def _move(
    session: Session, cmd: FundCommand, to: str, actor: Actor, now: datetime, note: str | None = None
) -> None:
    if to not in TRANSITIONS[cmd.status]:
        nxt = ", ".join(sorted(TRANSITIONS[cmd.status])) or "none (it is closed)"
        raise StateError(
            f"command {cmd.id} ({cmd.kind}) is {cmd.status!r}; it cannot become {to!r}. Allowed next: {nxt}"
        )
    session.add(
        FundCommandEvent(
            command_id=cmd.id, at=now, from_status=cmd.status, to_status=to, actor=actor.name, note=note
        )
    )
    cmd.status = to
    cmd.updated_at = now
    if to in ("rejected", "expired", "released"):
        cmd.closed_at = now


def _validate_request(kind: str, amount_fen: int | None, parent_id: str | None, reason: str) -> None:
    if kind not in KINDS:
        raise ValidationError(f"command kind {kind!r} is unknown; use one of {KINDS}", field="kind")
    if amount_fen is not None and (
        isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_FEN
    ):
        raise ValidationError(
            f"amount_fen {amount_fen!r} must be a positive integer of fen up to {MAX_FEN} "
            "(or omitted: whole balance)",
            field="amount_fen",
        )
    if kind in ("extend", "unfreeze") and not parent_id:
        raise ValidationError(f"{kind} needs parent_id: the freeze command it applies to", field="parent_id")
    if kind == "query" and parent_id:
        raise ValidationError("a query takes no parent_id", field="parent_id")
    if not reason.strip():
        raise ValidationError("a fund-control command needs a legal reason (case and basis)", field="reason")


def _check_ids(**values: str | None) -> None:
    for name, value in values.items():
        check_length(name, value, 64)


def issue_command(
    store: Store,
    actor: Actor,
    *,
    command_id: str,
    kind: str,
    account: str,
    reason: str,
    bank: str | None = None,
    amount_fen: int | None = None,
    case_id: str | None = None,
    parent_id: str | None = None,
    victim_ids: tuple[str, ...] | list[str] = (),
    hop: int = 0,
    now: datetime | None = None,
) -> FundCommand:
    """Record a command in state ``requested`` (idempotent on ``command_id``).

    ``amount_fen`` None asks for the whole balance. ``extend`` / ``unfreeze`` name the freeze in
    ``parent_id``. Raises ConflictError when the id exists with another request, or when the
    account already has an active hold of that kind (extend it instead).
    """
    now = audit.as_of(now)
    account = normalise_account(account)
    _validate_request(kind, amount_fen, parent_id, reason)
    check_key("command_id", command_id)
    for victim in victim_ids:
        check_key("victim_id", victim, hint="name the victim (or leave the victim out)")
    _check_ids(bank=bank, case_id=case_id, parent_id=parent_id)
    digest = _request_hash(
        kind=kind,
        account=account,
        bank=bank,
        amount_fen=amount_fen,
        case_id=case_id,
        parent_id=parent_id,
        victim_ids=sorted(victim_ids),
        hop=hop,
    )
    try:
        with store.transaction() as session:
            existing = session.get(FundCommand, command_id)
            if existing is not None:
                return _same_request(existing, digest)
            root = _check_target(session, kind, account, parent_id, now)
            cmd = FundCommand(
                id=command_id,
                kind=kind,
                status="requested",
                case_id=case_id,
                account=account,
                bank=bank,
                amount_fen=amount_fen,
                parent_id=parent_id,
                root_id=root or command_id,
                hop=hop,
                victim_ids=sorted(victim_ids),
                request_hash=digest,
                officer=actor.name,
                reason=reason,
                requested_at=now,
                held_fen=0,
                moved_on_fen=0,
                next_hops=[],
                escalated=False,
                updated_at=now,
            )
            session.add(cmd)
            session.flush()
            session.add(
                FundCommandEvent(
                    command_id=cmd.id, at=now, from_status=None, to_status="requested", actor=actor.name
                )
            )
            audit.append(
                session,
                actor,
                f"command.{kind}",
                subject_kind="account",
                subject_id=account,
                detail={"command_id": command_id, "amount_fen": amount_fen, "case_id": case_id},
                now=now,
            )
            return cmd
    except IntegrityError:  # a concurrent worker stored the same id first
        with store.transaction() as session:
            existing = session.get(FundCommand, command_id)
            if existing is None:  # pragma: no cover
                raise
            return _same_request(existing, digest)


def _same_request(existing: FundCommand, digest: str) -> FundCommand:
    if existing.request_hash != digest:
        raise ConflictError(
            f"command id {existing.id!r} is already used for another request ({existing.kind} on "
            f"{existing.account}); use a new id for a new command"
        )
    return existing


def _check_target(
    session: Session, kind: str, account: str, parent_id: str | None, now: datetime
) -> str | None:
    if kind in HOLD_KINDS:
        held = session.execute(
            select(FundHold).where(FundHold.active_key == f"{kind}:{account}")
        ).scalar_one_or_none()
        if held is not None:
            hint = "extend it" if kind == "freeze" else "freeze it within the 48 h window"
            raise ConflictError(
                f"account {account} already has an active {kind} (command {held.command_id}, "
                f"{held.amount_fen} fen); the same money cannot be held twice: {hint}"
            )
    if parent_id is None:
        return None
    parent = session.get(FundCommand, parent_id)
    if parent is None:
        raise NotFoundError(f"parent command {parent_id!r} does not exist")
    if kind in ("extend", "unfreeze"):
        if parent.kind != "freeze" or parent.status not in LIVE:
            raise StateError(
                f"{kind} needs an executed freeze; command {parent_id} is a {parent.kind} in {parent.status!r}"
            )
        if parent.account != account:
            raise ValidationError(
                f"{kind} account {account} differs from the freeze's account {parent.account}"
            )
        if kind == "extend" and parent.expires_at is not None and parent.expires_at <= now:
            raise StateError(
                f"freeze {parent_id} expired at {parent.expires_at:%Y-%m-%d %H:%M} UTC; a lapsed freeze cannot be extended"
            )
        if kind == "extend":
            _one_term_ahead(parent, now)
    return parent.root_id


class _ExtensionRefused(StateError):
    """The bank executed a renewal (续冻) the freeze can no longer take: lapsed meanwhile, or
    renewed by another extension since this one was issued."""


def _one_term_ahead(freeze: FundCommand, now: datetime) -> None:
    """每次续冻不超过六个月: a renewal adds the next term to the current one; a freeze already renewed
    for its next term cannot be renewed again until that term has begun (renewals stacked on one
    day would hold the money for years)."""
    if freeze.expires_at is not None and freeze.expires_at - now > FREEZE_TERM:
        begins = freeze.expires_at - FREEZE_TERM
        raise StateError(
            f"freeze {freeze.id} already runs to {freeze.expires_at:%Y-%m-%d %H:%M} UTC, more than one term "
            f"ahead; renew it (续冻) once its current term has begun, from {begins:%Y-%m-%d %H:%M} UTC"
        )


def send(store: Store, command_id: str, actor: Actor, *, now: datetime | None = None) -> FundCommand:
    """Mark a requested command as sent to its bank; the bank must answer within 24 h."""
    now = audit.as_of(now)
    with store.transaction() as session:
        cmd = _lock(session, command_id)
        if cmd.status == "sent":
            return cmd
        _move(session, cmd, "sent", actor, now)
        cmd.sent_at = now
        cmd.respond_by = now + RESPOND_WITHIN
        audit.append(
            session,
            actor,
            "command.send",
            subject_kind="account",
            subject_id=cmd.account,
            detail={"command_id": cmd.id},
            now=now,
        )
        return cmd


def apply_receipt(
    store: Store, command_id: str, receipt: Receipt, actor: Actor, *, now: datetime | None = None
) -> FundCommand:
    """Apply a bank receipt (idempotent on ``receipt.receipt_id``); returns the updated command.

    ``executed`` / ``partial``: the status is derived from ``held_fen`` against the amount asked
    (``partial`` when less was held). Holding more than asked is refused.
    """
    now = audit.as_of(now)
    if receipt.outcome not in OUTCOMES:
        raise ValidationError(
            f"receipt outcome {receipt.outcome!r} is unknown; use one of {OUTCOMES}", field="outcome"
        )
    for name in ("held_fen", "moved_on_fen", "balance_fen"):
        value = getattr(receipt, name)
        if name == "balance_fen" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_FEN:
            raise ValidationError(
                f"receipt {name} {value!r} must be a non-negative integer of fen up to {MAX_FEN}", field=name
            )
    check_key("receipt_id", receipt.receipt_id)
    digest = receipt.payload_hash()
    try:
        return _apply_receipt(store, command_id, receipt, digest, actor, now)
    except _ExtensionRefused as exc:
        # the bank did answer: the renewal is closed as refused (not left `sent`, to be expired by
        # tick as unanswered), the receipt kept, and the caller still told why
        with store.transaction() as session:
            cmd = _lock(session, command_id)
            if (
                cmd.status in ("sent", "acknowledged")
                and session.get(BankReceipt, receipt.receipt_id) is None
            ):
                reason = f"refused on the bank's receipt {receipt.receipt_id}: {exc}"
                _move(session, cmd, "rejected", actor, now, reason)
                cmd.rejection_reason = reason
                _store_receipt(session, cmd, receipt, digest, actor, now, "receipt.refused")
        raise


def _apply_receipt(
    store: Store, command_id: str, receipt: Receipt, digest: str, actor: Actor, now: datetime
) -> FundCommand:
    with store.transaction() as session:
        cmd = _lock(session, command_id)
        seen = session.get(BankReceipt, receipt.receipt_id)
        if seen is not None:
            if seen.command_id != command_id or seen.payload_hash != digest:
                raise ConflictError(
                    f"bank receipt {receipt.receipt_id!r} was already applied with other content"
                )
            return cmd
        _apply(session, cmd, receipt, actor, now)
        _store_receipt(session, cmd, receipt, digest, actor, now, f"receipt.{receipt.outcome}")
        return cmd


def _store_receipt(
    session: Session,
    cmd: FundCommand,
    receipt: Receipt,
    digest: str,
    actor: Actor,
    now: datetime,
    action: str,
) -> None:
    session.add(
        BankReceipt(
            id=receipt.receipt_id,
            command_id=cmd.id,
            received_at=receipt.received_at or now,
            outcome=receipt.outcome,
            held_fen=receipt.held_fen,
            balance_fen=receipt.balance_fen,
            moved_on_fen=receipt.moved_on_fen,
            next_hops=[_hop(h) for h in receipt.next_hops],
            note=receipt.note,
            payload_hash=digest,
        )
    )
    audit.append(
        session,
        actor,
        action,
        subject_kind="account",
        subject_id=cmd.account,
        detail={
            "command_id": cmd.id,
            "receipt_id": receipt.receipt_id,
            "held_fen": receipt.held_fen,
            "moved_on_fen": receipt.moved_on_fen,
        },
        now=now,
    )


def _hop(hop: dict[str, Any]) -> dict[str, Any]:
    amount = hop.get("amount_fen")
    if amount is not None and (
        not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_FEN
    ):
        raise ValidationError(
            f"next hop amount_fen {amount!r} must be a positive integer of fen up to {MAX_FEN}"
        )
    return {"account": normalise_account(hop["account"]), "bank": hop.get("bank"), "amount_fen": amount}


def _apply(session: Session, cmd: FundCommand, receipt: Receipt, actor: Actor, now: datetime) -> None:
    if cmd.status == "requested":
        raise StateError(f"command {cmd.id} has not been sent; a receipt cannot arrive before `send`")
    if receipt.outcome == "acknowledged":
        _move(session, cmd, "acknowledged", actor, now, receipt.note)
        cmd.acknowledged_at = now
        return
    if cmd.status == "sent":  # banks often acknowledge and answer in one receipt
        _move(session, cmd, "acknowledged", actor, now, "implied by the receipt")
        cmd.acknowledged_at = now
    if receipt.outcome == "rejected":
        _move(session, cmd, "rejected", actor, now, receipt.note)
        cmd.rejection_reason = receipt.note or "rejected by the bank"
        return
    if cmd.kind in HOLD_KINDS:
        if cmd.amount_fen is not None and receipt.held_fen > cmd.amount_fen:
            raise ValidationError(
                f"receipt holds {receipt.held_fen} fen but command {cmd.id} asked for {cmd.amount_fen}"
            )
        full = receipt.outcome == "executed" and (
            cmd.amount_fen is None or receipt.held_fen >= cmd.amount_fen
        )
        _move(session, cmd, "executed" if full else "partial", actor, now, receipt.note)
    else:
        _move(session, cmd, "executed", actor, now, receipt.note)
    cmd.executed_at = now
    cmd.held_fen = receipt.held_fen if cmd.kind in HOLD_KINDS else 0
    cmd.balance_fen = receipt.balance_fen
    cmd.moved_on_fen = receipt.moved_on_fen
    cmd.next_hops = [_hop(h) for h in receipt.next_hops]
    _execute_effect(session, cmd, actor, now)


def _execute_effect(session: Session, cmd: FundCommand, actor: Actor, now: datetime) -> None:
    if cmd.kind in HOLD_KINDS:
        cmd.expires_at = now + (STOP_PAYMENT_TERM if cmd.kind == "stop_payment" else FREEZE_TERM)
        if cmd.held_fen > 0:
            _new_hold(session, cmd, actor, now)
    elif cmd.kind == "extend":
        parent = _lock(session, cmd.parent_id or "")
        if parent.status not in LIVE or (parent.expires_at is not None and parent.expires_at <= now):
            ended = f"{parent.expires_at:%Y-%m-%d %H:%M} UTC" if parent.expires_at else "unknown"
            raise _ExtensionRefused(
                f"freeze {parent.id} is {parent.status!r}, its term ending {ended}; a lapsed or released "
                "freeze cannot be extended (the extension came too late)"
            )
        try:
            _one_term_ahead(parent, now)  # another renewal was executed since this one was issued
        except StateError as exc:
            raise _ExtensionRefused(str(exc)) from None
        hold = session.execute(
            select(FundHold).where(FundHold.command_id == parent.id).with_for_update()
        ).scalar_one_or_none()
        base = max(parent.expires_at or now, now)
        parent.expires_at = base + FREEZE_TERM
        cmd.expires_at = parent.expires_at
        if hold is not None:
            hold.expires_at = parent.expires_at
    elif cmd.kind == "unfreeze":
        parent = _lock(session, cmd.parent_id or "")
        _release(session, parent, "unfrozen", actor, now)


def _new_hold(session: Session, cmd: FundCommand, actor: Actor, now: datetime) -> None:
    if cmd.kind == "freeze":  # the freeze takes over money a stop-payment held: not counted twice
        stop_id = session.execute(
            select(FundHold.command_id).where(FundHold.active_key == f"stop_payment:{cmd.account}")
        ).scalar_one_or_none()
        if stop_id is not None:
            # the command before its hold (_release locks the hold), the order tick locks them in:
            # the other order deadlocked with a tick expiring the stop-payment at that moment
            stop = _lock(session, stop_id)
            if stop.status in LIVE:  # else tick expired it meanwhile: nothing left to take over
                _release(session, stop, "converted_to_freeze", actor, now)
    try:
        with session.begin_nested():
            session.add(
                FundHold(
                    command_id=cmd.id,
                    account=cmd.account,
                    kind=cmd.kind,
                    amount_fen=cmd.held_fen,
                    refunded_fen=0,
                    active=True,
                    active_key=f"{cmd.kind}:{cmd.account}",
                    started_at=now,
                    expires_at=cmd.expires_at,
                )
            )
    except IntegrityError:
        raise ConflictError(
            f"account {cmd.account} already has an active {cmd.kind} by another command; "
            "the same money cannot be held twice"
        ) from None


def lock_commands(session: Session, command_ids: list[str]) -> None:
    """Lock commands (by id order) before their holds: every writer takes commands first, then holds
    (tick, receipts, refunds), so two of them never wait for each other in a cycle (deadlock)."""
    if command_ids:
        session.execute(
            select(FundCommand.id)
            .where(FundCommand.id.in_(sorted(set(command_ids))))
            .order_by(FundCommand.id)
            .with_for_update()
        ).all()


def _release(session: Session, cmd: FundCommand, why: str, actor: Actor, now: datetime) -> None:
    """Close ``cmd`` and its hold; lock ``cmd`` first (commands before holds, see :func:`lock_commands`)."""
    hold = session.execute(
        select(FundHold).where(FundHold.command_id == cmd.id).with_for_update()
    ).scalar_one_or_none()
    if hold is not None and hold.active:
        hold.active, hold.active_key, hold.released_at, hold.release_reason = False, None, now, why
    target = "expired" if why == "expired" else "released"
    _move(session, cmd, target, actor, now, why)


def next_hops_from_trace(
    flows: Any, account: str, *, victim_ids: list[str] | None = None
) -> list[dict[str, Any]]:
    """Next-hop accounts of ``account`` from a fund trace's ``flows`` DataFrame
    (``fanzha.graph.trace.trace_funds(...).flows``): money that left it, summed per receiver, largest first."""
    out = flows[flows["from_account"] == account]
    if victim_ids is not None:
        out = out[out["victim_id"].isin(victim_ids)]
    sums = out.groupby("to_account")["amount_fen"].sum()
    ranked = sorted(
        ((str(acc), int(fen)) for acc, fen in sums.items() if int(fen) > 0), key=lambda x: (-x[1], x[0])
    )
    return [{"account": acc, "bank": None, "amount_fen": fen} for acc, fen in ranked]


def child_id(parent_id: str, account: str) -> str:
    """Deterministic id of the escalation of ``parent_id`` to ``account`` (fits the 64-character column)."""
    plain = f"{parent_id}>hop:{account}"
    if len(plain) <= 64:
        return plain
    return "esc:" + hashlib.sha256(plain.encode()).hexdigest()[:40] + f":{account[-8:]}"


def escalate(
    store: Store,
    command_id: str,
    actor: Actor,
    *,
    next_hops: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> list[FundCommand]:
    """Follow money that moved on: a stop-payment to each next-hop account (hop + 1).

    ``next_hops`` (e.g. from :func:`next_hops_from_trace`) win over the receipt's; amounts are
    capped so the escalated total never exceeds what the bank said moved on. Child ids are
    :func:`child_id` (``<command_id>>hop:<account>``, hashed when longer than 64 characters), so
    escalating twice creates nothing new. Accounts that already
    hold the money are skipped.
    """
    now = audit.as_of(now)
    with store.transaction() as session:
        cmd = _lock(session, command_id)
        if cmd.kind not in HOLD_KINDS or cmd.status not in (*LIVE, "expired", "released"):
            raise StateError(
                f"command {command_id} is a {cmd.kind} in {cmd.status!r}; only executed stop-payments and freezes escalate"
            )
        hops = [_hop(h) for h in (next_hops if next_hops is not None else cmd.next_hops)]
        budget = cmd.moved_on_fen
        if not hops or budget <= 0:
            raise StateError(
                f"command {command_id}: no money moved on or no next account known; pass next hops from the fund trace"
            )
        cmd.escalated = True
        audit.append(
            session,
            actor,
            "command.escalate",
            subject_kind="account",
            subject_id=cmd.account,
            detail={"command_id": command_id, "hops": len(hops), "moved_on_fen": budget},
            now=now,
        )
        plan = []
        for hop in hops:
            amount = min(hop["amount_fen"] or budget, budget)
            if amount <= 0:
                break
            budget -= amount
            plan.append((hop, amount))
        parent = (cmd.id, cmd.case_id, tuple(cmd.victim_ids), cmd.hop)
    children = []
    for hop, amount in plan:
        try:
            children.append(
                issue_command(
                    store,
                    actor,
                    command_id=child_id(parent[0], hop["account"]),
                    kind="stop_payment",
                    account=hop["account"],
                    bank=hop["bank"],
                    amount_fen=amount,
                    case_id=parent[1],
                    parent_id=parent[0],
                    victim_ids=parent[2],
                    hop=parent[3] + 1,
                    reason=f"escalation of {parent[0]}: money moved on to the next hop",
                    now=now,
                )
            )
        except ConflictError:  # already held at that account: nothing more to stop there
            continue
    return children


@dataclass
class TickReport:
    unanswered_expired: list[str] = field(default_factory=list)
    holds_expired: list[str] = field(default_factory=list)
    overdue_warnings: list[str] = field(default_factory=list)  # open, not contacted, past their deadline


def tick(store: Store, *, actor: Actor = SYSTEM, now: datetime | None = None) -> TickReport:
    """Expire what the law or the bank's silence ended, and list warnings nobody reached in time:
    run every few minutes (`fanzha ops tick`)."""
    now = audit.as_of(now)
    report = TickReport()
    with store.transaction() as session:
        waiting = (
            session.execute(
                select(FundCommand)
                .where(
                    FundCommand.status.in_(("requested", "sent", "acknowledged")),
                    FundCommand.respond_by.is_not(None),
                    FundCommand.respond_by <= now,
                )
                .order_by(FundCommand.id)
                .with_for_update()
            )
            .scalars()
            .all()
        )
        for cmd in waiting:
            _move(session, cmd, "expired", actor, now, "bank did not answer in time")
            report.unanswered_expired.append(cmd.id)
        lapsed = (
            session.execute(
                select(FundCommand)
                .where(
                    FundCommand.status.in_(LIVE),
                    FundCommand.kind.in_(HOLD_KINDS),
                    FundCommand.expires_at.is_not(None),
                    FundCommand.expires_at <= now,
                )
                .order_by(FundCommand.id)
                .with_for_update()
            )
            .scalars()
            .all()
        )
        for cmd in lapsed:
            _release(session, cmd, "expired", actor, now)
            report.holds_expired.append(cmd.id)
        report.overdue_warnings = list(
            session.execute(
                select(WarningTask.id)
                .where(WarningTask.status.in_(("issued", "delivered")), WarningTask.deadline_at <= now)
                .order_by(WarningTask.deadline_at, WarningTask.id)
            ).scalars()
        )
        if report.unanswered_expired or report.holds_expired:
            audit.append(
                session,
                actor,
                "command.tick",
                detail={"unanswered": report.unanswered_expired, "holds": report.holds_expired},
                now=now,
            )
    return report


def get_command(store: Store, command_id: str, actor: Actor) -> FundCommand:
    """One command (logged: it names a personal account)."""
    with store.transaction() as session:
        cmd = session.get(FundCommand, command_id)
        if cmd is None:
            raise NotFoundError(f"fund-control command {command_id!r} does not exist")
        audit.append(
            session,
            actor,
            "command.read",
            subject_kind="account",
            subject_id=cmd.account,
            detail={"command_id": command_id},
        )
        return cmd


def list_commands(
    store: Store,
    actor: Actor,
    *,
    status: str | None = None,
    account: str | None = None,
    case_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[FundCommand]:
    check_choice("status", status or None, frozenset(TRANSITIONS))
    check_limit(limit)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationError(f"offset {offset!r} must be a whole number ≥ 0", field="offset", value=offset)
    with store.transaction() as session:
        query = (
            select(FundCommand)
            .order_by(FundCommand.requested_at.desc(), FundCommand.id)
            .limit(limit)
            .offset(offset)
        )
        if status:
            query = query.where(FundCommand.status == status)
        if account:
            query = query.where(FundCommand.account == normalise_account(account))
        if case_id:
            query = query.where(FundCommand.case_id == case_id)
        rows = list(session.execute(query).scalars().all())
        audit.append(
            session,
            actor,
            "command.list",
            subject_kind="account",
            subject_id=account,
            detail={"status": status, "case_id": case_id, "rows": len(rows)},
        )
        return rows


def command_history(
    store: Store, command_id: str, actor: Actor | None = None
) -> tuple[list[FundCommandEvent], list[BankReceipt]]:
    """State changes and receipts of a command, oldest first (logged when an actor is given)."""
    with store.transaction() as session:
        events = list(
            session.execute(
                select(FundCommandEvent)
                .where(FundCommandEvent.command_id == command_id)
                .order_by(FundCommandEvent.id)
            ).scalars()
        )
        receipts = list(
            session.execute(
                select(BankReceipt)
                .where(BankReceipt.command_id == command_id)
                .order_by(BankReceipt.received_at, BankReceipt.id)
            ).scalars()
        )
        if actor is not None:
            audit.append(session, actor, "command.history", subject_kind="command", subject_id=command_id)
        return events, receipts


def active_holds(store: Store, account: str | None = None, actor: Actor | None = None) -> list[FundHold]:
    """Money held now (per account when given; logged when an actor is given)."""
    with store.transaction() as session:
        query = select(FundHold).where(FundHold.active.is_(True)).order_by(FundHold.id)
        if account:
            query = query.where(FundHold.account == normalise_account(account))
        rows = list(session.execute(query).scalars())
        if actor is not None:
            audit.append(
                session,
                actor,
                "hold.read",
                subject_kind="account",
                subject_id=account,
                detail={"rows": len(rows)},
            )
        return rows
