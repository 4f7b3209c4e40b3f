"""Fixtures of the risk tests: engines loaded with the hand-made record sets of records.py."""

from __future__ import annotations

from typing import Any

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

# the hand-made record tables of each kind of feature
TABLES = {
    "numbers": {
        "calls": calls_table,
        "phone_cards": cards_table,
        "sms": sms_table,
        "topups": topups_table,
        "data_usage": data_usage_table,
    },
    "accounts": {"transfers": transfers_table, "accounts": accounts_table},
}


def load_records(engine: Any, kind: str) -> Any:
    """``engine`` with the hand-made records behind ``kind``'s features registered."""
    for name, make in TABLES[kind].items():
        engine.register(name, make())
    return engine


@pytest.fixture
def number_engine(engine):  # type: ignore[no-untyped-def]
    return load_records(engine, "numbers")


@pytest.fixture
def account_engine(engine):  # type: ignore[no-untyped-def]
    return load_records(engine, "accounts")
