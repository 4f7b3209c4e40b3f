"""SQL dialect differences, in one place: queries are written in DuckDB's dialect and transpiled
with sqlglot; for Spark, the rewrites below fix what sqlglot's Spark output does not run."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from fanzha.errors import EngineError


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


def transpile(sql: str, to: str) -> str:
    """Rewrite a DuckDB-dialect query for engine dialect ``to`` (``duckdb`` returns it unchanged)."""
    if to == "duckdb":
        return sql
    try:
        if to == "spark":
            return ";\n".join(to_spark(s) for s in sqlglot.parse(sql, read="duckdb") if s is not None)
        return ";\n".join(sqlglot.transpile(sql, read="duckdb", write=to, pretty=True))
    except ParseError as exc:
        raise EngineError(f"cannot transpile query to {to}: {exc}") from None
