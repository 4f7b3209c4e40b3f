"""Fixtures of the risk tests: engines loaded with the hand-made record sets of records.py."""

from __future__ import annotations

import pytest

from .records import (
    accounts_table,
    calls_table,
    cards_table,
    data_usage_table,
    sms_table,
    topups_table,
    transfers_table,
)


@pytest.fixture
def number_engine(engine):  # type: ignore[no-untyped-def]
    engine.register("calls", calls_table())
    engine.register("phone_cards", cards_table())
    engine.register("sms", sms_table())
    engine.register("topups", topups_table())
    engine.register("data_usage", data_usage_table())
    return engine


@pytest.fixture
def account_engine(engine):  # type: ignore[no-untyped-def]
    engine.register("transfers", transfers_table())
    engine.register("accounts", accounts_table())
    return engine
