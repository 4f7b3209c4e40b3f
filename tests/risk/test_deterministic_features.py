"""Features are the same, bit for bit, however many threads the engine sums with: the aggregates
whose floating-point sums depend on the order are computed from exact integer sums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fanzha.risk.sqlparts import exact_avg_share, exact_stddev_pop


def test_exact_aggregates_match_the_engines_own(engine) -> None:  # type: ignore[no-untyped-def]
    x = [3, 5, 5, 11, None, 2_000_000_000_000]
    shares = [0.1, 0.25, 1 / 3, None, 0.0, 1.0]
    engine.register("t", pa.table({"x": pa.array(x, pa.int64()), "s": pa.array(shares, pa.float64())}))
    got = engine.query(
        f"SELECT {exact_stddev_pop('x')} AS sd, stddev_pop(x) AS ref_sd, "
        f"{exact_avg_share('s')} AS mean, avg(s) AS ref_mean FROM t"
    ).to_pylist()[0]
    assert got["sd"] == pytest.approx(got["ref_sd"], rel=1e-12)
    assert got["mean"] == pytest.approx(got["ref_mean"], abs=1e-12)
    one = engine.query(f"SELECT {exact_stddev_pop('x')} AS sd FROM t WHERE x = 3").to_pylist()[0]
    none = engine.query(
        f"SELECT {exact_stddev_pop('x')} AS sd, {exact_avg_share('s')} AS m FROM t WHERE x < 0"
    )
    assert one["sd"] == 0.0 and none.to_pylist()[0] == {"sd": None, "m": None}


def test_exact_stddev_does_not_overflow_on_huge_accounts(engine) -> None:  # type: ignore[no-untyped-def]
    # 200,000 transfers of the largest amount ingest accepts: n·Σx² = 4e36 is past 38 digits
    engine.execute(
        "CREATE TABLE huge AS SELECT CASE WHEN i % 7 = 0 THEN 1 ELSE 10000000000000 END AS x FROM range(200000) t(i)"
    )
    got = engine.query(f"SELECT {exact_stddev_pop('x')} AS sd, stddev_pop(x) AS ref FROM huge").to_pylist()[0]
    assert got["sd"] == pytest.approx(got["ref"], rel=1e-9)


@pytest.mark.slow
def test_account_and_number_features_do_not_depend_on_the_engines_threads(tmp_path: Path) -> None:
    from fanzha.engine.duckdb import DuckDBEngine
    from fanzha.risk.evaluate import register_sim
    from fanzha.risk.features_accounts import account_features
    from fanzha.risk.features_numbers import number_features
    from fanzha.simulate import SimConfig, simulate

    simulate(SimConfig(people=1500, days=10, seed=4, fraud_rate=60), tmp_path / "sim")
    tables = []
    for threads in (1, 4, 4):
        with DuckDBEngine(threads=threads) as engine:
            register_sim(engine, tmp_path / "sim")
            tables.append((account_features(engine), number_features(engine, accelerate=False)))
    for accounts, numbers in tables[1:]:
        assert accounts.equals(tables[0][0]) and numbers.equals(tables[0][1])
    floats = [c for c in tables[0][0].column_names if pa.types.is_floating(tables[0][0].schema.field(c).type)]
    assert floats and np.isfinite(tables[0][0].column(floats[0]).to_numpy(zero_copy_only=False)).any()
