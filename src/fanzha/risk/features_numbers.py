"""Per-phone-number features in SQL (DuckDB dialect) through the Engine.

Input tables by record kind: ``calls`` (required: caller, callee, start_at, duration_s; optional
direction, city, imei), optional ``sms`` (sender, receiver, sent_at, imei), ``phone_cards``
(number, owner_id, opened_at, closed_at, card_type, open_imei), ``topups`` (number, amount_fen, at,
payer_account) and ``data_usage`` (number, start_at, kb). Top-ups and data usage describe the
numbers found in the other tables; a number that only tops up or only uses data is not added.

A call may be recorded twice (once from each side, ``direction`` out / in); the query keeps one row
per (caller, callee, start_at) and attributes the handset: the IMEI of the ``out`` row belongs to
the caller, of the ``in`` row to the callee. A callee's region is its home city (the city most of its
own records carry), so "callee dispersion" counts the cities of the people called.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from fanzha.engine.base import Engine
from fanzha.errors import ValidationError
from fanzha.risk.fast_numbers import call_tables
from fanzha.risk.features_accounts import (
    ACCELERATE_MIN_CALLS,
    load_table,
    materialise,
    use_fast_path,
)
from fanzha.risk.kernels import reused_memory
from fanzha.risk.sqlparts import (
    days_between,
    exact_stddev_pop,
    is_night,
    optional_tables,
    require_columns,
    safe_div,
    table_columns,
    window_filter,
)

CALL_COLUMNS = ("caller", "callee", "start_at", "duration_s")
SHORT_CALL_S = 15
ATTRIBUTES = ("__num_topup", "__num_data")  # describe known numbers; never add one
# features that do not depend on the window (the card registrations as of the scoring time)
NUMBER_STATIC = (
    "card_age_days",
    "owner_cards",
    "owner_recent_cards",
    "owner_closed_cards",
    "open_device_cards",
    "is_industry_card",
)
NUMBER_COUNTS = (
    "topups",
    "topup_fen",
    "topup_payer_cards",
    "data_mb",
    "data_days",
    "out_calls",
    "in_calls",
    "distinct_callees",
    "distinct_callers",
    "sms_out",
    "sms_receivers",
    "sms_in",
)


def calls_sql(window_days: int | None, cols: set[str]) -> str:
    direction = "direction" in cols
    imei = "imei" in cols
    caller_imei = (
        "any_value(imei) FILTER (WHERE direction = 'out')"
        if direction and imei
        else ("any_value(imei)" if imei else "NULL")
    )
    callee_imei = "any_value(imei) FILTER (WHERE direction = 'in')" if direction and imei else "NULL"
    caller_city = (
        "any_value(city) FILTER (WHERE direction = 'out')"
        if direction and "city" in cols
        else ("any_value(city)" if "city" in cols else "NULL")
    )
    callee_city = (
        "any_value(city) FILTER (WHERE direction = 'in')" if direction and "city" in cols else "NULL"
    )
    return f"""SELECT a.k AS caller, b.k AS callee, "start_at" AS ts, max(duration_s) AS dur,
            {caller_imei} AS caller_imei, {callee_imei} AS callee_imei,
            {caller_city} AS caller_city, {callee_city} AS callee_city
        FROM calls JOIN __num_keys a ON a.number = calls.caller JOIN __num_keys b ON b.number = calls.callee
        WHERE {window_filter('"start_at"', window_days)}
        GROUP BY a.k, b.k, "start_at" """


def keys_sql(window_days: int | None) -> str:
    """Dense integer key per number in the window's calls.

    The call stages group and join on these 4-byte keys instead of the phone-number strings
    (hashing and comparing strings dominated the run time); names come back in the final select.
    """
    live = f"{window_filter('start_at', window_days)} AND caller IS NOT NULL AND callee IS NOT NULL"
    return f"""SELECT number, CAST(row_number() OVER (ORDER BY number) AS INTEGER) AS k FROM (
            SELECT caller AS number FROM calls WHERE {live} UNION SELECT callee FROM calls WHERE {live})"""


def home_city_sql() -> str:
    """Each number's home city: the city most of its own call records carry (ties: the first by name,
    so the result does not depend on scan order)."""
    return """SELECT number, first(city ORDER BY n DESC, city) AS home_city FROM (
            SELECT number, city, count(*) AS n FROM (
                SELECT caller AS number, caller_city AS city FROM __num_calls WHERE caller_city IS NOT NULL
                UNION ALL SELECT callee, callee_city FROM __num_calls WHERE callee_city IS NOT NULL)
            GROUP BY number, city)
        GROUP BY number"""


def outgoing_sql() -> str:
    """Per-caller call features. Distinct counts come from small pre-grouped tables (one row per
    caller–callee pair, caller–day, caller–city) joined after aggregation, not DISTINCT aggregates
    and joins over every call."""
    hour = "CAST(floor(epoch(ts) / 3600) AS BIGINT)"
    day = "CAST(floor(epoch(ts) / 86400) AS BIGINT)"
    return f"""WITH per_callee AS (SELECT * FROM __num_pairs),
        pc AS (SELECT p.caller, count(*) AS distinct_callees, avg(CAST(p.n >= 2 AS INTEGER)) AS repeat_callee_share,
                 avg(CAST(r.caller IS NOT NULL AS INTEGER)) AS callback_share
               FROM per_callee p LEFT JOIN per_callee r ON r.caller = p.callee AND r.callee = p.caller
               GROUP BY p.caller),
        peak AS (SELECT caller, max(k) AS peak_hour_calls
                 FROM (SELECT caller, {hour} AS h, count(*) AS k FROM __num_calls GROUP BY caller, h) GROUP BY caller),
        days AS (SELECT caller, count(*) AS active_days
                 FROM (SELECT DISTINCT caller, {day} AS d FROM __num_calls) GROUP BY caller),
        city AS (SELECT caller, count(*) AS callee_cities, max(k) AS top_city_calls, sum(k) AS located_calls
                 FROM (SELECT p.caller, h.home_city, sum(p.n) AS k FROM per_callee p
                       JOIN __num_home h ON h.number = p.callee GROUP BY p.caller, h.home_city)
                 GROUP BY caller),
        agg AS (SELECT caller, count(*) AS out_calls,
                  avg(CAST(dur < {SHORT_CALL_S} AS INTEGER)) AS short_call_share,
                  avg(dur) AS dur_mean_s, median(dur) AS dur_median_s, {exact_stddev_pop("dur")} AS dur_std_s,
                  avg(CAST({is_night("ts")} AS INTEGER)) AS night_share
                FROM __num_calls GROUP BY caller)
        SELECT a.caller AS number, a.out_calls, pc.distinct_callees,
            {safe_div("pc.distinct_callees", "a.out_calls")} AS callee_per_call,
            a.short_call_share, a.dur_mean_s, a.dur_median_s, a.dur_std_s, a.night_share,
            days.active_days, {safe_div("a.out_calls", "days.active_days")} AS calls_per_active_day,
            coalesce(city.callee_cities, 0) AS callee_cities,
            {safe_div("city.top_city_calls", "city.located_calls")} AS top_city_share,
            pc.repeat_callee_share, pc.callback_share, peak.peak_hour_calls
        FROM agg a JOIN pc USING (caller) JOIN peak USING (caller) JOIN days USING (caller)
        LEFT JOIN city USING (caller)"""


def pairs_sql() -> str:
    """Calls per (caller, callee) pair, shared by the outgoing and incoming features."""
    return "SELECT caller, callee, count(*) AS n FROM __num_calls GROUP BY caller, callee"


def incoming_sql() -> str:
    return """SELECT callee AS number, CAST(sum(n) AS BIGINT) AS in_calls, count(*) AS distinct_callers
        FROM __num_pairs GROUP BY callee"""


def devices_sql() -> str:
    """Device–SIM relations: how many handsets a number uses, how many numbers share its handset."""
    return """WITH use AS (SELECT DISTINCT caller AS number, caller_imei AS imei FROM __num_calls
                         WHERE caller_imei IS NOT NULL
                         UNION SELECT callee, callee_imei FROM __num_calls WHERE callee_imei IS NOT NULL),
        per_imei AS (SELECT imei, count(DISTINCT number) AS sims FROM use GROUP BY imei)
        SELECT u.number, count(DISTINCT u.imei) AS imeis, max(p.sims) AS max_sims_on_device
        FROM use u JOIN per_imei p USING (imei) GROUP BY u.number"""


def sms_sql(window_days: int | None) -> str:
    return f"""WITH s AS (SELECT sender, receiver FROM sms WHERE {window_filter('"sent_at"', window_days)})
        SELECT number, sum(sms_out) AS sms_out, sum(sms_receivers) AS sms_receivers, sum(sms_in) AS sms_in
        FROM (SELECT sender AS number, count(*) AS sms_out, count(DISTINCT receiver) AS sms_receivers, 0 AS sms_in
              FROM s GROUP BY sender
              UNION ALL SELECT receiver, 0, 0, count(*) FROM s GROUP BY receiver)
        GROUP BY number"""


def cards_sql(cols: set[str]) -> str:
    """Card age, cards per owner ID (一人多卡), recent openings, churn, shared activation device."""
    live = "opened_at <= $as_of"
    parts = ["c.number", f"min({days_between('$as_of', 'c.opened_at')}) AS card_age_days"]
    joins = ""
    if "owner_id" in cols:
        closed = "closed_at IS NOT NULL AND closed_at <= $as_of" if "closed_at" in cols else "FALSE"
        joins += f""" LEFT JOIN (SELECT owner_id, count(*) FILTER (WHERE NOT ({closed})) AS owner_cards,
                count(*) FILTER (WHERE opened_at > $as_of - INTERVAL 30 DAY) AS owner_recent_cards,
                count(*) FILTER (WHERE {closed}) AS owner_closed_cards
              FROM phone_cards WHERE {live} AND owner_id IS NOT NULL GROUP BY owner_id) o
              ON o.owner_id = c.owner_id"""
        parts += [
            "max(o.owner_cards) AS owner_cards",
            "max(o.owner_recent_cards) AS owner_recent_cards",
            "max(o.owner_closed_cards) AS owner_closed_cards",
        ]
    if "open_imei" in cols:
        joins += f""" LEFT JOIN (SELECT open_imei, count(DISTINCT number) AS open_device_cards
              FROM phone_cards WHERE {live} AND open_imei IS NOT NULL GROUP BY open_imei) d
              ON d.open_imei = c.open_imei"""
        parts.append("coalesce(max(d.open_device_cards), 1) AS open_device_cards")
    if "card_type" in cols:
        parts.append("max(CAST(c.card_type IN ('industry', 'iot') AS INTEGER)) AS is_industry_card")
    return f"SELECT {', '.join(parts)} FROM phone_cards c {joins} WHERE c.{live} GROUP BY c.number"


def topups_sql(window_days: int | None, has_payer: bool) -> str:
    """Top-ups (充值): how many and how much; the share with no account behind them (cash, voucher,
    anonymous third party); and the most cards any of its payers tops up in the window — a dealer
    keeping a batch of cards alive (养卡) or an employer paying its staff's cards (集团代付)."""
    if not has_payer:  # the partner does not say who paid: the payer features are absent, not 0 / 100 %
        return f"""SELECT number, count(*) AS topups, CAST(sum(amount_fen) AS BIGINT) AS topup_fen
            FROM topups WHERE {window_filter('"at"', window_days)} AND number IS NOT NULL GROUP BY number"""
    return f"""WITH t AS (SELECT number, amount_fen, payer_account AS payer FROM topups
                       WHERE {window_filter('"at"', window_days)} AND number IS NOT NULL),
        payers AS (SELECT payer, count(DISTINCT number) AS cards FROM t WHERE payer IS NOT NULL GROUP BY payer)
        SELECT t.number, count(*) AS topups, CAST(sum(t.amount_fen) AS BIGINT) AS topup_fen,
            avg(CAST(t.payer IS NULL AS INTEGER)) AS topup_no_account_share,
            coalesce(max(p.cards), 0) AS topup_payer_cards
        FROM t LEFT JOIN payers p USING (payer) GROUP BY t.number"""


def data_sql(window_days: int | None) -> str:
    """Mobile data (流量): MB used and the number of days (Beijing time) with any use (a SIM-farm
    card places calls and uses next to no data)."""
    return f"""SELECT number, CAST(sum(kb) AS BIGINT) / 1024.0 AS data_mb,
            count(DISTINCT CAST(floor((epoch("start_at") + 28800) / 86400) AS BIGINT)) FILTER (WHERE kb > 0)
                AS data_days
        FROM data_usage WHERE {window_filter('"start_at"', window_days)} AND number IS NOT NULL
        GROUP BY number"""


def _as_of(engine: Engine, as_of: datetime | None) -> datetime:
    if as_of is not None:
        return as_of
    latest = engine.scalar('SELECT max("start_at") FROM calls')
    if latest is None:
        raise ValidationError("table 'calls' is empty: no number features can be computed", field="calls")
    return latest


def number_features(
    engine: Engine,
    *,
    window_days: int | None = 30,
    as_of: datetime | None = None,
    accelerate: bool | None = None,
) -> pa.Table:
    """One row per number (callers, SMS senders and registered cards) with every number feature.

    ``accelerate`` (default: a local engine, i.e. DuckDB, and at least ``ACCELERATE_MIN_CALLS``
    calls in the window) computes the call stages with
    the numba kernels of :mod:`fanzha.risk.fast_numbers` instead of SQL; the result is the same.
    """
    require_columns(engine, "calls", CALL_COLUMNS)
    params: dict[str, Any] = {"as_of": _as_of(engine, as_of)}
    call_cols = set(table_columns(engine, "calls"))
    if accelerate is None:
        accelerate = use_fast_path(engine, "calls", '"start_at"', window_days, params, ACCELERATE_MIN_CALLS)
    stages: list[tuple[str, str]] = []
    present = optional_tables(engine, ("sms", "phone_cards", "topups", "data_usage"))
    if accelerate:
        with reused_memory():
            tables = call_tables(
                engine, window_days, params, call_cols, callers_only=not {"sms", "phone_cards"} & present
            )
        for name, table in tables.items():
            load_table(engine, name, table)
    else:
        stages += [
            ("__num_keys", keys_sql(window_days)),
            ("__num_calls", calls_sql(window_days, call_cols)),
            ("__num_home", home_city_sql()),
            ("__num_pairs", pairs_sql()),
            ("__num_out", outgoing_sql()),
            ("__num_in", incoming_sql()),
            ("__num_dev", devices_sql()),
        ]
    if "sms" in present:
        require_columns(engine, "sms", ("sender", "receiver", "sent_at"))
        stages.append(("__num_sms", sms_sql(window_days)))
    if "phone_cards" in present:
        require_columns(engine, "phone_cards", ("number", "opened_at"))
        stages.append(("__num_cards", cards_sql(set(table_columns(engine, "phone_cards")))))
    if "topups" in present:
        require_columns(engine, "topups", ("number", "amount_fen", "at"))
        # payers supplied: the column exists and names at least one payer (a lake column left empty
        # by a partner who does not send it says nothing about who paid)
        has_payer = "payer_account" in table_columns(engine, "topups") and bool(
            engine.scalar("SELECT count(payer_account) FROM topups")
        )
        stages.append(("__num_topup", topups_sql(window_days, has_payer)))
    if "data_usage" in present:
        require_columns(engine, "data_usage", ("number", "start_at", "kb"))
        stages.append(("__num_data", data_sql(window_days)))
    for name, sql in stages:
        materialise(engine, name, sql, params)
    parts = ["__num_out", "__num_in", "__num_dev"] + [
        name for name, _ in stages if name in ("__num_sms", "__num_cards", *ATTRIBUTES)
    ]
    keyed = ("__num_out", "__num_in", "__num_dev")  # these carry the integer key in ``number``
    unkeyed = [t for t in parts if t not in keyed and t not in ATTRIBUTES]
    selects = "".join(f", {t}.* EXCLUDE (number)" for t in parts)
    if unkeyed:  # numbers only in SMS or cards too: join on the number strings
        universe = " UNION ".join(
            ["SELECT k.number FROM __num_out JOIN __num_keys k ON k.k = __num_out.number"]
            + [f"SELECT number FROM {t}" for t in unkeyed]
        )
        source = f"(WITH u AS ({universe}) SELECT * FROM u) u LEFT JOIN __num_keys kk ON kk.number = u.number"
    else:  # the callers are every number: integer keys only
        source = "(SELECT k.number, k.k FROM __num_out JOIN __num_keys k ON k.k = __num_out.number) kk"
    by_name = "u.number" if unkeyed else "kk.number"
    joins = " ".join(f"LEFT JOIN {t} ON {t}.number = {'kk.k' if t in keyed else by_name}" for t in parts)
    outbound = safe_div(
        "coalesce(__num_out.out_calls, 0)",
        "coalesce(__num_out.out_calls, 0) + coalesce(__num_in.in_calls, 0)",
    )
    source_of = {"sms_": "__num_sms", "topup": "__num_topup", "data_": "__num_data"}
    produced = {t: set(table_columns(engine, t)) for t in set(source_of.values()) & set(parts)}
    counts = [
        c
        for c in NUMBER_COUNTS
        if all(t in parts and c in produced[t] for prefix, t in source_of.items() if c.startswith(prefix))
    ]
    zero = ", ".join(f"coalesce({c}, 0) AS {c}" for c in counts)
    return engine.query(
        f"""SELECT * REPLACE ({zero}) FROM (
        SELECT {"u" if unkeyed else "kk"}.number AS id{selects}, {outbound} AS outbound_share
        FROM {source} {joins}) ORDER BY id"""
    )
