"""``now`` must be timezone-aware (docs/ops.md): a naive one was read in the machine's local zone,
so the same call gave different deadlines and expiries on a UTC server and on a Beijing laptop."""

from __future__ import annotations

from datetime import datetime

import pytest

from fanzha.errors import ValidationError
from fanzha.ops import fundcontrol as FC
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store


def test_naive_now_is_refused(store: Store, actor: Actor) -> None:
    naive = datetime(2026, 5, 1, 9, 0)
    with pytest.raises(ValidationError, match="timezone"):
        FC.issue_command(
            store, actor, command_id="c1", kind="query", account="6222020200112233445", reason="r", now=naive
        )
    with pytest.raises(ValidationError, match="timezone"):
        FC.tick(store, now=naive)
