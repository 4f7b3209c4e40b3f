"""The DuckDB catalog of the lake: which Parquet files are committed, the ingest log, the quarantine.

The catalog is the only source of truth for what the lake holds: a Parquet file under the lake is
visible only once its row in ``lake_files`` is committed, in the same transaction as its ingest-log
row and its quarantined rows. Anything else found under the lake (a crash between moving files and
committing) is an orphan and is deleted by :func:`recover` before the next ingest.

The catalog file is opened only for short moments (start, commit, report), so other processes can
read it between them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from fanzha.errors import StateError
from fanzha.ingest.rules import lit
from fanzha.settings import Settings

SCHEMA = (
    "CREATE SEQUENCE IF NOT EXISTS ingest_seq START 1",
    """CREATE TABLE IF NOT EXISTS ingest_log (
        ingest_id BIGINT PRIMARY KEY, file VARCHAR, kind VARCHAR, format VARCHAR, encoding VARCHAR,
        sha256 VARCHAR, size_bytes BIGINT, rows_read BIGINT, landed BIGINT, rejected BIGINT,
        duplicates BIGINT, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
        message VARCHAR)""",
    """CREATE TABLE IF NOT EXISTS lake_files (
        ingest_id BIGINT, kind VARCHAR, day VARCHAR, path VARCHAR, rows BIGINT, committed_at TIMESTAMPTZ)""",
    """CREATE TABLE IF NOT EXISTS quarantine (
        ingest_id BIGINT, file VARCHAR, kind VARCHAR, line BIGINT, reasons VARCHAR[], raw VARCHAR)""",
)
STAGING = "_staging"
LOCK_WAIT_S = 600.0


# the catalog file is held by someone else: another process (IOException) or another connection
# of this process with another configuration, e.g. a reader while an ingest writes (ResourceInUse)
BUSY: tuple[type[Exception], ...] = tuple(
    getattr(duckdb, name) for name in ("IOException", "ResourceInUseException") if hasattr(duckdb, name)
)


def catalog_path(settings: Settings) -> Path:
    return Path(settings.catalog)


@contextmanager
def attached(con: duckdb.DuckDBPyConnection, settings: Settings) -> Iterator[str]:
    """The catalog attached to ``con`` as ``cat`` for one block (created on first use)."""
    path = catalog_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + 30.0
    while True:  # readers (attach_lake, reports) hold the file only for moments
        try:
            con.execute(f"ATTACH {lit(str(path))} AS cat")
            break
        except BUSY:
            if time.monotonic() > deadline:
                raise StateError(
                    f"the catalog {path} stays locked by another process or thread; try again"
                ) from None
            time.sleep(0.1)
    try:
        for statement in SCHEMA:
            con.execute(statement.replace("EXISTS ", "EXISTS cat.", 1))
        yield "cat"
    finally:
        con.execute("DETACH cat")


def _connect_read_only(path: Path, wait_s: float = 30.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection; an ingest holds the file only for moments, so wait for it."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except BUSY:
            if time.monotonic() > deadline:
                raise StateError(
                    f"the catalog {path} stays locked by another process or thread; try again"
                ) from None
            time.sleep(0.1)


@contextmanager
def read_catalog(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection | None]:
    """A read-only connection to the catalog, or None when nothing was ever ingested."""
    path = catalog_path(settings)
    if not path.exists():
        yield None
        return
    con = _connect_read_only(path)
    try:
        con.execute("SET TimeZone = 'UTC'")
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        yield con if {"lake_files", "ingest_log", "quarantine"} <= tables else None
    finally:
        con.close()


@contextmanager
def ingest_lock(settings: Settings) -> Iterator[None]:
    """One ingest at a time per lake (a file lock, released by the OS if the process dies)."""
    lake = Path(settings.lake)
    lake.mkdir(parents=True, exist_ok=True)
    with open(lake / ".ingest.lock", "w") as fh:
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StateError(
                        f"another ingest into {lake} is still running; wait for it to finish"
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recover(con: duckdb.DuckDBPyConnection, settings: Settings) -> int:
    """Undo what an interrupted ingest left (call under the lock): staging, orphan files, log rows.

    Returns the number of orphan Parquet files removed from the lake.
    """
    lake = Path(settings.lake)
    shutil.rmtree(lake / STAGING, ignore_errors=True)
    with attached(con, settings):
        committed = {r[0] for r in con.execute("SELECT path FROM cat.lake_files").fetchall()}
        con.execute(
            "UPDATE cat.ingest_log SET status = 'aborted', message = 'interrupted before commit; nothing landed' "
            "WHERE status = 'started'"
        )
    removed = 0
    for file in lake.glob("*/**/*.parquet"):
        rel = file.relative_to(lake).as_posix()
        if not rel.startswith(STAGING) and rel not in committed:
            file.unlink()
            removed += 1
    for folder in sorted(lake.glob("*/**/"), key=lambda p: -len(p.parts)):
        if folder.is_dir() and not any(folder.iterdir()):
            os.rmdir(folder)
    return removed


def committed_files(settings: Settings, con: Any = None) -> dict[str, list[str]]:
    """Absolute paths of the committed Parquet files per kind."""
    lake = Path(settings.lake)
    sql = "SELECT kind, path FROM lake_files ORDER BY kind, ingest_id, path"

    def collect(rows: list[tuple[str, str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for kind, path in rows:
            out.setdefault(kind, []).append(str(lake / path))
        return out

    if con is not None:
        return collect(con.execute(sql).fetchall())
    with read_catalog(settings) as cat:
        return collect(cat.execute(sql).fetchall()) if cat is not None else {}


def committed_files_by_partition(settings: Settings) -> dict[str, list[tuple[str, str]]]:
    """(partition value, absolute path) of the committed Parquet files per kind."""
    lake = Path(settings.lake)
    out: dict[str, list[tuple[str, str]]] = {}
    with read_catalog(settings) as cat:
        if cat is None:
            return out
        for kind, day, path in cat.execute(
            "SELECT kind, day, path FROM lake_files ORDER BY kind, ingest_id, path"
        ).fetchall():
            out.setdefault(kind, []).append((str(day), str(lake / path)))
    return out
