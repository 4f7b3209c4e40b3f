"""A list filter with a value that cannot exist, or a limit below 1, is an error, not an empty answer:
`--status execeuted` answered [] ("no such commands") and `--limit -5` a raw database error on
PostgreSQL (on SQLite: no limit at all)."""

from __future__ import annotations

import pytest

from fanzha.errors import ValidationError
from fanzha.ops import audit as A
from fanzha.ops import fundcontrol as FC
from fanzha.ops import warnings as W
from fanzha.ops.store import Store


def test_unknown_command_status_is_refused(store: Store, actor: A.Actor) -> None:
    with pytest.raises(ValidationError, match="execeuted"):
        FC.list_commands(store, actor, status="execeuted")
    assert FC.list_commands(store, actor, status="executed") == []


def test_unknown_warning_status_or_tier_is_refused(store: Store, actor: A.Actor) -> None:
    with pytest.raises(ValidationError, match="dissuded"):
        W.list_warnings(store, actor, status="dissuded")
    with pytest.raises(ValidationError, match="purple"):
        W.list_warnings(store, actor, tier="purple")
    assert W.list_warnings(store, actor, status="dissuaded", tier="red") == []


@pytest.mark.parametrize("limit", [0, -5])
def test_limit_below_one_is_refused(store: Store, actor: A.Actor, limit: int) -> None:
    for read in (FC.list_commands, W.list_warnings, A.entries):
        with pytest.raises(ValidationError, match="limit"):
            read(store, actor, limit=limit)
