"""Warnings and dissuasion (预警劝阻): from fraudster-side signal events to tiered tasks.

A :class:`SignalEvent` says a person was just touched by fraud: a call or SMS from a high-risk
number, a pending transfer to a flagged account, a visit to a flagged URL, a flagged app installed.
:func:`assess` weighs signal, amount at stake and vulnerability (elderly, minor, earlier victim)
into a score and a tier (red / orange / yellow) with reasons; the tier picks the channels (visit,
call, flash SMS 闪信, SMS, app push) and their deadlines; elderly people's and minors' family
contacts (亲情号码) are alerted too. :func:`create_warning` merges repeated signals of the same
person and episode into the open task (the tier only ever goes up). :func:`transition` walks the
lifecycle ``issued → delivered → contacted → dissuaded / victimised / unreachable``.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fanzha.errors import NotFoundError, StateError, ValidationError
from fanzha.ops import audit
from fanzha.ops.audit import Actor
from fanzha.ops.models import (
    PersonProfile,
    WarningEvent,
    WarningTask,
    check_choice,
    check_key,
    check_length,
    check_limit,
)
from fanzha.ops.store import Store
from fanzha.records.normalise import MAX_FEN, normalise_account, normalise_phone, person_key

SIGNAL_KINDS = ("call", "sms", "pending_transfer", "url_visit", "app_install")
TIERS = ("red", "orange", "yellow")
MAX_AGE = 150  # an age above this (or below 0) is a typo, not a very old person
CHANNELS = ("visit", "call", "flash_sms", "sms", "app_push")
STATUSES = ("issued", "delivered", "contacted", "dissuaded", "victimised", "unreachable")
TERMINAL = frozenset({"dissuaded", "victimised", "unreachable"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "issued": frozenset({"delivered", "unreachable"}),
    "delivered": frozenset({"contacted", "unreachable", "victimised"}),
    "contacted": frozenset({"dissuaded", "victimised"}),
    "dissuaded": frozenset(),
    "victimised": frozenset(),
    "unreachable": frozenset(),
}
_TIME_FIELD = {"delivered": "delivered_at", "contacted": "contacted_at"}


@dataclass(frozen=True)
class SignalEvent:
    """One fraudster-side signal about a potential victim.

    ``counterpart`` is the risky number / account / URL / app; ``counterpart_risk`` its risk
    probability (from the risk scores or a list hit, 0–1); ``amount_fen`` the money at stake
    (pending transfer). ``age``, ``earlier_victim`` and ``family_contacts`` override the stored
    person profile. ``event_id`` makes re-delivery of the same event a no-op.
    """

    kind: str
    person_id: str
    occurred_at: datetime
    counterpart: str
    counterpart_risk: float = 1.0
    amount_fen: int = 0
    phone: str | None = None
    episode_id: str | None = None
    event_id: str | None = None
    duration_s: int | None = None
    age: int | None = None
    earlier_victim: bool | None = None
    family_contacts: tuple[str, ...] | None = None

    def validate(self, now: datetime, window: timedelta) -> None:
        if self.kind not in SIGNAL_KINDS:
            raise ValidationError(
                f"signal kind {self.kind!r} is unknown; use one of {SIGNAL_KINDS}", field="kind"
            )
        check_key("person_id", self.person_id, hint="say who is at risk")
        check_length("episode_id", self.episode_id, 128)
        if not isinstance(self.counterpart, str) or not self.counterpart.strip():
            raise ValidationError(
                "signal has no counterpart; name the risky number / account / URL / app", field="counterpart"
            )
        if self.age is not None and (
            isinstance(self.age, bool) or not isinstance(self.age, int) or not 0 <= self.age <= MAX_AGE
        ):
            raise ValidationError(
                f"age {self.age!r} is not a person's age (0…{MAX_AGE}); leave it out to use the stored profile",
                field="age",
                value=self.age,
            )
        if self.duration_s is not None and (
            isinstance(self.duration_s, bool) or not isinstance(self.duration_s, int) or self.duration_s < 0
        ):
            raise ValidationError(
                f"duration_s {self.duration_s!r} is not a non-negative number of seconds",
                field="duration_s",
                value=self.duration_s,
            )
        if self.occurred_at.tzinfo is None:
            raise ValidationError(f"occurred_at {self.occurred_at} has no timezone", field="occurred_at")
        if not 0.0 <= self.counterpart_risk <= 1.0:
            raise ValidationError(
                f"counterpart_risk {self.counterpart_risk} is not in 0…1", field="counterpart_risk"
            )
        amount = self.amount_fen
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_FEN:
            raise ValidationError(
                f"amount_fen {amount!r} is not a non-negative integer of fen up to {MAX_FEN}",
                field="amount_fen",
            )
        if self.kind in ("call", "sms") and now - self.occurred_at > window:
            minutes = int((now - self.occurred_at).total_seconds() // 60)
            raise ValidationError(
                f"{self.kind} signal is {minutes} min old, beyond the {int(window.total_seconds() // 60)}-min "
                "window: too late for a warning; pass a fresher event or widen TierRules.window_minutes",
                field="occurred_at",
            )


@dataclass(frozen=True)
class TierRules:
    """The scoring rules; every figure is a parameter so a centre can tune them (documented in docs/ops.md)."""

    window_minutes: int = 30
    signal_points: dict[str, int] = field(
        default_factory=lambda: {
            "pending_transfer": 50,
            "call": 35,
            "app_install": 30,
            "url_visit": 30,
            "sms": 20,
        }
    )
    long_call_s: int = 180
    long_call_points: int = 10
    corroboration_points: int = 10  # per further distinct signal kind in the same episode
    amount_points: tuple[tuple[int, int], ...] = ((5_000_000, 30), (500_000, 20), (50_000, 10))
    elderly_age: int = 60
    minor_age: int = 18
    elderly_points: int = 20
    minor_points: int = 15
    earlier_victim_points: int = 15
    red_at: int = 70
    orange_at: int = 45
    # tier → (channel, minutes to deadline) for the person; family contacts get the call/SMS rows
    channels: dict[str, tuple[tuple[str, int], ...]] = field(
        default_factory=lambda: {
            "red": (("flash_sms", 5), ("app_push", 5), ("call", 10), ("visit", 60)),
            "orange": (("flash_sms", 15), ("sms", 15), ("app_push", 15), ("call", 30)),
            "yellow": (("sms", 120), ("app_push", 120)),
        }
    )
    family_channels: dict[str, tuple[str, int]] = field(
        default_factory=lambda: {"red": ("call", 10), "orange": ("call", 30), "yellow": ("sms", 120)}
    )


DEFAULT_RULES = TierRules()


@dataclass
class Assessment:
    tier: str
    score: int
    reasons: list[dict[str, Any]]
    vulnerability: list[str]


def _reason(code: str, message: str, value: Any, points: int) -> dict[str, Any]:
    return {"code": code, "message": message, "value": value, "points": points}


def _age(birth: date | None, today: date) -> int | None:
    if birth is None:
        return None
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def assess(
    signals: list[dict[str, Any]], age: int | None, earlier_victim: bool, rules: TierRules = DEFAULT_RULES
) -> Assessment:
    """Score a set of signals (one episode) for a person; pure, deterministic, with reasons."""
    reasons: list[dict[str, Any]] = []
    points_by_kind: dict[str, int] = {}
    for sig in signals:
        base = rules.signal_points[sig["kind"]]
        pts = round(base * (0.5 + 0.5 * float(sig.get("counterpart_risk", 1.0))))
        if sig["kind"] == "call" and (sig.get("duration_s") or 0) >= rules.long_call_s:
            pts += rules.long_call_points
        points_by_kind[sig["kind"]] = max(points_by_kind.get(sig["kind"], 0), pts)
    ranked = sorted(points_by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
    top_kind, top = ranked[0]
    reasons.append(_reason(f"signal_{top_kind}", f"strongest signal: {top_kind}", top_kind, top))
    score = top
    for kind, _ in ranked[1:]:
        score += rules.corroboration_points
        reasons.append(
            _reason(
                "corroborated",
                f"further signal in the same episode: {kind}",
                kind,
                rules.corroboration_points,
            )
        )
    amount = max((int(s.get("amount_fen") or 0) for s in signals), default=0)
    for threshold, pts in rules.amount_points:
        if amount >= threshold:
            score += pts
            reasons.append(
                _reason("amount_at_stake", f"amount at stake ≥ {threshold // 100} yuan", amount, pts)
            )
            break
    vulnerability: list[str] = []
    if age is not None and age >= rules.elderly_age:
        vulnerability.append("elderly")
        score += rules.elderly_points
        reasons.append(
            _reason("elderly", f"person is {age}, elderly (≥ {rules.elderly_age})", age, rules.elderly_points)
        )
    if age is not None and age < rules.minor_age:
        vulnerability.append("minor")
        score += rules.minor_points
        reasons.append(_reason("minor", f"person is {age}, a minor", age, rules.minor_points))
    if earlier_victim:
        vulnerability.append("earlier_victim")
        score += rules.earlier_victim_points
        reasons.append(
            _reason("earlier_victim", "person was defrauded before", True, rules.earlier_victim_points)
        )
    tier = "red" if score >= rules.red_at else "orange" if score >= rules.orange_at else "yellow"
    return Assessment(tier, score, reasons, vulnerability)


def plan_channels(
    tier: str,
    phone: str | None,
    family: list[str],
    vulnerability: list[str],
    issued: datetime,
    rules: TierRules,
) -> tuple[list[dict[str, Any]], bool]:
    """Channels with targets and deadlines for a tier; family contacts for the elderly and minors."""
    plan = [
        {
            "channel": ch,
            "target_kind": "person",
            "target": phone,
            "deadline_at": (issued + timedelta(minutes=m)).isoformat(),
        }
        for ch, m in rules.channels[tier]
    ]
    alert_family = bool(family) and ("elderly" in vulnerability or "minor" in vulnerability)
    if alert_family:
        ch, m = rules.family_channels[tier]
        deadline = (issued + timedelta(minutes=m)).isoformat()
        plan += [
            {"channel": ch, "target_kind": "family", "target": f, "deadline_at": deadline} for f in family
        ]
    return plan, alert_family


def _counterpart(kind: str, value: str) -> str:
    """The counterpart in the one spelling the lists and the scores use (by signal kind)."""
    from fanzha.ops.lists import normalise_value

    if kind in ("call", "sms"):
        return normalise_phone(value)
    if kind == "pending_transfer":
        return normalise_account(value)
    if kind == "url_visit":
        return normalise_value("url", value)
    return value.strip()  # app_install: an app name or package id


def _signal_dict(event: SignalEvent) -> dict[str, Any]:
    return {
        "kind": event.kind,
        "counterpart": _counterpart(event.kind, event.counterpart),
        "counterpart_risk": event.counterpart_risk,
        "amount_fen": event.amount_fen,
        "occurred_at": event.occurred_at.astimezone(UTC).isoformat(),
        "event_id": event.event_id,
        "duration_s": event.duration_s,
    }


def _profile_facts(
    session: Session, event: SignalEvent, now: datetime
) -> tuple[int | None, bool, list[str], str | None]:
    profile = session.get(PersonProfile, event.person_id)
    age = event.age if event.age is not None else _age(profile.birth_date if profile else None, now.date())
    earlier = (
        event.earlier_victim if event.earlier_victim is not None else bool(profile and profile.earlier_victim)
    )
    family = (
        list(event.family_contacts)
        if event.family_contacts is not None
        else [c["phone"] for c in (profile.family_contacts if profile else [])]
    )
    phone = event.phone or (profile.phone if profile else None)
    return age, earlier, [normalise_phone(f) for f in family], normalise_phone(phone) if phone else None


def create_warning(
    store: Store,
    event: SignalEvent,
    actor: Actor,
    *,
    rules: TierRules = DEFAULT_RULES,
    now: datetime | None = None,
) -> WarningTask:
    """Raise a warning for ``event`` or merge it into the person's open warning of the same episode.

    Episode: ``event.episode_id`` when given, else ``"open"`` (every signal while a warning is open
    belongs to it). Merging re-scores all signals; the tier never goes down; a re-delivered
    ``event_id`` changes nothing. Raises ValidationError for a bad or stale event.
    """
    now = audit.as_of(now)
    event.validate(now, timedelta(minutes=rules.window_minutes))
    event = dataclasses.replace(event, person_id=person_key(event.person_id))
    episode = event.episode_id or "open"
    open_key = f"{event.person_id}|{episode}"
    for attempt in range(3):
        try:
            with store.transaction() as session:
                return _create_or_merge(session, event, actor, rules, now, episode, open_key)
        except IntegrityError:
            if attempt == 2:  # pragma: no cover - needs three concurrent creators in a row
                raise
    raise AssertionError("unreachable")


def _create_or_merge(
    session: Session,
    event: SignalEvent,
    actor: Actor,
    rules: TierRules,
    now: datetime,
    episode: str,
    open_key: str,
) -> WarningTask:
    existing = session.execute(
        select(WarningTask).where(WarningTask.open_key == open_key).with_for_update()
    ).scalar_one_or_none()
    age, earlier, family, phone = _profile_facts(session, event, now)
    signal = _signal_dict(event)
    if existing is not None:
        if event.event_id and any(s.get("event_id") == event.event_id for s in existing.signals):
            return existing
        return _merge(session, existing, signal, age, earlier, family, actor, rules, now)
    result = assess([signal], age, earlier, rules)
    channels, alerted = plan_channels(result.tier, phone, family, result.vulnerability, now, rules)
    task = WarningTask(
        id="w_" + uuid.uuid4().hex[:24],
        person_id=event.person_id,
        phone=phone,
        episode_key=episode,
        open_key=open_key,
        tier=result.tier,
        score=result.score,
        status="issued",
        signals=[signal],
        reasons=result.reasons,
        amount_at_stake_fen=event.amount_fen,
        vulnerability=result.vulnerability,
        channels=channels,
        family_alerted=alerted,
        deadline_at=min(datetime.fromisoformat(c["deadline_at"]) for c in channels),
        issued_at=now,
        merged_count=0,
        updated_at=now,
    )
    session.add(task)
    session.flush()  # IntegrityError here when another worker opened the same episode first
    session.add(
        WarningEvent(
            warning_id=task.id,
            at=now,
            from_status=None,
            to_status="issued",
            officer=actor.name,
            note=result.tier,
        )
    )
    audit.append(
        session,
        actor,
        "warning.create",
        subject_kind="person",
        subject_id=event.person_id,
        detail={"warning_id": task.id, "tier": task.tier, "score": task.score, "signal": event.kind},
        now=now,
    )
    return task


def _merge(
    session: Session,
    task: WarningTask,
    signal: dict[str, Any],
    age: int | None,
    earlier: bool,
    family: list[str],
    actor: Actor,
    rules: TierRules,
    now: datetime,
) -> WarningTask:
    signals = [*task.signals, signal]
    result = assess(signals, age, earlier, rules)
    old_tier = task.tier
    task.signals = signals
    task.merged_count += 1
    task.amount_at_stake_fen = max(task.amount_at_stake_fen, int(signal["amount_fen"] or 0))
    task.updated_at = now
    if TIERS.index(result.tier) < TIERS.index(task.tier) or result.score > task.score:
        task.score = max(task.score, result.score)
        task.reasons = result.reasons
        task.vulnerability = result.vulnerability
    if TIERS.index(result.tier) < TIERS.index(old_tier):  # escalated: plan the stronger channels now
        task.tier = result.tier
        channels, alerted = plan_channels(result.tier, task.phone, family, result.vulnerability, now, rules)
        task.channels = [*task.channels, *channels]
        task.family_alerted = task.family_alerted or alerted
        task.deadline_at = min(
            task.deadline_at, *(datetime.fromisoformat(c["deadline_at"]) for c in channels)
        )
    session.add(
        WarningEvent(
            warning_id=task.id,
            at=now,
            from_status=task.status,
            to_status=task.status,
            officer=actor.name,
            note=f"merged {signal['kind']}; tier {old_tier}→{task.tier}",
        )
    )
    audit.append(
        session,
        actor,
        "warning.merge",
        subject_kind="person",
        subject_id=task.person_id,
        detail={"warning_id": task.id, "tier": task.tier, "signal": signal["kind"]},
        now=now,
    )
    return task


def transition(
    store: Store,
    warning_id: str,
    to_status: str,
    actor: Actor,
    *,
    officer: str | None = None,
    channel: str | None = None,
    note: str | None = None,
    now: datetime | None = None,
) -> WarningTask:
    """Move a warning along its lifecycle; illegal moves raise StateError naming the allowed ones.

    ``contacted`` needs the ``channel`` that reached the person; ``contacted`` and the outcomes need
    the ``officer`` (defaults to the actor; an outcome after contact keeps the contacting officer).
    Repeating the current status is a no-op (safe retries).
    """
    now = audit.as_of(now)
    if to_status not in STATUSES:
        raise ValidationError(f"status {to_status!r} is unknown; use one of {STATUSES}", field="status")
    if channel is not None and channel not in CHANNELS:
        raise ValidationError(f"channel {channel!r} is unknown; use one of {CHANNELS}", field="channel")
    check_length("officer", officer, 128)
    with store.transaction() as session:
        task = session.execute(
            select(WarningTask).where(WarningTask.id == warning_id).with_for_update()
        ).scalar_one_or_none()
        if task is None:
            raise NotFoundError(
                f"warning {warning_id!r} does not exist; list them with `fanzha ops warnings list`"
            )
        if task.status == to_status:
            return task
        allowed = TRANSITIONS[task.status]
        if to_status not in allowed:
            nxt = ", ".join(sorted(allowed)) or "none (it is closed)"
            raise StateError(
                f"warning {warning_id} is {task.status!r}; it cannot become {to_status!r}. Allowed next: {nxt}"
            )
        if to_status == "contacted" and channel is None:
            raise ValidationError(
                "marking a warning contacted needs the channel that reached the person", field="channel"
            )
        previous = task.status
        task.status = to_status
        task.updated_at = now
        if to_status in _TIME_FIELD:
            setattr(task, _TIME_FIELD[to_status], now)
        if to_status == "contacted":
            task.contact_channel = channel
        if to_status in ("contacted", *TERMINAL):
            # closing without naming an officer keeps the one who reached the person (the closing
            # actor is in the step's event row); before, whoever typed the outcome replaced them
            kept = task.officer if to_status in TERMINAL and task.contacted_at else None
            task.officer = officer or kept or actor.name
        if to_status in TERMINAL:
            task.closed_at = now
            task.open_key = None
            task.outcome_note = note
        session.add(
            WarningEvent(
                warning_id=task.id,
                at=now,
                from_status=previous,
                to_status=to_status,
                officer=officer or actor.name,
                channel=channel,
                note=note,
            )
        )
        audit.append(
            session,
            actor,
            f"warning.{to_status}",
            subject_kind="person",
            subject_id=task.person_id,
            detail={"warning_id": task.id, "from": previous, "channel": channel},
            now=now,
        )
        return task


def get_warning(store: Store, warning_id: str, actor: Actor) -> WarningTask:
    """One warning (a personal-data read: logged)."""
    with store.transaction() as session:
        task = session.get(WarningTask, warning_id)
        if task is None:
            raise NotFoundError(
                f"warning {warning_id!r} does not exist; list them with `fanzha ops warnings list`"
            )
        audit.append(
            session,
            actor,
            "warning.read",
            subject_kind="person",
            subject_id=task.person_id,
            detail={"warning_id": warning_id},
        )
        return task


def list_warnings(
    store: Store,
    actor: Actor,
    *,
    status: str | None = None,
    tier: str | None = None,
    person_id: str | None = None,
    open_only: bool = False,
    limit: int = 100,
) -> list[WarningTask]:
    """Warnings newest first, filtered (a personal-data read: logged)."""
    check_choice("status", status or None, STATUSES)
    check_choice("tier", tier or None, TIERS)
    check_limit(limit)
    with store.transaction() as session:
        query = select(WarningTask).order_by(WarningTask.issued_at.desc(), WarningTask.id).limit(limit)
        if status:
            query = query.where(WarningTask.status == status)
        if tier:
            query = query.where(WarningTask.tier == tier)
        if person_id:
            query = query.where(WarningTask.person_id == person_key(person_id))
        if open_only:
            query = query.where(WarningTask.open_key.is_not(None))
        rows = list(session.execute(query).scalars().all())
        audit.append(
            session,
            actor,
            "warning.list",
            subject_kind="person",
            subject_id=person_id,
            detail={"status": status, "tier": tier, "rows": len(rows)},
        )
        return rows


def history(store: Store, warning_id: str, actor: Actor) -> list[WarningEvent]:
    """Every lifecycle step of a warning with time and officer."""
    with store.transaction() as session:
        rows = list(
            session.execute(
                select(WarningEvent).where(WarningEvent.warning_id == warning_id).order_by(WarningEvent.id)
            )
            .scalars()
            .all()
        )
        if not rows:
            raise NotFoundError(f"warning {warning_id!r} does not exist")
        audit.append(session, actor, "warning.history", subject_kind="warning", subject_id=warning_id)
        return rows


def upsert_profile(
    store: Store,
    actor: Actor,
    person_id: str,
    *,
    phone: str | None = None,
    birth_date: date | None = None,
    earlier_victim: bool = False,
    family_contacts: list[dict[str, str]] | None = None,
    now: datetime | None = None,
) -> PersonProfile:
    """Store what the rules need about a person (family contacts as ``{"phone", "relation"}``)."""
    now = audit.as_of(now)
    check_key("person_id", person_id, hint="say whose profile this is")
    person_id = person_key(person_id)
    if birth_date is not None:
        age = _age(birth_date, now.date())
        if age is None or not 0 <= age <= MAX_AGE:
            raise ValidationError(
                f"birth_date {birth_date} gives an age of {age} on {now.date()}; not a living person's "
                "birth date (future or typo?)",
                field="birth_date",
                value=birth_date,
            )
    contacts = [
        {"phone": normalise_phone(c["phone"]), "relation": c.get("relation", "")}
        for c in family_contacts or []
    ]
    with store.transaction() as session:
        profile = session.get(PersonProfile, person_id, with_for_update=True)
        if profile is None:
            profile = PersonProfile(person_id=person_id)
            session.add(profile)
        profile.phone = normalise_phone(phone) if phone else None
        profile.birth_date = birth_date
        profile.earlier_victim = earlier_victim
        profile.family_contacts = contacts
        profile.updated_at = now
        audit.append(
            session,
            actor,
            "person.profile",
            subject_kind="person",
            subject_id=person_id,
            detail={"family_contacts": len(contacts)},
            now=now,
        )
        return profile
