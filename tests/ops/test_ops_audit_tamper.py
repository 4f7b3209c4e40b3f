"""Audit verify on rows tampered outside fanzha: every problem named by row, never a traceback."""

from __future__ import annotations

from typer.testing import CliRunner

from fanzha.cli.main import app


def _filled_sqlite_store():
    from fanzha.ops import audit as A
    from fanzha.ops.store import open_store

    store = open_store()
    for i in range(4):
        with store.transaction() as s:
            A.append(s, A.Actor("wang", "police", "t"), "test.action", subject_id=f"p{i}", detail={"i": i})
    return store


def test_audit_verify_names_a_row_whose_detail_is_no_longer_json(settings) -> None:
    from sqlalchemy import text

    from fanzha.ops import audit as A

    store = _filled_sqlite_store()
    with store.engine.begin() as conn:  # SQLite stores JSON as text: an editor can write anything
        conn.execute(text("UPDATE audit_log SET detail = 'not json' WHERE seq = 2"))
    report = A.verify(store)
    assert not report.ok
    assert "row 2: content does not match its hash (edited?)" in report.problems
    result = CliRunner().invoke(app, ["audit", "verify"])
    assert result.exit_code == 1 and "row 2: content does not match its hash" in result.output, result.output
    store.close()


def test_audit_verify_head_hash_mismatch_is_named_as_such(settings) -> None:
    from sqlalchemy import text

    from fanzha.ops import audit as A

    store = _filled_sqlite_store()
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": "ab" * 32})
    problems = A.verify(store).problems
    assert problems == ["the head's hash does not match row 4, the last row (head or last row rewritten?)"], (
        problems
    )
    store.close()
