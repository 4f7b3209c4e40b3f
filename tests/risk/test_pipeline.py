"""Where rows come from: a simulator-style folder (with truth), a labels file, bad sources."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.errors import InputFileError, ValidationError
from fanzha.risk.pipeline import load_rows

from .records import A, B, C, E, accounts_table, calls_table, cards_table, transfers_table


def sim_folder(root: Path) -> Path:
    for kind, table in (
        ("calls", calls_table()),
        ("phone_cards", cards_table()),
        ("transfers", transfers_table()),
        ("accounts", accounts_table()),
    ):
        (root / kind).mkdir(parents=True)
        pq.write_table(table, root / kind / "part-00000.parquet")
    (root / "truth").mkdir()
    truth = pd.DataFrame(
        {
            "entity": [f"phone:{A}", f"phone:{E}", "account:M", "account:N", "id:X"],
            "role": ["sim_farm_number", "fraud_number", "mule_account", "mule_account", "card_farmer"],
            "gang_id": ["g1", "g1", "g1", "g1", "g1"],
        }
    )
    truth.to_parquet(root / "truth" / "entities.parquet")
    return root


def test_folder_with_truth(engine, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = sim_folder(tmp_path / "sim")
    rows = load_rows(engine, settings, "numbers", data=str(folder), window_days=None)
    labels = dict(zip(rows.frame["id"], rows.labels, strict=True))  # type: ignore[arg-type]
    assert labels[A] == 1 and labels[E] == 1 and sum(labels.values()) == 2
    assert "truth" in rows.note
    rows = load_rows(engine, settings, "accounts", data=str(folder), window_days=None)
    labels = dict(zip(rows.frame["id"], rows.labels, strict=True))  # type: ignore[arg-type]
    assert labels["M"] == 1 and labels["N"] == 1 and labels["P"] == 0


def test_labels_file_overrides_truth(engine, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = sim_folder(tmp_path / "sim")
    (tmp_path / "labels.csv").write_text("acct,bad\nP,1\nM,0\n", "utf-8")
    rows = load_rows(
        engine,
        settings,
        "accounts",
        data=str(folder),
        labels_file=tmp_path / "labels.csv",
        labels_id_col="acct",
        labels_label_col="bad",
        window_days=None,
    )
    labels = dict(zip(rows.frame["id"], rows.labels, strict=True))  # type: ignore[arg-type]
    assert labels["P"] == 1 and labels["M"] == 0 and labels["N"] == 0


def test_bad_sources(engine, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputFileError, match="neither"):
        load_rows(engine, settings, "numbers", data=str(tmp_path / "missing.csv"))
    with pytest.raises(ValidationError, match="numbers or accounts"):
        load_rows(engine, settings, "urls", data="lake")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match="no record-kind folders"):
        load_rows(engine, settings, "accounts", data=str(tmp_path / "empty"))
    (tmp_path / "f.csv").write_text("phone,x\n1,2\n", "utf-8")
    with pytest.raises(ValidationError, match="id column 'id' not found"):
        load_rows(engine, settings, "numbers", data=str(tmp_path / "f.csv"))


def test_raw_call_file_same_features_and_bad_rows_kept_aside(engine, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A call file (CSV, text values) gives the features of the same calls as a table; bad rows are
    rejected with their reason and written out, not dropped and not fatal below --max-rejected."""
    from fanzha.engine.duckdb import DuckDBEngine
    from fanzha.risk.features_numbers import number_features

    calls = calls_table()
    with DuckDBEngine(threads=1) as reference:
        reference.register("calls", calls)
        expected = number_features(reference, window_days=None).to_pandas()
    frame = calls.to_pandas()
    frame["start_at"] = frame["start_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    bad = pd.DataFrame(
        {
            "caller": ["", A, A, A],
            "callee": [B, B, B, B],
            "start_at": ["2026-01-09T10:00:00Z", "yesterday", "2026-01-09T10:00:00Z", "2026-01-09T10:00:00Z"],
            "duration_s": [5, 5, -1, 5],
            "direction": ["out", "out", "out", "sideways"],
            "city": "成都",
            "imei": "x",
        }
    )
    pd.concat([frame, bad]).to_csv(tmp_path / "calls.csv", index=False)
    rejected = tmp_path / "out" / "calls.rejected.csv"
    rows = load_rows(
        engine, settings, "numbers", data=str(tmp_path / "calls.csv"), window_days=None,
        max_rejected=0.5, rejected_out=rejected,
    )  # fmt: skip
    assert rows.note.startswith(f"{len(frame)} of {len(frame) + 4} call rows kept")
    got = rows.frame.set_index("id").sort_index()
    pd.testing.assert_frame_equal(got, expected.set_index("id").sort_index(), check_dtype=False)
    written = pd.read_csv(rejected, dtype=str, keep_default_na=False)
    assert list(written["reason"]) == [
        "caller is empty",
        "start time is not a date-time (ISO 8601 expected)",
        "duration is not a whole number of seconds ≥ 0",
        "direction is not out / in",
    ]
    assert list(written["row"]) == [str(len(frame) + i) for i in range(1, 5)]
    with pytest.raises(ValidationError, match="--max-rejected"):
        load_rows(engine, settings, "numbers", data=str(tmp_path / "calls.csv"), window_days=None)


def test_several_windows_side_by_side(number_engine, account_engine) -> None:  # type: ignore[no-untyped-def]
    from fanzha.risk.features_numbers import NUMBER_STATIC, number_features
    from fanzha.risk.pipeline import features_from_tables

    from .records import AS_OF

    wide = features_from_tables(number_engine, "numbers", (30, 1, None)).set_index("id")
    month = number_features(number_engine, window_days=30).to_pandas().set_index("id")
    everything = number_features(number_engine, window_days=None).to_pandas().set_index("id")
    assert number_engine.scalar('SELECT max("start_at") FROM calls') < AS_OF  # as_of: the latest call
    assert wide.loc[A, "out_calls_30d"] == month.loc[A, "out_calls"] == 4
    assert wide.loc[A, "out_calls_all"] == everything.loc[A, "out_calls"] == 5  # the December call too
    assert wide.loc[A, "out_calls_1d"] == 4  # every January call of A is on the last day
    assert wide.loc[A, "short_call_share_1d"] == pytest.approx(0.5)
    for column in NUMBER_STATIC:  # window-free features appear once, unsuffixed
        assert column in wide.columns and f"{column}_1d" not in wide.columns
    assert wide.loc[A, "card_age_days"] == month.loc[A, "card_age_days"]
    # a number with no call in a window: counts 0 there, other call features missing
    assert wide.loc[C, "out_calls_1d"] == 0 and pd.isna(wide.loc[C, "dur_mean_s_1d"])
    assert set(wide.index) == set(everything.index)
    accounts = features_from_tables(account_engine, "accounts", (7, 30)).set_index("id")
    assert {"in_n_7d", "in_n_30d", "account_age_days"} <= set(accounts.columns)
    assert "account_age_days_7d" not in accounts.columns


def test_bad_windows_are_clear_errors() -> None:
    from fanzha.cli.output import parse_windows
    from fanzha.errors import ConfigError

    assert parse_windows("30") == 30 and parse_windows("0") is None
    assert parse_windows("1, 7,30") == (1, 7, 30) and parse_windows("7,0") == (7, None)
    for bad in ("a", "7,7", "-1", ""):
        with pytest.raises(ConfigError, match="--window"):
            parse_windows(bad)


@settings(max_examples=15, deadline=None)
@given(
    calls=st.lists(
        st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 40 * 24 * 60), st.integers(0, 600)),
        min_size=1,
        max_size=40,
    )
)
def test_property_a_longer_window_never_counts_less(calls) -> None:  # type: ignore[no-untyped-def]
    """Over windows 1, 7 and everything, each number's counts never fall as the window grows, and
    each window's columns equal that window computed on its own."""
    from datetime import timedelta

    import pyarrow as pa

    from fanzha.engine.duckdb import DuckDBEngine
    from fanzha.risk.features_numbers import number_features
    from fanzha.risk.pipeline import features_from_tables

    from .records import AS_OF

    numbers = [f"1380000010{i}" for i in range(5)]
    rows = [(numbers[a], numbers[b], AS_OF - timedelta(minutes=m), d) for a, b, m, d in calls if a != b]
    if not rows:
        return
    cols = list(zip(*rows, strict=True))
    table = pa.table(
        {
            "caller": list(cols[0]),
            "callee": list(cols[1]),
            "start_at": pa.array(cols[2], pa.timestamp("us", tz="UTC")),
            "duration_s": pa.array(cols[3], pa.int32()),
        }
    )
    with DuckDBEngine(threads=1) as engine:
        engine.register("calls", table)
        wide = features_from_tables(engine, "numbers", (1, 7, None)).set_index("id")
        alone = {w: number_features(engine, window_days=w).to_pandas().set_index("id") for w in (1, 7)}
    for count in ("out_calls", "in_calls", "distinct_callees"):
        day, week, ever = (wide[f"{count}_{s}"] for s in ("1d", "7d", "all"))
        assert (day <= week).all() and (week <= ever).all()
        for w, frame in alone.items():
            got = wide.loc[frame.index, f"{count}_{w}d"]
            assert (got.to_numpy() == frame[count].to_numpy()).all()
