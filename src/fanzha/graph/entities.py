"""The entity graph (关系图谱) of all parties' records, built in SQL through the Engine.

Nodes are typed keys: ``case:<id>``, ``phone:<number>``, ``account:<no>``, ``id:<id number>``,
``device:<imei>``, ``url:<host>``, ``wallet:<address>``, ``app:<platform>:<id>``, ``ip:<address>``.
Edges are undirected facts with a ``kind`` (why the two nodes are related), a ``weight`` (how many
records say so) and the first time seen. Each kind comes from one SQL fragment over one record table;
fragments whose table is absent are skipped, so the graph grows with the data that is landed.

Stored like a graph store: a node table (``entity_nodes``: integer ``node_id`` ↔ typed key) and an
integer edge table (``entity_edges``: ``src_id, dst_id, kind, weight, first_at``). The keys are
turned into ids once, in SQL when the graph is built; components, linking and gangs run on the ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fanzha.engine.base import Engine

# the host of a URL as the records store it (normalise_url: scheme, host, then the port, path, query
# or fragment — a query or fragment may follow the host directly: http://a.cn?x=1)
HOST_SQL = (
    "lower(split_part(split_part(split_part(split_part(regexp_replace({col}, '^[A-Za-z]+://', ''), "
    "'/', 1), '?', 1), '#', 1), ':', 1))"
)


@dataclass(frozen=True)
class EdgeKind:
    name: str
    table: str
    sql: str  # SELECT src, dst, ts FROM <table> … (one row per supporting record)
    doc: str
    needs: tuple[str, ...] = ()  # columns the fragment reads (fragments with missing ones are skipped)


def _case_list(column: str, prefix: str, value: str = "x") -> str:
    return (
        f"SELECT 'case:' || case_id AS src, '{prefix}' || {value} AS dst, reported_at AS ts "
        f"FROM (SELECT case_id, reported_at, unnest({column}) AS x FROM cases) WHERE x IS NOT NULL AND x <> ''"
    )


def _pair(name: str, table: str, src: str, dst: str, at: str, doc: str, where: str = "") -> EdgeKind:
    """An edge kind from one table: ``src`` / ``dst`` are SQL expressions, ``where`` the filter."""
    sql = f"SELECT {src} AS src, {dst} AS dst, {_quote(at)} AS ts FROM {table}" + (
        f" WHERE {where}" if where else ""
    )
    needs = tuple(sorted({w for w in _COLUMN.findall(f"{src} {dst} {at} {where}") if w not in _SQL_WORDS}))
    return EdgeKind(name, table, sql, doc, needs)


_COLUMN = re.compile(r"(?<!')\b([a-z_]+)\b(?!')")
_SQL_WORDS = {"case", "when", "then", "else", "end", "is", "not", "null", "and", "or"}


def _quote(column: str) -> str:
    return f'"{column}"' if column == "at" else column  # AT is a keyword in DuckDB


def _case(name: str, column: str, prefix: str, doc: str, value: str = "x") -> EdgeKind:
    return EdgeKind(name, "cases", _case_list(column, prefix, value), doc, ("case_id", "reported_at", column))


OWNER = "owner_id IS NOT NULL"
EDGE_KINDS: tuple[EdgeKind, ...] = (
    _case("case_phone", "suspect_phones", "phone:", "a case names a phone number"),
    _case("case_account", "suspect_accounts", "account:", "a case names an account"),
    _case("case_url", "suspect_urls", "url:", "a case names a URL (its host)", HOST_SQL.format(col="x")),
    _case("case_wallet", "suspect_wallets", "wallet:", "a case names a crypto wallet"),
    _case("case_app", "suspect_app_accounts", "app:", "a case names an app account (platform:id)"),
    _pair(
        "case_victim",
        "cases",
        "'case:' || case_id",
        "'id:' || victim_id",
        "reported_at",
        "the victim of a case",
    ),
    _pair(
        "card_owner",
        "phone_cards",
        "'phone:' || number",
        "'id:' || owner_id",
        "opened_at",
        "a phone card is registered to an ID (实名)",
        OWNER,
    ),
    _pair(
        "card_open_device",
        "phone_cards",
        "'phone:' || number",
        "'device:' || open_imei",
        "opened_at",
        "a card was activated in a device",
        "open_imei IS NOT NULL",
    ),
    _pair(
        "device_call",
        "calls",
        "'phone:' || CASE WHEN direction = 'out' THEN caller ELSE callee END",
        "'device:' || imei",
        "start_at",
        "a device hosted the SIM of a call",
        "imei IS NOT NULL",
    ),
    _pair(
        "device_sms",
        "sms",
        "'phone:' || sender",
        "'device:' || imei",
        "sent_at",
        "a device hosted the SIM that sent an SMS",
        "imei IS NOT NULL",
    ),
    _pair("call", "calls", "'phone:' || caller", "'phone:' || callee", "start_at", "two numbers spoke"),
    _pair(
        "sms_contact",
        "sms",
        "'phone:' || sender",
        "'phone:' || receiver",
        "sent_at",
        "one number texted another",
    ),
    _pair(
        "account_owner",
        "accounts",
        "'account:' || account_no",
        "'id:' || owner_id",
        "opened_at",
        "an account belongs to an ID",
        OWNER,
    ),
    _pair(
        "account_open_device",
        "accounts",
        "'account:' || account_no",
        "'device:' || open_imei",
        "opened_at",
        "an account was opened from a device",
        "open_imei IS NOT NULL",
    ),
    _pair(
        "account_open_ip",
        "accounts",
        "'account:' || account_no",
        "'ip:' || open_ip",
        "opened_at",
        "an account was opened from an IP address",
        "open_ip IS NOT NULL",
    ),
    _pair(
        "account_login_device",
        "logins",
        "'account:' || account",
        "'device:' || imei",
        "at",
        "a handset logged in to an account (登录日志)",
        "imei IS NOT NULL",
    ),
    _pair(
        "topup_payer",
        "topups",
        "'phone:' || number",
        "'account:' || payer_account",
        "at",
        "an account paid a phone card's top-up (充值)",
        "payer_account IS NOT NULL",
    ),
    _pair(
        "transfer",
        "transfers",
        "'account:' || from_account",
        "'account:' || to_account",
        "at",
        "money moved between two accounts",
    ),
    _pair(
        "account_wallet",
        "transfers",
        "'account:' || from_account",
        "'wallet:' || wallet",
        "at",
        "an account paid towards a crypto wallet (OTC)",
        "wallet IS NOT NULL",
    ),
    _pair(
        "app_phone",
        "app_accounts",
        "'app:' || platform || ':' || account_id",
        "'phone:' || phone",
        "registered_at",
        "an app account is bound to a phone",
        "phone IS NOT NULL",
    ),
    _pair(
        "app_owner",
        "app_accounts",
        "'app:' || platform || ':' || account_id",
        "'id:' || owner_id",
        "registered_at",
        "an app account is registered to an ID",
        OWNER,
    ),
)
KIND_NAMES = tuple(k.name for k in EDGE_KINDS)


def edges_sql(engine: Engine, kinds: tuple[str, ...] | None = None) -> str:
    """One SELECT of every edge (``src, dst, kind, weight, first_at``) over the tables present."""
    present = set(engine.tables())
    columns = {t: set(engine.query(f"SELECT * FROM {t} LIMIT 0").column_names) for t in present}
    wanted = [
        k
        for k in EDGE_KINDS
        if (kinds is None or k.name in kinds) and k.table in present and set(k.needs) <= columns[k.table]
    ]
    if not wanted:
        return "SELECT NULL::VARCHAR AS src, NULL::VARCHAR AS dst, NULL::VARCHAR AS kind, 0::BIGINT AS weight, NULL::TIMESTAMPTZ AS first_at WHERE false"
    parts = [f"SELECT '{k.name}' AS kind, * FROM ({k.sql})" for k in wanted]
    # undirected: store each pair once, smaller key first
    return (
        "SELECT least(src, dst) AS src, greatest(src, dst) AS dst, kind, count(*) AS weight, min(ts) AS first_at "
        f"FROM ({' UNION ALL '.join(parts)}) WHERE src IS NOT NULL AND dst IS NOT NULL AND src <> dst "
        "GROUP BY ALL"
    )


def build_entity_graph(
    engine: Engine,
    name: str = "entity_edges",
    kinds: tuple[str, ...] | None = None,
    *,
    nodes: str = "entity_nodes",
) -> int:
    """Materialise the entity graph: node table ``nodes`` and integer edge table ``name``.

    ``nodes``: ``node_id INTEGER`` (dense, 0 … n-1, in key order), ``node`` (the typed key,
    ``phone:…``), ``node_type``, ``value`` (the identifier without its type). Every case of table
    ``cases`` is a node even when it names nothing. ``name``: ``src_id, dst_id, kind, weight,
    first_at`` with ``src_id < dst_id`` (one row per undirected pair and kind). The string keys are
    hashed once, here; everything downstream (components, linking, gangs) joins and runs on the
    integer ids. View ``<name>_keys`` shows the edges with their keys (``src, dst`` + the columns
    of ``name``). Ids are assigned per build: they are stable for a given set of records, not
    across rebuilds after new records land. Returns the number of edges.
    """
    engine.execute(f"CREATE OR REPLACE TEMP TABLE __edge_keys AS {edges_sql(engine, kinds)}")
    case_nodes = (
        "SELECT 'case:' || case_id FROM cases WHERE case_id IS NOT NULL" if engine.has_table("cases") else ""
    )
    store_graph(engine, "__edge_keys", name=name, nodes=nodes, extra_nodes=case_nodes)
    engine.execute("DROP TABLE IF EXISTS __edge_keys")
    return int(engine.scalar(f"SELECT count(*) FROM {name}"))


def store_graph(
    engine: Engine,
    keyed: str,
    *,
    name: str = "entity_edges",
    nodes: str = "entity_nodes",
    extra_nodes: str = "",
) -> None:
    """Give every key of the edge table ``keyed`` (``src, dst`` strings, other columns kept) an
    integer id, in SQL: node table ``nodes`` (ids dense in key order) and integer edge table
    ``name`` (``src_id, dst_id`` + the other columns of ``keyed``). ``extra_nodes``: a SELECT of
    further keys that are nodes without edges (the cases)."""
    extra = f"UNION {extra_nodes}" if extra_nodes else ""
    engine.execute(
        f"CREATE OR REPLACE TABLE {nodes} AS SELECT (row_number() OVER (ORDER BY node) - 1)::INTEGER AS node_id, "
        "node, split_part(node, ':', 1) AS node_type, substr(node, strpos(node, ':') + 1) AS value "
        f"FROM (SELECT src AS node FROM {keyed} UNION SELECT dst FROM {keyed} {extra})"
    )
    # keys are ordered like their ids, so least(src, dst) (edges_sql) is also the smaller id
    engine.execute(
        f"CREATE OR REPLACE TABLE {name} AS SELECT s.node_id AS src_id, d.node_id AS dst_id, "
        f"e.* EXCLUDE (src, dst) FROM {keyed} e JOIN {nodes} s ON e.src = s.node "
        f"JOIN {nodes} d ON e.dst = d.node"
    )
    engine.execute(
        f"CREATE OR REPLACE VIEW {name}_keys AS SELECT s.node AS src, d.node AS dst, e.* FROM {name} e "
        f"JOIN {nodes} s ON e.src_id = s.node_id JOIN {nodes} d ON e.dst_id = d.node_id"
    )
