"""A traced transfer recorded again with another amount is a conflict, not silently ignored: the
refund cap of a victim would otherwise rest on whichever trace came first, without anyone knowing."""

from __future__ import annotations

import pytest

from fanzha.errors import ConflictError
from fanzha.ops import refunds as R
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store

ACCOUNT = "6222020200112233445"


def link(amount: int, transfer: str = "t1", hop: int = 0) -> dict:
    return {"victim_id": "V1", "account": ACCOUNT, "transfer_id": transfer, "amount_fen": amount, "hop": hop}


def test_same_link_again_is_a_no_op(store: Store, actor: Actor) -> None:
    assert R.record_trace(store, actor, [link(8000), link(2000, hop=1)]) == 1
    assert R.record_trace(store, actor, [link(8000), link(2000, hop=1)]) == 0


def test_same_transfer_with_another_amount_is_a_conflict(store: Store, actor: Actor) -> None:
    R.record_trace(store, actor, [link(8000)])
    with pytest.raises(ConflictError, match="t1"):
        R.record_trace(store, actor, [link(99999), link(500, transfer="t2")])
    # nothing of the refused batch was stored
    assert R.record_trace(store, actor, [link(500, transfer="t2")]) == 1
