"""Feature → plain-words reason. A model's per-record contributions (LightGBM ``pred_contrib``) pick
the features that pushed a score up; this catalogue says what they mean to an analyst.

Each entry: reason code, message template (``{v}`` is the formatted value) and value format
(``pct`` share 0–1 shown as %, ``n`` count, ``d`` days, ``h`` hours, ``yuan`` fen shown as yuan,
``x`` ratio). Features not in the catalogue get a generic message naming the feature and value.
"""

from __future__ import annotations

import math
import re

Entry = tuple[str, str, str]

NUMBER_REASONS: dict[str, Entry] = {
    "dur_std_s": ("DURATION_SPREAD", "call durations vary by {v} s (standard deviation)", "d"),
    "distinct_callers": ("CALLED_BY", "called by {v} different numbers", "n"),
    "sms_in": ("SMS_IN", "received {v} SMS", "n"),
    "out_calls": ("CALL_VOLUME", "{v} outgoing calls", "n"),
    "calls_per_active_day": ("CALL_RATE", "{v} calls per active day", "x"),
    "distinct_callees": ("MANY_CALLEES", "called {v} different numbers", "n"),
    "callee_per_call": ("FEW_REPEATS", "{v} of calls go to a new number", "pct"),
    "outbound_share": ("OUTBOUND_ONLY", "{v} of calls are outgoing", "pct"),
    "short_call_share": ("SHORT_CALLS", "{v} of calls shorter than 15 s", "pct"),
    "dur_mean_s": ("CALL_DURATION", "average call lasts {v} s", "x"),
    "dur_median_s": ("CALL_DURATION", "median call lasts {v} s", "x"),
    "night_share": ("NIGHT_CALLS", "{v} of calls at night (00–06)", "pct"),
    "callee_cities": ("WIDE_REACH", "calls into {v} different cities", "n"),
    "top_city_share": ("CITY_SPREAD", "only {v} of calls in its main city", "pct"),
    "repeat_callee_share": ("FEW_REPEATS", "only {v} of callees called more than once", "pct"),
    "callback_share": ("NO_CALLBACKS", "only {v} of called numbers ever call back", "pct"),
    "in_calls": ("FEW_INCOMING", "{v} incoming calls", "n"),
    "sms_out": ("SMS_VOLUME", "{v} SMS sent", "n"),
    "sms_receivers": ("SMS_SPREAD", "SMS to {v} different numbers", "n"),
    "imeis": ("MANY_DEVICES", "used in {v} devices", "n"),
    "max_sims_on_device": ("SIM_FARM", "its device holds {v} SIM cards (猫池 / GOIP?)", "n"),
    "card_age_days": ("CARD_AGE", "card opened {v} days ago", "d"),
    "owner_cards": ("MANY_CARDS", "owner has {v} phone cards (一人多卡)", "n"),
    "owner_recent_cards": ("NEW_CARDS", "owner opened {v} cards in the last 30 days", "n"),
    "owner_closed_cards": ("CARD_CHURN", "owner closed {v} cards (number churn)", "n"),
    "open_device_cards": ("SHARED_OPENING", "{v} cards activated on the same device", "n"),
    "is_industry_card": ("INDUSTRY_CARD", "industry / IoT card used for calls", "x"),
    "active_days": ("ACTIVITY", "active on {v} days", "n"),
    "peak_hour_calls": ("CALL_BURST", "{v} calls in its busiest hour", "n"),
    "topups": ("TOPUPS", "topped up {v} times in the window", "n"),
    "topup_fen": ("TOPUP_AMOUNT", "topped up {v} in the window", "yuan"),
    "topup_no_account_share": (
        "ANONYMOUS_TOPUP",
        "{v} of top-ups paid with no account behind them (cash, voucher, third party)",
        "pct",
    ),
    "topup_payer_cards": (
        "BULK_TOPUP",
        "topped up by an account that tops up {v} cards (养卡 / 集团代付)",
        "n",
    ),
    "data_mb": ("DATA_USE", "used {v} MB of mobile data in the window", "x"),
    "data_days": ("DATA_DAYS", "used mobile data on {v} days", "n"),
    # Sichuan feature-table columns (operator hand-over layout)
    "opposite_count": ("CALL_VOLUME", "{v} calls in the period", "n"),
    "opposite_unique": ("MANY_CALLEES", "{v} distinct call partners", "n"),
    "calltype_rate": ("OUTBOUND_ONLY", "{v} of calls are outgoing", "pct"),
    "voc_calltype1": ("OUTBOUND_ONLY", "{v} of calls are outgoing", "pct"),
    "call_dur_mean": ("CALL_DURATION", "average call lasts {v} s", "x"),
    "call_dur_median": ("CALL_DURATION", "median call lasts {v} s", "x"),
    "phone2opposite_mean": ("FEW_REPEATS", "{v} calls per partner on average", "x"),
    "sms_count": ("SMS_VOLUME", "{v} SMS", "n"),
    "arpu_mean": ("LOW_SPEND", "average monthly spend {v} yuan", "x"),
    "flow_mean": ("DATA_USE", "average data use {v} MB", "x"),
    "unique_per_call": ("FEW_REPEATS", "{v} of calls go to a new partner", "pct"),
    "voc_hour_mode": ("CALL_HOURS", "most calls at {v}:00", "n"),
    "voc_hour_nunique": ("CALL_HOURS", "calls in {v} different hours of the day", "n"),
    "voc_day_mode": ("CALL_DAYS", "busiest day of the month: day {v}", "n"),
    "voc_day_nunique": ("ACTIVITY", "calls on {v} different days", "n"),
    "city_name_nunique": ("WIDE_REACH", "calls from {v} different cities", "n"),
    "county_name_nunique": ("WIDE_REACH", "calls from {v} different counties", "n"),
    "call_dur_max": ("CALL_DURATION", "longest call lasts {v} s", "x"),
    "phone2oppo_sum_mean": ("FEW_REPEATS", "{v} s of talk per partner on average", "x"),
    "sms_nunique": ("SMS_SPREAD", "SMS with {v} different numbers", "n"),
    "busi_count": ("DATA_USE", "{v} data sessions", "n"),
    "flow_sum": ("DATA_USE", "{v} MB of data in total", "x"),
    "month_ids": ("ACTIVITY", "active in {v} months", "n"),
    "arpu_sem": ("SPEND_VARIATION", "monthly spend varies (±{v} yuan)", "x"),
    "arpu_var": ("SPEND_VARIATION", "monthly spend variance {v}", "x"),
    "arpu_min": ("LOW_SPEND", "lowest monthly spend {v} yuan", "x"),
    "arpu_median": ("LOW_SPEND", "median monthly spend {v} yuan", "x"),
    "out_per_call": ("OUTBOUND_ONLY", "{v} of calls are outgoing", "pct"),
    "calls_per_day": ("CALL_RATE", "{v} calls per active day", "x"),
    "sms_unique_per_sms": ("SMS_SPREAD", "{v} of SMS go to a new number", "pct"),
}

ACCOUNT_REASONS: dict[str, Entry] = {
    "out_within_1h_share": ("PASS_THROUGH_FAST", "{v} of money out leaves within 1 hour of arriving", "pct"),
    "out_within_1d_share": (
        "PASS_THROUGH",
        "{v} of money out leaves within a day of arriving (快进快出)",
        "pct",
    ),
    "in_leaves_1d_share": ("PASS_THROUGH", "{v} of money in is moved on within a day", "pct"),
    "dwell_median_h": ("SHORT_DWELL", "money stays a median {v} h before moving on", "x"),
    "pass_through_ratio": ("PASS_THROUGH", "money out is {v} of money in", "pct"),
    "in_cp": ("FAN_IN", "receives from {v} different accounts", "n"),
    "out_cp": ("FAN_OUT", "sends to {v} different accounts", "n"),
    "total_cp": ("COUNTERPARTIES", "trades with {v} different accounts in all", "n"),
    "days_since_last": ("LAST_ACTIVE", "last transfer {v} days before the scoring time", "d"),
    "amt_mean_fen": ("MEAN_AMOUNT", "transfers average {v}", "yuan"),
    "amt_cv": ("AMOUNT_SPREAD", "transfer amounts vary by {v} × their mean (coefficient of variation)", "x"),
    "round_amount_share": ("ROUND_AMOUNTS", "{v} of transfers are whole hundreds of yuan", "pct"),
    "out_before_any_in_share": (
        "OUT_BEFORE_IN",
        "{v} of the money sent left before any money came in",
        "pct",
    ),
    "out_in_amount_ratio": ("OUT_IN_RATIO", "sent {v} × what it received", "x"),
    "in_count_share": ("INCOMING_SHARE", "{v} of its transfers are incoming", "pct"),
    "tx_per_active_day": ("DAILY_RATE", "{v} transfers per active day", "x"),
    "out_nbr_out_cp_mean": (
        "PAYEES_FAN_OUT",
        "the accounts it pays send on to {v} accounts each on average",
        "x",
    ),
    "in_nbr_in_cp_mean": (
        "PAYERS_FAN_IN",
        "the accounts paying it receive from {v} accounts each on average",
        "x",
    ),
    "in_oneoff_share": ("ONE_OFF_PAYERS", "{v} of payers paid only once", "pct"),
    "out_oneoff_share": ("ONE_OFF_PAYEES", "{v} of payees were paid only once", "pct"),
    "new_cp_peak_day": ("PARTNER_BURST", "{v} new counterparties on a single day", "n"),
    "tx_per_cp": ("FEW_REPEATS", "{v} transfers per counterparty", "x"),
    "in_amt_fen": ("MONEY_IN", "received {v} in the window", "yuan"),
    "out_amt_fen": ("MONEY_OUT", "sent {v} in the window", "yuan"),
    "in_n": ("IN_COUNT", "{v} incoming transfers", "n"),
    "out_n": ("OUT_COUNT", "{v} outgoing transfers", "n"),
    "night_share": ("NIGHT_ACTIVITY", "{v} of transfers at night (00–06)", "pct"),
    "gap_cv": ("IRREGULAR_TIMING", "bursty timing (gap variation {v})", "x"),
    "span_days": ("SHORT_LIFE", "all activity within {v} days", "d"),
    "active_days": ("FEW_ACTIVE_DAYS", "active on {v} days", "n"),
    "max_gap_days": ("DORMANT_THEN_ACTIVE", "{v} days without activity in between", "d"),
    "dormant_days_before_first": ("DORMANT_THEN_ACTIVE", "dormant {v} days after opening, then active", "d"),
    "account_age_days": ("ACCOUNT_AGE", "account opened {v} days ago", "d"),
    "accounts_per_owner": ("MANY_ACCOUNTS", "owner holds {v} accounts", "n"),
    "open_device_owners": (
        "SHARED_OPENING_DEVICE",
        "opened on a device that opened accounts for {v} people (同设备开户)",
        "n",
    ),
    "open_ip_owners": (
        "SHARED_OPENING_IP",
        "opened from an IP address that opened accounts for {v} people",
        "n",
    ),
    "logins": ("LOGINS", "{v} mobile-banking logins in the window", "n"),
    "login_devices": ("LOGIN_DEVICES", "logged in to from {v} handsets", "n"),
    "login_device_owners": (
        "SHARED_LOGIN_DEVICE",
        "logged in to from a handset that reaches accounts of {v} people (一机多户)",
        "n",
    ),
    "login_ip_owners": (
        "SHARED_LOGIN_NETWORK",
        "logged in to from a network that reaches accounts of {v} people",
        "n",
    ),
    "owner_phone_cards": ("OWNER_MANY_PHONE_CARDS", "owner also holds {v} phone cards (两卡)", "n"),
    "owner_recent_phone_cards": (
        "OWNER_NEW_PHONE_CARDS",
        "owner opened {v} phone cards in the last 90 days",
        "n",
    ),
    "owner_card_device_cards": (
        "OWNER_CARD_SHARED_DEVICE",
        "a phone card of the owner was activated on a device that activated {v} cards",
        "n",
    ),
    "in_crossbank_share": ("CROSS_BANK", "{v} of money in comes from other banks", "pct"),
    "out_crossbank_share": ("CROSS_BANK", "{v} of money out goes to other banks", "pct"),
    "crossbank_relay": ("CROSS_BANK_RELAY", "relays money between banks", "x"),
    "withdrawal_places": ("ATM_SPREAD", "cash withdrawn at {v} different places", "n"),
    "withdrawal_n": ("CASH_OUT", "{v} cash withdrawals", "n"),
    "withdrawal_amt_fen": ("CASH_OUT", "{v} withdrawn in cash", "yuan"),
    "in_from_flagged_share": ("FLAGGED_SOURCE", "{v} of money in comes from flagged accounts", "pct"),
    "out_to_flagged_share": ("FLAGGED_TARGET", "{v} of money out goes to flagged accounts", "pct"),
    "out_to_relay_share": (
        "LAYERING",
        "{v} of money out goes to accounts that pass it on within a day",
        "pct",
    ),
    "in_from_relay_share": (
        "LAYERING",
        "{v} of money in comes from accounts that pass money on quickly",
        "pct",
    ),
    "out2_degree": ("FAN_OUT_2HOP", "its payees send on to {v} accounts", "n"),
    "in2_degree": ("FAN_IN_2HOP", "its payers receive from {v} accounts", "n"),
    "in_nbr_out_oneoff_mean": ("ONE_OFF_NETWORK", "its payers mostly pay one-off partners ({v})", "pct"),
    "out_nbr_in_oneoff_mean": (
        "ONE_OFF_NETWORK",
        "its payees mostly receive from one-off partners ({v})",
        "pct",
    ),
    "out_nbr_in_cp_mean": ("GATHER", "its payees gather money from {v} accounts each", "x"),
    "in_nbr_out_cp_mean": ("SCATTER", "its payers scatter money to {v} accounts each", "x"),
    "in_nbr_out_cp_max": ("SCATTER", "a payer scatters money to {v} accounts", "n"),
    "out_nbr_in_cp_max": ("GATHER", "a payee gathers money from {v} accounts", "n"),
    "in_nbr_pass_through_mean": ("RELAY_CHAIN", "its payers pass on {v} of what they receive", "pct"),
    "out_nbr_pass_through_mean": ("RELAY_CHAIN", "its payees pass on {v} of what they receive", "pct"),
    "reciprocal_cp": ("ROUND_TRIP", "{v} counterparties send money back", "n"),
    "cycle3_cp": ("CYCLE", "money returns to it through {v} 3-account cycles", "n"),
}


_PLURAL_NOUN = re.compile(r"\{v\} ((?:[A-Za-z0-9-]+ ){0,2}?)([a-z]+?)(ies|s)\b")
_PLURAL_VERB = re.compile(r"\b(counterparty) (send)\b")


def _singular(template: str) -> str:
    """The template for a count of one: "{v} different numbers" → "{v} different number",
    "{v} counterparties send" → "{v} counterparty sends", "{v} people" → "{v} person"."""
    template = template.replace("{v} people", "{v} person")
    template = _PLURAL_NOUN.sub(
        lambda m: f"{{v}} {m[1]}{m[2]}{'y' if m[3] == 'ies' else ''}", template, count=1
    )
    return _PLURAL_VERB.sub(r"\1 \2s", template)


def _fmt(value: float, kind: str) -> str:
    if kind == "pct":
        return f"{value * 100:.0f} %"
    if kind == "n":
        return f"{value:,.0f}"
    if kind == "d":
        return f"{value:,.1f}"
    if kind == "yuan":
        return f"¥{value / 100:,.2f}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def _code_of(feature: str) -> str:
    # Chinese column names (a partner's own table) keep their characters: codes must not collide
    return "FEATURE_" + re.sub(r"[^A-Z0-9\u3400-\u9fff]+", "_", feature.upper()).strip("_")


def describe(feature: str, value: float | None, catalogue: dict[str, Entry]) -> tuple[str, str]:
    """(code, message) for one feature value; window suffixes like ``_7d`` are shown in words."""
    base, window = feature, ""
    match = re.match(r"^(.*)_(\d+d|all)$", feature)
    if match and match.group(1) in catalogue:
        span = match.group(2)
        days = "all time" if span == "all" else "last day" if span == "1d" else f"last {span[:-1]} days"
        base, window = match.group(1), f" ({days})"
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    if base in catalogue:
        code, template, kind = catalogue[base]
        if missing:  # the absence itself scored: say so rather than print a number
            return code, f"no {base.replace('_', ' ')} data{window}"
        if kind == "n" and float(value) == 1:  # type: ignore[arg-type]
            template = _singular(template)
        return code, template.format(v=_fmt(float(value), kind)) + window  # type: ignore[arg-type]
    shown = "missing" if missing else _fmt(float(value), "x")  # type: ignore[arg-type]
    return _code_of(feature), f"{feature.replace('_', ' ')} = {shown} (unusual)"
