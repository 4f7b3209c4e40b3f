"""Refunds: known answers, hypothesis properties of the split, false claims, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.errors import ConflictError, StateError, ValidationError
from fanzha.ops import fundcontrol as F
from fanzha.ops import refunds as R
from fanzha.ops.audit import Actor
from fanzha.ops.stats import funnel
from fanzha.ops.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACC = "6222020200112233445"


# ---------------------------------------------------------------- the pure split
def amounts(shares: list[R.Share]) -> dict[str, int]:
    return {s.victim_id: s.amount_fen for s in shares}


def test_full_return_when_enough() -> None:
    assert amounts(R.allocate(1000, {"a": 300, "b": 200})) == {"a": 300, "b": 200}


def test_pro_rata_known_answer() -> None:
    # 10 fen over claims 10/10/10 → 3.33 each; the 1 fen left goes to the tie-break (larger claim, then id)
    assert amounts(R.allocate(10, {"c": 10, "b": 10, "a": 10})) == {"a": 4, "b": 3, "c": 3}
    # 500 over 600/300/100 → exactly half each
    assert amounts(R.allocate(500, {"x": 600, "y": 300, "z": 100})) == {"x": 300, "y": 150, "z": 50}
    # remainders decide: 5 over 3/3/1 (7): floors 2,2,0 = 4, remainders 1/7,1/7,5/7 → z gets the fen
    assert amounts(R.allocate(5, {"p": 3, "q": 3, "z": 1})) == {"p": 2, "q": 2, "z": 1}


def test_negative_input_is_refused() -> None:
    with pytest.raises(ValidationError):
        R.allocate(-1, {"a": 1})


claims_strategy = st.dictionaries(
    st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 10**12), max_size=30
)


@settings(max_examples=300, deadline=None)
@given(pool=st.integers(0, 10**12), claims=claims_strategy)
def test_split_properties(pool: int, claims: dict[str, int]) -> None:
    shares = R.allocate(pool, claims)
    got = amounts(shares)
    total_claims = sum(claims.values())
    assert set(got) == set(claims)
    assert all(0 <= got[v] <= claims[v] for v in claims)  # never negative, never above the claim
    assert sum(got.values()) <= pool  # never more than the frozen money
    assert sum(got.values()) == min(pool, total_claims)  # exactly the pool when claims exceed it
    assert R.allocate(pool, dict(reversed(list(claims.items())))) == shares  # deterministic, order-free
    if total_claims > pool and total_claims:
        for v in claims:  # each within one fen of the exact proportional share
            assert abs(got[v] * total_claims - pool * claims[v]) < total_claims


# ---------------------------------------------------------------- plans in the store
def freeze(store: Store, actor: Actor, cid: str, held: int, account: str = ACC) -> None:
    F.issue_command(
        store, actor, command_id=cid, kind="freeze", account=account, amount_fen=held, reason="case", now=T0
    )
    F.send(store, cid, actor, now=T0)
    F.apply_receipt(store, cid, F.Receipt(f"r-{cid}", "executed", held_fen=held), actor, now=T0)


def trace(store: Store, actor: Actor, links: dict[str, int], account: str = ACC) -> None:
    R.record_trace(
        store,
        actor,
        [
            {"victim_id": v, "account": account, "transfer_id": f"t-{v}", "amount_fen": a}
            for v, a in links.items()
        ],
        now=T0,
    )


def test_plan_and_execute_pro_rata_with_a_false_claim(store: Store, actor: Actor) -> None:
    freeze(store, actor, "f1", 100_000)
    trace(store, actor, {"v1": 90_000, "v2": 60_000, "v3": 50_000})
    plan = R.plan_refund(
        store,
        actor,
        refund_id="rf1",
        account=ACC,
        claims={"v1": 90_000, "v2": 80_000, "v3": 50_000, "liar": 999_999},
    )
    lines = {x["victim_id"]: x for x in plan.calculation["lines"]}
    assert plan.method == "pro_rata" and plan.pool_fen == 100_000 and plan.eligible_fen == 200_000
    assert {v: x["amount_fen"] for v, x in lines.items()} == {
        "v1": 45_000,
        "v2": 30_000,
        "v3": 25_000,
        "liar": 0,
    }
    assert lines["v2"]["eligible_fen"] == 60_000 and "capped at the traced" in lines["v2"]["reason"]
    assert "no traced transfer" in lines["liar"]["reason"]
    assert plan.returned_fen == 100_000 and R.verify_calculation(plan)
    done = R.execute_refund(store, "rf1", actor, now=T0 + timedelta(days=1))
    assert done.status == "executed"
    assert R.execute_refund(store, "rf1", actor).returned_fen == 100_000  # executing again pays nothing more
    assert F.active_holds(store, ACC) == []  # fully refunded freeze is released
    assert F.get_command(store, "f1", actor).status == "released"
    assert funnel(store).returned_fen == 100_000
    _plan, allocs = R.get_refund(store, "rf1", actor)
    assert {a.victim_id: a.status for a in allocs} == {
        "liar": "rejected",
        "v1": "allocated",
        "v2": "allocated",
        "v3": "allocated",
    }


def test_a_victim_id_number_is_one_victim_in_any_spelling(store: Store, actor: Actor) -> None:
    """Found by QA: the trace names the victim 11010519491231002X; her claim typed with a lower-case
    x (or full-width digits) was "no traced transfer from this victim" and got nothing."""
    freeze(store, actor, "f1", 100_000)
    trace(store, actor, {"11010519491231002X": 60_000, "v2": 40_000})
    plan = R.plan_refund(
        store,
        actor,
        refund_id="rf1",
        account=ACC,
        claims={"１１０１０５１９４９１２３１００２x": 60_000, " v2 ": 40_000},
    )
    lines = {x["victim_id"]: x["amount_fen"] for x in plan.calculation["lines"]}
    assert lines == {"11010519491231002X": 60_000, "v2": 40_000}
    with pytest.raises(ValidationError, match="claims twice"):
        R.plan_refund(
            store,
            actor,
            refund_id="rf2",
            account=ACC,
            claims={"11010519491231002X": 1, "11010519491231002x": 1},
        )


def test_full_refund_leaves_the_rest_frozen(store: Store, actor: Actor) -> None:
    freeze(store, actor, "f1", 100_000)
    trace(store, actor, {"v1": 30_000})
    plan = R.plan_refund(store, actor, refund_id="rf1", account=ACC, claims={"v1": 30_000})
    assert (plan.method, plan.returned_fen) == ("full", 30_000)
    R.execute_refund(store, "rf1", actor)
    hold = F.active_holds(store, ACC)[0]
    assert (hold.amount_fen, hold.refunded_fen) == (100_000, 30_000)
    trace(store, actor, {"v2": 20_000})
    plan2 = R.plan_refund(store, actor, refund_id="rf2", account=ACC, claims={"v2": 20_000})
    assert plan2.pool_fen == 70_000


def test_a_later_plan_counts_what_earlier_refunds_returned(store: Store, actor: Actor) -> None:
    """Found by QA: 100 fen frozen, v1 and v2 each traced 60. v1 got 60 back in a first refund; a
    second plan for both gave v1 another 20 (80 returned against 60 traced) and v2 only 20."""
    freeze(store, actor, "f1", 100)
    trace(store, actor, {"v1": 60, "v2": 60})
    R.plan_refund(store, actor, refund_id="rf1", account=ACC, claims={"v1": 60})
    R.execute_refund(store, "rf1", actor)
    plan = R.plan_refund(store, actor, refund_id="rf2", account=ACC, claims={"v1": 60, "v2": 60})
    lines = {x["victim_id"]: x for x in plan.calculation["lines"]}
    assert {v: x["amount_fen"] for v, x in lines.items()} == {"v1": 0, "v2": 40}
    assert lines["v1"]["returned_before_fen"] == 60 and "already returned" in lines["v1"]["reason"]
    assert plan.method == "pro_rata" and R.verify_calculation(plan)  # 40 left for v2's 60
    R.execute_refund(store, "rf2", actor)
    assert F.active_holds(store, ACC) == [] and funnel(store).returned_fen == 100
    with pytest.raises(StateError, match="no frozen money"):  # nothing left: v1 cannot claim again
        R.plan_refund(store, actor, refund_id="rf3", account=ACC, claims={"v1": 60})


def test_a_claim_fully_returned_before_is_not_backed_any_more(store: Store, actor: Actor) -> None:
    freeze(store, actor, "f1", 1000)
    trace(store, actor, {"v1": 300})
    R.plan_refund(store, actor, refund_id="rf1", account=ACC, claims={"v1": 300})
    R.execute_refund(store, "rf1", actor)
    with pytest.raises(ValidationError, match="not yet returned"):
        R.plan_refund(store, actor, refund_id="rf2", account=ACC, claims={"v1": 300})


def test_refund_guards(store: Store, actor: Actor) -> None:
    with pytest.raises(StateError, match="no frozen money"):
        R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 1})
    freeze(store, actor, "f1", 1000)
    with pytest.raises(ValidationError, match="traced transfer"):
        R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 1})
    trace(store, actor, {"v1": 500})
    with pytest.raises(ValidationError, match="positive integers"):
        R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 0})
    p = R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 500})
    assert (
        R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 500}).id == p.id
    )  # idempotent
    with pytest.raises(ConflictError, match="another request"):
        R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 400})
    with pytest.raises(ConflictError, match="already has a planned refund"):
        R.plan_refund(store, actor, refund_id="y", account=ACC, claims={"v1": 500})
    R.cancel_refund(store, "x", actor)
    with pytest.raises(StateError, match="only a planned refund"):
        R.execute_refund(store, "x", actor)


def test_plan_committed_by_another_worker_meanwhile_is_returned(
    store: Store, actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers plan the same refund at once: the second read no plan by id, then the first
    committed before the second looked for the account's open plan. The same request gets the
    plan back (not "the account already has a planned refund"); another id still conflicts."""
    freeze(store, actor, "f1", 1000)
    trace(store, actor, {"v1": 500})
    first = R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 500})
    with monkeypatch.context() as m:  # the id lookup runs before the other worker's commit
        m.setattr(R.Session, "get", lambda *a, **k: None)
        again = R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 500})
        with pytest.raises(ConflictError, match="already has a planned refund x"):
            R.plan_refund(store, actor, refund_id="y", account=ACC, claims={"v1": 500})
    assert again.id == first.id and again.calculation == first.calculation


def test_refund_refuses_when_frozen_money_changed(store: Store, actor: Actor) -> None:
    freeze(store, actor, "f1", 1000)
    trace(store, actor, {"v1": 5000})
    R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 5000})
    F.issue_command(
        store, actor, command_id="u", kind="unfreeze", account=ACC, parent_id="f1", reason="court", now=T0
    )
    F.send(store, "u", actor, now=T0)
    F.apply_receipt(store, "u", F.Receipt("r-u", "executed"), actor, now=T0)
    with pytest.raises(StateError, match="changed since"):
        R.execute_refund(store, "x", actor)


def test_trace_links_are_idempotent(store: Store, actor: Actor) -> None:
    links = [{"victim_id": "v1", "account": ACC, "transfer_id": "t1", "amount_fen": 10}]
    assert R.record_trace(store, actor, links) == 1
    assert R.record_trace(store, actor, links) == 0
    with pytest.raises(ValidationError):
        R.record_trace(store, actor, [{**links[0], "amount_fen": 1.5}])


def test_tampered_calculation_is_detected(store: Store, actor: Actor) -> None:
    freeze(store, actor, "f1", 1000)
    trace(store, actor, {"v1": 800, "v2": 800})
    plan = R.plan_refund(store, actor, refund_id="x", account=ACC, claims={"v1": 800, "v2": 800})
    assert R.verify_calculation(plan)
    plan.calculation["lines"][0]["amount_fen"] += 1
    assert not R.verify_calculation(plan)


@settings(max_examples=15, deadline=None)
@given(
    frozen=st.lists(st.integers(1, 10**9), min_size=1, max_size=2),
    claims=st.dictionaries(
        st.sampled_from(["v1", "v2", "v3", "v4", "v5"]),
        st.tuples(st.integers(1, 10**9), st.integers(1, 10**9)),
        min_size=1,
        max_size=5,
    ),
)
def test_stored_refunds_never_exceed_the_frozen_money(
    sqlite_template, tmp_path_factory, frozen, claims
) -> None:
    """End to end on SQLite: freezes → traced claims → plan → execute; (claimed, traced) per victim."""
    import shutil

    from fanzha.ops.store import Store, make_engine

    path = tmp_path_factory.mktemp("prop") / "ops.db"
    shutil.copy(sqlite_template, path)
    store = Store(make_engine(f"sqlite:///{path}"))
    actor = Actor("p", "police", "property test")
    try:
        freeze(store, actor, "f0", frozen[0])
        if len(frozen) > 1:  # a second freeze of the same account would be a conflict: extend instead
            with pytest.raises(ConflictError):
                freeze(store, actor, "f1", frozen[1])
        trace(store, actor, {v: t for v, (_c, t) in claims.items()})
        plan = R.plan_refund(
            store, actor, refund_id="p", account=ACC, claims={v: c for v, (c, _t) in claims.items()}
        )
        eligible = sum(min(c, t) for c, t in claims.values())
        assert plan.returned_fen == min(frozen[0], eligible) <= frozen[0]
        assert all(line["amount_fen"] >= 0 for line in plan.calculation["lines"])
        R.execute_refund(store, "p", actor)
        holds = F.active_holds(store)
        if plan.returned_fen == frozen[0]:
            assert holds == []  # all of it returned: the freeze is released
        else:
            assert [(h.amount_fen, h.refunded_fen) for h in holds] == [(frozen[0], plan.returned_fen)]
        assert funnel(store).returned_fen == plan.returned_fen <= funnel(store).frozen_fen
    finally:
        store.close()
