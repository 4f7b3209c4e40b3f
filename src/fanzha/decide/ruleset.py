"""Decision rules as versioned data: a rule set is a JSON document, validated on load.

A rule names the event kinds it applies to, a conjunction of conditions on named features (computed by
:mod:`fanzha.decide.features`), a weight (its contribution to the score) and optionally a floor (the
least outcome it forces), a ceiling, or an override (first fired override decides: list hits).
Scores combine as a noisy-or, ``1 - Π(1 - weight)``, so one strong signal or several weak ones add up.
Outcome bands turn the score into the ladder ``proceed < warn < delay < block``; a delayed payment
gets a delay tier (延时层级) from the tier table.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanzha.errors import ConfigError
from fanzha.records.contracts import CHANNELS

OUTCOMES = ("proceed", "warn", "delay", "block")
RANK = {name: i for i, name in enumerate(OUTCOMES)}
EVENTS = ("call", "sms", "url", "payment")
# every rule of an event's kind is evaluated on every decision of that kind, and a changed file is
# re-read on the request path: a rule set of 200,000 rules (47 MB) took 5 s to load and 37 ms per
# decision. The packaged rule set has 43 rules in 17 kB.
MAX_RULES = 1000
MAX_CONDITIONS = 32
MAX_FILE_BYTES = 2_000_000
# the thresholds the engine reads, with their allowed range: risk cut-offs are probabilities, windows
# are lengths of time
THRESHOLDS: dict[str, tuple[float, float]] = {
    "number_high_risk": (0.0, 1.0),
    "text_contact_risk": (0.0, 1.0),
    "url_contact_risk": (0.0, 1.0),
    "fusion_window_minutes": (0.0, math.inf),
    "warned_window_minutes": (0.0, math.inf),
    "new_payee_hours": (0.0, math.inf),
}

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
    "in": lambda a, b: a in b,
}


@dataclass(frozen=True, slots=True)
class Condition:
    feature: str
    op: str
    value: Any

    def holds(self, features: Mapping[str, Any]) -> bool:
        actual = features.get(self.feature)
        if actual is None:
            return False
        try:
            return bool(_OPS[self.op](actual, self.value))
        except TypeError:
            return False


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    message: str
    events: frozenset[str]
    when: tuple[Condition, ...]
    weight: float = 0.0
    floor: str | None = None
    ceiling: str | None = None
    override: str | None = None
    delay_tier: str | None = None
    value_feature: str | None = None  # feature reported as the reason's value

    def fires(self, features: Mapping[str, Any]) -> bool:
        # hot loop (every rule of every decision): plain for-loop over pre-resolved operator functions
        for c in self.when:
            actual = features.get(c.feature)
            if actual is None:
                return False
            try:
                if not _OPS[c.op](actual, c.value):
                    return False
            except TypeError:
                return False
        return True


@dataclass(frozen=True, slots=True)
class DelayTier:
    name: str
    minutes: int
    min_score: float = 1.1  # unreachable by default: tier reached by amount or rule only
    min_amount_fen: int | None = None


@dataclass(frozen=True)
class RuleSet:
    version: str
    description: str
    thresholds: dict[str, float]
    bands: dict[str, float]  # warn / delay / block: least score for that outcome
    rules: tuple[Rule, ...]
    delay_tiers: tuple[DelayTier, ...]
    digest: str = ""
    by_event: dict[str, tuple[Rule, ...]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.version}#{self.digest[:8]}"

    def threshold(self, name: str, default: float) -> float:
        return float(self.thresholds.get(name, default))

    def band_outcome(self, score: float) -> str:
        for name in ("block", "delay", "warn"):
            if score >= self.bands[name]:
                return name
        return "proceed"

    def tier(self, score: float, amount_fen: int | None, forced: str | None) -> DelayTier:
        """The most severe tier reached by score, amount or a rule's own tier (tiers are ordered)."""
        return self.tier_basis(score, amount_fen, forced)[0]

    def tier_basis(
        self, score: float, amount_fen: int | None, forced: str | None, forced_by: str = ""
    ) -> tuple[DelayTier, str]:
        """The tier of :meth:`tier` and why it was reached, in words a bank can act on."""
        chosen, basis = self.delay_tiers[0], f"{self.delay_tiers[0].name}: the shortest delay"
        for t in self.delay_tiers:
            by_amount = (
                t.min_amount_fen is not None and amount_fen is not None and amount_fen >= t.min_amount_fen
            )
            if t.name == forced:
                chosen, basis = t, f"{t.name}: rule {forced_by or forced}"
            elif score >= t.min_score:
                chosen, basis = t, f"{t.name}: score {score:.4f} ≥ {t.min_score:g}"
            elif by_amount:
                assert t.min_amount_fen is not None
                chosen, basis = t, f"{t.name}: amount ≥ {t.min_amount_fen / 100:,.0f} yuan"
        return chosen, basis


# what each feature can be (fanzha.decide.features computes them): a condition that compares a
# feature with a value of another kind, or outside its range, can never hold
_LIST = ("list", ("block", "allow", "watch", "none"))
_BOOL = ("bool", None)
_PROBABILITY = ("number", (0.0, 1.0))
_COUNT = ("number", (0.0, math.inf))
FEATURE_KINDS: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(
        (
            "caller_list",
            "callee_list",
            "sender_list",
            "receiver_list",
            "url_list",
            "payer_list",
            "payee_list",
        ),
        _LIST,
    ),
    **dict.fromkeys(
        (
            "caller_scored",
            "caller_mobile",
            "caller_international",
            "sender_scored",
            "sender_mobile",
            "sender_international",
            "payee_scored",
            "payee_personal",
            "payee_merchant",
            "new_payee",
        ),
        _BOOL,
    ),
    **dict.fromkeys(
        (
            "caller_risk",
            "sender_risk",
            "text_score",
            "url_score",
            "payer_risk",
            "payee_risk",
            "risky_call_risk",
        ),
        _PROBABILITY,
    ),
    **dict.fromkeys(
        (
            "caller_calls_1h",
            "caller_distinct_callees_1h",
            "callee_contacts_24h",
            "sender_sms_1h",
            "sender_distinct_receivers_1h",
            "payer_out_count_1h",
            "payer_out_sum_24h",
            "payer_new_payees_24h",
            "pair_count_24h",
            "pair_sum_24h",
            "payee_in_count_1h",
            "payee_distinct_payers_24h",
            "payee_age_days",
            "risky_call_minutes",
            "risky_text_minutes",
            "warned_minutes",
            "visitor_risky_contact_minutes",
        ),
        _COUNT,
    ),
    "amount_fen": ("number", (1.0, math.inf)),
    "channel": ("list", CHANNELS),
    "text_label": ("text", None),
    "url_label": ("text", None),
}


def _value_fits(feature: str, value: object) -> str | None:
    """Why ``value`` can never equal ``feature`` (None when it can)."""
    kind, domain = FEATURE_KINDS.get(feature, ("any", None))
    if kind == "list" and value not in domain:
        return f"one of {', '.join(map(repr, domain))}"
    if kind == "bool" and not isinstance(value, bool):
        return "true or false"
    if kind == "number" and not (_finite_number(value) and domain[0] <= value <= domain[1]):
        return f"a number in [{domain[0]:g}, {domain[1]:g}]"
    if kind == "text" and not isinstance(value, str):
        return "a text"
    return None


def _satisfiable(when: tuple[Condition, ...], where: str) -> None:
    """Refuse a conjunction no event can meet: a value out of the feature's range, two different
    equalities on one feature, an empty ``in`` list, or bounds that exclude each other."""
    bounds: dict[str, list[tuple[float, bool]]] = {}  # feature → [lower (value, strict), upper]
    equal: dict[str, object] = {}
    for c in when:
        kind, domain = FEATURE_KINDS.get(c.feature, ("any", None))
        if c.op == "in" and not c.value:
            raise ConfigError(f"{where}: {c.feature} in [] can never hold")
        if c.op == "==":
            if c.feature in equal and equal[c.feature] != c.value:
                raise ConfigError(
                    f"{where}: {c.feature} == {equal[c.feature]!r} and == {c.value!r} can never both hold"
                )
            equal[c.feature] = c.value
        if kind != "number" or c.op not in ("<", "<=", ">", ">=", "=="):
            continue
        low, high = bounds.setdefault(c.feature, [(domain[0], False), (domain[1], False)])
        value = float(c.value)
        if c.op in (">", ">=", "==") and (value, c.op == ">") > low:
            low = (value, c.op == ">")
        if c.op in ("<", "<=", "==") and (value, c.op != "<") < (high[0], not high[1]):
            high = (value, c.op == "<")
        bounds[c.feature] = [low, high]
        if low[0] > high[0] or (low[0] == high[0] and (low[1] or high[1])):
            raise ConfigError(
                f"{where}: the conditions on {c.feature} leave no value it can take "
                f"(it is a number in [{domain[0]:g}, {domain[1]:g}]); the rule can never fire"
            )


# the keys each part of a rule set may have: anything else is a typo ("wieght", "flor") that would
# silently leave a rule without its weight or floor
TOP_KEYS = frozenset({"version", "description", "thresholds", "bands", "rules", "delay_tiers"})
RULE_KEYS = frozenset(
    {
        "code",
        "events",
        "message",
        "when",
        "weight",
        "floor",
        "ceiling",
        "override",
        "delay_tier",
        "value_feature",
    }
)
CONDITION_KEYS = frozenset({"feature", "op", "value"})
TIER_KEYS = frozenset({"name", "minutes", "min_score", "min_amount_fen"})
BAND_KEYS = frozenset({"warn", "delay", "block"})


def _known_keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(k) for k in raw.keys() - allowed)
    if unknown:
        hints = [
            f"{k!r} (did you mean {close[0]!r}?)"
            if (close := difflib.get_close_matches(k, allowed, 1))
            else repr(k)
            for k in unknown
        ]
        raise ConfigError(f"{where}: unknown key {', '.join(hints)}; known: {', '.join(sorted(allowed))}")


def _outcome(value: object, where: str) -> str | None:
    if value is None:
        return None
    if value not in RANK:
        raise ConfigError(f"{where}: outcome {value!r} is not one of {', '.join(OUTCOMES)}")
    return str(value)


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: object, where: str) -> float:
    """A JSON number: "0.5" (a string) or true (1.0 to float()) is a mistake in the file, not a number."""
    if not isinstance(value, int | float) or not _finite_number(value):
        raise ConfigError(f"{where} must be a finite number, got {value!r}")
    return float(value)


def _condition(
    raw: object, where: str, known: Mapping[str, frozenset[str]], events: frozenset[str]
) -> Condition:
    if not isinstance(raw, dict) or not {"feature", "op", "value"} <= raw.keys():
        raise ConfigError(f"{where}: a condition needs feature, op and value; got {raw!r}")
    _known_keys(raw, CONDITION_KEYS, where)
    if raw["op"] not in _OPS:
        raise ConfigError(f"{where}: operator {raw['op']!r} is not one of {' '.join(_OPS)}")
    for event in events:
        if raw["feature"] not in known[event]:
            raise ConfigError(
                f"{where}: feature {raw['feature']!r} is not computed for {event} events; "
                f"known: {', '.join(sorted(known[event]))}"
            )
    value = raw["value"]
    # a string or NaN never compares true with a number: the rule would silently never fire
    if raw["op"] in ("<", "<=", ">", ">=") and not _finite_number(value):
        raise ConfigError(
            f"{where}: operator {raw['op']!r} on {raw['feature']!r} needs a finite number, got {value!r}"
        )
    if raw["op"] == "in" and not isinstance(value, list):
        raise ConfigError(f"{where}: operator 'in' needs a list value, got {value!r}")
    if raw["op"] in ("==", "in"):
        for item in value if raw["op"] == "in" else [value]:
            # a missing feature (None) makes every condition false: == null never holds
            expected = "never null when compared" if item is None else _value_fits(raw["feature"], item)
            if expected:  # the comparison is false for every event: the rule would never fire
                raise ConfigError(
                    f"{where}: {raw['feature']} {raw['op']} {value!r} can never hold; "
                    f"{raw['feature']} is {expected}"
                )
    if raw["op"] == "in":
        value = frozenset(value)
    return Condition(raw["feature"], raw["op"], value)


def _rule(raw: object, i: int, known: Mapping[str, frozenset[str]], tiers: set[str]) -> Rule:
    where = f"rule {i}"
    if not isinstance(raw, dict) or "code" not in raw or "events" not in raw:
        raise ConfigError(f"{where}: a rule needs at least code, events and when; got {raw!r}")
    where = f"rule {raw['code']!r}"
    _known_keys(raw, RULE_KEYS, where)
    if not isinstance(raw["events"], list):  # a bare "payment" would be read letter by letter
        raise ConfigError(f'{where}: events must be a list such as ["payment"]; got {raw["events"]!r}')
    events = frozenset(raw["events"])
    if not events or not events <= set(EVENTS):
        raise ConfigError(f"{where}: events {sorted(events)} must be a non-empty subset of {EVENTS}")
    when = tuple(_condition(c, where, known, events) for c in raw.get("when", []))
    if not when:
        raise ConfigError(f"{where}: needs at least one condition in 'when'")
    if len(when) > MAX_CONDITIONS:
        raise ConfigError(f"{where}: {len(when)} conditions; at most {MAX_CONDITIONS}")
    _satisfiable(when, where)
    weight = _number(raw.get("weight", 0.0), f"{where}: weight")
    if not 0.0 <= weight < 1.0:
        raise ConfigError(f"{where}: weight {weight} must be in [0, 1)")
    tier = raw.get("delay_tier")
    if tier is not None and tier not in tiers:
        raise ConfigError(f"{where}: delay_tier {tier!r} is not one of {sorted(tiers)}")
    floor, ceiling = _outcome(raw.get("floor"), where), _outcome(raw.get("ceiling"), where)
    if floor is not None and ceiling is not None and RANK[floor] > RANK[ceiling]:
        raise ConfigError(
            f"{where}: floor {floor!r} is above ceiling {ceiling!r}; the rule contradicts itself"
        )
    message = raw.get("message", raw["code"])
    if not isinstance(raw["code"], str) or not raw["code"].strip() or not isinstance(message, str):
        # the code and message are what a decision's reasons say (a null message read "None")
        raise ConfigError(f"{where}: code and message must be non-empty texts")
    value_feature = raw.get("value_feature")
    if value_feature is not None and any(value_feature not in known[e] for e in events):
        raise ConfigError(
            f"{where}: value_feature {value_feature!r} is not computed for all of {sorted(events)}; "
            "every reason of the rule would carry no value"
        )
    return Rule(
        code=raw["code"],
        message=message,
        events=events,
        when=when,
        weight=weight,
        floor=floor,
        ceiling=ceiling,
        override=_outcome(raw.get("override"), where),
        delay_tier=tier,
        # the reason's value: the named feature, else the first condition that is not a yes/no flag
        value_feature=value_feature
        or next((c.feature for c in when if not isinstance(c.value, bool)), when[0].feature),
    )


def _tier(raw: Mapping[str, Any]) -> DelayTier:
    where = f"delay tier {raw.get('name')!r}"
    _known_keys(raw, TIER_KEYS, where)
    minutes, amount = raw["minutes"], raw.get("min_amount_fen")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        raise ConfigError(f"{where}: minutes {minutes!r} must be a whole number > 0")
    if amount is not None and (isinstance(amount, bool) or not isinstance(amount, int) or amount < 0):
        raise ConfigError(f"{where}: min_amount_fen {amount!r} must be a whole number of fen ≥ 0")
    min_score = _number(raw.get("min_score", 1.1), f"{where}: min_score")
    if not min_score >= 0:  # also refuses NaN
        raise ConfigError(f"{where}: min_score {min_score} must be ≥ 0")
    return DelayTier(str(raw["name"]), minutes, min_score, amount)


def parse_ruleset(document: Mapping[str, Any], known: Mapping[str, frozenset[str]]) -> RuleSet:
    """Validate a rule-set document (a dict) against the features the engine computes.

    Any malformed part (wrong types, missing keys) is a :class:`ConfigError` naming the problem.
    """
    try:
        return _parse(document, known)
    except ConfigError:
        raise
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise ConfigError(
            f"rule set is malformed ({type(exc).__name__}: {exc}); compare with src/fanzha/decide/rules/live.json"
        ) from None


def _parse(document: Mapping[str, Any], known: Mapping[str, frozenset[str]]) -> RuleSet:
    for key in ("version", "bands", "rules", "delay_tiers"):
        if key not in document:
            raise ConfigError(f"rule set lacks {key!r}; see src/fanzha/decide/rules/live.json")
    _known_keys(document, TOP_KEYS, "rule set")
    _known_keys(document["bands"], BAND_KEYS, "bands")
    bands = {k: _number(document["bands"].get(k, 2.0), f"bands: {k}") for k in ("warn", "delay", "block")}
    if not all(v > 0 for v in bands.values()):  # also refuses NaN
        raise ConfigError(f"bands must be scores > 0 (0 would touch every event); got {bands}")
    if not bands["warn"] <= bands["delay"] <= bands["block"]:
        raise ConfigError(f"bands must rise warn <= delay <= block; got {bands}")
    thresholds = {k: _number(v, f"threshold {k}") for k, v in document.get("thresholds", {}).items()}
    for name, value in thresholds.items():
        if name not in THRESHOLDS:
            raise ConfigError(
                f"threshold {name!r} is not one the engine reads; known: {', '.join(THRESHOLDS)}"
            )
        low, high = THRESHOLDS[name]
        if not (low <= value <= high and math.isfinite(value)):
            raise ConfigError(f"threshold {name} {value} must be a finite number in [{low}, {high}]")
    tiers = tuple(_tier(t) for t in document["delay_tiers"])
    if not tiers:
        raise ConfigError("rule set needs at least one delay tier")
    minutes = [t.minutes for t in tiers]
    if minutes != sorted(set(minutes)) or len({t.name for t in tiers}) != len(tiers):
        # tier() takes the last tier reached: out of order, a high score would fall back to a short delay
        raise ConfigError(
            f"delay tiers must have distinct names and rising minutes; got {[(t.name, t.minutes) for t in tiers]}"
        )
    names = {t.name for t in tiers}
    if isinstance(document["rules"], list) and len(document["rules"]) > MAX_RULES:
        raise ConfigError(
            f"rule set has {len(document['rules']):,} rules; at most {MAX_RULES:,} (each decision "
            "evaluates every rule of its event kind)"
        )
    rules = tuple(_rule(r, i, known, names) for i, r in enumerate(document["rules"]))
    codes = [r.code for r in rules]
    if len(set(codes)) != len(codes):
        raise ConfigError(
            f"rule codes must be unique; duplicates: {sorted({c for c in codes if codes.count(c) > 1})}"
        )
    if not isinstance(document["version"], str) or not document["version"].strip():
        # decisions, shadow counts and rollbacks name a rule set by its version
        raise ConfigError(
            f"version must be a non-empty text such as '2026.12.1'; got {document['version']!r}"
        )
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    return RuleSet(
        version=document["version"],
        description=str(document.get("description", "")),
        thresholds=thresholds,
        bands=bands,
        rules=rules,
        delay_tiers=tiers,
        digest=hashlib.sha256(canonical).hexdigest(),
        by_event={e: tuple(r for r in rules if e in r.events) for e in EVENTS},
    )


def load_ruleset(path: Path, known: Mapping[str, frozenset[str]]) -> RuleSet:
    return parse_ruleset(read_document(path), known)


class _RepeatedKey(Exception):
    pass


def _no_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # {"weight": 0.9, ..., "weight": 0.1} reads as 0.1 without a word: a merge or copy-paste mistake
    document: dict[str, Any] = {}
    for key, value in pairs:
        if key in document:
            raise _RepeatedKey(repr(key))
        document[key] = value
    return document


def read_document(path: Path) -> dict[str, Any]:
    """A rule-set file's JSON object; an unreadable file or one that is not a JSON object is a
    :class:`ConfigError`."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"rule set {path} is {size:,} bytes; at most {MAX_FILE_BYTES:,} (the packaged one is 17 kB)"
            )
        document = json.loads(path.read_text("utf-8"), object_pairs_hook=_no_repeated_keys)
    except _RepeatedKey as exc:
        raise ConfigError(
            f"rule set {path} gives {exc} twice in one object; JSON keeps only the last one, so remove "
            "the other"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"rule set {path} cannot be read as JSON ({exc}); fix or restore the file"
        ) from None
    if not isinstance(document, dict):
        raise ConfigError(f"rule set {path} must be a JSON object")
    return document
