"""Gangs (团伙): communities in the linked entity graph, by weighted label propagation in numpy.

A linked group can hold more than one gang when gangs share a card dealer or a money mule; label
propagation splits it where the ties are thin. Each round every node takes the label with the largest
total edge weight among its neighbours (ties: the smallest label), on alternating halves of the
nodes (a fixed checkerboard by node id) so that two-node oscillation cannot happen. It stops when
neither half changes a label, or after ``max_rounds``. Deterministic: no random numbers. Label
propagation also cuts long thin chains (case → account → case → …) that are one gang, so
communities tied by at least ``min_bridge`` (2) edges are joined again; gangs that share a single
mule or farmer stay apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fanzha.engine.base import Engine
from fanzha.errors import ConfigError


def label_propagation(
    src: np.ndarray, dst: np.ndarray, n: int, weight: np.ndarray | None = None, *, max_rounds: int = 30
) -> np.ndarray:
    """Community label (a node id) of every node ``0 … n-1``; isolated nodes keep their own id."""
    if max_rounds < 1:
        raise ConfigError(f"max_rounds {max_rounds} must be ≥ 1")
    w = np.ones(len(src), dtype=np.float64) if weight is None else np.asarray(weight, dtype=np.float64)
    a = np.concatenate([src, dst]).astype(np.int64)
    b = np.concatenate([dst, src]).astype(np.int64)
    ww = np.concatenate([w, w])
    labels = np.arange(n, dtype=np.int64)
    if not len(a):  # no edges: every node is its own community (reduceat needs a value)
        return labels
    quiet = 0  # half-rounds in a row that changed no label
    for round_ in range(max_rounds):
        cand = labels[b]
        # total weight per (node, candidate label): sort by the pair, sum runs
        key = a * n + cand
        order = np.argsort(key, kind="stable")
        key_s, w_s = key[order], ww[order]
        starts = np.flatnonzero(np.r_[True, key_s[1:] != key_s[:-1]])
        totals = np.add.reduceat(w_s, starts) if len(starts) else np.zeros(0)
        node, lab = key_s[starts] // n, key_s[starts] % n
        # best label per node: largest total, then smallest label
        pick = np.lexsort((lab, -totals, node))
        node_p, lab_p = node[pick], lab[pick]
        first = np.r_[True, node_p[1:] != node_p[:-1]]
        best = labels.copy()
        best[node_p[first]] = lab_p[first]
        turn = (np.arange(n) % 2) == (round_ % 2)
        new = np.where(turn, best, labels)
        # stable only when neither half changes: a quiet half-round says nothing of the other half
        quiet = quiet + 1 if np.array_equal(new, labels) else 0
        if quiet == 2:
            break
        labels = new
    return labels


def merge_communities(
    src: np.ndarray, dst: np.ndarray, labels: np.ndarray, min_bridge: int = 2
) -> np.ndarray:
    """Re-join communities tied by at least ``min_bridge`` edges.

    Label propagation also splits long chains (case → account → case → …) that are one gang; two
    gangs that really differ usually share a single mule or farmer, i.e. one edge."""
    from fanzha.graph.components import connected_components

    a, b = labels[src], labels[dst]
    cross = a != b
    lo, hi = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
    pairs, counts = np.unique(np.stack([lo, hi], axis=1), axis=0, return_counts=True)
    strong = pairs[counts >= min_bridge] if len(pairs) else np.zeros((0, 2), dtype=np.int64)
    merged = connected_components(strong[:, 0], strong[:, 1], len(labels))
    return merged[labels]


def find_gangs(
    engine: Engine,
    link_edges: str = "__link",
    cases: pd.DataFrame | None = None,
    *,
    min_bridge: int = 2,
    nodes: str = "entity_nodes",
) -> pd.DataFrame:
    """Communities of the linking graph ``link_edges`` that hold at least one case.

    ``link_edges`` holds integer ids (``src_id, dst_id``, keys in table ``nodes``: the ``__link``
    table of :func:`fanzha.graph.linking.link_cases`) or string keys (``src, dst``).

    Returns one row per node: ``node, gang_id, node_type``; gangs are named ``K0001 …`` by their
    smallest case id.
    """
    columns = engine.query(f"SELECT * FROM {link_edges} LIMIT 0").column_names
    if "src_id" in columns:  # the integer linking graph of link_cases: keys only for its nodes
        ids = engine.query(f"SELECT src_id, dst_id FROM {link_edges}")
        both = np.concatenate([ids.column(0).to_numpy(), ids.column(1).to_numpy()]).astype(np.int64)
        used, inv = np.unique(both, return_inverse=True)
        engine.register("__gang_nodes", pd.DataFrame({"node_id": used.astype(np.int32)}))
        key_of = (
            engine.frame(f"SELECT g.node_id, n.node FROM __gang_nodes g JOIN {nodes} n USING (node_id)")
            .set_index("node_id")
            .node
        )
        keys = key_of.reindex(used).to_numpy(object)
        m = ids.num_rows
    else:  # a table of string keys (src, dst)
        frame = engine.frame(f"SELECT src, dst FROM {link_edges}")
        keys, inv = np.unique(
            np.concatenate([frame.src.to_numpy(object), frame.dst.to_numpy(object)]).astype(str),
            return_inverse=True,
        )
        m = len(frame)
    src, dst = _case_components(inv[:m], inv[m:], keys)
    labels = label_propagation(src, dst, len(keys))
    labels = merge_communities(src, dst, labels, min_bridge)
    out = pd.DataFrame({"node": keys, "label": labels})
    out["node_type"] = out.node.str.split(":", n=1).str[0]
    case_rows = out[out.node_type == "case"]
    names = case_rows.groupby("label").node.min().sort_values()
    out = out[out.label.isin(names.index)].copy()
    name_of = {lab: f"K{i + 1:04d}" for i, lab in enumerate(names.index)}
    out["gang_id"] = out.label.map(name_of)
    return out[["node", "gang_id", "node_type"]].sort_values(["gang_id", "node"], ignore_index=True)


def _case_components(src: np.ndarray, dst: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges of the connected components that hold a case (about 2 % of a city's linking graph):
    only they can form gangs, and labels never cross components. Node ids stay as they are (the
    checkerboard of :func:`label_propagation` goes by id), so the gangs are the ones the whole
    graph gives; before the tenth session label propagation ran on every component (11.5 of the
    21.7 s of ``fanzha gangs`` on a 100,000-person city)."""
    from fanzha.graph.components import connected_components

    comp = connected_components(src, dst, len(keys))
    is_case = np.char.startswith(keys.astype(str), "case:")
    keep = np.zeros(len(keys), dtype=bool)
    keep[np.unique(comp[is_case])] = True
    edges = keep[comp[src]]
    return src[edges], dst[edges]


def summarise_gangs(members: pd.DataFrame) -> pd.DataFrame:
    """Per gang: number of cases, people, phones, accounts, devices and the member lists."""
    if members.empty:
        return pd.DataFrame(columns=["gang_id", "cases", "ids", "phones", "accounts", "devices", "case_ids"])
    counts = members.pivot_table(
        index="gang_id", columns="node_type", values="node", aggfunc="count", fill_value=0
    )
    counts = counts.reindex(columns=["case", "id", "phone", "account", "device"], fill_value=0)
    counts.columns = ["cases", "ids", "phones", "accounts", "devices"]
    case_ids = (
        members[members.node_type == "case"].groupby("gang_id").node.agg(lambda s: sorted(x[5:] for x in s))
    )
    return (
        counts.assign(case_ids=case_ids)
        .reset_index()
        .sort_values("cases", ascending=False, ignore_index=True)
    )
