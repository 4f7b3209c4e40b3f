import pyarrow as pa
import pytest

from fanzha.engine import get_engine
from fanzha.engine.base import Engine
from fanzha.engine.dialect import transpile
from fanzha.errors import EngineError, FanzhaError


def test_query_register_and_parameters(engine):
    engine.register("t", pa.table({"a": [1, 2, 3], "b": ["x", "y", "x"]}))
    out = engine.query("SELECT b, sum(a) AS s FROM t WHERE a >= $lo GROUP BY b ORDER BY b", {"lo": 2})
    assert out.to_pylist() == [{"b": "x", "s": 3}, {"b": "y", "s": 2}]
    assert engine.has_table("t")
    assert engine.scalar("SELECT count(*) FROM t") == 3


def test_parquet_round_trip(engine, tmp_path):
    engine.register("t", pa.table({"a": [5, 6]}))
    path = tmp_path / "x" / "t.parquet"
    assert engine.copy_to_parquet("SELECT a * 2 AS d FROM t", path) == 2
    engine.register_parquet("p", [path])
    assert engine.frame("SELECT d FROM p ORDER BY d")["d"].tolist() == [10, 12]


def test_errors_are_engine_errors(engine):
    with pytest.raises(EngineError, match="no_such_table"):
        engine.query("SELECT * FROM no_such_table")
    with pytest.raises(FanzhaError):
        engine.register_parquet("p", [])


def test_batches_stream_the_rows_in_order(engine):
    sql = "SELECT i, i % 7 AS m FROM range($n) t(i) ORDER BY i"
    batches = list(engine.batches(sql, {"n": 5_000}, rows=2_048))
    assert all(b.num_rows <= 2_048 for b in batches) and len(batches) >= 3
    assert pa.Table.from_batches(batches).equals(engine.query(sql, {"n": 5_000}))
    # the base class's default (materialise, then split) gives the same batches' rows
    default = list(Engine.batches(engine, sql, {"n": 5_000}, rows=1_000))
    assert [b.num_rows for b in default] == [1_000] * 5
    assert pa.Table.from_batches(default).equals(engine.query(sql, {"n": 5_000}))
    with pytest.raises(EngineError, match="no_such_table"):
        list(engine.batches("SELECT * FROM no_such_table"))


def test_transpile_to_spark_keeps_duckdb_unchanged():
    sql = "SELECT epoch(ts) AS e, list_distinct(xs) FROM t"
    assert transpile(sql, "duckdb") == sql
    spark = transpile("SELECT date_diff('second', a, b) FROM t", "spark")
    assert "DATEDIFF" in spark.upper() or "UNIX_TIMESTAMP" in spark.upper()
    # the Spark engine's rewrites apply to transpile too: what it shows is what Spark runs
    assert (
        transpile("SELECT epoch(ts) FROM t", "spark")
        == "SELECT (UNIX_MICROS(ts) / CAST(1000000 AS DOUBLE)) FROM t"
    )


def test_get_engine_reads_settings(settings):
    with get_engine(settings) as eng:
        assert eng.scalar("SELECT 42") == 42
