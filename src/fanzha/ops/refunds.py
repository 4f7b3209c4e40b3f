"""Refunds of frozen money (冻结资金返还): full when there is enough, pro rata (按比例返还) when not.

Claims are only honoured up to what the fund trace shows reached the account (``trace_links``):
a victim with no traced transfer into the account gets nothing, whatever is claimed. The split is
exact in fen by the largest-remainder method (Hamilton): each victim first gets
``floor(pool × eligible_i / total_eligible)``; the fen left over (fewer than the number of victims)
go one each to the largest remainders, ties to the larger eligible claim and then the smaller
victim id. So the total returned equals the pool whenever claims exceed it, nobody gets more than
their eligible claim, nothing is negative, and the same inputs always give the same split. Every
plan stores its full calculation (inputs, quotas, remainders, ranks) and a hash of it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fanzha.errors import ConflictError, NotFoundError, StateError, ValidationError
from fanzha.ops import audit
from fanzha.ops.audit import Actor
from fanzha.ops.fundcontrol import _lock, _release, lock_commands
from fanzha.ops.models import FundHold, RefundAllocation, RefundPlan, TraceLink, check_key, check_length
from fanzha.ops.store import Store
from fanzha.records.normalise import MAX_FEN, normalise_account, person_key


@dataclass(frozen=True)
class Share:
    victim_id: str
    eligible_fen: int
    floor_fen: int
    remainder: int  # numerator over total_eligible; what the largest-remainder rank uses
    bonus_fen: int  # 0 or 1
    amount_fen: int


def allocate(pool_fen: int, eligible: Mapping[str, int]) -> list[Share]:
    """Split ``pool_fen`` over eligible claims: in full if they fit, else largest-remainder pro rata.

    Pure and deterministic; ``sum(amount) == min(pool, sum(eligible))``; ``0 ≤ amount ≤ eligible``.
    """
    if pool_fen < 0 or any(v < 0 for v in eligible.values()):
        raise ValidationError("pool and claims must be non-negative integers of fen")
    total = sum(eligible.values())
    victims = sorted(eligible)
    if total <= pool_fen:
        return [Share(v, eligible[v], eligible[v], 0, 0, eligible[v]) for v in victims]
    floors = {v: pool_fen * eligible[v] // total for v in victims}
    rests = {v: pool_fen * eligible[v] % total for v in victims}
    left = pool_fen - sum(floors.values())
    ranked = sorted(victims, key=lambda v: (-rests[v], -eligible[v], v))
    winners = set(ranked[:left])
    return [
        Share(v, eligible[v], floors[v], rests[v], int(v in winners), floors[v] + int(v in winners))
        for v in victims
    ]


def record_trace(
    store: Store,
    actor: Actor,
    links: list[dict[str, Any]],
    *,
    source: str = "graph.trace",
    now: datetime | None = None,
) -> int:
    """Store traced transfers ``{victim_id, account, transfer_id, amount_fen, hop}`` that back claims.

    Idempotent: a link already stored (same victim, account, transfer) is skipped. Returns the new count.
    """
    now = audit.as_of(now)
    check_length("source", source, 32)
    rows = []
    for link in links:
        amount = link["amount_fen"]
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_FEN:
            raise ValidationError(
                f"traced amount {amount!r} for victim {link.get('victim_id')} is not positive fen "
                f"up to {MAX_FEN}"
            )
        check_key("victim_id", str(link["victim_id"]), hint="name the victim whose money was traced")
        check_key("transfer_id", str(link["transfer_id"]), hint="the traced transfer's id")
        rows.append(
            (
                person_key(str(link["victim_id"])),
                normalise_account(link["account"]),
                str(link["transfer_id"]),
                int(link.get("hop", 0)),
                amount,
            )
        )
    for attempt in range(3):
        try:
            with store.transaction() as session:
                return _record_links(session, actor, rows, source, now)
        except IntegrityError:  # a concurrent worker stored some of these links first (PostgreSQL)
            if attempt == 2:
                raise StateError(
                    "trace links kept colliding with a concurrent writer; record them again"
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _record_links(
    session: Session, actor: Actor, rows: list[tuple[str, str, str, int, int]], source: str, now: datetime
) -> int:
    """Store the links not stored yet; a link stored with another amount is a ConflictError."""
    existing = {
        (v, a, t): fen
        for v, a, t, fen in session.execute(
            select(TraceLink.victim_id, TraceLink.account, TraceLink.transfer_id, TraceLink.amount_fen).where(
                TraceLink.account.in_({r[1] for r in rows})
            )
        ).all()
    }
    merged: dict[tuple[str, str, str], tuple[int, int]] = {}
    for v, a, t, h, f in rows:  # portions of one transfer (several hops) add up
        hop, fen = merged.get((v, a, t), (h, 0))
        merged[(v, a, t)] = (min(hop, h), fen + f)
    for (v, a, t), (_, fen) in merged.items():
        if (v, a, t) in existing and existing[(v, a, t)] != fen:
            raise ConflictError(
                f"transfer {t} of victim {v} into {a} is already traced with {existing[(v, a, t)]} fen, "
                f"now {fen} fen; nothing of this batch was stored — resolve which trace is right first"
            )
    new = [(*k, h, f) for k, (h, f) in merged.items() if k not in existing]
    session.add_all(
        TraceLink(victim_id=v, account=a, transfer_id=t, hop=h, amount_fen=f, source=source, recorded_at=now)
        for v, a, t, h, f in new
    )
    audit.append(session, actor, "trace.record", detail={"links": len(new), "source": source}, now=now)
    session.flush()  # the unique key fires here, inside the caller's retry
    return len(new)


def _traced(session: Session, account: str) -> dict[str, int]:
    rows = session.execute(
        select(TraceLink.victim_id, func.sum(TraceLink.amount_fen))
        .where(TraceLink.account == account)
        .group_by(TraceLink.victim_id)
    ).all()
    return {v: int(s) for v, s in rows}


def _returned(session: Session, account: str) -> dict[str, int]:
    """Fen each victim already got back from this account by executed refunds (they count against the trace)."""
    rows = session.execute(
        select(RefundAllocation.victim_id, func.sum(RefundAllocation.amount_fen))
        .join(RefundPlan, RefundPlan.id == RefundAllocation.plan_id)
        .where(RefundPlan.account == account, RefundPlan.status == "executed")
        .group_by(RefundAllocation.victim_id)
    ).all()
    return {v: int(s) for v, s in rows if s}


def _freeze_commands(account: str) -> Select[str]:
    return select(FundHold.command_id).where(
        FundHold.account == account, FundHold.active.is_(True), FundHold.kind == "freeze"
    )


def _holds(session: Session, account: str) -> list[FundHold]:
    return list(
        session.execute(
            select(FundHold)
            .where(FundHold.account == account, FundHold.active.is_(True), FundHold.kind == "freeze")
            .order_by(FundHold.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )


def plan_refund(
    store: Store,
    actor: Actor,
    *,
    refund_id: str,
    account: str,
    claims: Mapping[str, int],
    now: datetime | None = None,
) -> RefundPlan:
    """Plan the return of the money frozen in ``account`` to the claiming victims (idempotent on ``refund_id``).

    Only frozen money counts (a stop-payment must be turned into a freeze first). One open plan per
    account: ConflictError while another is planned. StateError when nothing is frozen there.
    """
    now = audit.as_of(now)
    account = normalise_account(account)
    check_key("refund_id", refund_id)
    keyed: dict[str, int] = {}
    for victim, amount in claims.items():
        check_key("victim_id", victim, hint="name the victim who claims")
        key = person_key(victim)
        if key in keyed:
            raise ValidationError(f"victim {key} claims twice (written two ways); give one claim per victim")
        keyed[key] = amount
    claims = keyed
    for victim, amount in claims.items():
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_FEN:
            raise ValidationError(
                f"claim of victim {victim} is {amount!r}; claims are positive integers of fen up to {MAX_FEN}"
            )
    digest = hashlib.sha256(
        json.dumps({"account": account, "claims": dict(sorted(claims.items()))}).encode()
    ).hexdigest()
    try:
        with store.transaction() as session:
            existing = session.get(RefundPlan, refund_id)
            if existing is not None:
                return _same(existing, digest)
            return _build_plan(session, actor, refund_id, account, dict(claims), digest, now)
    except IntegrityError:
        with store.transaction() as session:
            existing = session.get(RefundPlan, refund_id)
            if existing is not None:
                return _same(existing, digest)
            other = session.execute(
                select(RefundPlan).where(RefundPlan.active_key == account)
            ).scalar_one_or_none()
            raise ConflictError(
                f"account {account} already has a planned refund {other.id if other else '?'}; execute or cancel it first"
            ) from None


def _same(existing: RefundPlan, digest: str) -> RefundPlan:
    if existing.request_hash != digest:
        raise ConflictError(f"refund id {existing.id!r} is already used for another request; use a new id")
    return existing


def _build_plan(
    session: Session,
    actor: Actor,
    refund_id: str,
    account: str,
    claims: dict[str, int],
    digest: str,
    now: datetime,
) -> RefundPlan:
    other = session.execute(select(RefundPlan).where(RefundPlan.active_key == account)).scalar_one_or_none()
    if other is not None and other.id == refund_id:  # the same request, committed meanwhile by another worker
        return _same(other, digest)
    if other is not None:
        raise ConflictError(
            f"account {account} already has a planned refund {other.id}; execute or cancel it first"
        )
    holds = _holds(session, account)
    pool = sum(h.amount_fen - h.refunded_fen for h in holds)
    if pool <= 0:
        raise StateError(
            f"account {account} has no frozen money to return; freeze it first (stop-payments do not count)"
        )
    traced, returned = _traced(session, account), _returned(session, account)
    left = {v: traced.get(v, 0) - returned.get(v, 0) for v in claims}
    eligible = {v: min(c, left[v]) for v, c in claims.items() if left[v] > 0}
    if not eligible:
        raise ValidationError(
            f"no claim on account {account} is backed by a traced transfer not yet returned; "
            "record the trace first (`fanzha ops refunds trace <home>/graph/trace_flows.parquet`)"
        )
    shares = {s.victim_id: s for s in allocate(pool, eligible)}
    total = sum(eligible.values())
    method = "full" if total <= pool else "pro_rata"
    lines: list[dict[str, Any]] = []
    for victim in sorted(claims):
        share, got, before = shares.get(victim), traced.get(victim, 0), returned.get(victim, 0)
        reason = (
            "no traced transfer from this victim reaches the account"
            if not got
            else f"the traced {got} fen were already returned by earlier refunds"
            if share is None
            else f"claim capped at the traced {got} fen less {before} fen already returned"
            if before and claims[victim] > got - before
            else f"claim capped at the traced {got} fen"
            if claims[victim] > got
            else "claim backed by the trace"
        )
        lines.append(
            {
                "victim_id": victim,
                "claimed_fen": claims[victim],
                "traced_fen": got,
                "returned_before_fen": before,
                "eligible_fen": share.eligible_fen if share else 0,
                "floor_fen": share.floor_fen if share else 0,
                "remainder": share.remainder if share else 0,
                "bonus_fen": share.bonus_fen if share else 0,
                "amount_fen": share.amount_fen if share else 0,
                "reason": reason,
            }
        )
    calculation = {
        "account": account,
        "method": method,
        "pool_fen": pool,
        "total_eligible_fen": total,
        "holds": [
            {"command_id": h.command_id, "remaining_fen": h.amount_fen - h.refunded_fen} for h in holds
        ],
        "rule": "eligible = min(claimed, traced - returned before); full if sum(eligible) ≤ pool, else floor(pool·eligible/total) "
        "plus 1 fen to the largest remainders (ties: larger eligible, then victim id)",
        "lines": lines,
    }
    calc_hash = _calculation_hash(calculation)
    returned = sum(line["amount_fen"] for line in lines)
    plan = RefundPlan(
        id=refund_id,
        account=account,
        status="planned",
        active_key=account,
        method=method,
        pool_fen=pool,
        claimed_fen=sum(claims.values()),
        eligible_fen=total,
        returned_fen=returned,
        calculation=calculation,
        calculation_hash=calc_hash,
        request_hash=digest,
        created_by=actor.name,
        created_at=now,
    )
    session.add(plan)
    session.flush()  # IntegrityError here when a concurrent worker planned this account first
    for line in lines:
        plan_line = RefundAllocation(
            plan_id=refund_id,
            victim_id=line["victim_id"],
            claimed_fen=line["claimed_fen"],
            eligible_fen=line["eligible_fen"],
            amount_fen=line["amount_fen"],
            status="allocated" if line["eligible_fen"] else "rejected",
            reason=line["reason"],
        )
        session.add(plan_line)
    audit.append(
        session,
        actor,
        "refund.plan",
        subject_kind="account",
        subject_id=account,
        detail={
            "refund_id": refund_id,
            "pool_fen": pool,
            "returned_fen": returned,
            "method": method,
            "calculation_hash": calc_hash,
        },
        now=now,
    )
    return plan


def _lock_plan(session: Session, refund_id: str) -> RefundPlan:
    """The plan, row-locked for this transaction; NotFoundError when there is none."""
    plan = session.execute(
        select(RefundPlan).where(RefundPlan.id == refund_id).with_for_update()
    ).scalar_one_or_none()
    if plan is None:
        raise NotFoundError(f"refund {refund_id!r} does not exist")
    return plan


def execute_refund(store: Store, refund_id: str, actor: Actor, *, now: datetime | None = None) -> RefundPlan:
    """Pay a planned refund out of the freezes (idempotent: executing twice pays once).

    StateError when the frozen money changed since the plan (re-plan) or the plan was cancelled.
    """
    now = audit.as_of(now)
    with store.transaction() as session:
        plan = _lock_plan(session, refund_id)
        if plan.status == "executed":
            return plan
        if plan.status != "planned":
            raise StateError(f"refund {refund_id} is {plan.status!r}; only a planned refund can be executed")
        # the freeze commands before their holds (the order tick and receipts lock them in)
        lock_commands(session, list(session.execute(_freeze_commands(plan.account)).scalars()))
        holds = _holds(session, plan.account)
        if sum(h.amount_fen - h.refunded_fen for h in holds) != plan.pool_fen:
            raise StateError(
                f"the frozen money in {plan.account} changed since refund {refund_id} was planned; plan again"
            )
        left = plan.returned_fen
        for hold in holds:
            take = min(left, hold.amount_fen - hold.refunded_fen)
            hold.refunded_fen += take
            left -= take
            if hold.refunded_fen == hold.amount_fen:
                _release(session, _lock(session, hold.command_id), "refunded", actor, now)
        plan.status, plan.active_key, plan.executed_at = "executed", None, now
        audit.append(
            session,
            actor,
            "refund.execute",
            subject_kind="account",
            subject_id=plan.account,
            detail={"refund_id": refund_id, "returned_fen": plan.returned_fen},
            now=now,
        )
        return plan


def cancel_refund(store: Store, refund_id: str, actor: Actor, *, now: datetime | None = None) -> RefundPlan:
    now = audit.as_of(now)
    with store.transaction() as session:
        plan = _lock_plan(session, refund_id)
        if plan.status != "planned":
            raise StateError(f"refund {refund_id} is {plan.status!r}; only a planned refund can be cancelled")
        plan.status, plan.active_key = "cancelled", None
        audit.append(
            session,
            actor,
            "refund.cancel",
            subject_kind="account",
            subject_id=plan.account,
            detail={"refund_id": refund_id},
            now=now,
        )
        return plan


def get_refund(store: Store, refund_id: str, actor: Actor) -> tuple[RefundPlan, list[RefundAllocation]]:
    with store.transaction() as session:
        plan = session.get(RefundPlan, refund_id)
        if plan is None:
            raise NotFoundError(f"refund {refund_id!r} does not exist")
        lines = list(
            session.execute(
                select(RefundAllocation)
                .where(RefundAllocation.plan_id == refund_id)
                .order_by(RefundAllocation.victim_id)
            )
            .scalars()
            .all()
        )
        audit.append(
            session,
            actor,
            "refund.read",
            subject_kind="account",
            subject_id=plan.account,
            detail={"refund_id": refund_id},
        )
        return plan, lines


def _calculation_hash(calculation: dict[str, Any]) -> str:
    """The stored calculation's fingerprint: planning writes it, verify_calculation recomputes it."""
    return hashlib.sha256(json.dumps(calculation, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def verify_calculation(plan: RefundPlan) -> bool:
    """Recompute the stored calculation's hash and split: True when the record is intact and consistent."""
    digest = _calculation_hash(plan.calculation)
    lines = plan.calculation["lines"]
    again = {
        s.victim_id: s.amount_fen
        for s in allocate(
            plan.pool_fen,
            {line["victim_id"]: line["eligible_fen"] for line in lines if line["eligible_fen"] > 0},
        )
    }
    return digest == plan.calculation_hash and all(
        again.get(line["victim_id"], 0) == line["amount_fen"] for line in lines
    )
