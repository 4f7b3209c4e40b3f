"""Text the store cannot hold is refused alike on SQLite and PostgreSQL.

A NUL character (\\x00) in any text reached PostgreSQL as a raw DataError ("text fields cannot
contain NUL bytes") while SQLite stored it; both now raise one ValidationError and store nothing.
Emoji and other non-BMP characters are stored and read back unchanged on both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from fanzha.errors import ValidationError
from fanzha.ops import audit as A
from fanzha.ops import fundcontrol as F
from fanzha.ops import lists as L
from fanzha.ops import refunds as R
from fanzha.ops import warnings as W
from fanzha.ops.models import AuditEntry, FundCommand, ListEntry, TraceLink, WarningTask
from fanzha.ops.store import Store

ACC = "6222020200112233445"
NUL = "fraud\x00case"


def _now() -> datetime:
    return datetime.now(UTC)


CASES: dict[str, Callable[[Store, A.Actor], Any]] = {
    "list reason": lambda st, a: L.add_entry(
        st, a, kind="number", value="17012345678", action="block", reason=NUL, source="110"
    ),
    "list source": lambda st, a: L.add_entry(
        st, a, kind="number", value="17012345678", action="block", reason="r", source=NUL
    ),
    "actor name": lambda st, a: L.add_entry(
        st,
        A.Actor("wang\x00li", "police", "case"),
        kind="number",
        value="17012345678",
        action="block",
        reason="r",
        source="110",
    ),
    "command reason": lambda st, a: F.issue_command(
        st, a, command_id="c1", kind="freeze", account=ACC, amount_fen=100, reason=NUL
    ),
    "command id": lambda st, a: F.issue_command(
        st, a, command_id="c\x001", kind="freeze", account=ACC, amount_fen=100, reason="r"
    ),
    "trace transfer id": lambda st, a: R.record_trace(
        st, a, [{"victim_id": "v1", "account": ACC, "transfer_id": NUL, "amount_fen": 5}]
    ),
    "warning person": lambda st, a: W.create_warning(
        st, W.SignalEvent(kind="call", person_id="p\x001", occurred_at=_now(), counterpart="17012345678"), a
    ),
    "audit search": lambda st, a: A.entries(st, a, subject_id=NUL),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_nul_in_text_is_refused_alike(store: Store, actor: A.Actor, case: str) -> None:
    with pytest.raises(ValidationError, match="NUL character"):
        CASES[case](store, actor)
    with store.transaction() as s:
        for model in (AuditEntry, FundCommand, ListEntry, TraceLink, WarningTask):
            assert s.execute(select(func.count()).select_from(model)).scalar_one() == 0, model
    assert A.verify(store).ok


def test_nul_in_a_warning_note_leaves_the_warning_open(store: Store, actor: A.Actor) -> None:
    w = W.create_warning(
        store,
        W.SignalEvent(kind="call", person_id="p1", occurred_at=_now(), counterpart="17012345678"),
        actor,
    )
    with pytest.raises(ValidationError, match="NUL character"):
        W.transition(store, w.id, "unreachable", actor, note=NUL)
    assert W.get_warning(store, w.id, actor).status == "issued"
    assert A.verify(store).ok


def test_emoji_and_long_unicode_text_round_trip(store: Store, actor: A.Actor) -> None:
    reason = "冒充客服 😀🚨 " * 500  # 5,500 characters, non-BMP included
    e = L.add_entry(
        store, actor, kind="number", value="17012345678", action="block", reason=reason, source="110"
    )
    cmd = F.issue_command(
        store, actor, command_id="案件/😀/1", kind="freeze", account=ACC, amount_fen=1, reason=reason
    )
    assert F.get_command(store, cmd.id, actor).reason == reason
    assert L.check(store, actor, "number", "17012345678").matched[0]["entry_id"] == e.id
    assert A.verify(store).ok
