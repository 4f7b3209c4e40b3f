"""Apache Spark behind the Engine interface (national scale: the same SQL on a cluster).

Queries arrive in the DuckDB dialect and are transpiled with sqlglot plus the rewrites of
:mod:`fanzha.engine.dialect` (:func:`~fanzha.engine.dialect.to_spark`). Tables are Spark temporary views of this session:
``CREATE [OR REPLACE] [TEMP] TABLE name AS SELECT …`` materialises the query (a local checkpoint,
so later stages do not recompute it), ``CREATE VIEW`` stays lazy, ``DROP TABLE / VIEW`` drops the
view. ``$name`` parameters become Spark's named parameters. Results come back as Arrow tables.

The session is Spark's own (one per process): ``FANZHA_SPARK_MASTER`` (default ``local[*]``)
picks the cluster and ``FANZHA_SPARK_MEMORY`` the driver's memory; ``close()`` drops the views
this engine made and leaves the session to the process, because starting one costs seconds and
other engines of the process may share it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from fanzha.engine.base import Engine
from fanzha.engine.dialect import to_spark
from fanzha.errors import EngineError


def spark_session(master: str = "local[*]", memory: str = "4g") -> Any:
    """The process's Spark session, created on first use (UTC session time, Arrow transfers);
    ``master`` and ``memory`` apply when this call creates it."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineError(
            "FANZHA_ENGINE=spark needs pyspark (pip install 'fanzha[spark]') and a Java 17+ runtime"
        ) from None
    builder = (
        SparkSession.builder.master(master)
        .appName("fanzha")
        .config("spark.driver.memory", memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.sql.ansi.enabled", "false")  # DuckDB's integer division and casts, not ANSI's errors
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # the JVM did not start, or the master cannot be reached: py4j / pyspark errors
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        java = getattr(exc, "java_exception", None)
        if java is not None:
            import contextlib

            with contextlib.suppress(Exception):  # the gateway is gone: keep the Python side's line
                reason = str(java.toString()).splitlines()[0]
        raise EngineError(
            f"cannot start Spark with FANZHA_SPARK_MASTER={master!r} and FANZHA_SPARK_MEMORY={memory!r}: "
            f"{reason}; check both (memory like 4g) and that a Java 17+ runtime is installed"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkEngine(Engine):
    """Spark SQL over temporary views; one engine per job, the session shared by the process."""

    dialect = "spark"

    def __init__(self, session: Any | None = None) -> None:
        self._spark = session or spark_session()
        self._views: set[str] = set()

    # -- statements --------------------------------------------------------------------------------
    def _statements(self, sql: str) -> list[exp.Expr]:
        try:
            return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
        except sqlglot.errors.ParseError as exc:
            raise EngineError(f"cannot read query: {exc}") from None

    def _expand_replace(self, select: exp.Expr, params: Mapping[str, Any] | None) -> exp.Expr:
        """``SELECT * REPLACE (expr AS c) FROM …`` (DuckDB; Spark has no REPLACE): the star's
        columns are read from the query's plan, then listed with ``c`` replaced."""
        if not isinstance(select, exp.Select):
            return select
        stars = [e for e in select.expressions if isinstance(e, exp.Star) and e.args.get("replace")]
        if not stars:
            return select
        probe = select.copy()
        probe.set("expressions", [exp.Star()])
        probe.set("order", None)
        probe.set("limit", None)
        columns = self._spark.sql(to_spark(probe), args=dict(params) if params else None).columns
        expanded = select.copy()
        listed: list[exp.Expr] = []
        for e in expanded.expressions:
            if isinstance(e, exp.Star) and e.args.get("replace"):
                by_name = {r.alias_or_name: r for r in e.args["replace"]}
                listed += [by_name.get(c) or exp.column(c, quoted=True) for c in columns]
            else:
                listed.append(e)
        expanded.set("expressions", listed)
        return expanded

    def _df(self, select: exp.Expr, params: Mapping[str, Any] | None) -> Any:
        text = select.sql(dialect="duckdb")
        try:
            text = to_spark(self._expand_replace(select, params))
            return self._spark.sql(text, args=dict(params) if params else None)
        except Exception as exc:  # pyspark raises its own exception tree (AnalysisException …)
            raise EngineError(
                f"query failed on Spark: {exc} (query: {' '.join(text.split())[:200]} …)"
            ) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        return self._arrow(self._df(self._one_select(sql), params))

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        for statement in self._statements(sql):
            self._execute(statement, params)

    def _execute(self, statement: exp.Expr, params: Mapping[str, Any] | None) -> None:
        if isinstance(statement, exp.Create) and statement.kind in ("TABLE", "VIEW"):
            name = statement.this.name if isinstance(statement.this, exp.Table) else None
            select = statement.expression
            if not name or not isinstance(select, exp.Query):
                raise EngineError(
                    f"only CREATE TABLE / VIEW name AS SELECT is supported: {statement.sql()[:80]}"
                )
            if not statement.args.get("replace") and name in self.tables():
                raise EngineError(f"table {name!r} already exists")
            df = self._df(select, params)
            if statement.kind == "TABLE":
                df = df.localCheckpoint()  # materialised: later stages read it, not its plan
            df.createOrReplaceTempView(name)
            self._views.add(name)
        elif isinstance(statement, exp.Drop) and statement.kind in ("TABLE", "VIEW"):
            for table in statement.args.get("tables") or [statement.this]:
                if not self._spark.catalog.dropTempView(table.name) and not statement.args.get("exists"):
                    raise EngineError(f"no table {table.name!r} to drop")
                self._views.discard(table.name)
        elif isinstance(statement, exp.Query):
            self._df(statement, params).collect()
        else:
            raise EngineError(f"statement not supported on Spark: {statement.sql()[:80]}")

    # -- tables ------------------------------------------------------------------------------------
    def register(self, name: str, data: Any) -> None:
        if isinstance(data, pa.RecordBatch):
            data = pa.Table.from_batches([data])
        elif not isinstance(data, pa.Table):  # a pandas DataFrame: through Arrow, as the rest
            data = pa.Table.from_pandas(data, preserve_index=False)
        try:
            df = self._spark.createDataFrame(data)
        except Exception as exc:
            raise EngineError(f"cannot register table {name!r} on Spark: {exc}") from exc
        df.createOrReplaceTempView(name)
        self._views.add(name)

    def register_parquet(self, name: str, paths: str | Path | list[str] | list[Path]) -> None:
        files = [str(p) for p in paths] if isinstance(paths, list) else [str(paths)]
        if not files:
            raise EngineError(f"no Parquet files given for table {name!r}")
        try:
            df = self._spark.read.option("mergeSchema", "true").parquet(*files)
        except Exception as exc:
            raise EngineError(f"cannot read Parquet for table {name!r}: {exc}") from exc
        df.createOrReplaceTempView(name)
        self._views.add(name)

    def tables(self) -> list[str]:
        return sorted(t.name for t in self._spark.catalog.listTables())

    def copy_to_parquet(self, sql: str, path: str | Path, params: Mapping[str, Any] | None = None) -> int:
        df = self._df(self._one_select(sql), params)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
            out = Path(tmp) / "out"
            df.coalesce(1).write.mode("overwrite").parquet(str(out), compression="zstd")
            parts = sorted(out.glob("part-*.parquet"))
            if len(parts) != 1:  # an empty result writes no part file on some versions
                pq.write_table(self._arrow(df), path, compression="zstd")
            else:
                shutil.move(str(parts[0]), path)
        return int(pq.ParquetFile(path).metadata.num_rows)

    def _one_select(self, sql: str) -> exp.Expr:
        statements = self._statements(sql)
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise EngineError(f"query must be one SELECT: {sql[:80]}")
        return statements[0]

    @staticmethod
    def _arrow(df: Any) -> pa.Table:
        try:
            return df.toArrow()
        except Exception as exc:  # errors at run time (a bad pattern, a cast) surface here
            raise EngineError(f"query failed on Spark: {exc}") from exc

    def close(self) -> None:
        for name in self._views:
            self._spark.catalog.dropTempView(name)
        self._views.clear()
