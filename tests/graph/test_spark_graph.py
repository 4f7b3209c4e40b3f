"""The graph on Spark equals the graph on DuckDB on a small simulated city: case linking, gangs,
card dealers, fund tracing and every supervision model, row for row (the same SQL, transpiled).
Skipped without pyspark / Java or without the simulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fanzha.engine.base import Engine
from fanzha.engine.duckdb import DuckDBEngine

from .conftest import simulated_city

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return simulated_city(tmp_path_factory, 2000, 14, 5)


def _graph(engine: Engine, city: Path, store: Path) -> dict[str, pd.DataFrame]:
    from fanzha.graph.casetrace import trace_cases
    from fanzha.graph.communities import find_gangs
    from fanzha.graph.dealers import find_dealers
    from fanzha.graph.linking import link_cases
    from fanzha.graph.supervision import BUILTIN, ModelStore, run_model
    from fanzha.risk.evaluate import register_sim

    register_sim(engine, city)
    link = link_cases(engine)
    out = {"groups": link.groups, "evidence": link.evidence, "hubs": link.hubs, "gangs": find_gangs(engine)}
    out["dealers"], out["clusters"] = find_dealers(engine)
    trace, out["sources"] = trace_cases(engine, method="match")
    for part in ("flows", "holdings", "cashouts", "ambiguous", "candidates"):
        out[part] = getattr(trace, part)
    models = ModelStore(store)
    for model in BUILTIN:
        out[model.name] = run_model(engine, models, model.name)[0]
    return out


def _rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as text (lists as lists, times as instants), sorted: the engines' row order may differ."""

    def text(v: Any) -> str:
        if hasattr(v, "__len__") and not isinstance(v, str):
            return str(list(v))
        return str(pd.Timestamp(v).value) if isinstance(v, pd.Timestamp) else str(v)

    return sorted(tuple(text(v) for v in row) for row in frame.itertuples(index=False))


def test_graph_on_spark_equals_duckdb(city, spark_engine, tmp_path):
    with DuckDBEngine(threads=1) as duck:
        want = _graph(duck, city, tmp_path / "duck")
    got = _graph(spark_engine, city, tmp_path / "spark")
    assert len(want["groups"]) >= 1 and len(want["flows"]) > 50 and len(want["gangs"]) > 10
    for name, frame in want.items():
        assert list(got[name].columns) == list(frame.columns), name
        assert _rows(got[name]) == _rows(frame), name
