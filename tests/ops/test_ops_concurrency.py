"""Concurrency on PostgreSQL: two workers doing the same thing at once give one result.

Threads released together by a barrier, each with its own connection from the pool; row locks
(SELECT … FOR UPDATE) and unique constraints decide who wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from fanzha.errors import ConflictError, StateError
from fanzha.ops import audit as A
from fanzha.ops import fundcontrol as F
from fanzha.ops import refunds as R
from fanzha.ops import warnings as W
from fanzha.ops.models import FundCommandEvent, FundHold, RefundPlan, WarningTask
from fanzha.ops.store import Store

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACC = "6222020200112233445"
ROUNDS = 3


def together(*jobs: Callable[[], Any]) -> list[Any]:
    """Run the jobs at the same moment; return results or the exceptions raised."""
    barrier = threading.Barrier(len(jobs))

    def run(job: Callable[[], Any]) -> Any:
        barrier.wait()
        try:
            return job()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


def count(store: Store, stmt: Any) -> int:
    with store.transaction() as s:
        return int(s.execute(stmt).scalar_one())


def sent_freeze(store: Store, actor: A.Actor, cid: str, account: str = ACC) -> None:
    F.issue_command(
        store, actor, command_id=cid, kind="freeze", account=account, amount_fen=1000, reason="c", now=T0
    )
    F.send(store, cid, actor, now=T0)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_same_receipt_twice_at_once_executes_once(pg_store: Store, actor: A.Actor, round_: int) -> None:
    sent_freeze(pg_store, actor, "c1")
    receipt = F.Receipt("r1", "executed", held_fen=1000)
    results = together(*[lambda: F.apply_receipt(pg_store, "c1", receipt, actor, now=T0)] * 2)
    assert [r.status for r in results] == ["executed", "executed"]
    assert count(pg_store, select(func.count()).select_from(FundHold)) == 1
    assert count(pg_store, select(func.count()).where(FundCommandEvent.to_status == "executed")) == 1
    assert A.verify(pg_store).ok


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_different_receipts_at_once_one_wins(pg_store: Store, actor: A.Actor, round_: int) -> None:
    sent_freeze(pg_store, actor, "c1")
    results = together(
        lambda: F.apply_receipt(pg_store, "c1", F.Receipt("ra", "executed", held_fen=1000), actor, now=T0),
        lambda: F.apply_receipt(pg_store, "c1", F.Receipt("rb", "executed", held_fen=600), actor, now=T0),
    )
    assert sorted(type(r).__name__ for r in results) == ["FundCommand", "StateError"]
    assert count(pg_store, select(func.count()).select_from(FundHold)) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_freezes_of_one_account_hold_the_money_once(pg_store: Store, actor: A.Actor, round_: int) -> None:
    sent_freeze(pg_store, actor, "c1")
    F.issue_command(
        pg_store, actor, command_id="c2", kind="freeze", account=ACC, amount_fen=1000, reason="c2", now=T0
    )
    F.send(pg_store, "c2", actor, now=T0)
    results = together(
        lambda: F.apply_receipt(pg_store, "c1", F.Receipt("ra", "executed", held_fen=1000), actor, now=T0),
        lambda: F.apply_receipt(pg_store, "c2", F.Receipt("rb", "executed", held_fen=1000), actor, now=T0),
    )
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "FundCommand"]
    assert count(pg_store, select(func.sum(FundHold.amount_fen)).where(FundHold.active.is_(True))) == 1000


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_same_command_id_issued_twice_at_once(pg_store: Store, actor: A.Actor, round_: int) -> None:
    def job() -> F.FundCommand:
        return F.issue_command(
            pg_store,
            actor,
            command_id="same",
            kind="stop_payment",
            account=ACC,
            amount_fen=5,
            reason="c",
            now=T0,
        )

    results = together(job, job)
    assert all(isinstance(r, F.FundCommand) and r.id == "same" for r in results)
    assert len(F.list_commands(pg_store, actor)) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_same_refund_executed_twice_at_once_pays_once(pg_store: Store, actor: A.Actor, round_: int) -> None:
    sent_freeze(pg_store, actor, "c1")
    F.apply_receipt(pg_store, "c1", F.Receipt("r1", "executed", held_fen=1000), actor, now=T0)
    R.record_trace(
        pg_store,
        actor,
        [{"victim_id": v, "account": ACC, "transfer_id": v, "amount_fen": 700} for v in ("v1", "v2")],
    )
    plans = together(
        *[lambda: R.plan_refund(pg_store, actor, refund_id="rf", account=ACC, claims={"v1": 700, "v2": 700})]
        * 2
    )
    assert all(isinstance(p, RefundPlan) for p in plans) and plans[0].calculation == plans[1].calculation
    done = together(*[lambda: R.execute_refund(pg_store, "rf", actor, now=T0)] * 2)
    assert [p.status for p in done] == ["executed", "executed"]
    assert count(pg_store, select(func.sum(FundHold.refunded_fen))) == 1000
    assert count(pg_store, select(func.count()).select_from(RefundPlan)) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_refund_plans_for_one_account_at_once(pg_store: Store, actor: A.Actor, round_: int) -> None:
    sent_freeze(pg_store, actor, "c1")
    F.apply_receipt(pg_store, "c1", F.Receipt("r1", "executed", held_fen=1000), actor, now=T0)
    R.record_trace(
        pg_store, actor, [{"victim_id": "v1", "account": ACC, "transfer_id": "t", "amount_fen": 700}]
    )
    results = together(
        lambda: R.plan_refund(pg_store, actor, refund_id="ra", account=ACC, claims={"v1": 700}),
        lambda: R.plan_refund(pg_store, actor, refund_id="rb", account=ACC, claims={"v1": 700}),
    )
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "RefundPlan"]


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_same_person_warned_twice_at_once_gives_one_warning(
    pg_store: Store, actor: A.Actor, round_: int
) -> None:
    def job(kind: str) -> Callable[[], WarningTask]:
        return lambda: W.create_warning(pg_store, W.SignalEvent(kind, "p1", T0, "13800138000"), actor, now=T0)

    results = together(job("call"), job("sms"))
    assert all(isinstance(r, WarningTask) for r in results)
    assert count(pg_store, select(func.count()).select_from(WarningTask)) == 1
    merged = W.list_warnings(pg_store, actor)[0]
    assert merged.merged_count == 1 and len(merged.signals) == 2


def test_errors_are_fanzha_errors() -> None:
    assert issubclass(ConflictError, RuntimeError) and issubclass(StateError, RuntimeError)
