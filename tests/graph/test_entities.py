"""The stored entity graph: a node table (integer id ↔ typed key) and integer edges."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.errors import ValidationError
from fanzha.graph.components import components_from_query, components_scipy, entity_components
from fanzha.graph.entities import build_entity_graph


def test_node_ids_are_dense_and_edges_are_integer_pairs(linked_city) -> None:
    n_edges = build_entity_graph(linked_city)
    nodes = linked_city.frame("SELECT * FROM entity_nodes ORDER BY node_id")
    assert nodes.node_id.tolist() == list(range(len(nodes)))
    assert nodes.node.is_unique and nodes.node.is_monotonic_increasing  # ids follow key order
    assert (nodes.node_type + ":" + nodes.value).tolist() == nodes.node.tolist()
    # every case is a node
    cases = set(linked_city.frame("SELECT case_id FROM cases").case_id)
    assert {f"case:{c}" for c in cases} <= set(nodes.node)
    edges = linked_city.query("SELECT * FROM entity_edges")
    assert edges.num_rows == n_edges
    assert str(edges.schema.field("src_id").type) == "int32"
    assert bool(np.all(edges.column("src_id").to_numpy() < edges.column("dst_id").to_numpy()))
    keyed = linked_city.frame(
        "SELECT src, dst, kind FROM entity_edges_keys WHERE kind = 'account_owner' ORDER BY src"
    )
    assert ("account:A1", "id:X") in set(zip(keyed.src, keyed.dst, strict=True))


def test_cases_without_any_edge_are_nodes() -> None:
    engine = DuckDBEngine(threads=1)
    engine.register("cases", pa.table({"case_id": ["C2", "C1"]}))
    assert build_entity_graph(engine) == 0
    assert engine.frame("SELECT node FROM entity_nodes ORDER BY node_id").node.tolist() == [
        "case:C1",
        "case:C2",
    ]
    engine.close()


def test_entity_components_run_from_the_integer_table_and_agree_with_scipy() -> None:
    rng = np.random.default_rng(5)
    n, m = 3000, 2500
    u, v = rng.integers(0, n, m).astype(np.int32), rng.integers(0, n, m).astype(np.int32)
    engine = DuckDBEngine(threads=1)
    engine.register("__u", pa.table({"a": u, "b": v}))
    # several Arrow chunks: the union-find carries its state across them
    engine.execute("CREATE TABLE entity_edges AS SELECT a AS src_id, b AS dst_id, 'x' AS kind FROM __u")
    engine.execute("CREATE TABLE entity_nodes AS SELECT range::INTEGER AS node_id FROM range(3000)")
    labels = entity_components(engine)
    assert np.array_equal(labels, components_scipy(u, v, n))
    table = engine.frame("SELECT * FROM entity_components ORDER BY node_id")
    assert table.component.tolist() == labels.tolist() and len(table) == n
    only_x = entity_components(engine, where="kind = 'y'", name=None)
    assert np.array_equal(only_x, np.arange(n))  # no edge of kind y: every node alone
    engine.close()


def test_components_from_query_rejects_bad_ids() -> None:
    engine = DuckDBEngine(threads=1)
    engine.register("e", pa.table({"s": pa.array([0, 5], pa.int32()), "d": pa.array([1, None], pa.int32())}))
    with pytest.raises(ValidationError, match="NULL"):
        components_from_query(engine, "SELECT s, d FROM e", 10)
    with pytest.raises(ValidationError, match="0 … 3"):
        components_from_query(engine, "SELECT s, s FROM e", 4)
    with pytest.raises(ValidationError, match="integers"):
        components_from_query(engine, "SELECT 'a', 'b'", 4)
    assert components_from_query(engine, "SELECT s, s FROM e WHERE false", 3).tolist() == [0, 1, 2]
    engine.close()
