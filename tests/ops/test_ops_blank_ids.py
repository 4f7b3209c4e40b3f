"""Blank caller-chosen ids (idempotency keys) are refused: an empty key would make every later
"retry" with no id collide with the first request."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fanzha.errors import ValidationError
from fanzha.ops import fundcontrol as FC
from fanzha.ops import refunds as R
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store

ACCOUNT = "6222020200112233445"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("command_id", ["", "   ", "\t"])
def test_blank_command_id_is_refused(store: Store, actor: Actor, command_id: str) -> None:
    with pytest.raises(ValidationError, match="command_id"):
        FC.issue_command(
            store, actor, command_id=command_id, kind="freeze", account=ACCOUNT, reason="r", now=T0
        )


def test_blank_receipt_id_is_refused(store: Store, actor: Actor) -> None:
    FC.issue_command(store, actor, command_id="c1", kind="freeze", account=ACCOUNT, reason="r", now=T0)
    FC.send(store, "c1", actor, now=T0)
    with pytest.raises(ValidationError, match="receipt_id"):
        FC.apply_receipt(store, "c1", FC.Receipt(receipt_id=" ", outcome="acknowledged"), actor, now=T0)


def test_blank_refund_id_is_refused(store: Store, actor: Actor) -> None:
    with pytest.raises(ValidationError, match="refund_id"):
        R.plan_refund(store, actor, refund_id="", account=ACCOUNT, claims={"V1": 100})


def test_blank_victim_id_in_a_claim_is_refused(store: Store, actor: Actor) -> None:
    with pytest.raises(ValidationError, match="victim_id"):
        R.plan_refund(store, actor, refund_id="r1", account=ACCOUNT, claims={" ": 100})


def test_blank_victim_id_on_a_command_is_refused_with_a_victim_hint(store: Store, actor: Actor) -> None:
    with pytest.raises(ValidationError, match="name the victim"):
        FC.issue_command(
            store, actor, command_id="c1", kind="stop_payment", account=ACCOUNT, reason="r",
            victim_ids=["V1", " "], now=T0,
        )  # fmt: skip
    with pytest.raises(ValidationError, match="name the victim who claims"):
        R.plan_refund(store, actor, refund_id="r1", account=ACCOUNT, claims={"": 100})


@pytest.mark.parametrize("person_id", ["", "  ", "\t"])
def test_blank_person_id_is_refused_for_profiles_and_signals(
    store: Store, actor: Actor, person_id: str
) -> None:
    """Found by QA: a profile for "  " was stored (on both stores); a signal checked only the length."""
    from fanzha.ops import warnings as W

    with pytest.raises(ValidationError, match="person_id"):
        W.upsert_profile(store, actor, person_id, now=T0)
    with pytest.raises(ValidationError, match="person_id"):
        W.SignalEvent(kind="call", person_id=person_id, occurred_at=T0, counterpart="13800138000").validate(
            T0, timedelta(hours=1)
        )
