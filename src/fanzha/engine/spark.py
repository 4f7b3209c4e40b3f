"""Apache Spark behind the Engine interface (national scale: the same SQL on a cluster).

Queries arrive in the DuckDB dialect and are transpiled with sqlglot
(:func:`fanzha.engine.dialect.transpile`). Tables are Spark temporary views of this session:
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
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def _any_value(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``any_value`` skips NULLs; Spark spells that ``any_value(x, true)``."""
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        return exp.Anonymous(this="any_value", expressions=[node.this.this, exp.true()])
    return node


def _ordered_first(node: exp.Expr) -> exp.Expr:
    """``first(x ORDER BY k1 DESC, k2)`` (an ordered aggregate, not in Spark) →
    ``min_by(x, struct(-k1, k2))``: descending keys must be numeric."""
    if isinstance(node, exp.First) and isinstance(node.this, exp.Order):
        keys = [
            o.this if not o.args.get("desc") else exp.Neg(this=exp.paren(o.this))
            for o in node.this.expressions
        ]
        return exp.Anonymous(
            this="min_by", expressions=[node.this.this, exp.Anonymous(this="struct", expressions=keys)]
        )
    return node


def _double_literal(node: exp.Expr) -> exp.Expr:
    """``86400.0`` is a DECIMAL in Spark (a division by it keeps 7 decimals), a DOUBLE's worth in
    DuckDB's arithmetic: fractional literals become DOUBLE."""
    if isinstance(node, exp.Literal) and not node.is_string and any(ch in node.this for ch in ".eE"):
        return exp.cast(node.copy(), "DOUBLE")
    return node


def _ordered_list(node: exp.Expr) -> exp.Expr:
    """``list(x ORDER BY k …)`` and ``list(DISTINCT x ORDER BY x)``: sqlglot writes
    ``collect_list`` / ``collect_set``, whose order Spark does not keep — sort the collected array
    (by ``x`` itself, or as structs of the keys, then ``x``); descending keys must be numeric."""
    agg, where = node, ""
    if isinstance(node, exp.Filter):  # list(x ORDER BY …) FILTER (WHERE …): the filter goes inside
        agg, where = node.this, f" FILTER (WHERE {node.expression.this.sql(dialect='spark')})"
    if not (isinstance(agg, exp.ArrayAgg) and isinstance(agg.this, exp.Order)):
        return node
    value, keys = agg.this.this, agg.this.expressions
    distinct = isinstance(value, exp.Distinct)
    x = (value.expressions[0] if distinct else value).sql(dialect="spark")
    collect = "collect_set" if distinct else "collect_list"
    if distinct or (len(keys) == 1 and keys[0].this == value and not keys[0].args.get("desc")):
        text = f"array_sort({collect}({x}){where})"
        if keys[0].args.get("desc"):
            text = f"reverse({text})"
    else:
        fields = ", ".join(
            f"'k{i}', {'-' if o.args.get('desc') else ''}({o.this.sql(dialect='spark')})"
            for i, o in enumerate(keys)
        )
        text = f"transform(array_sort({collect}(named_struct({fields}, 'v', {x})){where}), e -> e.v)"
    return sqlglot.parse_one(text, read="spark")


_FUNCTIONS = {"EPOCH_US": "unix_micros", "EPOCH_MS": "unix_millis"}  # DuckDB name → Spark name


def _epoch(node: exp.Expr) -> exp.Expr:
    """DuckDB's ``epoch(ts)`` keeps the microseconds (a DOUBLE); sqlglot's ``unix_timestamp``
    drops them."""
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(this="unix_micros", expressions=[node.this])
        return exp.paren(exp.Div(this=micros, expression=exp.cast(exp.Literal.number(1_000_000), "DOUBLE")))
    return node


def _renamed(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.Anonymous) and str(node.this).upper() in _FUNCTIONS:
        return exp.Anonymous(this=_FUNCTIONS[str(node.this).upper()], expressions=node.expressions)
    return node


_REWRITES = (_any_value, _ordered_first, _ordered_list, _epoch, _double_literal, _renamed)


def to_spark(statement: exp.Expr) -> str:
    """A DuckDB-dialect statement as Spark SQL: sqlglot's transpilation plus the rewrites above,
    for the constructs where sqlglot's Spark output does not run on Spark."""
    for rewrite in _REWRITES:
        statement = statement.transform(rewrite)
    return statement.sql(dialect="spark")


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
        text = to_spark(self._expand_replace(select, params))
        try:
            return self._spark.sql(text, args=dict(params) if params else None)
        except Exception as exc:  # pyspark raises its own exception tree (AnalysisException …)
            raise EngineError(
                f"query failed on Spark: {exc} (query: {' '.join(text.split())[:200]} …)"
            ) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> pa.Table:
        statements = self._statements(sql)
        if len(statements) != 1 or not isinstance(statements[0], exp.Query):
            raise EngineError(f"query must be one SELECT: {sql[:80]}")
        return self._arrow(self._df(statements[0], params))

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
