"""A store that cannot be reached, or a connection lost mid-transaction, is one clear error.

It used to be a raw sqlalchemy OperationalError (a traceback from the CLI, a 500 from the API).
Now it is a StoreUnavailable saying where and what became of the work; PostgreSQL rolls the
transaction back, so nothing is half-written, and a retry with the same ids gives one result.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, func, select, text

from fanzha.api.errors import status_of
from fanzha.errors import StoreUnavailable
from fanzha.ops import audit as A
from fanzha.ops import fundcontrol as F
from fanzha.ops.models import BankReceipt, FundHold
from fanzha.ops.store import Store, open_store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACC = "6222020200112233445"
NOBODY_LISTENS = "postgresql+psycopg://postgres:secret@127.0.0.1:1/ops"


def test_unreachable_server_is_one_clear_error_without_the_password() -> None:
    with pytest.raises(
        StoreUnavailable, match=r"cannot open the ops store .*127\.0\.0\.1:1/ops: .*check --dsn"
    ) as err:
        open_store(NOBODY_LISTENS)
    assert "secret" not in str(err.value)
    assert status_of(err.value) == 503  # the API answers 503, not 500


def test_cli_with_unreachable_store_prints_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fanzha.cli import main as cli

    monkeypatch.setenv("FANZHA_HOME", str(tmp_path))
    monkeypatch.setattr("sys.argv", ["fanzha", "ops", "--dsn", NOBODY_LISTENS, "tick"])
    with pytest.raises(SystemExit) as done:
        cli.main()
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "error: cannot open the ops store" in err and "Traceback" not in err
    assert "secret" not in err


@pytest.fixture
def killer(pg_dsn: str) -> Iterator[Any]:
    eng = create_engine(pg_dsn)
    yield eng
    eng.dispose()


def _kill_when(store: Store, killer: Any, kind: str, marker: str = "") -> None:
    """Terminate the store connection's server process at the first ``kind`` event (matching ``marker``)."""
    armed = [True]

    def kill(conn: Any) -> None:
        if armed[0]:
            armed[0] = False
            pid = conn.connection.dbapi_connection.info.backend_pid
            with killer.connect() as k:
                k.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    if kind == "statement":

        def after(conn: Any, _c: Any, statement: str, *_: Any) -> None:
            if marker in statement:
                kill(conn)

        event.listen(store.engine, "after_cursor_execute", after)
    else:
        event.listen(store.engine, "commit", kill)


def _sent_freeze(store: Store, actor: A.Actor) -> None:
    F.issue_command(
        store, actor, command_id="f1", kind="freeze", account=ACC, amount_fen=1000, reason="r", now=T0
    )
    F.send(store, "f1", actor, now=T0)


def _holds_and_receipts(store: Store) -> tuple[int, int]:
    with store.transaction() as s:
        return (
            s.execute(select(func.count()).select_from(FundHold)).scalar_one(),
            s.execute(select(func.count()).select_from(BankReceipt)).scalar_one(),
        )


@pytest.mark.postgres
def test_backend_killed_mid_receipt_leaves_nothing_half_written(
    fresh_pg_store: Store, actor: A.Actor, killer: Any
) -> None:
    st = fresh_pg_store
    _sent_freeze(st, actor)
    _kill_when(st, killer, "statement", "INSERT INTO fund_holds")
    receipt = F.Receipt("r1", "executed", held_fen=1000)
    with pytest.raises(StoreUnavailable, match="nothing of this transaction was stored; retry"):
        F.apply_receipt(st, "f1", receipt, actor, now=T0)
    assert F.get_command(st, "f1", actor).status == "sent"
    assert _holds_and_receipts(st) == (0, 0)
    assert A.verify(st).ok
    assert F.apply_receipt(st, "f1", receipt, actor, now=T0).status == "executed"  # the retry
    assert _holds_and_receipts(st) == (1, 1)
    assert A.verify(st).ok


@pytest.mark.postgres
def test_backend_killed_at_commit_says_the_outcome_is_unknown(
    fresh_pg_store: Store, actor: A.Actor, killer: Any
) -> None:
    st = fresh_pg_store
    _sent_freeze(st, actor)
    _kill_when(st, killer, "commit")
    receipt = F.Receipt("r1", "executed", held_fen=1000)
    with pytest.raises(StoreUnavailable, match="may or may not be stored: retry with the same ids"):
        F.apply_receipt(st, "f1", receipt, actor, now=T0)
    assert F.apply_receipt(st, "f1", receipt, actor, now=T0).status == "executed"
    assert F.apply_receipt(st, "f1", receipt, actor, now=T0).status == "executed"  # applied once
    assert _holds_and_receipts(st) == (1, 1)
    assert A.verify(st).ok
