"""The decision engine: one event in, one outcome on the ladder with its score, reasons and versions.

Pure in-memory work: features from :class:`~fanzha.decide.state.RiskState`, rules from the
:class:`~fanzha.decide.rulebook.RuleBook`, then the state learns from the event (counters, pairs,
risky contacts, warnings). Side effects that reach other systems (warning tasks, decision log, shadow
records) go to ``sinks`` — plain callables that the service batches off the request path.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fanzha.decide import features as fx
from fanzha.decide.features import CallEvent, Event, PaymentEvent, Scorer, SmsEvent
from fanzha.decide.rulebook import RuleBook
from fanzha.decide.ruleset import OUTCOMES, RANK, Rule, RuleSet
from fanzha.decide.state import RiskState

_counter = itertools.count(1)
DAY_S = 86_400.0
_PREFIX = f"d{os.getpid():x}-"


@dataclass(slots=True)
class Verdict:
    outcome: str
    score: float
    reasons: list[dict[str, Any]]
    delay_minutes: int = 0
    delay_tier: str | None = None
    ruleset: str = ""
    delay_basis: str | None = None


@dataclass(slots=True)
class Decision:
    decision_id: str
    event: str
    at: datetime
    outcome: str
    score: float
    reasons: list[dict[str, Any]]
    delay_minutes: int
    delay_tier: str | None
    versions: dict[str, str]
    subject: str  # the person key a warning goes to
    counterpart: str = ""  # the risky side: caller, sender, payee account or host
    phone: str | None = None  # the person's phone, when known (where a warning is delivered)
    amount_fen: int = 0
    shadow: Verdict | None = None
    features: dict[str, Any] = field(default_factory=dict)
    delay_basis: str | None = None  # why this tier: a rule's own tier, the score or the amount
    _public: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        """The response body (built once: the decision log reuses it)."""
        if self._public is not None:
            return self._public
        self._public = {
            "decision_id": self.decision_id,
            "event": self.event,
            "outcome": self.outcome,
            "score": round(self.score, 4),
            "reasons": self.reasons,
            "delay_minutes": self.delay_minutes,
            "delay_tier": self.delay_tier,
            "delay_basis": self.delay_basis,
            "versions": self.versions,
        }
        return self._public


def _value(rule: Rule, feats: dict[str, Any]) -> Any:
    value = feats.get(rule.value_feature or "")
    return round(value, 4) if isinstance(value, float) else value


def evaluate(rules: RuleSet, event: str, feats: dict[str, Any], amount_fen: int | None = None) -> Verdict:
    """Apply one rule set to computed features (no state change): the heart of live and shadow."""
    keep = 1.0
    floor = 0
    ceiling = 3
    override: str | None = None
    forced_tier: str | None = None
    forced_by = ""
    reasons: list[dict[str, Any]] = []
    for r in rules.by_event[event]:
        if not r.fires(feats):
            continue
        keep *= 1.0 - r.weight
        if r.floor is not None:
            floor = max(floor, RANK[r.floor])
        if r.ceiling is not None:
            ceiling = min(ceiling, RANK[r.ceiling])
        if r.override is not None and override is None:
            override = r.override
        if r.delay_tier is not None:
            forced_tier, forced_by = r.delay_tier, r.code
        reason = {"code": r.code, "message": r.message, "value": _value(r, feats), "weight": r.weight}
        # what the rule does besides its weight: the score alone cannot explain a floor or an override
        if r.floor is not None:
            reason["floor"] = r.floor
        if r.ceiling is not None:
            reason["ceiling"] = r.ceiling
        if r.override is not None:
            reason["override"] = r.override
        if r.delay_tier is not None:
            reason["delay_tier"] = r.delay_tier
        reasons.append(reason)
    score = 1.0 - keep
    if override is not None:
        outcome = override
        score = 1.0 if override == "block" else (0.0 if override == "proceed" else score)
    else:
        outcome = OUTCOMES[min(max(RANK[rules.band_outcome(score)], floor), ceiling)]
    if outcome == "delay" and event != "payment":
        # only money can wait (延时到账): a call, an SMS or a URL visit that would be delayed is
        # warned instead (a flash warning to the callee, a label on the SMS, a page before the site)
        outcome = "warn"
    minutes, tier, basis = 0, None, None
    if outcome == "delay" and event == "payment":
        chosen, basis = rules.tier_basis(score, amount_fen, forced_tier, forced_by)
        minutes, tier = chosen.minutes, chosen.name
    return Verdict(outcome, score, reasons, minutes, tier, rules.label, basis)


class DecisionEngine:
    """Decides events against the live rule set, shadows the draft, and updates the state."""

    def __init__(
        self,
        state: RiskState,
        rulebook: RuleBook,
        *,
        text_scorer: Scorer | None = None,
        url_scorer: Scorer | None = None,
        model_versions: dict[str, str] | None = None,
        on_decision: Callable[[Decision], None] | None = None,
        on_warning: Callable[[Decision], None] | None = None,
        on_shadow: Callable[[Decision], None] | None = None,
        keep_features: bool = False,
    ) -> None:
        self.state = state
        self.rulebook = rulebook
        self.text_scorer = text_scorer
        self.url_scorer = url_scorer
        self.model_versions = model_versions or {}
        self.on_decision = on_decision
        self.on_warning = on_warning
        self.on_shadow = on_shadow
        self.keep_features = keep_features
        self._horizon_of: RuleSet | None = None  # the live rule set the memory's horizon was set for
        self._versions_cache: dict[tuple[Any, ...], dict[str, str]] = {}

    # public entry points ------------------------------------------------------------------------
    def decide(self, ev: Event) -> Decision:
        self.rulebook.refresh()
        live = self.rulebook.live
        phone: str | None
        if isinstance(ev, PaymentEvent):
            kind, feats = "payment", fx.payment_features(self.state, ev, live)
            subject = fx.payer_persons(self.state, ev)[0]
            counterpart, phone = ev.payee, ev.payer_phone
        elif isinstance(ev, CallEvent):
            kind, feats = "call", fx.call_features(self.state, ev, live)
            subject = self.state.person_of_phone(ev.callee)
            counterpart, phone = ev.caller, ev.callee
        elif isinstance(ev, SmsEvent):
            kind, feats = "sms", fx.sms_features(self.state, ev, live, self.text_scorer)
            subject = self.state.person_of_phone(ev.receiver)
            counterpart, phone = ev.sender, ev.receiver
        else:
            kind, feats = "url", fx.url_features(self.state, ev, live, self.url_scorer)
            subject = self.state.person_of_phone(ev.visitor) if ev.visitor else f"url:{ev.host}"
            counterpart, phone = ev.host, ev.visitor
        amount = ev.amount_fen if isinstance(ev, PaymentEvent) else None
        verdict = evaluate(live, kind, feats, amount)
        decision = Decision(
            decision_id=f"{_PREFIX}{next(_counter)}",
            event=kind,
            at=ev.at,
            outcome=verdict.outcome,
            score=verdict.score,
            reasons=verdict.reasons,
            delay_minutes=verdict.delay_minutes,
            delay_tier=verdict.delay_tier,
            delay_basis=verdict.delay_basis,
            versions=self._versions(live, kind),
            subject=subject,
            counterpart=counterpart,
            phone=phone,
            amount_fen=amount or 0,
            features=feats if self.keep_features else {},
        )
        draft = self.rulebook.draft
        if draft is not None:
            decision.shadow = evaluate(draft, kind, feats, amount)
        self._learn(ev, decision, feats)
        self._emit(decision)
        return decision

    # internals ------------------------------------------------------------------------------------
    def _versions(self, live: RuleSet, kind: str) -> dict[str, str]:
        # the same dict is shared by decisions until a snapshot changes (responses only read it)
        st = self.state
        key = (live.label, kind, id(st.lists), id(st.scores), id(st.directory), st.lists.version)
        cached = self._versions_cache.get(key)
        if cached is not None:
            return cached
        if len(self._versions_cache) > 64:
            self._versions_cache.clear()
        versions = {"rules": live.label, **st.versions()}
        if kind == "sms" and "text" in self.model_versions:
            versions["text_model"] = self.model_versions["text"]
        if kind == "url" and "url" in self.model_versions:
            versions["url_model"] = self.model_versions["url"]
        self._versions_cache[key] = versions
        return versions

    def _learn(self, ev: Event, d: Decision, feats: dict[str, Any]) -> None:
        """Update counters and fusion memory after deciding (the event itself must not count)."""
        mem, live = self.state.memory, self.rulebook.live
        t = ev.at.timestamp()
        if live is not self._horizon_of:
            # what is remembered covers the rules' windows (a day, or longer if a rule set asks so)
            mem.horizon_s = max(
                DAY_S,
                live.threshold("fusion_window_minutes", 30) * 60,
                live.threshold("warned_window_minutes", 60) * 60,
            )
            self._horizon_of = live
        if d.outcome in ("warn", "delay") and not isinstance(ev, PaymentEvent):
            # a dissuasion warning about a fraud contact; a payment's own warning is not one (else a
            # warned payment would escalate every later payment of the same payer)
            mem.mark_warned(d.subject, t)
        if isinstance(ev, PaymentEvent):
            mem.outflow.add(ev.payer, t, ev.amount_fen, ev.payee)
            mem.inflow.add(ev.payee, t, ev.amount_fen, ev.payer)
            mem.pairs.add((ev.payer, ev.payee), t, ev.amount_fen)
            mem.learn_pair(ev.payer, ev.payee, t, paid=True)
        elif isinstance(ev, CallEvent):
            mem.calls.add(ev.caller, t, 0, ev.callee)
            risk = max(feats["caller_risk"], 1.0 if feats["caller_list"] == "block" else 0.0)
            answered = ev.duration_s is None or ev.duration_s > 0
            if risk >= live.threshold("number_high_risk", 0.8) and answered and d.outcome != "block":
                mem.add_contact(d.subject, t, risk, ev.caller, "call")
        elif isinstance(ev, SmsEvent):
            mem.sms.add(ev.sender, t, 0, ev.receiver)
            risk = max(feats["text_score"], feats["sender_risk"])
            if risk >= live.threshold("text_contact_risk", 0.8) and d.outcome != "block":
                mem.add_contact(d.subject, t, risk, ev.sender, "sms")
        elif ev.visitor and feats["url_score"] >= live.threshold("url_contact_risk", 0.8):
            mem.add_contact(d.subject, t, feats["url_score"], ev.host, "url")

    def _emit(self, d: Decision) -> None:
        if self.on_decision:
            self.on_decision(d)
        if d.outcome in ("warn", "delay") and self.on_warning:
            self.on_warning(d)
        if d.shadow is not None and self.on_shadow:
            self.on_shadow(d)
