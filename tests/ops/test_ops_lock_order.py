"""PostgreSQL: writers lock commands before holds, so `tick` racing a receipt or a refund never deadlocks.

`tick` locks the lapsed commands, then their holds. A freeze receipt taking a stop-payment over and a
refund execution used to lock the hold first and the command second: with a tick at that moment
PostgreSQL aborted one of them with "deadlock detected". The tests pause tick right after it locked
the commands until the other worker is waiting for a lock, which made the deadlock certain before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select, text

from fanzha.ops import audit as A
from fanzha.ops import fundcontrol as F
from fanzha.ops import refunds as R
from fanzha.ops.models import FundHold
from fanzha.ops.store import Store

pytestmark = pytest.mark.postgres
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACC = "6222020200112233445"


@contextmanager
def tick_paused_after_locking(store: Store) -> Iterator[dict[str, Any]]:
    """While active, a thread named "tick" stops after its lapsed-holds query (commands locked) until
    ``state["go"]`` is set; ``state["locked"]`` is set when it got there; other threads' backend pids
    are collected in ``state["pids"]``."""
    state: dict[str, Any] = {"go": threading.Event(), "locked": threading.Event(), "pids": set()}

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        name = threading.current_thread().name
        if name == "tick":
            if "expires_at <=" in statement and "FOR UPDATE" in statement:
                state["locked"].set()
                state["go"].wait(30)
        elif name == "other":
            state["pids"].add(conn.connection.dbapi_connection.info.backend_pid)

    event.listen(store.engine, "after_cursor_execute", after)
    try:
        yield state
    finally:
        event.remove(store.engine, "after_cursor_execute", after)


def waiting_for_lock(store: Store, pids: set[int]) -> bool:
    if not pids:
        return False
    with store.engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:p) AND wait_event_type = 'Lock'"),
            {"p": list(pids)},
        ).scalar_one()
    return bool(n)


def race_with_tick(store: Store, other: Callable[[], Any], tick_now: datetime) -> tuple[Any, Any]:
    out: dict[str, Any] = {}

    def run(key: str, job: Callable[[], Any]) -> None:
        try:
            out[key] = job()
        except Exception as exc:
            out[key] = exc

    with tick_paused_after_locking(store) as state:
        t = threading.Thread(target=run, args=("tick", lambda: F.tick(store, now=tick_now)), name="tick")
        t.start()
        assert state["locked"].wait(30), "tick did not reach its lapsed-holds query"
        o = threading.Thread(target=run, args=("other", other), name="other")
        o.start()
        deadline = time.monotonic() + 20
        while not waiting_for_lock(store, state["pids"]) and o.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        state["go"].set()
        t.join(60)
        o.join(60)
    return out["tick"], out["other"]


def test_freeze_receipt_taking_over_a_stop_payment_while_tick_expires_it(pg_store: Store) -> None:
    actor = A.Actor("qa", "police", "lock order")
    F.issue_command(
        pg_store,
        actor,
        command_id="s1",
        kind="stop_payment",
        account=ACC,
        amount_fen=1000,
        reason="r",
        now=T0,
    )
    F.send(pg_store, "s1", actor, now=T0)
    F.apply_receipt(pg_store, "s1", F.Receipt("rs1", "executed", held_fen=1000), actor, now=T0)
    at = T0 + timedelta(hours=47)
    F.issue_command(
        pg_store, actor, command_id="f1", kind="freeze", account=ACC, amount_fen=1000, reason="r", now=at
    )
    F.send(pg_store, "f1", actor, now=at)

    tick, receipt = race_with_tick(
        pg_store,
        lambda: F.apply_receipt(
            pg_store, "f1", F.Receipt("rf1", "executed", held_fen=1000), actor, now=T0 + timedelta(hours=47.9)
        ),
        T0 + timedelta(hours=48, minutes=1),
    )

    assert isinstance(tick, F.TickReport), tick
    assert tick.holds_expired == ["s1"]
    assert isinstance(receipt, F.FundCommand), receipt
    assert receipt.status == "executed"
    holds = F.active_holds(pg_store, ACC)
    assert [(h.command_id, h.amount_fen) for h in holds] == [("f1", 1000)]  # held once, by the freeze
    assert A.verify(pg_store).ok


def test_refund_execution_while_tick_expires_the_freeze(pg_store: Store) -> None:
    actor = A.Actor("qa", "police", "lock order")
    F.issue_command(
        pg_store, actor, command_id="f1", kind="freeze", account=ACC, amount_fen=1000, reason="r", now=T0
    )
    F.send(pg_store, "f1", actor, now=T0)
    F.apply_receipt(pg_store, "f1", F.Receipt("rf1", "executed", held_fen=1000), actor, now=T0)
    R.record_trace(
        pg_store, actor, [{"victim_id": "v1", "account": ACC, "transfer_id": "t1", "amount_fen": 1000}]
    )
    R.plan_refund(
        pg_store, actor, refund_id="p1", account=ACC, claims={"v1": 1000}, now=T0 + timedelta(days=1)
    )

    tick, refund = race_with_tick(
        pg_store,
        lambda: R.execute_refund(pg_store, "p1", actor, now=T0 + timedelta(days=179)),
        T0 + F.FREEZE_TERM + timedelta(minutes=1),
    )

    assert isinstance(tick, F.TickReport), tick
    # tick had the freeze first: it lapsed, so the refund is refused cleanly (the money changed)
    assert tick.holds_expired == ["f1"]
    assert isinstance(refund, R.StateError), refund
    with pg_store.transaction() as s:
        refunded = s.execute(select(func.sum(FundHold.refunded_fen))).scalar_one()
    assert refunded == 0
    assert A.verify(pg_store).ok
