"""One process, several threads (the API service lands tips in the background while a request
ingests a batch or reads the report): a connection of the same process holding the catalog makes the
other wait instead of failing with DuckDB's "unique file handle conflict"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fanzha.ingest import catalog
from fanzha.ingest.api import ingest_path

TIPS = "tip_id,reported_at,identifier_kind,identifier,text\n{rows}"


def _tips(path: Path, start: int, n: int) -> Path:
    rows = "".join(f"t{i},2026-10-01 10:00:00,phone,13800138000,x\n" for i in range(start, start + n))
    path.write_text(TIPS.format(rows=rows))
    return path


def test_ingest_waits_for_a_reader_of_the_same_process(settings, tmp_path) -> None:
    ingest_path(_tips(tmp_path / "a.csv", 0, 3), "tips", settings)  # the catalog exists
    results: list[int] = []
    with catalog.read_catalog(settings) as con:
        assert con is not None
        worker = threading.Thread(
            target=lambda: results.append(
                ingest_path(_tips(tmp_path / "b.csv", 3, 2), "tips", settings).landed
            )
        )
        worker.start()
        time.sleep(0.5)  # the ingest is now waiting for the reader's connection
        assert worker.is_alive() and results == []
    worker.join(timeout=60)
    assert results == [2]


def test_reader_waits_for_an_ingest_of_the_same_process(settings, tmp_path) -> None:
    ingest_path(_tips(tmp_path / "a.csv", 0, 3), "tips", settings)
    import duckdb

    seen: list[int] = []
    con = duckdb.connect()
    with catalog.attached(con, settings):  # what an ingest holds while it commits

        def read() -> None:
            with catalog.read_catalog(settings) as reader:
                assert reader is not None
                seen.append(reader.execute("SELECT count(*) FROM ingest_log").fetchone()[0])

        worker = threading.Thread(target=read)
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and seen == []
    worker.join(timeout=60)
    con.close()
    assert seen == [1]
