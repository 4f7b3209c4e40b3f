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


def test_counterpart_is_normalised_by_signal_kind(store: Store, actor: Actor) -> None:
    # was: stored as typed ('+86 170 1234 5678'), so the same number in two spellings looked different
    cases = [
        ("call", "+86 170 1234 5678", "17012345678"),
        ("sms", "１７０１２３４５６７８", "17012345678"),
        ("pending_transfer", "6222 0202 0011 2233 445", "6222020200112233445"),
        ("url_visit", "HTTP://Scam.Example/x", "http://scam.example/x"),
    ]
    for i, (kind, typed, stored) in enumerate(cases):
        task = W.create_warning(store, W.SignalEvent(kind, f"p{i}", T0, typed), actor, now=T0)
        assert task.signals[-1]["counterpart"] == stored, (kind, task.signals)
    with pytest.raises(ValidationError, match="phone number"):
        W.create_warning(store, W.SignalEvent("call", "p9", T0, "not a number"), actor, now=T0)
