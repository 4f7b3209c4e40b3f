"""The Spark engine against the Engine contract (a local Spark session; skipped without pyspark or
Java), and its rewrites of DuckDB-dialect SQL (sqlglot only, always run)."""

import pyarrow as pa
import pytest
import sqlglot

from fanzha.engine.dialect import to_spark
from fanzha.errors import EngineError


def _spark(sql: str) -> str:
    return to_spark(sqlglot.parse_one(sql, read="duckdb"))


def test_rewrites_of_duckdb_constructs_spark_lacks():
    # any_value skips NULLs in DuckDB; Spark needs its flag (sqlglot writes an invalid IGNORE NULLS)
    assert _spark("SELECT any_value(x) FILTER (WHERE d = 'out') FROM t") == (
        "SELECT ANY_VALUE(x, TRUE) FILTER(WHERE d = 'out') FROM t"
    )
    # an ordered aggregate: the first city by count descending, then by name
    assert "MIN_BY(city, STRUCT(-(n), city))" in _spark("SELECT first(city ORDER BY n DESC, city) FROM t")
    # epoch keeps microseconds; fractional literals are DOUBLE, not DECIMAL
    assert _spark("SELECT epoch(ts) / 3600.0 FROM t") == (
        "SELECT (UNIX_MICROS(ts) / CAST(1000000 AS DOUBLE)) / CAST(3600.0 AS DOUBLE) FROM t"
    )
    assert _spark("SELECT epoch_us(ts) FROM t") == "SELECT UNIX_MICROS(ts) FROM t"
    assert _spark("SELECT * EXCLUDE (a) FROM t") == "SELECT * EXCEPT (a) FROM t"
    # ordered lists: collect_list / collect_set keep no order in Spark, so the array is sorted
    assert _spark("SELECT list(x ORDER BY x) FILTER (WHERE y) FROM t") == (
        "SELECT ARRAY_SORT(COLLECT_LIST(x) FILTER(WHERE y)) FROM t"
    )
    assert _spark("SELECT list(DISTINCT x ORDER BY x) FROM t") == "SELECT ARRAY_SORT(COLLECT_SET(x)) FROM t"
    assert _spark("SELECT list(n ORDER BY at, k DESC) FROM t") == (
        "SELECT TRANSFORM(ARRAY_SORT(COLLECT_LIST(STRUCT((at) AS k0, -(k) AS k1, n AS v))), e -> e.v) FROM t"
    )


def test_query_parameters_and_tables(spark_engine):
    spark_engine.register("t", pa.table({"a": [1, 2, 3], "b": ["x", "y", "x"]}).to_pandas())
    out = spark_engine.query("SELECT b, sum(a) AS s FROM t WHERE a >= $lo GROUP BY b ORDER BY b", {"lo": 2})
    assert out.to_pylist() == [{"b": "x", "s": 3}, {"b": "y", "s": 2}]
    assert spark_engine.has_table("t") and spark_engine.scalar("SELECT count(*) FROM t") == 3
    # a DuckDB * REPLACE, which Spark lacks, listed column by column from the plan
    out = spark_engine.query("SELECT * REPLACE (a * 10 AS a) FROM t ORDER BY a")
    assert out.column_names == ["a", "b"] and out.column("a").to_pylist() == [10, 20, 30]


def test_create_materialise_and_drop(spark_engine):
    spark_engine.register("t", pa.table({"a": [1, 2, 3]}))
    spark_engine.execute("CREATE OR REPLACE TEMP TABLE big AS SELECT a FROM t WHERE a > $n", {"n": 1})
    spark_engine.execute("CREATE VIEW doubled AS SELECT a * 2 AS d FROM big")
    assert spark_engine.frame("SELECT d FROM doubled ORDER BY d")["d"].tolist() == [4, 6]
    with pytest.raises(EngineError, match="already exists"):
        spark_engine.execute("CREATE TABLE big AS SELECT 1 AS a")
    spark_engine.execute("DROP TABLE big")
    assert not spark_engine.has_table("big")
    spark_engine.execute("DROP TABLE IF EXISTS big")
    with pytest.raises(EngineError, match="no table 'big'"):
        spark_engine.execute("DROP TABLE big")


def test_parquet_round_trip_and_errors(spark_engine, tmp_path):
    spark_engine.register("t", pa.table({"a": [5, 6]}))
    path = tmp_path / "x" / "t.parquet"
    assert spark_engine.copy_to_parquet("SELECT a * 2 AS d FROM t", path) == 2
    assert path.is_file()
    spark_engine.register_parquet("p", [path])
    assert spark_engine.frame("SELECT d FROM p ORDER BY d")["d"].tolist() == [10, 12]
    with pytest.raises(EngineError, match="TABLE_OR_VIEW_NOT_FOUND"):
        spark_engine.query("SELECT * FROM no_such_table")
    with pytest.raises(EngineError, match="no Parquet files"):
        spark_engine.register_parquet("q", [])
    with pytest.raises(EngineError, match="one SELECT"):
        spark_engine.query("CREATE VIEW v AS SELECT 1 AS x")
    with pytest.raises(EngineError, match="not supported on Spark"):
        spark_engine.execute("INSERT INTO t VALUES (1)")


def test_ordered_lists_and_aggregates_run_on_spark(spark_engine):
    spark_engine.register("t", pa.table({"g": [1, 1, 1, 2], "x": ["c", "a", "b", "z"], "n": [3, 1, 2, 9]}))
    out = spark_engine.query(
        "SELECT g, list(x ORDER BY n DESC) AS by_n, list(DISTINCT x ORDER BY x) FILTER (WHERE n < 3) AS small, "
        "first(x ORDER BY n DESC, x) AS top, any_value(x) FILTER (WHERE n > 5) AS big FROM t GROUP BY g ORDER BY g"
    )
    assert out.to_pylist() == [
        {"g": 1, "by_n": ["c", "b", "a"], "small": ["a", "b"], "top": "c", "big": None},
        {"g": 2, "by_n": ["z"], "small": [], "top": "z", "big": "z"},
    ]


def test_close_drops_only_its_own_views(spark_session):
    from fanzha.engine.spark import SparkEngine

    first, second = SparkEngine(spark_session), SparkEngine(spark_session)
    first.register("mine", pa.table({"a": [1]}))
    second.register("theirs", pa.table({"a": [2]}))
    first.close()
    assert not second.has_table("mine") and second.scalar("SELECT a FROM theirs") == 2
    second.close()


def test_get_engine_spark(settings, monkeypatch, spark_session):
    from fanzha.engine import get_engine

    monkeypatch.setenv("FANZHA_ENGINE", "spark")
    from fanzha.settings import get_settings

    get_settings.cache_clear()
    with get_engine() as eng:
        assert eng.dialect == "spark" and eng.scalar("SELECT 40 + 2") == 42
    get_settings.cache_clear()


def test_a_session_that_cannot_start_is_one_line(tmp_path):
    """FANZHA_SPARK_MEMORY=lots (or a master that cannot be reached) printed pyspark's / py4j's
    traceback (QA: docs followed literally). A fresh process: getOrCreate would reuse a session."""
    import os
    import shutil
    import subprocess
    import sys

    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on PATH: Spark needs Java 17+")
    code = (
        "from fanzha.engine.spark import spark_session\n"
        "from fanzha.errors import EngineError\n"
        "try:\n"
        "    spark_session(memory='lots')\n"
        "except EngineError as exc:\n"
        "    print('ENGINE-ERROR', exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=os.environ,
    )
    assert "ENGINE-ERROR cannot start Spark with" in run.stdout, run.stdout + run.stderr
    assert "FANZHA_SPARK_MEMORY='lots'" in run.stdout and "Traceback" not in run.stderr
