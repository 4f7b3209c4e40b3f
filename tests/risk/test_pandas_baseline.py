"""The pandas baseline of benchmarks/features_pandas.py computes the full risk feature set: column by
column equal to ``number_features`` / ``account_features`` (the SQL path) on the same records."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.risk.features_accounts import account_features
from fanzha.risk.features_numbers import number_features

from .records import calls_table, transfers_table

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


baseline = _load("features_pandas")


def _compare(expected: pa.Table, got: pd.DataFrame) -> None:
    assert list(got.columns) == expected.column_names
    assert len(got) == expected.num_rows
    assert got["id"].tolist() == expected.column("id").to_pylist()
    for name in expected.column_names[1:]:
        col = expected.column(name)
        want_null = col.is_null().to_numpy(zero_copy_only=False)
        have = got[name]
        have_null = have.isna().to_numpy()
        assert (have_null == want_null).all(), f"{name}: null positions differ"
        want = pc.cast(col, pa.float64()).fill_null(0).to_numpy()
        vals = have.astype("float64").fillna(0).to_numpy()
        if pa.types.is_floating(col.type):
            np.testing.assert_allclose(vals, want, rtol=1e-9, atol=1e-12, err_msg=name)
        else:
            assert pd.api.types.is_integer_dtype(have.dtype), f"{name}: {have.dtype}"
            assert (vals == want).all(), f"{name}: values differ"


def _numbers_sql(calls: pa.Table) -> pa.Table:
    engine = DuckDBEngine(threads=1)
    engine.register("calls", calls)
    return number_features(engine, window_days=30, accelerate=False)


def _accounts_sql(transfers: pa.Table) -> pa.Table:
    engine = DuckDBEngine(threads=1)
    engine.register("transfers", transfers)
    return account_features(engine, window_days=30, accelerate=False)


def random_calls(seed: int, n: int = 3_000) -> pa.Table:
    """Few numbers, cities and IMEIs, two-sided records, exact duplicates, nulls, old records."""
    rng = np.random.default_rng(seed)
    pool = np.array([f"1380000{i:04d}" for i in range(60)], dtype=object)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    secs = rng.integers(0, 40 * 86_400, n)
    secs[rng.random(n) < 0.3] //= 600  # clusters: peak hours, shared days, equal times
    caller = pool[rng.integers(0, 60, n)]
    callee = pool[rng.integers(0, 60, n)]
    direction = np.where(rng.random(n) < 0.7, "out", "in").astype(object)
    # every fifth call recorded from both sides (the other side's handset and city)
    both = rng.random(n) < 0.2
    caller = np.r_[caller, caller[both]]
    callee = np.r_[callee, callee[both]]
    secs = np.r_[secs, secs[both]]
    direction = np.r_[direction, np.where(direction[both] == "out", "in", "out")]
    m = len(caller)
    dur = rng.integers(0, 120, m).astype(float)
    dur[rng.random(m) < 0.05] = np.nan
    city = np.array(["成都", "绵阳", "Chengdu", "510100", "51011"], dtype=object)[rng.integers(0, 5, m)]
    city[rng.random(m) < 0.1] = None
    imei = np.array([f"8600{i:02d}" for i in range(40)], dtype=object)[rng.integers(0, 40, m)]
    imei[rng.random(m) < 0.1] = None
    caller[rng.random(m) < 0.01] = None
    callee[rng.random(m) < 0.01] = None
    frame = pd.DataFrame(
        {
            "caller": caller,
            "callee": callee,
            "start_at": pd.to_datetime(start) + pd.to_timedelta(secs, unit="s"),
            "duration_s": pd.array(np.where(np.isnan(dur), 0, dur).astype(int), dtype="Int32"),
            "direction": direction,
            "city": city,
            "imei": imei,
        }
    )
    frame.loc[np.isnan(dur), "duration_s"] = pd.NA
    dup = frame.sample(frac=0.05, random_state=seed)
    frame = pd.concat([frame, dup], ignore_index=True)
    frame.loc[frame.sample(frac=0.01, random_state=seed + 1).index, "start_at"] = pd.NaT
    return pa.Table.from_pandas(frame, preserve_index=False)


def random_transfers(seed: int, n: int = 3_000) -> pa.Table:
    """Few accounts (dense graph: reciprocal partners, 3-cycles, relays), round and null amounts,
    self-transfers, equal times, old records and a hub with more than 50 partners."""
    rng = np.random.default_rng(seed)
    pool = np.array([f"6222{i:012d}" for i in range(120)], dtype=object)
    src = pool[rng.integers(0, 120, n)]
    dst = pool[rng.integers(0, 40, n)]
    hub = rng.random(n) < 0.05
    src[hub] = pool[0]
    dst[hub] = pool[rng.integers(40, 120, hub.sum())]
    secs = rng.integers(0, 35 * 86_400, n)
    secs[rng.random(n) < 0.3] //= 900
    amount = rng.integers(1, 500, n) * np.where(rng.random(n) < 0.3, 10_000, 37)
    amount[rng.random(n) < 0.02] = 0
    frame = pd.DataFrame(
        {
            "transfer_id": [f"t{i}" for i in range(n)],
            "from_account": src,
            "to_account": dst,
            "amount_fen": pd.array(amount, dtype="Int64"),
            "at": pd.to_datetime(datetime(2026, 1, 1, tzinfo=UTC)) + pd.to_timedelta(secs, unit="s"),
            "channel": "mobile",
        }
    )
    frame.loc[frame.sample(frac=0.02, random_state=seed).index, "amount_fen"] = pd.NA
    frame.loc[frame.sample(frac=0.01, random_state=seed + 1).index, "to_account"] = None
    frame.loc[frame.sample(frac=0.01, random_state=seed + 2).index, "at"] = pd.NaT
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("generated")
    _load("features").generate(folder, 20_000, 10_000)
    return folder


def test_numbers_generated(generated: Path) -> None:
    expected = _numbers_sql(pq.read_table(generated / "calls.parquet"))
    _compare(expected, baseline.numbers(pd.read_parquet(generated / "calls.parquet")))
    assert baseline.run(generated, "numbers") == expected.num_rows


def test_accounts_generated(generated: Path) -> None:
    expected = _accounts_sql(pq.read_table(generated / "transfers.parquet"))
    _compare(expected, baseline.accounts(pd.read_parquet(generated / "transfers.parquet")))
    assert baseline.run(generated, "accounts") == expected.num_rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numbers_random(seed: int) -> None:
    calls = random_calls(seed)
    expected = _numbers_sql(calls)
    assert expected.num_rows > 40
    _compare(expected, baseline.numbers(calls.to_pandas()))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_accounts_random(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if seed == 3:  # the 3-cycle search in many small chunks of 2-paths
        monkeypatch.setattr(baseline, "CHUNK_PATHS", 1_000)
    transfers = random_transfers(seed)
    expected = _accounts_sql(transfers)
    assert int(pc.sum(expected.column("cycle3_cp")).as_py()) > 0
    assert int(pc.sum(expected.column("reciprocal_cp")).as_py()) > 0
    _compare(expected, baseline.accounts(transfers.to_pandas()))


def test_numbers_hand_made() -> None:
    """The golden record set: a call recorded from both sides counts once, for both numbers."""
    calls = calls_table()
    got = baseline.numbers(calls.to_pandas())
    _compare(_numbers_sql(calls), got)
    a = got.set_index("id").loc["13800000001"]
    assert a["out_calls"] == 4 and a["in_calls"] == 1  # the two-sided 10:00 call once; Dec call out
    assert a["max_sims_on_device"] == 2  # E uses A's handset


def test_accounts_hand_made() -> None:
    transfers = transfers_table()
    _compare(_accounts_sql(transfers), baseline.accounts(transfers.to_pandas()))


def test_explicit_as_of_and_window() -> None:
    calls = random_calls(4)
    as_of = datetime(2026, 1, 20, tzinfo=UTC)
    engine = DuckDBEngine(threads=1)
    engine.register("calls", calls)
    expected = number_features(engine, window_days=7, as_of=as_of, accelerate=False)
    _compare(expected, baseline.numbers(calls.to_pandas(), as_of, window_days=7))
    transfers = random_transfers(4)
    engine.register("transfers", transfers)
    expected = account_features(engine, window_days=None, as_of=as_of - timedelta(days=3), accelerate=False)
    _compare(expected, baseline.accounts(transfers.to_pandas(), as_of - timedelta(days=3), window_days=None))


def test_nothing_in_the_window() -> None:
    """No calls up to as_of, only self-transfers: no rows, the same columns as the SQL."""
    calls = random_calls(5, n=50)
    engine = DuckDBEngine(threads=1)
    engine.register("calls", calls)
    early = datetime(2025, 1, 1, tzinfo=UTC)
    expected = number_features(engine, window_days=30, as_of=early, accelerate=False)
    _compare(expected, baseline.numbers(calls.to_pandas(), early))
    transfers = random_transfers(5, n=50).to_pandas()
    transfers["to_account"] = transfers["from_account"]
    engine.register("transfers", pa.Table.from_pandas(transfers, preserve_index=False))
    _compare(account_features(engine, window_days=30, accelerate=False), baseline.accounts(transfers))
