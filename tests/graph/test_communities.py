"""Gangs: label propagation splits two dense groups joined by a thin tie."""

from __future__ import annotations

import itertools

import numpy as np

from fanzha.graph.communities import label_propagation


def cliques_with_bridge() -> tuple[np.ndarray, np.ndarray]:
    edges = list(itertools.combinations(range(6), 2)) + list(itertools.combinations(range(6, 12), 2))
    edges.append((5, 6))  # one shared mule between the two gangs
    arr = np.array(edges)
    return arr[:, 0], arr[:, 1]


def test_two_cliques_joined_by_one_edge_are_two_communities() -> None:
    src, dst = cliques_with_bridge()
    labels = label_propagation(src, dst, 13)
    assert len(set(labels[:6])) == 1
    assert len(set(labels[6:12])) == 1
    assert labels[0] != labels[6]
    assert labels[12] == 12  # isolated node keeps its own label


def test_label_propagation_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    u, v = rng.integers(0, 300, 900), rng.integers(0, 300, 900)
    assert np.array_equal(label_propagation(u, v, 300), label_propagation(u, v, 300))


def test_communities_tied_by_two_edges_are_merged_one_edge_is_not() -> None:
    from fanzha.graph.communities import merge_communities

    src, dst = cliques_with_bridge()
    labels = label_propagation(src, dst, 13)
    assert len(set(merge_communities(src, dst, labels, min_bridge=2)[:12])) == 2
    src2, dst2 = np.append(src, 4), np.append(dst, 7)  # a second tie between the two groups
    assert len(set(merge_communities(src2, dst2, labels, min_bridge=2)[:12])) == 1


def test_gangs_come_from_the_components_that_hold_a_case_alone() -> None:
    """Label propagation runs only where a case is (before: over the whole linking graph, 53 % of
    ``fanzha gangs`` on a 100,000-person city); the gangs are the ones the whole graph gives."""
    import pandas as pd

    from fanzha.engine.duckdb import DuckDBEngine
    from fanzha.graph.communities import _case_components, find_gangs, merge_communities

    src, dst = cliques_with_bridge()  # nodes 0 … 11; two cases hang on the cliques
    rng = np.random.default_rng(3)
    noise_u, noise_v = rng.integers(20, 400, 1_500), rng.integers(20, 400, 1_500)  # no case here
    s = np.r_[src, 0, 11, noise_u]
    d = np.r_[dst, 12, 13, noise_v]
    keys = np.array([f"phone:{i}" for i in range(400)], dtype=object)
    keys[12], keys[13] = "case:A", "case:B"
    ks, kd = _case_components(s, d, keys)
    assert set(np.r_[ks, kd].tolist()) == set(range(14))  # the noise component is gone
    whole = merge_communities(s, d, label_propagation(s, d, 400), 2)
    eng = DuckDBEngine(threads=1)
    eng.register("links", pd.DataFrame({"src": keys[s], "dst": keys[d]}))
    gangs = find_gangs(eng, "links")
    eng.close()
    assert set(gangs.node) == set(keys[:14])
    by_gang = gangs.groupby("gang_id").node.apply(set).tolist()
    by_label = pd.Series(keys[:14]).groupby(whole[:14]).apply(set).tolist()
    assert sorted(map(sorted, by_gang)) == sorted(map(sorted, by_label))
    assert len(by_gang) == 2


def test_no_edges_every_node_alone() -> None:
    """Cases that name nothing leave the linking graph without edges: ``fanzha gangs`` failed
    with an IndexError from ``np.add.reduceat`` (QA round)."""
    none = np.zeros(0, dtype=np.int64)
    assert label_propagation(none, none, 3).tolist() == [0, 1, 2]
    assert label_propagation(none, none, 0).tolist() == []


def test_propagation_stops_only_when_both_halves_are_stable() -> None:
    """Two cases naming one phone (ids 1, 2 → phone 4): the odd half changed nothing in round 1,
    so propagation stopped while case 2 still had the phone's old label — two gangs for one
    number, and which case was cut off depended on unrelated nodes' ids (QA round)."""
    from fanzha.graph.communities import merge_communities

    src, dst = np.array([1, 2]), np.array([4, 4])
    labels = merge_communities(src, dst, label_propagation(src, dst, 5))
    assert labels[1] == labels[2] == labels[4]
    for n in range(5, 9):  # the same whatever other (isolated) nodes there are
        assert len(set(label_propagation(src + n - 5, dst + n - 5, n)[[n - 4, n - 3, n - 1]])) == 1
