"""Amounts beyond MAX_FEN are refused by the service layer (found by QA): 10**20 fen on a command,
a receipt, a traced transfer, a claim or a signal gave OverflowError on SQLite and a raw DataError
(bigint out of range) on PostgreSQL. The CLI and the API bounded them; the service layer did not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fanzha.errors import ValidationError
from fanzha.ops import fundcontrol as F
from fanzha.ops import refunds as R
from fanzha.ops import warnings as W
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store
from fanzha.records.normalise import MAX_FEN

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACC = "6222020200112233445"
HUGE = 10**20


def sent(store: Store, actor: Actor, cid: str = "c1", amount: int | None = None) -> None:
    F.issue_command(
        store, actor, command_id=cid, kind="freeze", account=ACC, amount_fen=amount, reason="case", now=T0
    )
    F.send(store, cid, actor, now=T0)


@pytest.mark.parametrize("amount", [MAX_FEN + 1, HUGE])
def test_command_amount_beyond_max_fen_is_refused(store: Store, actor: Actor, amount: int) -> None:
    with pytest.raises(ValidationError, match="amount_fen"):
        sent(store, actor, amount=amount)
    sent(store, actor, amount=MAX_FEN)  # the bound itself is fine


@pytest.mark.parametrize("field", ["held_fen", "moved_on_fen", "balance_fen"])
def test_receipt_amounts_beyond_max_fen_are_refused(store: Store, actor: Actor, field: str) -> None:
    sent(store, actor)
    with pytest.raises(ValidationError, match=field):
        F.apply_receipt(store, "c1", F.Receipt("r1", "executed", **{field: HUGE}), actor, now=T0)
    assert F.get_command(store, "c1", actor).status == "sent"


def test_negative_balance_in_a_receipt_is_refused(store: Store, actor: Actor) -> None:
    sent(store, actor)
    with pytest.raises(ValidationError, match="balance_fen"):
        F.apply_receipt(store, "c1", F.Receipt("r1", "executed", balance_fen=-1), actor, now=T0)


def test_next_hop_amount_beyond_max_fen_is_refused(store: Store, actor: Actor) -> None:
    sent(store, actor)
    hops = ({"account": "6228480011223344556", "amount_fen": HUGE},)
    with pytest.raises(ValidationError, match="next hop"):
        F.apply_receipt(
            store, "c1", F.Receipt("r1", "executed", moved_on_fen=1, next_hops=hops), actor, now=T0
        )


def test_traced_amount_and_claim_beyond_max_fen_are_refused(store: Store, actor: Actor) -> None:
    link = {"victim_id": "v1", "account": ACC, "transfer_id": "t1", "amount_fen": HUGE}
    with pytest.raises(ValidationError, match="traced amount"):
        R.record_trace(store, actor, [link])
    with pytest.raises(ValidationError, match="claim of victim v1"):
        R.plan_refund(store, actor, refund_id="rf", account=ACC, claims={"v1": HUGE})


def test_signal_amount_beyond_max_fen_is_refused(store: Store, actor: Actor) -> None:
    event = W.SignalEvent("pending_transfer", "p1", T0, ACC, amount_fen=HUGE)
    with pytest.raises(ValidationError, match="amount_fen"):
        W.create_warning(store, event, actor, now=T0)
