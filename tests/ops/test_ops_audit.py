"""Audit log: chain, every command logged, edits and deletions detected (API and CLI)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from fanzha.errors import ValidationError
from fanzha.ops import audit as A
from fanzha.ops import lists as L
from fanzha.ops import warnings as W
from fanzha.ops.models import AuditEntry
from fanzha.ops.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def fill(store: Store, actor: A.Actor, n: int = 5) -> None:
    for i in range(n):
        with store.transaction() as s:
            A.append(
                s,
                actor,
                "test.action",
                subject_kind="person",
                subject_id=f"p{i}",
                detail={"i": i, "x": "数据"},
            )


def test_actor_needs_name_role_and_purpose() -> None:
    with pytest.raises(ValidationError, match="purpose"):
        A.Actor("wang", "police", " ")


def test_chain_is_intact_and_linked(store: Store, actor: A.Actor) -> None:
    fill(store, actor)
    report = A.verify(store)
    assert report.ok and report.rows == report.head_seq == 5
    with store.transaction() as s:
        rows = s.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
    assert rows[0].prev_hash == A.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert report.head_hash == rows[-1].hash
    assert A.verify(store, anchor=(3, rows[2].hash)).ok
    assert not A.verify(store, anchor=(3, "f" * 64)).ok


def test_commands_and_reads_are_logged(store: Store, actor: A.Actor) -> None:
    W.create_warning(store, W.SignalEvent("sms", "p1", T0, "13800138000"), actor, now=T0)
    L.check(store, actor, "number", "13800138000")
    got = A.entries(store, actor, limit=10)
    assert [e.action for e in got] == ["list.check", "warning.create"]
    assert all((e.actor, e.role, e.purpose) == (actor.name, actor.role, actor.purpose) for e in got)
    assert A.entries(store, actor, action="audit.read")[0].actor == actor.name  # reading is logged too


def test_failed_command_leaves_no_audit_row(store: Store, actor: A.Actor) -> None:
    with pytest.raises(ValidationError):
        W.create_warning(store, W.SignalEvent("fax", "p1", T0, "x"), actor, now=T0)
    assert A.count(store) == 0


def test_a_subject_longer_than_the_column_is_logged_and_found(store: Store, actor: A.Actor) -> None:
    """Found by QA: `fanzha lists check url` (or an API lookup) of a URL over 256 characters failed on
    PostgreSQL (value too long for the subject_id column) and worked on SQLite."""
    url = "http://scam.example/" + "a" * 400
    assert L.check(store, actor, "url", url).action == "none"
    L.add_entry(store, actor, kind="url", value=url, action="block", reason="long", source="110")
    rows = A.entries(store, actor, subject_id=url, limit=10)
    assert [r.action for r in rows] == ["list.add.block", "list.check"]
    assert all(len(r.subject_id) <= A.SUBJECT_MAX and r.detail["subject_id"] == url for r in rows)
    assert A.verify(store).ok


def test_edited_row_is_detected(store: Store, actor: A.Actor) -> None:
    fill(store, actor)
    with store.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 3).values(purpose="nothing to see"))
    report = A.verify(store)
    assert not report.ok and report.problems == ["row 3: content does not match its hash (edited?)"]


def test_deleted_middle_row_is_detected(store: Store, actor: A.Actor) -> None:
    fill(store, actor)
    with store.transaction() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 2))
    problems = A.verify(store).problems
    assert "rows 2–2 are missing (deleted?)" in problems
    assert "row 3: prev_hash does not match row 2" in problems


def test_deleted_last_row_is_detected(store: Store, actor: A.Actor) -> None:
    fill(store, actor)
    with store.transaction() as s:
        s.execute(delete(AuditEntry).where(AuditEntry.seq == 5))
    assert A.verify(store).problems == ["last row is 4 but the head says 5: rows at the end were deleted"]


def test_cli_audit_verify_detects_tampering(settings, tmp_path) -> None:
    from fanzha.cli.main import app
    from fanzha.ops.store import open_store

    store = open_store()
    actor = A.Actor("wang", "police", "test")
    fill(store, actor, 3)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact: 3 rows" in ok.output
    with store.transaction() as s:
        s.execute(update(AuditEntry).where(AuditEntry.seq == 2).values(actor="someone else"))
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1 and "row 2: content does not match its hash" in bad.output
    store.close()
