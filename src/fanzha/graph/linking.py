"""Case linking (串并案): cases that share identifiers, directly or through chains, form groups.

Steps (all set-based: SQL through the Engine, then int32 arrays):

1. the entity graph (:mod:`fanzha.graph.entities`) restricted to the *linking kinds* — what a case
   names, who owns a card / account / app account, which device hosted a SIM. Transfers and calls
   are not linking edges by default: ordinary people pay and call each other, and one such edge would
   chain unrelated gangs together;
2. *hub suppression*: an identifier is a hub, and links nothing, when it is on the allow list
   (customer-service numbers, popular domains, platform accounts), when its account is a payment
   platform's pooled or merchant account, or when its degree — distinct neighbours in the *whole*
   entity graph, transfers included, and for phones the distinct numbers that called or texted it —
   exceeds the limit for its type (:attr:`LinkConfig.max_degree`). A bank's hotline is called by
   everybody; a SIM-farm number calls everybody but is called back by few;
3. connected components on the integer edge table (:func:`fanzha.graph.components.components_from_query`):
   every component with two or more cases is a group;
4. evidence: one breadth-first search from all group roots at once gives, for each case, the path to
   the case it was linked through, e.g. ``case:C7 —case_account→ account:62… —account_owner→
   id:51… —account_owner→ account:62… —case_account→ case:C3``.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from fanzha.engine.base import Engine
from fanzha.errors import ConfigError, InputFileError, ValidationError
from fanzha.graph.components import components_from_query
from fanzha.graph.entities import KIND_NAMES, build_entity_graph
from fanzha.records.contracts import IDENTIFIER_NORMALISERS

LINK_KINDS = (
    "case_phone",
    "case_account",
    "case_url",
    "case_wallet",
    "case_app",
    "card_owner",
    "account_owner",
    "app_phone",
    "app_owner",
    "device_call",
    "device_sms",
    "account_login_device",
)
# distinct neighbours in the whole entity graph above which an identifier is a hub, per node type
DEFAULT_MAX_DEGREE = {
    "phone": 150,
    "account": 150,
    "url": 40,
    "wallet": 60,
    "app": 60,
    "id": 60,
    "device": 300,
    "ip": 60,
}
# never link through these: service hotlines (95xxx/96xxx), carriers, SMS service ports (106…),
# and national platforms' domains with their subdomains (extend with an allow-list file)
POPULAR_DOMAINS = (
    "taobao.com",
    "tmall.com",
    "jd.com",
    "qq.com",
    "douyin.com",
    "pinduoduo.com",
    "meituan.com",
    "12306.cn",
    "baidu.com",
    "alipay.com",
    "gov.cn",
    "sf-express.com",
    "icbc.com.cn",
    "ccb.com",
    "boc.cn",
    "abchina.com",
    "bankcomm.com",
    "cmbchina.com",
    "weibo.com",
    "xiaohongshu.com",
)
DEFAULT_ALLOW = (
    "phone:95*",
    "phone:96*",
    "phone:106*",
    "phone:10086",
    "phone:10010",
    "phone:10000",
    "phone:110",
    "phone:12110",
    "phone:96110",
    *(p for d in POPULAR_DOMAINS for p in (f"url:{d}", f"url:*.{d}")),
)


# the typed keys an allow-list entry may name (see the entity graph's node keys)
ALLOW_TYPES = ("phone", "account", "id", "device", "url", "wallet", "app", "ip")
# node type → identifier kind whose normaliser gives the spelling the graph's keys use
_ALLOW_KINDS = {"phone": "phone", "account": "account", "id": "id_number", "device": "imei",
                "url": "host", "wallet": "wallet"}  # fmt: skip


def allow_key(entry: str) -> str:
    """An allow-list entry in the spelling of the graph's node keys (``phone:+86 138 0013 8000`` →
    ``phone:13800138000``, ``url:WWW.Shop.CN.`` → ``url:www.shop.cn``). Shell patterns, and values
    that are no valid identifier of their type (a folder's own keys), stay as written."""
    typ, _, value = entry.partition(":")
    if typ not in _ALLOW_KINDS or any(c in value for c in "*?["):
        return entry
    try:
        return f"{typ}:{IDENTIFIER_NORMALISERS[_ALLOW_KINDS[typ]](value)}"
    except ValidationError:
        return entry


@dataclass
class LinkConfig:
    kinds: tuple[str, ...] = LINK_KINDS
    max_degree: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_DEGREE))
    allow: tuple[str, ...] = DEFAULT_ALLOW  # typed keys, shell patterns allowed (``url:*.taobao.com``)
    hub_account_types: tuple[str, ...] = ("pooled", "merchant")

    def __post_init__(self) -> None:
        unknown = [k for k in self.kinds if k not in KIND_NAMES]
        if unknown:
            raise ConfigError(f"unknown linking edge kinds {unknown}; choose from {', '.join(KIND_NAMES)}")

    @staticmethod
    def read_allow_file(path: str | Path) -> tuple[str, ...]:
        """One typed key or pattern per line; ``#`` starts a comment."""
        try:
            lines = Path(path).read_text(encoding="utf-8-sig").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"cannot read allow list {path}: {exc}; give a UTF-8 text file") from None
        entries = []
        for n, line in enumerate(lines, 1):
            entry = line.split("#", 1)[0].strip()
            if not entry:
                continue
            if entry.split(":", 1)[0] not in ALLOW_TYPES or ":" not in entry:
                raise InputFileError(
                    f"allow list {path} line {n}: {entry!r} is not a typed key; write e.g. phone:{entry} "
                    f"(types: {', '.join(ALLOW_TYPES)})"
                )
            entries.append(allow_key(entry))
        return tuple(entries)


@dataclass
class LinkResult:
    """``groups``: one row per linked group (≥ 2 cases); ``cases``: case_id → group_id (every case);
    ``evidence``: per linked case, the path to the case it links to; ``hubs``: suppressed identifiers."""

    groups: pd.DataFrame
    cases: pd.DataFrame
    evidence: pd.DataFrame
    hubs: pd.DataFrame
    n_edges: int = 0


def _hub_sql(config: LinkConfig, tables: set[str]) -> str:
    has_accounts = "accounts" in tables
    limits = ", ".join(f"('{t}', {int(limit)})" for t, limit in sorted(config.max_degree.items()))
    limits = limits or "('', 0)"
    typed = ""
    if has_accounts and config.hub_account_types:
        kinds = ", ".join(f"'{t}'" for t in config.hub_account_types)
        typed = (
            "UNION ALL SELECT n.node_id, n.node, 0, 'account_type:' || a.account_type FROM accounts a "
            f"JOIN entity_nodes n ON n.node = 'account:' || a.account_no WHERE a.account_type IN ({kinds})"
        )
    # contacts count inbound only: a hotline is called by everybody; a SIM-farm number calls everybody
    # (the stored call edges are undirected, so the direction comes from the records, mapped to ids)
    inbound = ""
    for table, to, frm in (("calls", "callee", "caller"), ("sms", "receiver", "sender")):
        if table in tables:
            inbound += (
                f"UNION ALL SELECT a.node_id, b.node_id FROM (SELECT DISTINCT {to} AS t, {frm} AS f FROM {table}) c "
                "JOIN entity_nodes a ON a.node = 'phone:' || c.t JOIN entity_nodes b ON b.node = 'phone:' || c.f "
            )
    return f"""
        WITH ends AS (SELECT src_id AS node_id, dst_id AS other FROM entity_edges WHERE kind NOT IN ('call', 'sms_contact')
                      UNION ALL SELECT dst_id, src_id FROM entity_edges WHERE kind NOT IN ('call', 'sms_contact')
                      {inbound}),
             deg AS (SELECT node_id, count(DISTINCT other) AS degree FROM ends GROUP BY node_id),
             lim AS (SELECT * FROM (VALUES {limits}) AS v(node_type, max_degree))
        SELECT n.node_id, n.node, deg.degree, 'degree>' || CAST(lim.max_degree AS VARCHAR) AS reason
        FROM deg JOIN entity_nodes n USING (node_id) JOIN lim ON n.node_type = lim.node_type
        WHERE degree > max_degree AND n.node_type <> 'case'
        {typed}
    """


def find_hubs(engine: Engine, config: LinkConfig) -> pd.DataFrame:
    """Identifiers that must not link cases: ``node, degree, reason, node_id``."""
    hubs = engine.frame(_hub_sql(config, set(engine.tables())))
    if config.allow:
        nodes = engine.query("SELECT node_id, node FROM entity_nodes")
        keys = pd.Series(nodes.column(1).to_numpy(zero_copy_only=False), dtype=object)
        exact = {p for p in config.allow if not any(c in p for c in "*?[")}
        patterns = [p for p in config.allow if p not in exact]
        # one compiled alternation of the shell patterns instead of fnmatch per key and pattern
        hit = keys.isin(exact)
        if patterns:
            regex = "|".join(f"(?:{fnmatch.translate(p)})" for p in patterns)
            hit |= keys.str.match(regex).fillna(False).astype(bool)
        listed = pd.DataFrame(
            {"node_id": nodes.column(0).to_numpy()[hit.to_numpy()], "node": keys[hit].to_numpy()}
        )
        hubs = pd.concat([hubs, listed.assign(degree=0, reason="allow_list")])
    # a fixed order (the busiest first), whatever order the engine's threads return rows in
    hubs = hubs.drop_duplicates("node").sort_values(
        ["degree", "node"], ascending=[False, True], ignore_index=True
    )
    return hubs[["node", "degree", "reason", "node_id"]].astype({"node_id": np.int32, "degree": np.int64})


def link_cases(engine: Engine, config: LinkConfig | None = None, *, rebuild: bool = True) -> LinkResult:
    """Link the cases of table ``cases`` (and the other record tables present in ``engine``).

    Runs on the integer entity graph (``entity_nodes`` / ``entity_edges``, built here unless
    ``rebuild=False`` and both exist): hubs by degree over the ids, the linking edges as id pairs
    (temp table ``__link``: ``src_id, dst_id, kind``), union-find over them; the keys are read
    only for the cases and for the evidence paths."""
    config = config or LinkConfig()
    if rebuild or not (engine.has_table("entity_edges") and engine.has_table("entity_nodes")):
        build_entity_graph(engine)
    hubs = find_hubs(engine, config)
    engine.register("__hubs", hubs[["node_id"]])
    kinds = ", ".join(f"'{k}'" for k in config.kinds)
    engine.execute(
        "CREATE OR REPLACE TEMP TABLE __link AS SELECT src_id, dst_id, kind FROM entity_edges "
        f"WHERE kind IN ({kinds}) AND src_id NOT IN (SELECT node_id FROM __hubs) "
        "AND dst_id NOT IN (SELECT node_id FROM __hubs)"
    )
    n = int(engine.scalar("SELECT count(*) FROM entity_nodes"))
    labels = components_from_query(engine, "SELECT src_id, dst_id FROM __link", n)
    nodes = engine.query(
        "SELECT node_id, node, node_type = 'case' AS is_case FROM entity_nodes ORDER BY node_id"
    )
    keys = nodes.column(1).to_numpy(zero_copy_only=False).astype(object)
    is_case = nodes.column(2).to_numpy(zero_copy_only=False).astype(bool)
    link = engine.query("SELECT src_id, dst_id, kind FROM __link")
    src = link.column(0).to_numpy().astype(np.int32)
    dst = link.column(1).to_numpy().astype(np.int32)
    groups, cases = _groups(keys, labels, is_case)
    evidence = _evidence(
        keys, labels, is_case, src, dst, link.column(2).to_numpy(zero_copy_only=False), cases
    )
    groups = _describe_groups(engine, groups, evidence)
    # later queries (supervision models, gangs) join on the groups and the linking edges
    members = cases[~cases.group_id.str.startswith("S:")].merge(
        groups[["group_id", "identifiers"]], on="group_id", how="left"
    )
    engine.register("case_groups", members[["case_id", "group_id", "identifiers"]])
    return LinkResult(groups, cases.drop(columns="label"), evidence, hubs, len(src))


def _groups(keys: np.ndarray, labels: np.ndarray, is_case: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    case_ids = np.asarray([k[5:] for k in keys[is_case]], dtype=object)
    case_labels = labels[is_case]
    size = pd.Series(case_labels).map(pd.Series(case_labels).value_counts()).to_numpy()
    # group ids: G0001 … by the earliest (smallest) case id in each linked group
    linked = pd.DataFrame({"case_id": case_ids, "label": case_labels, "size": size})
    multi = linked[linked["size"] >= 2]
    order = multi.groupby("label").case_id.min().sort_values()
    names = {lab: f"G{i + 1:04d}" for i, lab in enumerate(order.index)}
    linked["group_id"] = pd.Series(  # object dtype even when there are no cases at all
        [names.get(lab, f"S:{cid}") for lab, cid in zip(linked.label, linked.case_id, strict=True)],
        index=linked.index,
        dtype=object,
    )
    groups = (
        multi.assign(group_id=multi.label.map(names))
        .groupby("group_id")
        .agg(n_cases=("case_id", "size"), case_ids=("case_id", lambda s: sorted(s)), label=("label", "first"))
        .reset_index()
    )
    groups = groups.astype({"group_id": object})  # stays text when no case links (empty frame)
    return groups, linked[["case_id", "group_id", "label"]].sort_values("case_id", ignore_index=True)


def _evidence(
    keys: np.ndarray,
    labels: np.ndarray,
    is_case: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    kind: np.ndarray,
    cases: pd.DataFrame,
) -> pd.DataFrame:
    """Per linked case: the shortest path (from one BFS over all groups) to the previous case."""
    n = len(keys)
    linked = cases[~cases.group_id.str.startswith("S:")]
    if linked.empty:
        return pd.DataFrame(columns=["group_id", "case_id", "linked_to", "hops", "identifiers", "path"])
    case_node = {k[5:]: i for i, k in enumerate(keys) if is_case[i]}
    roots = linked.groupby("group_id").case_id.min()
    root_nodes = np.asarray([case_node[c] for c in roots], dtype=np.int32)
    rows = np.concatenate([src, dst, np.full(len(root_nodes), n, np.int32)])
    cols = np.concatenate([dst, src, root_nodes])
    graph = sparse.csr_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n + 1, n + 1))
    _, pred = csgraph.breadth_first_order(graph, n, directed=True, return_predecessors=True)
    lo, hi = np.minimum(src, dst).astype(np.int64), np.maximum(src, dst).astype(np.int64)
    pair = lo * n + hi
    order = np.argsort(pair)
    pair_sorted, kind_sorted = pair[order], kind[order]

    def edge_kind(a: int, b: int) -> str:
        """Every kind that ties the pair (``device_call+device_sms``), independent of edge order."""
        key = min(a, b) * n + max(a, b)
        lo_i, hi_i = np.searchsorted(pair_sorted, key), np.searchsorted(pair_sorted, key, side="right")
        return "+".join(sorted({str(k) for k in kind_sorted[lo_i:hi_i]}))

    out = []
    for group_id, case_id in zip(linked.group_id, linked.case_id, strict=True):
        node = case_node[case_id]
        if pred[node] == n:  # the group's root case
            continue
        path = [node]
        while pred[path[-1]] != n and (len(path) == 1 or not is_case[path[-1]]):
            path.append(int(pred[path[-1]]))
        steps = [str(keys[path[0]])]
        for a, b in pairwise(path):
            steps.append(f"—{edge_kind(a, b)}→ {keys[b]}")
        out.append(
            {
                "group_id": group_id,
                "case_id": case_id,
                "linked_to": str(keys[path[-1]])[5:],
                "hops": len(path) - 1,
                "identifiers": [str(keys[p]) for p in path[1:-1]],
                "path": " ".join(steps),
            }
        )
    return pd.DataFrame(out, columns=["group_id", "case_id", "linked_to", "hops", "identifiers", "path"])


def _describe_groups(engine: Engine, groups: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Add the linking identifiers, regions, fraud types, loss and time span of each group."""
    if groups.empty:  # the columns (and money type) of a linked city, so readers need no special case
        return groups.drop(columns="label").assign(
            regions=[], fraud_types=[], loss_fen=pd.Series([], dtype="int64"), first_reported=[],
            last_reported=[], identifiers=[],
        )  # fmt: skip
    ident = (
        evidence.explode("identifiers").groupby("group_id").identifiers.agg(lambda s: sorted(set(s.dropna())))
    )
    members = groups[["group_id", "case_ids"]].explode("case_ids").rename(columns={"case_ids": "case_id"})
    engine.register("__members", members)
    facts = engine.frame(
        "SELECT m.group_id, list(DISTINCT c.region) FILTER (WHERE c.region IS NOT NULL) AS regions, "
        "list(DISTINCT c.fraud_type) AS fraud_types, sum(c.loss_fen)::BIGINT AS loss_fen, "
        "min(c.reported_at) AS first_reported, max(c.reported_at) AS last_reported "
        "FROM __members m JOIN cases c USING (case_id) GROUP BY m.group_id"
    )
    out = groups.merge(facts, on="group_id", how="left")
    out["identifiers"] = out.group_id.map(ident).apply(lambda x: x if isinstance(x, list) else [])
    out["regions"] = out.regions.apply(lambda x: sorted(x) if x is not None else [])
    out["fraud_types"] = out.fraud_types.apply(lambda x: sorted(x) if x is not None else [])
    return out.drop(columns="label").sort_values("group_id", ignore_index=True)


def pairs_in_groups(case_group: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """All unordered case pairs that share a group (for pairwise precision / recall)."""
    by_group: dict[str, list[str]] = {}
    for case_id, group in case_group:
        by_group.setdefault(group, []).append(case_id)
    pairs: set[tuple[str, str]] = set()
    for members in by_group.values():
        members.sort()
        for i, a in enumerate(members):
            pairs.update((a, b) for b in members[i + 1 :])
    return pairs
