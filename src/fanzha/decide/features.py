"""Features of one event, computed from the in-memory state: the vocabulary rules are written in.

Each event kind has a fixed set of feature names (``FEATURES``); a rule set that names anything else is
refused when it loads. Window lengths and the "high risk" cut-offs are thresholds of the rule set, so
they change with the rules, without a redeploy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fanzha.decide.ruleset import RuleSet
from fanzha.decide.state import RiskState
from fanzha.records.normalise import is_mobile


@dataclass(frozen=True, slots=True)
class CallEvent:
    caller: str
    callee: str
    at: datetime
    duration_s: int | None = None  # known after the call: 0 = not answered


@dataclass(frozen=True, slots=True)
class SmsEvent:
    sender: str
    receiver: str
    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class UrlEvent:
    url: str
    host: str
    at: datetime
    visitor: str | None = None  # the visitor's phone number when the platform knows it


@dataclass(frozen=True, slots=True)
class PaymentEvent:
    payer: str
    payee: str
    amount_fen: int
    channel: str
    at: datetime
    payer_phone: str | None = None


Event = CallEvent | SmsEvent | UrlEvent | PaymentEvent
# text / URL scorer: item → (probability, label, version)
Scorer = Callable[[str], tuple[float, str, str]]

FEATURES: dict[str, frozenset[str]] = {
    "call": frozenset(
        {
            "caller_list",
            "callee_list",
            "caller_risk",
            "caller_scored",
            "caller_mobile",
            "caller_international",
            "caller_calls_1h",
            "caller_distinct_callees_1h",
            "callee_contacts_24h",
        }
    ),
    "sms": frozenset(
        {
            "sender_list",
            "receiver_list",
            "sender_risk",
            "sender_scored",
            "sender_mobile",
            "sender_international",
            "text_score",
            "text_label",
            "sender_sms_1h",
            "sender_distinct_receivers_1h",
        }
    ),
    "url": frozenset({"url_list", "url_score", "url_label", "visitor_risky_contact_minutes"}),
    "payment": frozenset(
        {
            "payer_list",
            "payee_list",
            "payer_risk",
            "payee_risk",
            "payee_scored",
            "payee_personal",
            "payee_merchant",
            "payee_age_days",
            "amount_fen",
            "channel",
            "new_payee",
            "payer_out_count_1h",
            "payer_out_sum_24h",
            "payer_new_payees_24h",
            "pair_count_24h",
            "pair_sum_24h",
            "payee_in_count_1h",
            "payee_distinct_payers_24h",
            "risky_call_minutes",
            "risky_call_risk",
            "risky_text_minutes",
            "warned_minutes",
        }
    ),
}

HOUR = 3600.0
DAY = 86_400.0
_CALL = frozenset({"call"})
_TEXT = frozenset({"sms", "url"})


def _list_status(state: RiskState, key: str) -> str:
    entry = state.lists.get(key)
    return entry.status if entry else "none"


def call_features(state: RiskState, ev: CallEvent, rules: RuleSet) -> dict[str, Any]:
    t = ev.at.timestamp()
    score = state.number_score(ev.caller)
    calls = state.memory.calls.stats(ev.caller, t, HOUR)
    contacts = state.memory.contacts.get(state.person_of_phone(ev.callee), ())
    return {
        "caller_list": _list_status(state, f"phone:{ev.caller}"),
        "callee_list": _list_status(state, f"phone:{ev.callee}"),
        "caller_risk": score.probability if score else 0.0,
        "caller_scored": score is not None,
        "caller_mobile": is_mobile(ev.caller),
        "caller_international": ev.caller.startswith("+") and not ev.caller.startswith("+86"),
        "caller_calls_1h": calls.count,
        "caller_distinct_callees_1h": calls.distinct,
        "callee_contacts_24h": sum(1 for c in contacts if 0 <= t - c[0] <= DAY),
    }


def sms_features(
    state: RiskState, ev: SmsEvent, rules: RuleSet, text_scorer: Scorer | None
) -> dict[str, Any]:
    t = ev.at.timestamp()
    score = state.number_score(ev.sender)
    sent = state.memory.sms.stats(ev.sender, t, HOUR)
    text_p, text_label = (text_scorer(ev.text)[:2]) if text_scorer else (0.0, "")
    return {
        "sender_list": _list_status(state, f"phone:{ev.sender}"),
        "receiver_list": _list_status(state, f"phone:{ev.receiver}"),
        "sender_risk": score.probability if score else 0.0,
        "sender_scored": score is not None,
        "sender_mobile": is_mobile(ev.sender),
        "sender_international": ev.sender.startswith("+") and not ev.sender.startswith("+86"),
        "text_score": text_p,
        "text_label": text_label,
        "sender_sms_1h": sent.count,
        "sender_distinct_receivers_1h": sent.distinct,
    }


def url_features(state: RiskState, ev: UrlEvent, rules: RuleSet, url_scorer: Scorer | None) -> dict[str, Any]:
    t = ev.at.timestamp()
    url_p, url_label = (url_scorer(ev.url)[:2]) if url_scorer else (0.0, "")
    minutes = None
    if ev.visitor:
        window = rules.threshold("fusion_window_minutes", 30) * 60
        hit = state.memory.latest_contact((state.person_of_phone(ev.visitor),), t, window, _CALL | _TEXT)
        minutes = (t - hit[0]) / 60 if hit else None
    return {
        "url_list": (entry.status if (entry := state.lists.get_url(ev.url, ev.host)) else "none"),
        "url_score": url_p,
        "url_label": url_label,
        "visitor_risky_contact_minutes": minutes,
    }


def payer_persons(state: RiskState, ev: PaymentEvent) -> tuple[str, ...]:
    keys = [state.person_of_account(ev.payer)]
    if ev.payer_phone:
        keys.append(state.person_of_phone(ev.payer_phone))
    return tuple(dict.fromkeys(keys))


def payment_features(state: RiskState, ev: PaymentEvent, rules: RuleSet) -> dict[str, Any]:
    t = ev.at.timestamp()
    mem = state.memory
    payer_score = state.account_score(ev.payer)
    payee_score = state.account_score(ev.payee)
    first = mem.pair_first_seen.get((ev.payer, ev.payee))
    new_window = rules.threshold("new_payee_hours", 24) * HOUR
    out_1h = mem.outflow.stats(ev.payer, t, HOUR)
    out_24h = mem.outflow.stats(ev.payer, t, DAY)
    pair = mem.pairs.stats((ev.payer, ev.payee), t, DAY)
    inflow_1h = mem.inflow.stats(ev.payee, t, HOUR)
    inflow_24h = mem.inflow.stats(ev.payee, t, DAY)
    persons = payer_persons(state, ev)
    window = rules.threshold("fusion_window_minutes", 30) * 60
    call = mem.latest_contact(persons, t, window, _CALL)
    text = mem.latest_contact(persons, t, window, _TEXT)
    warned = mem.last_warned(persons, t)
    warned_window = rules.threshold("warned_window_minutes", 60) * 60
    return {
        "payer_list": _list_status(state, f"account:{ev.payer}"),
        "payee_list": _list_status(state, f"account:{ev.payee}"),
        "payer_risk": payer_score.probability if payer_score else 0.0,
        "payee_risk": payee_score.probability if payee_score else 0.0,
        "payee_scored": payee_score is not None,
        "payee_personal": _personal(state, ev.payee),
        "payee_merchant": state.directory.account_type.get(ev.payee) in ("merchant", "corporate", "pooled"),
        "payee_age_days": _age_days(state, ev.payee, t),
        "amount_fen": ev.amount_fen,
        "channel": ev.channel,
        "new_payee": first is None or t - first < new_window,
        "payer_out_count_1h": out_1h.count,
        "payer_out_sum_24h": out_24h.total,
        "payer_new_payees_24h": mem.new_payees(ev.payer, t),
        "pair_count_24h": pair.count,
        "pair_sum_24h": pair.total,
        "payee_in_count_1h": inflow_1h.count,
        "payee_distinct_payers_24h": inflow_24h.distinct,
        "risky_call_minutes": (t - call[0]) / 60 if call else None,
        "risky_call_risk": call[1] if call else 0.0,
        "risky_text_minutes": (t - text[0]) / 60 if text else None,
        "warned_minutes": (t - warned) / 60 if warned is not None and t - warned <= warned_window else None,
    }


def _personal(state: RiskState, account: str) -> bool | None:
    kind = state.directory.account_type.get(account)
    return None if kind is None else kind == "personal"


def _age_days(state: RiskState, account: str, t: float) -> float | None:
    opened = state.directory.account_opened.get(account)
    return None if opened is None else max(t - opened, 0.0) / DAY
