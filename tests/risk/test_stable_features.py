"""Features are the same, bit for bit, however many threads the engine sums with."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from fanzha.risk.sqlparts import stable_floats


def test_floats_keep_twelve_significant_digits() -> None:
    table = pa.table(
        {
            "x": pa.array(
                [0.1 + 0.2, 1 / 3, 4_900_000.000000001, -2 / 3 * 1e-7, 0.0, None, math.inf, math.nan]
            ),
            "n": pa.array([1, 2, 3, 4, 5, 6, 7, 8]),
            "s": pa.array(list("abcdefgh")),
        }
    )
    out = stable_floats(table)
    assert (
        out.schema == table.schema
        and out.column("n") == table.column("n")
        and out.column("s") == table.column("s")
    )
    x = out.column("x").to_pylist()
    assert x[:5] == [0.3, 0.333333333333, 4_900_000.0, -6.66666666667e-08, 0.0]
    assert x[5] is None and x[6] == math.inf and math.isnan(x[7])  # nulls stay null, inf and NaN as they are
    assert (
        stable_floats(pa.table({"x": pa.array([0.1 + 0.2], pa.float32())})).schema.field("x").type
        == pa.float32()
    )


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
