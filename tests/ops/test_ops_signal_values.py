"""Impossible signal values are refused, not scored: an age of 400 made a person 'elderly' (+20
points), an age of -4 a 'minor', and an empty counterpart gave a warning about nobody."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fanzha.errors import ValidationError
from fanzha.ops import warnings as W
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("age", [-4, 151, 400])
def test_impossible_age_is_refused(store: Store, actor: Actor, age: int) -> None:
    event = W.SignalEvent("call", "p1", T0, "13800138000", age=age)
    with pytest.raises(ValidationError, match="age"):
        W.create_warning(store, event, actor, now=T0)


@pytest.mark.parametrize("counterpart", ["", "   "])
def test_blank_counterpart_is_refused(store: Store, actor: Actor, counterpart: str) -> None:
    event = W.SignalEvent("call", "p1", T0, counterpart)
    with pytest.raises(ValidationError, match="counterpart"):
        W.create_warning(store, event, actor, now=T0)


def test_negative_call_duration_is_refused(store: Store, actor: Actor) -> None:
    event = W.SignalEvent("call", "p1", T0, "13800138000", duration_s=-30)
    with pytest.raises(ValidationError, match="duration_s"):
        W.create_warning(store, event, actor, now=T0)


def test_ages_at_the_edges_are_scored(store: Store, actor: Actor) -> None:
    for person, age in (("p0", 0), ("p1", 120)):
        W.create_warning(store, W.SignalEvent("call", person, T0, "13800138000", age=age), actor, now=T0)


@pytest.mark.parametrize("born", ["2027-01-01", "1800-01-01"])
def test_impossible_birth_date_is_refused(store: Store, actor: Actor, born: str) -> None:
    from datetime import date

    with pytest.raises(ValidationError, match="birth_date"):
        W.upsert_profile(store, actor, "p1", birth_date=date.fromisoformat(born), now=T0)
