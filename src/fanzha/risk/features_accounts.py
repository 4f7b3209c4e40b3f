"""Per-account features in SQL (DuckDB dialect) through the Engine.

Input tables by record kind: ``transfers`` (required: from_account, to_account, amount_fen, at),
optional ``accounts`` (bank, owner_id, opened_at), ``logins`` (account, at, imei, ip: they describe the
accounts found elsewhere and add none), ``withdrawals`` (account, amount_fen, at, atm_id,
location) and ``flagged_accounts`` (account: already-known mule or fraud accounts).

Laundering shows in structure and timing more than in totals, so beside the per-account aggregates
(counts, amounts, fan-in / fan-out, 快进快出 dwell time, night activity, age, dormancy) the query
computes graph features: reciprocal and 3-cycle counterparties, 2-hop degrees, one-off counterparties
(a burst of never-repeated partners), and neighbourhood aggregates, e.g. the share of out-money going
to accounts that themselves pass money through within a day (stacked layers, scatter-gather).
Every stage is a plain function returning SQL; :func:`account_features` runs them in order as temp
tables and returns one row per account.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from fanzha.engine.base import Engine
from fanzha.engine.duckdb import DuckDBEngine
from fanzha.errors import ValidationError
from fanzha.risk.fast_accounts import account_tables
from fanzha.risk.kernels import reused_memory
from fanzha.risk.sqlparts import (
    days_between,
    exact_avg_share,
    exact_stddev_pop,
    is_night,
    optional_tables,
    require_columns,
    safe_div,
    table_columns,
    window_filter,
)

TRANSFER_COLUMNS = ("from_account", "to_account", "amount_fen", "at")
ACCOUNT_COUNTS = ("in_n", "out_n", "in_amt_fen", "out_amt_fen", "in_cp", "out_cp", "total_cp")
LOGIN_COUNTS = ("logins",)  # 0 for an account without logins, when the logins table is given
# features that do not depend on the window (the account and card registrations as of the scoring time)
ACCOUNT_STATIC = (
    "accounts_per_owner",
    "open_device_owners",
    "open_ip_owners",
    "owner_phone_cards",
    "owner_recent_phone_cards",
    "owner_card_device_cards",
    "account_age_days",
)
FAST_S = 86_400  # "quickly" = within one day of the money arriving
HOUR_S = 3_600


def keys_sql(window_days: int | None) -> str:
    """Dense integer key per account seen in the window.

    Every later stage groups, joins and sorts on these 4-byte keys instead of the account-number
    strings (hashing and comparing ~20-character strings dominated the run time); names come back
    only in the final select. Self-transfers are left out, as in :func:`tx_sql`.
    """
    live = window_filter('"at"', window_days) + " AND from_account <> to_account"
    return f"""SELECT account, CAST(row_number() OVER (ORDER BY account) AS INTEGER) AS k FROM (
            SELECT from_account AS account FROM transfers WHERE {live}
            UNION SELECT to_account FROM transfers WHERE {live})
        WHERE account IS NOT NULL"""


def tx_sql(window_days: int | None) -> str:
    return f"""SELECT ks.k AS src, kd.k AS dst, t.amount_fen AS amt, t."at" AS ts
        FROM transfers t JOIN __acct_keys ks ON ks.account = t.from_account
        JOIN __acct_keys kd ON kd.account = t.to_account
        WHERE {window_filter('t."at"', window_days)} AND t.from_account <> t.to_account"""


def named_tx_sql() -> str:
    """``__acct_tx`` with account numbers instead of keys (for joins with the by-name tables)."""
    return """(SELECT ks.account AS src, kd.account AS dst, t.amt, t.ts FROM __acct_tx t
        JOIN __acct_keys ks ON ks.k = t.src JOIN __acct_keys kd ON kd.k = t.dst)"""


def events_sql() -> str:
    """One row per (account, side) of every transfer, with the gap since the account's previous event."""
    return f"""SELECT *, epoch_us(ts) - epoch_us(lag(ts) OVER (PARTITION BY account ORDER BY ts)) AS gap_us
        FROM (SELECT src AS account, dst AS cp, amt, ts, 'out' AS dir FROM __acct_tx
              UNION ALL SELECT dst, src, amt, ts, 'in' FROM __acct_tx)
        WHERE ts IS NOT NULL AND {is_night("ts")} IS NOT NULL"""


def base_sql() -> str:
    """Per-account aggregates. Distinct counterparties and days come from pre-grouped tables joined
    after aggregation: DISTINCT aggregates would each re-group every event."""
    return f"""WITH p AS (SELECT account, cp, bool_or(dir = 'in') AS has_in, bool_or(dir = 'out') AS has_out
                   FROM __acct_ev GROUP BY account, cp),
        cps AS (SELECT account, count(*) FILTER (WHERE has_in) AS in_cp,
                  count(*) FILTER (WHERE has_out) AS out_cp, count(*) AS total_cp FROM p GROUP BY account),
        days AS (SELECT account, count(*) AS active_days
                 FROM (SELECT DISTINCT account, CAST(floor(epoch(ts) / 86400) AS BIGINT) AS d FROM __acct_ev)
                 GROUP BY account),
        agg AS (SELECT account,
            count(*) FILTER (WHERE dir = 'in') AS in_n,
            count(*) FILTER (WHERE dir = 'out') AS out_n,
            coalesce(sum(amt) FILTER (WHERE dir = 'in'), 0) AS in_amt_fen,
            coalesce(sum(amt) FILTER (WHERE dir = 'out'), 0) AS out_amt_fen,
            avg(CAST({is_night("ts")} AS INTEGER)) AS night_share,
            {days_between("max(ts)", "min(ts)")} AS span_days,
            {days_between("$as_of", "max(ts)")} AS days_since_last,
            min(ts) AS first_at,
            avg(amt) AS amt_mean_fen,
            {safe_div(exact_stddev_pop("amt"), "avg(amt)")} AS amt_cv,
            avg(CAST(amt % 10000 = 0 AS INTEGER)) AS round_amount_share,
            {safe_div(exact_stddev_pop("gap_us"), "avg(gap_us)")} AS gap_cv,
            max(gap_us) / 86400e6 AS max_gap_days
            FROM __acct_ev GROUP BY account)
        SELECT a.account, a.in_n, a.out_n, a.in_amt_fen, a.out_amt_fen, c.in_cp, c.out_cp, c.total_cp,
            a.night_share, d.active_days, a.span_days, a.days_since_last, a.first_at, a.amt_mean_fen,
            a.amt_cv, a.round_amount_share, a.gap_cv, a.max_gap_days
        FROM agg a JOIN cps c USING (account) JOIN days d USING (account)"""


def pairs_sql() -> str:
    """Counterparty pairs: how often and over how long each partner was used (one-off vs regular)."""
    return """WITH p AS (SELECT account, cp, dir, count(*) AS n, min(ts) AS first_at
                         FROM __acct_ev GROUP BY account, cp, dir),
        firsts AS (SELECT account, CAST(floor(epoch(first_at) / 86400) AS BIGINT) AS d, count(*) AS k
                   FROM p GROUP BY account, d)
        SELECT p.account,
            avg(CAST(n = 1 AS INTEGER)) FILTER (WHERE dir = 'in') AS in_oneoff_share,
            avg(CAST(n = 1 AS INTEGER)) FILTER (WHERE dir = 'out') AS out_oneoff_share,
            avg(n) AS tx_per_cp,
            any_value(f.peak) AS new_cp_peak_day
        FROM p JOIN (SELECT account, max(k) AS peak FROM firsts GROUP BY account) f USING (account)
        GROUP BY p.account"""


def dwell_sql() -> str:
    """快进快出: for each out-transfer the latest in-transfer at or before it, and for each
    in-transfer the first out-transfer at or after it (running max / min over the account's
    transfers in time order: window functions run on every engine, where an ASOF join is DuckDB's)."""
    return f"""WITH ev AS (SELECT src AS account, ts, amt, true AS is_out FROM __acct_tx
                UNION ALL SELECT dst AS account, ts, amt, false AS is_out FROM __acct_tx),
        w AS (SELECT account, ts, amt, is_out,
                max(CASE WHEN NOT is_out THEN ts END) OVER (PARTITION BY account ORDER BY ts
                    RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_in,
                min(CASE WHEN is_out THEN ts END) OVER (PARTITION BY account ORDER BY ts
                    RANGE BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS next_out
              FROM ev),
        o AS (SELECT account, amt, epoch(ts) - epoch(last_in) AS dwell_s FROM w WHERE is_out),
        i AS (SELECT account, amt, epoch(next_out) - epoch(ts) AS wait_s FROM w WHERE NOT is_out),
        od AS (SELECT account,
                 {safe_div(f"coalesce(sum(amt) FILTER (WHERE dwell_s <= {HOUR_S}), 0)", "sum(amt)")} AS out_within_1h_share,
                 {safe_div(f"coalesce(sum(amt) FILTER (WHERE dwell_s <= {FAST_S}), 0)", "sum(amt)")} AS out_within_1d_share,
                 {safe_div("coalesce(sum(amt) FILTER (WHERE dwell_s IS NULL), 0)", "sum(amt)")} AS out_before_any_in_share,
                 median(dwell_s) / 3600.0 AS dwell_median_h
               FROM o GROUP BY account),
        idd AS (SELECT account,
                 {safe_div(f"coalesce(sum(amt) FILTER (WHERE wait_s <= {FAST_S}), 0)", "sum(amt)")} AS in_leaves_1d_share
               FROM i GROUP BY account)
        SELECT coalesce(od.account, idd.account) AS account, od.* EXCLUDE (account), idd.in_leaves_1d_share
        FROM od FULL JOIN idd ON od.account = idd.account"""


def node_sql() -> str:
    """Per-account node table: base + pairs + dwell and the derived ratios."""
    return f"""SELECT b.*, p.* EXCLUDE (account), d.* EXCLUDE (account),
        {safe_div("least(b.in_amt_fen, b.out_amt_fen)", "greatest(b.in_amt_fen, b.out_amt_fen)")}
            AS pass_through_ratio,
        {safe_div("b.out_amt_fen", "b.in_amt_fen")} AS out_in_amount_ratio,
        {safe_div("b.in_n", "b.in_n + b.out_n")} AS in_count_share,
        {safe_div("b.in_n + b.out_n", "b.active_days")} AS tx_per_active_day
        FROM __acct_base b LEFT JOIN __acct_pairs p USING (account) LEFT JOIN __acct_dwell d USING (account)"""


def fast_relay(alias: str) -> str:
    """An account that passes money through: takes in and sends out similar sums, most within a day."""
    return f"({alias}.pass_through_ratio >= 0.5 AND coalesce({alias}.out_within_1d_share, 0) >= 0.5)"


def graph_sql() -> str:
    """Neighbourhood aggregates, 2-hop degrees, reciprocal partners and 3-cycles."""
    return f"""WITH e AS (SELECT src, dst, sum(amt) AS amt, count(*) AS n FROM __acct_tx GROUP BY src, dst),
        outn AS (SELECT e.src AS account,
                   {safe_div(f"coalesce(sum(e.amt) FILTER (WHERE {fast_relay('m')}), 0)", "sum(e.amt)")} AS out_to_relay_share,
                   sum(m.out_cp) AS out2_degree,
                   avg(m.in_cp) AS out_nbr_in_cp_mean,
                   avg(m.out_cp) AS out_nbr_out_cp_mean,
                   {exact_avg_share("m.pass_through_ratio")} AS out_nbr_pass_through_mean,
                   {exact_avg_share("m.in_oneoff_share")} AS out_nbr_in_oneoff_mean,
                   max(m.in_cp) AS out_nbr_in_cp_max
                 FROM e JOIN __acct_node m ON m.account = e.dst GROUP BY e.src),
        inn AS (SELECT e.dst AS account,
                   {safe_div(f"coalesce(sum(e.amt) FILTER (WHERE {fast_relay('m')}), 0)", "sum(e.amt)")} AS in_from_relay_share,
                   sum(m.in_cp) AS in2_degree,
                   avg(m.out_cp) AS in_nbr_out_cp_mean,
                   avg(m.in_cp) AS in_nbr_in_cp_mean,
                   {exact_avg_share("m.pass_through_ratio")} AS in_nbr_pass_through_mean,
                   {exact_avg_share("m.out_oneoff_share")} AS in_nbr_out_oneoff_mean,
                   max(m.out_cp) AS in_nbr_out_cp_max
                 FROM e JOIN __acct_node m ON m.account = e.src GROUP BY e.dst),
        recip AS (SELECT a.src AS account, count(*) AS reciprocal_cp
                  FROM e a JOIN e b ON a.src = b.dst AND a.dst = b.src GROUP BY a.src),
        small AS (SELECT e.* FROM e JOIN __acct_node s ON s.account = e.src WHERE s.out_cp <= 50),
        tri AS (SELECT a.src AS account, count(DISTINCT a.dst) AS cycle3_cp
                FROM small a JOIN small b ON a.dst = b.src JOIN small c ON b.dst = c.src AND c.dst = a.src
                WHERE a.src <> b.dst GROUP BY a.src)
        SELECT n.account, outn.* EXCLUDE (account), inn.* EXCLUDE (account),
               coalesce(recip.reciprocal_cp, 0) AS reciprocal_cp, coalesce(tri.cycle3_cp, 0) AS cycle3_cp
        FROM __acct_node n LEFT JOIN outn USING (account) LEFT JOIN inn USING (account)
        LEFT JOIN recip USING (account) LEFT JOIN tri USING (account)"""


def attributes_sql(cols: set[str], card_cols: set[str] | None = None) -> str:
    """Account-table features (``cols``: the columns of ``accounts``): cross-bank relays, age,
    dormancy before first use, accounts per owner; how many people opened an account on the device
    or from the IP address this one was opened from (a card dealer opens his farmers' accounts on
    his own phone: 同设备开户);
    with the operators' ``phone_cards`` (``card_cols``: its columns, which must hold owner_id and
    opened_at), the owner's phone cards (两卡: a card farmer sells phone cards and bank cards
    together): how many he holds, how many he opened in the last 90 days, and how many cards were
    activated on the device that activated one of his (the dealer's handset)."""
    has_bank, has_owner, has_opened = "bank" in cols, "owner_id" in cols, "opened_at" in cols
    parts = ["a.account_no AS account"]
    joins = ""
    named = named_tx_sql()
    if has_bank:
        joins += f""" LEFT JOIN (SELECT t.dst AS account,
                  avg(CAST(fa.bank <> ta.bank AS INTEGER)) AS in_crossbank_share
                FROM {named} t JOIN accounts fa ON fa.account_no = t.src JOIN accounts ta ON ta.account_no = t.dst
                GROUP BY t.dst) cbi ON cbi.account = a.account_no
            LEFT JOIN (SELECT t.src AS account,
                  avg(CAST(fa.bank <> ta.bank AS INTEGER)) AS out_crossbank_share
                FROM {named} t JOIN accounts fa ON fa.account_no = t.src JOIN accounts ta ON ta.account_no = t.dst
                GROUP BY t.src) cbo ON cbo.account = a.account_no"""
        parts += [
            "cbi.in_crossbank_share",
            "cbo.out_crossbank_share",
            "CAST(coalesce(cbi.in_crossbank_share, 0) > 0 AND coalesce(cbo.out_crossbank_share, 0) > 0 "
            "AS INTEGER) AS crossbank_relay",
        ]
    if has_owner:
        joins += """ LEFT JOIN (SELECT owner_id, count(*) AS accounts_per_owner FROM accounts
                WHERE owner_id IS NOT NULL GROUP BY owner_id) own ON own.owner_id = a.owner_id"""
        parts.append("coalesce(own.accounts_per_owner, 1) AS accounts_per_owner")
    people = "count(DISTINCT owner_id)" if has_owner else "count(*)"
    opened = "opened_at <= $as_of" if has_opened else "TRUE"  # accounts opened later do not count yet
    for column, name in (("open_imei", "open_device_owners"), ("open_ip", "open_ip_owners")):
        if column in cols:
            joins += f""" LEFT JOIN (SELECT {column}, {people} AS n FROM accounts
                    WHERE {opened} AND {column} IS NOT NULL GROUP BY {column}) {name}
                    ON {name}.{column} = a.{column}"""
            parts.append(f"CASE WHEN a.{column} IS NOT NULL THEN coalesce({name}.n, 0) END AS {name}")
    if has_owner and card_cols is not None:
        live = "c.opened_at <= $as_of"
        closed = "c.closed_at IS NOT NULL AND c.closed_at <= $as_of" if "closed_at" in card_cols else "FALSE"
        device, shared = "", "NULL"
        if "open_imei" in card_cols:
            device = f"""LEFT JOIN (SELECT open_imei, count(DISTINCT number) AS n FROM phone_cards c
                  WHERE {live} AND open_imei IS NOT NULL GROUP BY open_imei) d ON d.open_imei = c.open_imei"""
            shared = "max(d.n)"
        joins += f""" LEFT JOIN (SELECT c.owner_id,
                  count(*) FILTER (WHERE NOT ({closed})) AS owner_phone_cards,
                  count(*) FILTER (WHERE c.opened_at > $as_of - INTERVAL 90 DAY) AS owner_recent_phone_cards,
                  {shared} AS owner_card_device_cards
                FROM phone_cards c {device}
                WHERE {live} AND c.owner_id IS NOT NULL GROUP BY c.owner_id) oc
                ON CAST(oc.owner_id AS VARCHAR) = CAST(a.owner_id AS VARCHAR)"""
        parts += [
            "coalesce(oc.owner_phone_cards, 0) AS owner_phone_cards",
            "coalesce(oc.owner_recent_phone_cards, 0) AS owner_recent_phone_cards",
            "coalesce(oc.owner_card_device_cards, 0) AS owner_card_device_cards",
        ]
    if has_opened:
        joins += """ LEFT JOIN __acct_keys kn ON kn.account = a.account_no
            LEFT JOIN __acct_node nd ON nd.account = kn.k"""
        parts.append(f"{days_between('$as_of', 'a.opened_at')} AS account_age_days")
        parts.append(f"{days_between('nd.first_at', 'a.opened_at')} AS dormant_days_before_first")
    return f"SELECT {', '.join(parts)} FROM accounts a {joins}"


def withdrawals_sql(window_days: int | None, has_location: bool, has_atm: bool) -> str:
    loc = "count(DISTINCT location)" if has_location else "NULL"
    atm = "count(DISTINCT atm_id)" if has_atm else "NULL"
    return f"""SELECT account, count(*) AS withdrawal_n, sum(amount_fen) AS withdrawal_amt_fen,
            {loc} AS withdrawal_places, {atm} AS withdrawal_atms,
            avg(CAST({is_night('"at"')} AS INTEGER)) AS withdrawal_night_share
        FROM withdrawals WHERE {window_filter('"at"', window_days)} GROUP BY account"""


def logins_sql(window_days: int | None, cols: set[str], has_owners: bool) -> str:
    """Mobile-banking logins (登录日志): how many, from how many handsets, and how many people's
    accounts the busiest of its handsets / networks reaches (一机多户: a gang's phone running the
    mule accounts it bought; a child's phone managing a parent's account is the look-alike)."""
    owner = "coalesce(a.owner_id, l.account)" if has_owners else "l.account"
    owners_join = "LEFT JOIN accounts a ON a.account_no = l.account" if has_owners else ""
    imei = "imei" if "imei" in cols else "CAST(NULL AS VARCHAR)"
    ip = "ip" if "ip" in cols else "CAST(NULL AS VARCHAR)"
    return f"""WITH l AS (SELECT account, {imei} AS imei, {ip} AS ip FROM logins
                       WHERE {window_filter('"at"', window_days)} AND account IS NOT NULL),
        dev AS (SELECT l.imei, count(DISTINCT {owner}) AS owners FROM l {owners_join}
                WHERE l.imei IS NOT NULL GROUP BY l.imei),
        net AS (SELECT l.ip, count(DISTINCT {owner}) AS owners FROM l {owners_join}
                WHERE l.ip IS NOT NULL GROUP BY l.ip)
        SELECT l.account, count(*) AS logins, count(DISTINCT l.imei) AS login_devices,
            max(dev.owners) AS login_device_owners, max(net.owners) AS login_ip_owners
        FROM l LEFT JOIN dev USING (imei) LEFT JOIN net USING (ip) GROUP BY l.account"""


def flagged_sql() -> str:
    """Money from or to accounts already flagged (``flagged_accounts.account``)."""
    return f"""SELECT n.account,
        {
        safe_div(
            "coalesce(sum(t.amt) FILTER (WHERE t.dst = n.account AND fs.account IS NOT NULL), 0)",
            "sum(t.amt) FILTER (WHERE t.dst = n.account)",
        )
    } AS in_from_flagged_share,
        {
        safe_div(
            "coalesce(sum(t.amt) FILTER (WHERE t.src = n.account AND fd.account IS NOT NULL), 0)",
            "sum(t.amt) FILTER (WHERE t.src = n.account)",
        )
    } AS out_to_flagged_share
        FROM __acct_keys n JOIN {named_tx_sql()} t ON t.src = n.account OR t.dst = n.account
        LEFT JOIN flagged_accounts fs ON fs.account = t.src
        LEFT JOIN flagged_accounts fd ON fd.account = t.dst
        GROUP BY n.account"""


def materialise(engine: Engine, name: str, sql: str, params: dict[str, Any]) -> None:
    """CREATE a temp table from ``sql``; parameters are passed only when the query uses them."""
    used = {k: v for k, v in params.items() if f"${k}" in sql}
    engine.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", used or None)


# Records in the window from which the numba path is chosen automatically on a local engine:
# measured crossovers (benchmarks/features.py --child fast|sql): 200k calls 0.7 s numba vs 0.3 s SQL
# wall, 500k calls equal wall and 0.95 vs 1.34 s CPU; 100k transfers equal, 500k transfers 1.2 vs
# 1.6 s wall. Below, the kernels' cache load (≈ 0.5 s) dominates.
ACCELERATE_MIN_CALLS = 500_000
ACCELERATE_MIN_TRANSFERS = 200_000


def use_fast_path(
    engine: Engine,
    table: str,
    time_col: str,
    window_days: int | None,
    params: dict[str, Any],
    min_rows: int,
) -> bool:
    """The accelerated (numba) feature paths run next to a local engine (DuckDB), not Spark, and
    only where they pay: from ``min_rows`` records in the window."""
    if not isinstance(engine, DuckDBEngine):
        return False
    sql = f"SELECT count(*) FROM {table} WHERE {window_filter(time_col, window_days)}"
    return int(engine.scalar(sql, {k: v for k, v in params.items() if f"${k}" in sql})) >= min_rows


def load_table(engine: Engine, name: str, table: pa.Table, casts: dict[str, str] | None = None) -> None:
    """A temp table ``name`` holding ``table`` (what :func:`materialise` makes from SQL), with
    ``casts`` {column: SQL type} to match the SQL stage's types."""
    staging = f"{name}__arrow"
    engine.register(staging, table)
    replace = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in (casts or {}).items())
    select = f"* REPLACE ({replace})" if replace else "*"
    try:
        engine.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select} FROM {staging}")
    finally:
        engine.execute(f"DROP VIEW IF EXISTS {staging}")


def _as_of(engine: Engine, as_of: datetime | None) -> datetime:
    if as_of is not None:
        return as_of
    latest = engine.scalar('SELECT max("at") FROM transfers')
    if latest is None:
        raise ValidationError(
            "table 'transfers' is empty: no account features can be computed", field="transfers"
        )
    return latest


def account_features(
    engine: Engine,
    *,
    window_days: int | None = 30,
    as_of: datetime | None = None,
    accelerate: bool | None = None,
) -> pa.Table:
    """One row per account seen in ``transfers`` (and ``accounts``) with every account feature.

    ``as_of`` defaults to the latest transfer; the window is (as_of − window_days, as_of].
    ``accelerate`` (default: a local engine, i.e. DuckDB, and at least
    ``ACCELERATE_MIN_TRANSFERS`` transfers in the window) computes the transfer stages
    with the numba kernels of :mod:`fanzha.risk.fast_accounts` instead of SQL; the result is the
    same (transfers with a null amount always take the SQL path).
    """
    require_columns(engine, "transfers", TRANSFER_COLUMNS)
    params: dict[str, Any] = {"as_of": _as_of(engine, as_of)}
    present = optional_tables(
        engine, ("accounts", "withdrawals", "flagged_accounts", "phone_cards", "logins")
    )
    if accelerate is None:
        accelerate = use_fast_path(engine, "transfers", '"at"', window_days, params, ACCELERATE_MIN_TRANSFERS)
    fast = None
    if accelerate:
        with reused_memory():
            fast = account_tables(engine, window_days, params)
    if fast is not None:
        needs_tx = bool({"accounts", "flagged_accounts"} & present)  # their stages read it
        for name, (table, casts) in fast.items():
            if name != "__acct_tx" or needs_tx:
                load_table(engine, name, table, casts)
    else:
        stages = (
            ("__acct_keys", keys_sql(window_days)),
            ("__acct_tx", tx_sql(window_days)),
            ("__acct_ev", events_sql()),
            ("__acct_base", base_sql()),
            ("__acct_pairs", pairs_sql()),
            ("__acct_dwell", dwell_sql()),
            ("__acct_node", node_sql()),
            ("__acct_graph", graph_sql()),
        )
        for name, sql in stages:
            materialise(engine, name, sql, params)
    extra: list[str] = []
    if "accounts" in present:
        require_columns(engine, "accounts", ("account_no",))
        cols = set(table_columns(engine, "accounts"))
        card_cols = set(table_columns(engine, "phone_cards")) if "phone_cards" in present else set()
        materialise(
            engine,
            "__acct_attr",
            attributes_sql(cols, card_cols if {"owner_id", "opened_at"} <= card_cols else None),
            params,
        )
        extra.append("__acct_attr")
    if "withdrawals" in present:
        require_columns(engine, "withdrawals", ("account", "amount_fen", "at"))
        cols = set(table_columns(engine, "withdrawals"))
        materialise(
            engine, "__acct_wd", withdrawals_sql(window_days, "location" in cols, "atm_id" in cols), params
        )
        extra.append("__acct_wd")
    if "flagged_accounts" in present:
        require_columns(engine, "flagged_accounts", ("account",))
        materialise(engine, "__acct_flag", flagged_sql(), params)
        extra.append("__acct_flag")
    attributes: list[str] = []
    if "logins" in present:
        require_columns(engine, "logins", ("account", "at"))
        has_owners = "accounts" in present and "owner_id" in table_columns(engine, "accounts")
        materialise(
            engine,
            "__acct_login",
            logins_sql(window_days, set(table_columns(engine, "logins")), has_owners),
            params,
        )
        attributes.append("__acct_login")
    final = _final_sql(extra, attributes)
    return engine.query(final, {k: v for k, v in params.items() if f"${k}" in final} or None)


def _final_sql(extra: list[str], attributes: list[str] | None = None) -> str:
    """The feature table: every account of the window's transfers and of the ``extra`` tables, with
    the ``attributes`` tables (logins) joined on but never adding an account."""
    attributes = attributes or []
    counts = list(ACCOUNT_COUNTS) + (list(LOGIN_COUNTS) if "__acct_login" in attributes else [])
    zero = ", ".join(f"coalesce({c}, 0) AS {c}" for c in counts)
    if extra:  # accounts only in the extra tables too: join on the account numbers
        universe = " UNION ".join(
            ["SELECT account FROM __acct_keys"] + [f"SELECT account FROM {t}" for t in extra]
        )
        source = (
            f"(WITH u AS ({universe}) SELECT * FROM u) u LEFT JOIN __acct_keys kk ON kk.account = u.account"
        )
    else:  # every account is in the keys: no join on the (long) account-number strings
        source = "__acct_keys kk"
    by_name = "u.account" if extra else "kk.account"
    joins = " ".join(f"LEFT JOIN {t} ON {t}.account = {by_name}" for t in extra + attributes)
    selects = "".join(f", {t}.* EXCLUDE (account)" for t in extra + attributes)
    return f"""SELECT * REPLACE ({zero}) FROM (
        SELECT {"u" if extra else "kk"}.account AS id, n.* EXCLUDE (account, first_at),
            g.* EXCLUDE (account){selects}
        FROM {source}
        LEFT JOIN __acct_node n ON n.account = kk.k
        LEFT JOIN __acct_graph g ON g.account = kk.k {joins})
        ORDER BY id"""
