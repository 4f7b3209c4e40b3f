"""PostgreSQL: two workers storing the same rows at once (a trace recorded twice, one list file loaded
twice) get the answer a second run gets, not a raw IntegrityError from the unique key.

The first worker is paused right after it read what is already stored, until the second one has
committed the same rows: its insert then hits the unique key (SQLite queues writers, PostgreSQL
does not).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import event, func, select

from fanzha.ops import audit as A
from fanzha.ops import lists as L
from fanzha.ops import refunds as R
from fanzha.ops.models import ListEntry, TraceLink
from fanzha.ops.store import Store

pytestmark = pytest.mark.postgres
ACC = "6222020200112233445"


def first_reads_then_second_commits(
    store: Store, read_marker: str, first: Callable[[], Any], second: Callable[[], Any]
) -> tuple[Any, Any]:
    """Run ``first`` until it has executed a statement containing ``read_marker``, then ``second``
    to the end, then let ``first`` go on. Returns both results (or the exceptions raised)."""
    paused, resume = threading.Event(), threading.Event()
    out: dict[str, Any] = {}

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name == "first" and read_marker in statement and not paused.is_set():
            paused.set()
            resume.wait(30)

    def run(key: str, job: Callable[[], Any]) -> None:
        try:
            out[key] = job()
        except Exception as exc:
            out[key] = exc

    event.listen(store.engine, "after_cursor_execute", after)
    try:
        t = threading.Thread(target=run, args=("first", first), name="first")
        t.start()
        assert paused.wait(30), f"the first worker never ran a statement with {read_marker!r}"
        run("second", second)
        resume.set()
        t.join(60)
    finally:
        resume.set()
        event.remove(store.engine, "after_cursor_execute", after)
    return out["first"], out["second"]


def test_same_trace_recorded_by_two_workers_at_once(pg_store: Store, actor: A.Actor) -> None:
    links = [
        {"victim_id": "v1", "account": ACC, "transfer_id": "t1", "amount_fen": 60_000},
        {"victim_id": "v2", "account": ACC, "transfer_id": "t2", "amount_fen": 40_000},
    ]
    first, second = first_reads_then_second_commits(
        pg_store,
        "FROM trace_links",
        lambda: R.record_trace(pg_store, actor, links),
        lambda: R.record_trace(pg_store, actor, links),
    )
    assert second == 2
    assert first == 0, first  # was: IntegrityError (duplicate key uq_trace_link)
    with pg_store.transaction() as s:
        assert s.execute(select(func.count()).select_from(TraceLink)).scalar_one() == 2
        assert s.execute(select(func.sum(TraceLink.amount_fen))).scalar_one() == 100_000
    assert A.verify(pg_store).ok


def test_trace_recorded_at_once_with_another_amount_is_a_conflict(pg_store: Store, actor: A.Actor) -> None:
    link = {"victim_id": "v1", "account": ACC, "transfer_id": "t1", "amount_fen": 60_000}
    first, second = first_reads_then_second_commits(
        pg_store,
        "FROM trace_links",
        lambda: R.record_trace(pg_store, actor, [{**link, "amount_fen": 70_000}]),
        lambda: R.record_trace(pg_store, actor, [link]),
    )
    assert second == 1
    assert isinstance(first, R.ConflictError), first
    with pg_store.transaction() as s:
        assert s.execute(select(TraceLink.amount_fen)).scalars().all() == [60_000]
    assert A.verify(pg_store).ok


def test_same_list_file_loaded_by_two_workers_at_once(pg_store: Store, actor: A.Actor) -> None:
    rows: list[tuple[str, object, str, str]] = [
        ("number", "17012345678", "block", "exact"),
        ("host", "scam.example", "block", "suffix"),
        ("number", "+165", "block", "exact"),  # rejected: not a number
    ]

    def load() -> L.LoadReport:
        return L.bulk_add(pg_store, actor, rows, source="tw165", owner="qa", file="phones.csv")

    first, second = first_reads_then_second_commits(pg_store, "FROM list_entries", load, load)
    assert (second.added, second.already, second.rejected) == (2, 0, 1)
    assert isinstance(first, L.LoadReport), first  # was: IntegrityError (list_entries_live_key_key)
    assert (first.added, first.already, first.rejected) == (0, 2, 1)
    with pg_store.transaction() as s:
        assert s.execute(select(func.count()).select_from(ListEntry)).scalar_one() == 2
    assert A.verify(pg_store).ok
