"""Atomicity: a killed ingest leaves the lake exactly as before; orphans are cleaned up.
And the accounting property: for any mix of valid, invalid and duplicate rows the counts reconcile
and no valid row is lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.csv as pc
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from ingest_helpers import CALL, lake_rows, write_rows

from fanzha.ingest import catalog
from fanzha.ingest.api import ingest_path
from fanzha.records import samples
from fanzha.records.contracts import get_spec, validate_row


def big_calls_csv(path: Path, rows: int) -> Path:
    writer = None
    for table in samples.call_batches(rows, seed=3, batch=100_000):
        if writer is None:
            writer = pc.CSVWriter(str(path), table.schema)
        writer.write_table(table)
    assert writer is not None
    writer.close()
    return path


def lake_files(settings: Any) -> set[str]:
    lake = Path(settings.lake)
    return {p.relative_to(lake).as_posix() for p in lake.glob("*/**/*.parquet")}


@pytest.mark.slow
def test_kill_mid_ingest_leaves_lake_as_before(settings, tmp_path):
    ingest_path(write_rows(tmp_path / "small.csv", "calls", [CALL]), "calls", settings)
    before_rows, before_files = lake_rows(settings, "calls"), lake_files(settings)
    big = big_calls_csv(tmp_path / "big.csv", 400_000)
    code = (
        "import sys; from fanzha.settings import Settings; from fanzha.ingest.api import ingest_path; "
        "ingest_path(sys.argv[1], 'calls', Settings(home=sys.argv[2]))"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(big), str(settings.home)])
    staging = Path(settings.lake) / catalog.STAGING
    deadline = time.monotonic() + 60
    while not staging.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    time.sleep(1.0)  # inside validation / staging
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert lake_rows(settings, "calls") == before_rows
    assert before_files <= lake_files(settings)
    # the next ingest cleans what the killed one left and logs it as aborted
    report = ingest_path(
        write_rows(tmp_path / "next.csv", "calls", [dict(CALL, direction="in")]), "calls", settings
    )
    assert report.landed == 1 and not staging.exists()
    assert len(lake_rows(settings, "calls")) == 2
    with catalog.read_catalog(settings) as cat:
        statuses = [s for (s,) in cat.execute("SELECT status FROM ingest_log ORDER BY ingest_id").fetchall()]
    # killed after its log row was written → aborted; killed before → no row
    assert statuses in (["committed", "aborted", "committed"], ["committed", "committed"])
    assert lake_files(settings) == _committed_relative(settings)


def _committed_relative(settings: Any) -> set[str]:
    lake = Path(settings.lake)
    return {
        Path(p).relative_to(lake).as_posix() for ps in catalog.committed_files(settings).values() for p in ps
    }


def test_files_moved_but_not_committed_are_invisible_and_removed(settings, tmp_path):
    """A crash between moving files under the lake and the catalog commit: the files are orphans."""
    ingest_path(write_rows(tmp_path / "a.csv", "calls", [CALL]), "calls", settings)
    committed = next(Path(settings.lake).glob("calls/*/*.parquet"))
    orphan = committed.parent.parent / "day=2024-05-02" / "part-999999-0000.parquet"
    orphan.parent.mkdir()
    orphan.write_bytes(committed.read_bytes())  # looks like a landed file, but was never committed
    assert len(lake_rows(settings, "calls")) == 1
    report = ingest_path(write_rows(tmp_path / "b.csv", "calls", [CALL]), "calls", settings)
    assert report.orphans_removed == 1 and not orphan.exists() and not orphan.parent.exists()


def test_failed_commit_rolls_back(settings, tmp_path, monkeypatch):
    from fanzha.ingest import land

    ingest_path(write_rows(tmp_path / "a.csv", "calls", [CALL]), "calls", settings)
    before = lake_files(settings)

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk full")

    real = land._move_into_lake

    def move_then_fail(*args: Any) -> Any:
        moved = real(*args)
        monkeypatch.setattr(catalog, "attached", boom)
        return moved

    monkeypatch.setattr(land, "_move_into_lake", move_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_path(write_rows(tmp_path / "b.csv", "calls", [dict(CALL, direction="in")]), "calls", settings)
    monkeypatch.undo()
    assert lake_files(settings) == before and len(lake_rows(settings, "calls")) == 1


# -- the accounting property -------------------------------------------------------------------


def expected_outcome(
    rows: list[list[dict[str, str]]],
) -> tuple[list[tuple[int, int, int]], set[tuple[Any, ...]]]:
    """Per file (landed, rejected, duplicates) and the landed keys, by the scalar rules in order."""
    key = get_spec("calls").key
    landed: dict[tuple[Any, ...], dict[str, Any]] = {}
    counts = []
    for file_rows in rows:
        n_land = n_rej = n_dup = 0
        for raw in file_rows:
            row, reasons = validate_row("calls", {k: (v or None) for k, v in raw.items()})
            if reasons or row is None:
                n_rej += 1
                continue
            k = tuple(row[c] for c in key)
            if k not in landed:
                landed[k], n_land = row, n_land + 1
            elif landed[k] == row:
                n_dup += 1
            else:
                n_rej += 1
        counts.append((n_land, n_rej, n_dup))
    return counts, set(landed)


@st.composite
def call_files(draw: Any) -> list[list[dict[str, str]]]:
    rnd = random.Random(draw(st.integers(0, 10**6)))
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(1, 25))):
        op = draw(st.sampled_from(["valid", "valid", "invalid", "duplicate", "conflict"]))
        if op == "valid" or not rows:
            rows.append(samples.valid_row("calls", rnd))
        elif op == "invalid":
            rows.append(samples.invalid_row("calls", rnd))
        elif op == "duplicate":
            rows.append(dict(draw(st.sampled_from(rows))))
        else:
            rows.append(dict(draw(st.sampled_from(rows)), duration_s=str(rnd.randint(0, 86_400))))
    cut = draw(st.integers(0, len(rows)))
    return [part for part in (rows[:cut], rows[cut:]) if part]


@hsettings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(files=call_files())
def test_property_counts_reconcile_and_no_valid_row_is_lost(settings, tmp_path_factory, files):
    home = tmp_path_factory.mktemp("prop")
    s = settings.model_copy(update={"home": home})
    got = []
    for i, file_rows in enumerate(files):
        f = ingest_path(write_rows(home / f"f{i}.csv", "calls", file_rows), "calls", s).files[0]
        assert f.rows_read == len(file_rows) == f.landed + f.rejected + f.duplicates
        got.append((f.landed, f.rejected, f.duplicates))
    counts, keys = expected_outcome(files)
    assert got == counts
    key = get_spec("calls").key
    assert {tuple(r[c] for c in key) for r in lake_rows(s, "calls")} == keys
