"""The telecom-fraud typology library (诈骗剧本库) as data: ``typologies.json``.

One :class:`Typology` per fraud-type code of ``fraud_types.json``: contact channels, victim profile,
money shape (loss distribution, test payments, number of payments), timings, cash-out mix and the
Chinese scripts (SMS / chat / call lines) of every step. The simulator draws episodes from it; the
texts area reuses the scripts as a training corpus (:func:`all_script_lines`).

Lines contain ``{placeholders}``; :func:`render` fills them from the library's ``fill`` lists.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from fanzha.errors import ConfigError, NotFoundError
from fanzha.taxonomy import fraud_types

STEPS = ("contact", "grooming", "test", "harvest")
CHANNELS = ("call", "sms", "app", "chat")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class ScriptStep:
    step: str  # contact | grooming | test | harvest
    channel: str  # call | sms | app | chat
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Typology:
    code: str
    zh: str
    case_weight: float  # target share of reported cases
    report_prob: float  # chance a victim reports to the police
    channels: dict[str, float]  # contact channel → probability (call, sms, app)
    min_age: int
    max_age: int
    female_share: float
    prefer: dict[str, float]  # victim trait → relative weight (student, elderly, homemaker …)
    loss_median_yuan: float
    loss_sigma: float
    loss_min_yuan: float
    loss_max_yuan: float
    test_count: tuple[int, int]
    test_yuan: tuple[float, float]
    rebate_pct: tuple[float, float]  # refunds of test payments (brushing rebates); 0 = none
    payments: tuple[int, int]  # number of large payments
    grooming_hours: tuple[float, float]
    between_payments_hours: tuple[float, float]
    cashout: dict[str, float]  # atm | otc | gold → share
    suspect_known: tuple[str, ...]  # identifier kinds a reporting victim can name
    steps: tuple[ScriptStep, ...]
    narratives: tuple[str, ...]
    fill: dict[str, tuple[str, ...]] = field(default_factory=dict)  # typology-specific placeholder values
    narratives_by_trait: dict[str, tuple[str, ...]] = field(default_factory=dict)  # for victims with a trait

    def render(self, template: str, rng: np.random.Generator, **values: object) -> str:
        """:func:`render` with this typology's own placeholder values (e.g. 美团 for food delivery)."""
        own = {k: v[int(rng.integers(len(v)))] for k, v in self.fill.items() if k not in values}
        return render(template, rng, **own, **values)

    def lines(self, step: str) -> tuple[str, ...]:
        """Every script line of ``step`` (empty when the typology has no such step)."""
        return tuple(line for s in self.steps if s.step == step for line in s.lines)

    def step(self, step: str) -> ScriptStep | None:
        return next((s for s in self.steps if s.step == step), None)

    @property
    def mean_loss_yuan(self) -> float:
        """Mean of the (untruncated) log-normal loss: used to reason about loss shares."""
        return float(self.loss_median_yuan * np.exp(self.loss_sigma**2 / 2))


def _pair(value: Any, name: str, code: str) -> tuple[Any, Any]:
    if not isinstance(value, list) or len(value) != 2 or value[0] > value[1]:
        raise ConfigError(f"typology {code}: {name} must be [min, max] with min ≤ max, got {value!r}")
    return value[0], value[1]


def _build(code: str, raw: dict[str, Any]) -> Typology:
    victim, loss, test, timing = raw["victim"], raw["loss_yuan"], raw["test"], raw["timing_hours"]
    steps = tuple(ScriptStep(s["step"], s["channel"], tuple(s["lines"])) for s in raw["steps"])
    for s in steps:
        if s.step not in STEPS or s.channel not in CHANNELS or not s.lines:
            raise ConfigError(f"typology {code}: bad step {s.step!r}/{s.channel!r} or no lines")
    return Typology(
        code=code,
        zh=raw["zh"],
        case_weight=float(raw["case_weight"]),
        report_prob=float(raw["report_prob"]),
        channels={k: float(v) for k, v in raw["channels"].items()},
        min_age=int(victim["min_age"]),
        max_age=int(victim["max_age"]),
        female_share=float(victim["female_share"]),
        prefer={k: float(v) for k, v in victim["prefer"].items()},
        loss_median_yuan=float(loss["median"]),
        loss_sigma=float(loss["sigma"]),
        loss_min_yuan=float(loss["min"]),
        loss_max_yuan=float(loss["max"]),
        test_count=_pair(test["count"], "test.count", code),
        test_yuan=_pair(test["yuan"], "test.yuan", code),
        rebate_pct=_pair(test["rebate_pct"], "test.rebate_pct", code),
        payments=_pair(raw["payments"], "payments", code),
        grooming_hours=_pair(timing["grooming"], "timing_hours.grooming", code),
        between_payments_hours=_pair(timing["between_payments"], "timing_hours.between_payments", code),
        cashout={k: float(v) for k, v in raw["cashout"].items()},
        suspect_known=tuple(raw["suspect_known"]),
        steps=steps,
        narratives=tuple(raw["narratives"]),
        fill={k: tuple(v) for k, v in raw.get("fill", {}).items()},
        narratives_by_trait={k: tuple(v) for k, v in raw.get("narratives_by_trait", {}).items()},
    )


@lru_cache(maxsize=1)
def _raw() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("typologies.json").read_text("utf-8")
    raw: dict[str, Any] = json.loads(text)
    return raw


@lru_cache(maxsize=1)
def load_typologies() -> dict[str, Typology]:
    """Every typology keyed by fraud-type code, in the file's order (deterministic)."""
    known = fraud_types()
    out: dict[str, Typology] = {}
    for code, raw in _raw()["typologies"].items():
        if code not in known:
            raise ConfigError(f"typologies.json names {code!r}, which is not in fraud_types.json")
        out[code] = _build(code, raw)
    return out


def get_typology(code: str) -> Typology:
    try:
        return load_typologies()[code]
    except KeyError:
        raise NotFoundError(f"no typology for {code!r}; known: {', '.join(load_typologies())}") from None


def fill_values() -> dict[str, tuple[str, ...]]:
    """Candidate values for the ``{placeholders}`` of the scripts (platforms, banks, couriers …)."""
    return {k: tuple(v) for k, v in _raw()["fill"].items()}


def legit_sms_lines() -> tuple[str, ...]:
    """Ordinary (non-fraud) SMS templates: bank notices, parcel codes, family messages."""
    return tuple(_raw()["legit_sms"])


def render(template: str, rng: np.random.Generator, **values: object) -> str:
    """Fill ``{name}`` placeholders: explicit ``values`` first, then a random ``fill`` value.

    ``digits`` → 4 random digits, ``amount`` → a round amount, ``url`` → a placeholder scam URL,
    ``app_name`` → an app name; unknown names are left as written.
    """
    fills = fill_values()

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return str(values[name])
        if name in fills:
            return fills[name][int(rng.integers(len(fills[name])))]
        if name == "digits":
            return f"{int(rng.integers(10_000)):04d}"
        if name == "amount":
            return str(int(rng.choice([100, 200, 500, 1000, 2000, 5000, 10000, 30000])))
        if name == "url":
            return f"http://{'abcdefghjk'[int(rng.integers(10))]}{int(rng.integers(100, 999))}.vip"
        if name == "app_name":
            return "汇金" + "宝通达盈鑫"[int(rng.integers(5))] + "APP"
        return match.group(0)

    return _PLACEHOLDER.sub(one, template)


def all_script_lines(*, fraud_only: bool = True) -> list[tuple[str, str, str, str]]:
    """``(fraud_type, step, channel, line)`` for every scripted line (templates, unfilled).

    With ``fraud_only=False`` the ordinary SMS templates are added with fraud_type ``legit``.
    """
    rows = [
        (code, s.step, s.channel, line)
        for code, t in load_typologies().items()
        for s in t.steps
        for line in s.lines
    ]
    if not fraud_only:
        rows += [("legit", "legit", "sms", line) for line in legit_sms_lines()]
    return rows
