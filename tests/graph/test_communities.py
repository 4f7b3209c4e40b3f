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
