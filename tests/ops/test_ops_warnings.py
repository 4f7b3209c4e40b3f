"""Warnings: tiering rules (known answers), channels, family alerts, lifecycle, merging, statistics."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from fanzha.errors import NotFoundError, StateError, ValidationError
from fanzha.ops import warnings as W
from fanzha.ops.audit import Actor
from fanzha.ops.stats import funnel, warning_stats
from fanzha.ops.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def event(kind: str = "call", person: str = "p1", **kw) -> W.SignalEvent:
    kw.setdefault("occurred_at", T0 - timedelta(minutes=2))
    kw.setdefault("counterpart", "13800138000")
    return W.SignalEvent(kind=kind, person_id=person, **kw)


def sig(kind: str, risk: float = 1.0, amount: int = 0, duration: int | None = None) -> dict:
    return {"kind": kind, "counterpart_risk": risk, "amount_fen": amount, "duration_s": duration}


# ---------------------------------------------------------------- rules (pure)
@pytest.mark.parametrize(
    ("signals", "age", "earlier", "tier", "score"),
    [
        ([sig("sms")], 35, False, "yellow", 20),
        ([sig("call")], 35, False, "yellow", 35),
        ([sig("call")], 70, False, "orange", 55),  # 35 + elderly 20
        ([sig("call", risk=0.0)], 70, False, "yellow", 38),  # 18 + 20: a low-risk number counts half
        ([sig("call", duration=600)], 35, True, "orange", 60),  # long call +10, earlier victim +15
        ([sig("pending_transfer", amount=1_000_000)], 40, False, "red", 70),  # 50 + ≥5000 yuan 20
        ([sig("call"), sig("pending_transfer", amount=6_000_000)], 72, False, "red", 110),  # 50+10+30+20
        ([sig("url_visit")], 15, False, "orange", 45),  # 30 + minor 15
    ],
)
def test_tier_known_answers(signals, age, earlier, tier, score) -> None:
    result = W.assess(signals, age, earlier)
    assert (result.tier, result.score) == (tier, score)
    assert sum(r["points"] for r in result.reasons) == score  # every point has a reason


def test_channels_and_family_contacts_for_the_elderly() -> None:
    plan, alerted = W.plan_channels("red", "13912345678", ["13700000001"], ["elderly"], T0, W.DEFAULT_RULES)
    assert alerted
    assert [c["channel"] for c in plan if c["target_kind"] == "person"] == [
        "flash_sms",
        "app_push",
        "call",
        "visit",
    ]
    family = [c for c in plan if c["target_kind"] == "family"]
    assert family == [
        {
            "channel": "call",
            "target_kind": "family",
            "target": "13700000001",
            "deadline_at": (T0 + timedelta(minutes=10)).isoformat(),
        }
    ]
    plan, alerted = W.plan_channels("yellow", None, ["13700000001"], [], T0, W.DEFAULT_RULES)
    assert not alerted and {c["channel"] for c in plan} == {"sms", "app_push"}


# ---------------------------------------------------------------- service
def test_create_warning_stores_tier_channels_and_audit(store: Store, actor: Actor) -> None:
    w = W.create_warning(
        store, event(age=68, phone="+86 139 1234 5678", family_contacts=("13700000001",)), actor, now=T0
    )
    assert (w.tier, w.score, w.status, w.family_alerted) == ("orange", 55, "issued", True)
    assert w.phone == "13912345678"
    assert w.deadline_at == T0 + timedelta(minutes=15)
    assert w.vulnerability == ["elderly"]
    hist = W.history(store, w.id, actor)
    assert [(h.from_status, h.to_status) for h in hist] == [(None, "issued")]


def test_profile_supplies_age_and_family(store: Store, actor: Actor) -> None:
    W.upsert_profile(
        store,
        actor,
        "p9",
        phone="13912345678",
        birth_date=datetime(1950, 1, 1).date(),
        family_contacts=[{"phone": "13700000002", "relation": "son"}],
        now=T0,
    )
    w = W.create_warning(store, event(person="p9"), actor, now=T0)
    assert "elderly" in w.vulnerability and w.family_alerted
    assert any(c["target"] == "13700000002" for c in w.channels)


def test_stale_call_is_refused(store: Store, actor: Actor) -> None:
    with pytest.raises(ValidationError, match="window"):
        W.create_warning(store, event(occurred_at=T0 - timedelta(minutes=45)), actor, now=T0)


@pytest.mark.parametrize(
    "bad", [{"kind": "fax"}, {"counterpart_risk": 1.5}, {"amount_fen": -1}, {"person": ""}]
)
def test_bad_events_are_rejected_with_reasons(store: Store, actor: Actor, bad: dict) -> None:
    bad = dict(bad)
    kind = bad.pop("kind", "call")
    person = bad.pop("person", "p1")
    with pytest.raises(ValidationError):
        W.create_warning(store, event(kind, person, **bad), actor, now=T0)


def test_repeated_signals_merge_and_tier_only_rises(store: Store, actor: Actor) -> None:
    first = W.create_warning(store, event("sms", event_id="e1"), actor, now=T0)
    assert first.tier == "yellow"
    again = W.create_warning(store, event("sms", event_id="e1"), actor, now=T0)  # re-delivery: no-op
    assert (again.id, again.merged_count) == (first.id, 0)
    merged = W.create_warning(
        store,
        event("pending_transfer", counterpart="6222020200112233445", amount_fen=8_000_000, event_id="e2"),
        actor,
        now=T0 + timedelta(minutes=1),
    )
    assert merged.id == first.id and merged.merged_count == 1
    assert merged.tier == "red" and merged.score == 50 + 10 + 30
    assert merged.deadline_at == T0 + timedelta(minutes=6)  # red flash SMS planned at the merge
    weaker = W.create_warning(store, event("sms", event_id="e3"), actor, now=T0 + timedelta(minutes=2))
    assert weaker.tier == "red" and weaker.merged_count == 2
    assert len(W.list_warnings(store, actor, person_id="p1")) == 1


def test_other_episode_or_closed_warning_opens_a_new_one(store: Store, actor: Actor) -> None:
    a = W.create_warning(store, event(episode_id="ep1"), actor, now=T0)
    b = W.create_warning(store, event(episode_id="ep2"), actor, now=T0)
    assert a.id != b.id
    for status in ("unreachable",):
        W.transition(store, a.id, status, actor, now=T0)
    c = W.create_warning(store, event(episode_id="ep1"), actor, now=T0)
    assert c.id not in (a.id, b.id)


LEGAL_PATHS = [
    ["delivered", "contacted", "dissuaded"],
    ["delivered", "contacted", "victimised"],
    ["delivered", "victimised"],
    ["delivered", "unreachable"],
    ["unreachable"],
]


@pytest.mark.parametrize("path", LEGAL_PATHS, ids="→".join)
def test_every_legal_lifecycle_path(store: Store, actor: Actor, path: list[str]) -> None:
    w = W.create_warning(store, event(), actor, now=T0)
    for i, status in enumerate(path, start=1):
        w = W.transition(
            store,
            w.id,
            status,
            actor,
            channel="call" if status == "contacted" else None,
            officer="li",
            now=T0 + timedelta(minutes=i),
        )
        assert w.status == status
    assert w.closed_at == T0 + timedelta(minutes=len(path))
    assert w.open_key is None
    if "contacted" in path:
        assert (
            w.contacted_at == T0 + timedelta(minutes=2) and w.contact_channel == "call" and w.officer == "li"
        )
    assert [h.to_status for h in W.history(store, w.id, actor)] == ["issued", *path]


def test_closing_without_an_officer_keeps_the_one_who_made_contact(store: Store, actor: Actor) -> None:
    """docs/ops.md: `move … contacted --officer li.na`, then `move … dissuaded --note …`; the
    warning's officer became the closing actor (QA: docs followed literally)."""
    w = W.create_warning(store, event(), actor, now=T0)
    W.transition(store, w.id, "delivered", actor, now=T0 + timedelta(minutes=1))
    W.transition(
        store, w.id, "contacted", actor, channel="call", officer="li.na", now=T0 + timedelta(minutes=2)
    )
    w = W.transition(store, w.id, "dissuaded", actor, note="stopped", now=T0 + timedelta(minutes=3))
    assert w.officer == "li.na"
    assert [h.officer for h in W.history(store, w.id, actor)][-1] == actor.name  # who recorded the outcome
    other = W.create_warning(store, event(person="p-2"), actor, now=T0)
    other = W.transition(store, other.id, "unreachable", actor, now=T0 + timedelta(minutes=1))
    assert other.officer == actor.name


def _reach(store: Store, actor: Actor, status: str):
    w = W.create_warning(store, event(person=f"p-{status}"), actor, now=T0)
    route = {
        "issued": [],
        "delivered": ["delivered"],
        "contacted": ["delivered", "contacted"],
        "dissuaded": ["delivered", "contacted", "dissuaded"],
        "victimised": ["delivered", "victimised"],
        "unreachable": ["unreachable"],
    }[status]
    for step in route:
        w = W.transition(store, w.id, step, actor, channel="call", now=T0)
    return w


ILLEGAL = [
    (a, b) for a, b in itertools.product(W.STATUSES, W.STATUSES[1:]) if a != b and b not in W.TRANSITIONS[a]
]


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=[f"{a}→{b}" for a, b in ILLEGAL])
def test_every_illegal_transition_is_rejected(store: Store, actor: Actor, current: str, target: str) -> None:
    w = _reach(store, actor, current)
    with pytest.raises(StateError, match=f"is '{current}'; it cannot become '{target}'. Allowed next"):
        W.transition(store, w.id, target, actor, channel="call", now=T0)


def test_transition_checks(store: Store, actor: Actor) -> None:
    w = W.create_warning(store, event(), actor, now=T0)
    W.transition(store, w.id, "delivered", actor, now=T0)
    assert W.transition(store, w.id, "delivered", actor, now=T0).status == "delivered"  # retry is a no-op
    with pytest.raises(ValidationError, match="channel"):
        W.transition(store, w.id, "contacted", actor, now=T0)
    with pytest.raises(ValidationError, match="unknown"):
        W.transition(store, w.id, "won", actor, now=T0)
    with pytest.raises(NotFoundError):
        W.transition(store, "w_nope", "delivered", actor, now=T0)


def test_statistics_by_tier_channel_and_time_to_contact(store: Store, actor: Actor) -> None:
    outcomes = [
        ("p1", "call", "dissuaded", 5),
        ("p2", "call", "victimised", 20),
        ("p3", "flash_sms", "dissuaded", 8),
    ]
    for person, channel, outcome, minutes in outcomes:
        w = W.create_warning(store, event(person=person), actor, now=T0)  # yellow: a plain call
        W.transition(store, w.id, "delivered", actor, now=T0 + timedelta(minutes=1))
        W.transition(store, w.id, "contacted", actor, channel=channel, now=T0 + timedelta(minutes=minutes))
        W.transition(store, w.id, outcome, actor, now=T0 + timedelta(minutes=30))
    u = W.create_warning(store, event(person="p4", age=80), actor, now=T0)  # orange
    W.transition(store, u.id, "unreachable", actor, now=T0 + timedelta(hours=1))
    stats = warning_stats(store)
    assert stats.by_tier["yellow"].effectiveness == pytest.approx(2 / 3)
    assert stats.by_tier["orange"].effectiveness == 0.0
    assert stats.overall.closed == 4 and stats.overall.dissuaded == 2
    assert (
        stats.by_channel["call"].effectiveness == 0.5 and stats.by_channel["flash_sms"].effectiveness == 1.0
    )
    assert stats.minutes_to_contact["yellow"]["median"] == 8.0
    assert stats.minutes_to_contact["yellow"]["on_time_share"] == 1.0  # yellow deadline is 120 min
    f = funnel(store)
    assert (f.warned, f.contacted, f.dissuaded, f.victimised) == (4, 3, 2, 1)


def test_tick_lists_warnings_past_their_deadline(store: Store, actor: Actor) -> None:
    from fanzha.ops.fundcontrol import tick

    red = W.create_warning(
        store,
        event("pending_transfer", "p1", counterpart="6222020200112233445", amount_fen=1_000_000),
        actor,
        now=T0,
    )
    yellow = W.create_warning(store, event("sms", "p2"), actor, now=T0)
    assert (red.tier, yellow.tier) == ("red", "yellow")
    assert tick(store, now=T0 + timedelta(minutes=4)).overdue_warnings == []
    assert tick(store, now=T0 + timedelta(minutes=6)).overdue_warnings == [red.id]  # flash SMS due at 5 min
    W.transition(store, red.id, "delivered", actor, now=T0)
    W.transition(store, red.id, "contacted", actor, channel="call", now=T0 + timedelta(minutes=7))
    assert tick(store, now=T0 + timedelta(hours=3)).overdue_warnings == [yellow.id]


def test_a_person_id_number_is_one_person_in_any_spelling(store: Store, actor: Actor) -> None:
    """An ID number given with a lower-case x or full-width digits is the same person: one profile,
    one open warning, found by any spelling (found by QA: every key was taken as typed)."""
    W.upsert_profile(store, actor, "11010519491231002x", birth_date=datetime(1949, 12, 31).date(), now=T0)
    first = W.create_warning(store, event(person="１１０１０５１９４９１２３１００２Ｘ"), actor, now=T0)
    again = W.create_warning(store, event(person="11010519491231002X", kind="sms"), actor, now=T0)
    assert first.id == again.id and first.person_id == "11010519491231002X"
    assert "elderly" in again.vulnerability  # the profile stored under the other spelling applied
    assert [w.id for w in W.list_warnings(store, actor, person_id=" 11010519491231002x ")] == [first.id]
    other = W.create_warning(store, event(person=" p1 "), actor, now=T0)  # another key: as written, trimmed
    assert other.person_id == "p1"
