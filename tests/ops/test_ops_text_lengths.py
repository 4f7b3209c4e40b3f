"""Texts longer than their column are a ValidationError naming the field on both backends.

They used to be stored whole on SQLite (which ignores VARCHAR lengths) and fail on PostgreSQL with a
raw "value too long for type character varying" DataError: list source / owner / URL, an appellant,
a trace's victim / transfer id and source, a warning's officer, a profile's person id.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from fanzha.errors import ValidationError
from fanzha.ops import audit as A
from fanzha.ops import lists as L
from fanzha.ops import refunds as R
from fanzha.ops import warnings as W
from fanzha.ops.models import ListAppeal, ListEntry, PersonProfile, TraceLink
from fanzha.ops.store import Store

ACC = "6222020200112233445"


def _entry(st: Store, a: A.Actor, **kw: Any) -> Any:
    args = {"kind": "number", "value": "17012345678", "action": "block", "reason": "r", "source": "110"}
    return L.add_entry(st, a, **{**args, **kw})


def _link(**kw: Any) -> list[dict[str, Any]]:
    return [{"victim_id": "v1", "account": ACC, "transfer_id": "t1", "amount_fen": 5, **kw}]


CASES: dict[str, tuple[str, Callable[[Store, A.Actor], Any]]] = {
    "list source": ("source", lambda st, a: _entry(st, a, source="s" * 65)),
    "list owner": ("owner", lambda st, a: _entry(st, a, owner="o" * 129)),
    "list url": ("url", lambda st, a: _entry(st, a, kind="url", value="http://scam.example/" + "a" * 3000)),
    "appellant": (
        "appellant",
        lambda st, a: L.appeal(st, a, _entry(st, a).id, appellant="张" * 129, reason="本人号码"),
    ),
    "trace victim": ("victim_id", lambda st, a: R.record_trace(st, a, _link(victim_id="v" * 65))),
    "trace transfer": ("transfer_id", lambda st, a: R.record_trace(st, a, _link(transfer_id="t" * 65))),
    "trace source": ("source", lambda st, a: R.record_trace(st, a, _link(), source="s" * 33)),
    "profile person": ("person_id", lambda st, a: W.upsert_profile(st, a, "p" * 65)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_too_long_text_is_refused_alike(store: Store, actor: A.Actor, case: str) -> None:
    name, call = CASES[case]
    with pytest.raises(ValidationError, match=f"^{name} .* more than the"):
        call(store, actor)
    with store.transaction() as s:
        assert s.execute(select(func.count()).select_from(ListAppeal)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(TraceLink)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(PersonProfile)).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(ListEntry)).scalar_one() <= 1
    assert A.verify(store).ok


def test_too_long_officer_leaves_the_warning_as_it_was(store: Store, actor: A.Actor) -> None:
    event = W.SignalEvent(
        kind="call", person_id="p1", occurred_at=datetime.now(UTC), counterpart="17012345678"
    )
    w = W.create_warning(store, event, actor)
    with pytest.raises(ValidationError, match=r"^officer .* more than the 128"):
        W.transition(store, w.id, "unreachable", actor, officer="o" * 129)
    assert W.get_warning(store, w.id, actor).status == "issued"
    assert A.verify(store).ok


def test_texts_at_their_column_width_are_stored(store: Store, actor: A.Actor) -> None:
    e = _entry(store, actor, source="s" * 64, owner="o" * 128)
    L.appeal(store, actor, e.id, appellant="张" * 128, reason="本人号码")
    R.record_trace(store, actor, _link(victim_id="v" * 64, transfer_id="t" * 64), source="s" * 32)
    W.upsert_profile(store, actor, "p" * 64)
    assert A.verify(store).ok
