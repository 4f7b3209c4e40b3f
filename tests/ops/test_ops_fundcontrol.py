"""Fund control: every transition (legal and illegal), time limits, idempotency, escalation, holds."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from fanzha.errors import ConflictError, NotFoundError, StateError, ValidationError
from fanzha.ops import fundcontrol as F
from fanzha.ops.audit import Actor
from fanzha.ops.stats import funnel
from fanzha.ops.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
ACC = "6222020200112233445"
NEXT = "6228480011223344556"


def issue(
    store: Store,
    actor: Actor,
    cid: str = "c1",
    kind: str = "freeze",
    amount: int | None = 500_000,
    account: str = ACC,
    **kw,
) -> F.FundCommand:
    return F.issue_command(
        store,
        actor,
        command_id=cid,
        kind=kind,
        account=account,
        amount_fen=amount,
        reason="case 2026-0501, 反电诈法 art. 32",
        now=kw.pop("now", T0),
        **kw,
    )


def executed(
    store: Store,
    actor: Actor,
    cid: str = "c1",
    kind: str = "freeze",
    held: int = 500_000,
    amount: int | None = 500_000,
    **receipt,
) -> F.FundCommand:
    issue(store, actor, cid, kind, amount)
    F.send(store, cid, actor, now=T0)
    return F.apply_receipt(
        store,
        cid,
        F.Receipt(f"r-{cid}", "executed", held_fen=held, **receipt),
        actor,
        now=T0 + timedelta(minutes=5),
    )


def test_full_freeze_lifecycle(store: Store, actor: Actor) -> None:
    cmd = issue(store, actor)
    assert cmd.status == "requested"
    cmd = F.send(store, "c1", actor, now=T0)
    assert (cmd.status, cmd.respond_by) == ("sent", T0 + timedelta(hours=24))
    cmd = F.apply_receipt(store, "c1", F.Receipt("r0", "acknowledged"), actor, now=T0 + timedelta(minutes=1))
    assert cmd.status == "acknowledged"
    cmd = F.apply_receipt(
        store,
        "c1",
        F.Receipt("r1", "executed", held_fen=500_000, balance_fen=510_000),
        actor,
        now=T0 + timedelta(minutes=2),
    )
    assert (cmd.status, cmd.held_fen, cmd.balance_fen) == ("executed", 500_000, 510_000)
    assert cmd.expires_at == T0 + timedelta(minutes=2) + F.FREEZE_TERM
    holds = F.active_holds(store, ACC)
    assert [(h.kind, h.amount_fen) for h in holds] == [("freeze", 500_000)]
    events, receipts = F.command_history(store, "c1")
    assert [e.to_status for e in events] == ["requested", "sent", "acknowledged", "executed"]
    assert [r.id for r in receipts] == ["r0", "r1"]


def test_partial_hold_and_stop_payment_term(store: Store, actor: Actor) -> None:
    cmd = executed(store, actor, kind="stop_payment", held=120_000, amount=500_000, moved_on_fen=380_000)
    assert (cmd.status, cmd.held_fen, cmd.moved_on_fen) == ("partial", 120_000, 380_000)
    assert cmd.expires_at == T0 + timedelta(minutes=5, hours=48)


def test_query_records_the_balance_without_a_hold(store: Store, actor: Actor) -> None:
    cmd = executed(store, actor, kind="query", held=0, amount=None, balance_fen=42)
    assert (cmd.status, cmd.balance_fen, cmd.held_fen, cmd.expires_at) == ("executed", 42, 0, None)
    assert F.active_holds(store) == []


def test_rejected_receipt(store: Store, actor: Actor) -> None:
    issue(store, actor)
    F.send(store, "c1", actor, now=T0)
    cmd = F.apply_receipt(store, "c1", F.Receipt("r1", "rejected", note="account closed"), actor, now=T0)
    assert (cmd.status, cmd.rejection_reason) == ("rejected", "account closed")
    assert cmd.closed_at == T0


# ---------------------------------------------------------------- the transition table
def test_transition_table_every_pair() -> None:
    """_move accepts exactly the pairs of TRANSITIONS; everything else names the allowed next states."""
    from fanzha.ops.fundcontrol import _move

    class FakeSession:
        def add(self, _obj: object) -> None:
            pass

    for current, target in itertools.product(F.TRANSITIONS, F.TRANSITIONS):
        cmd = F.FundCommand(id="x", kind="freeze", status=current)
        if target in F.TRANSITIONS[current]:
            _move(FakeSession(), cmd, target, Actor("a", "b", "c"), T0)  # type: ignore[arg-type]
            assert cmd.status == target
        else:
            with pytest.raises(StateError, match=f"is '{current}'; it cannot become '{target}'"):
                _move(FakeSession(), cmd, target, Actor("a", "b", "c"), T0)  # type: ignore[arg-type]


def _drive(store: Store, actor: Actor, state: str) -> str:
    cid = f"c-{state}"
    issue(store, actor, cid, account=ACC if state != "released" else NEXT)
    if state == "requested":
        return cid
    F.send(store, cid, actor, now=T0)
    steps = {
        "sent": [],
        "acknowledged": [F.Receipt(f"{cid}-a", "acknowledged")],
        "executed": [F.Receipt(f"{cid}-e", "executed", held_fen=500_000)],
        "partial": [F.Receipt(f"{cid}-p", "executed", held_fen=1)],
        "rejected": [F.Receipt(f"{cid}-r", "rejected")],
        "expired": [],
        "released": [F.Receipt(f"{cid}-e", "executed", held_fen=500_000)],
    }[state]
    for receipt in steps:
        F.apply_receipt(store, cid, receipt, actor, now=T0)
    if state == "expired":
        F.tick(store, now=T0 + timedelta(hours=25))
    if state == "released":
        issue(store, actor, f"{cid}-u", "unfreeze", None, account=NEXT, parent_id=cid)
        F.send(store, f"{cid}-u", actor, now=T0)
        F.apply_receipt(store, f"{cid}-u", F.Receipt(f"{cid}-u-e", "executed"), actor, now=T0)
    return cid


RECEIPT_MOVES = {
    "acknowledged": lambda cid: F.Receipt(f"{cid}-x-ack", "acknowledged"),
    "executed": lambda cid: F.Receipt(f"{cid}-x-exe", "executed", held_fen=500_000),
    "rejected": lambda cid: F.Receipt(f"{cid}-x-rej", "rejected"),
}


@pytest.mark.parametrize("state", list(F.TRANSITIONS))
def test_public_operations_from_every_state(store: Store, actor: Actor, state: str) -> None:
    """From each state, `send` and every receipt outcome either make the legal move or raise StateError."""
    cid = _drive(store, actor, state)
    assert F.get_command(store, cid, actor).status == state
    for target, make in RECEIPT_MOVES.items():
        legal = state in ("sent", "acknowledged") and not (
            target == "acknowledged" and state == "acknowledged"
        )
        if legal:
            continue  # exercised by the lifecycle tests; a legal move would change the state under test
        with pytest.raises(StateError):
            F.apply_receipt(store, cid, make(cid), actor, now=T0)
    if state not in ("requested", "sent"):
        with pytest.raises(StateError, match="cannot become 'sent'"):
            F.send(store, cid, actor, now=T0)
    assert F.get_command(store, cid, actor).status == state


# ---------------------------------------------------------------- time limits
def test_tick_expires_unanswered_commands_and_lapsed_holds(store: Store, actor: Actor) -> None:
    executed(store, actor, "stop", kind="stop_payment", held=100_000, amount=100_000)
    issue(store, actor, "frz", "freeze", 200_000, account=NEXT)
    F.send(store, "frz", actor, now=T0)
    F.apply_receipt(store, "frz", F.Receipt("r-frz", "executed", held_fen=200_000), actor, now=T0)
    issue(store, actor, "silent", "query", None, account="6222999988887777666")
    F.send(store, "silent", actor, now=T0)
    report = F.tick(store, now=T0 + timedelta(hours=24, seconds=1))
    assert report.unanswered_expired == ["silent"] and report.holds_expired == []
    report = F.tick(store, now=T0 + timedelta(hours=48, minutes=6))
    assert report.holds_expired == ["stop"]
    assert [h.command_id for h in F.active_holds(store)] == ["frz"]
    assert F.tick(store, now=T0 + timedelta(hours=49)).holds_expired == []  # nothing twice
    report = F.tick(store, now=T0 + F.FREEZE_TERM + timedelta(seconds=1))
    assert report.holds_expired == ["frz"] and F.active_holds(store) == []
    assert F.get_command(store, "stop", actor).status == "expired"


def test_extend_adds_a_term_from_the_current_expiry(store: Store, actor: Actor) -> None:
    frz = executed(store, actor, "frz")
    first_expiry = frz.expires_at
    assert first_expiry is not None
    issue(store, actor, "ext", "extend", None, parent_id="frz", now=T0 + timedelta(days=170))
    F.send(store, "ext", actor, now=T0 + timedelta(days=170))
    F.apply_receipt(store, "ext", F.Receipt("r-ext", "executed"), actor, now=T0 + timedelta(days=170))
    parent = F.get_command(store, "frz", actor)
    assert parent.expires_at == first_expiry + F.FREEZE_TERM
    assert F.tick(store, now=first_expiry + timedelta(days=1)).holds_expired == []
    assert F.active_holds(store)[0].expires_at == parent.expires_at


def test_renewals_cannot_be_stacked_ahead(store: Store, actor: Actor) -> None:
    """Found by QA: renewals issued one after the other each added 180 days, so one day of renewals
    could hold the money for years; each renewal (续冻) covers one term, issued once the term has begun."""
    frz = executed(store, actor, "frz")
    assert frz.expires_at is not None
    day = T0 + timedelta(days=10)
    for name in ("ext1", "ext2"):  # both issued while the first term runs: both pass the check then
        issue(store, actor, name, "extend", None, parent_id="frz", now=day)
        F.send(store, name, actor, now=day)
    F.apply_receipt(store, "ext1", F.Receipt("r-1", "executed"), actor, now=day)
    renewed = frz.expires_at + F.FREEZE_TERM
    assert F.get_command(store, "frz", actor).expires_at == renewed
    with pytest.raises(StateError, match="more than one term ahead"):
        F.apply_receipt(store, "ext2", F.Receipt("r-2", "executed"), actor, now=day)
    # the bank did answer: the renewal is closed as refused, not left `sent` for tick to expire as
    # unanswered (found by QA: two renewals executed at once)
    ext2 = F.get_command(store, "ext2", actor)
    assert ext2.status == "rejected" and "refused on the bank's receipt r-2" in (ext2.rejection_reason or "")
    assert F.tick(store, now=day + timedelta(days=2)).unanswered_expired == []
    with pytest.raises(StateError, match="once its current term has begun"):
        issue(store, actor, "ext3", "extend", None, parent_id="frz", now=day)
    assert F.get_command(store, "frz", actor).expires_at == renewed
    # the renewed term has begun: the next renewal is allowed
    later = frz.expires_at + timedelta(days=1)
    issue(store, actor, "ext4", "extend", None, parent_id="frz", now=later)
    F.send(store, "ext4", actor, now=later)
    F.apply_receipt(store, "ext4", F.Receipt("r-4", "executed"), actor, now=later)
    assert F.get_command(store, "frz", actor).expires_at == renewed + F.FREEZE_TERM


def test_lapsed_freeze_cannot_be_extended(store: Store, actor: Actor) -> None:
    executed(store, actor, "frz")
    with pytest.raises(StateError, match="needs an executed freeze"):
        F.tick(store, now=T0 + F.FREEZE_TERM + timedelta(hours=1))
        issue(
            store, actor, "ext", "extend", None, parent_id="frz", now=T0 + F.FREEZE_TERM + timedelta(hours=1)
        )


def test_unfreeze_releases_the_hold(store: Store, actor: Actor) -> None:
    executed(store, actor, "frz")
    issue(store, actor, "unf", "unfreeze", None, parent_id="frz")
    F.send(store, "unf", actor, now=T0)
    F.apply_receipt(store, "unf", F.Receipt("r-unf", "executed"), actor, now=T0 + timedelta(hours=1))
    assert F.get_command(store, "frz", actor).status == "released"
    assert F.active_holds(store) == []


# ---------------------------------------------------------------- idempotency and double holds
def test_command_ids_are_idempotent(store: Store, actor: Actor) -> None:
    a = issue(store, actor)
    b = issue(store, actor)
    assert a.id == b.id and a.requested_at == b.requested_at
    with pytest.raises(ConflictError, match="already used for another request"):
        issue(store, actor, amount=1)
    assert len(F.list_commands(store, actor)) == 1


def test_receipts_are_applied_once(store: Store, actor: Actor) -> None:
    executed(store, actor)
    again = F.apply_receipt(store, "c1", F.Receipt("r-c1", "executed", held_fen=500_000), actor, now=T0)
    assert again.status == "executed" and len(F.active_holds(store)) == 1
    with pytest.raises(ConflictError, match="other content"):
        F.apply_receipt(store, "c1", F.Receipt("r-c1", "executed", held_fen=1), actor, now=T0)
    with pytest.raises(StateError):  # a new receipt for an executed command
        F.apply_receipt(store, "c1", F.Receipt("r-other", "executed", held_fen=500_000), actor, now=T0)


def test_the_same_money_is_never_held_twice(store: Store, actor: Actor) -> None:
    executed(store, actor, "stop", kind="stop_payment", held=300_000, amount=300_000)
    with pytest.raises(ConflictError, match="already has an active stop_payment"):
        issue(store, actor, "stop2", "stop_payment", 300_000)
    frz = executed(store, actor, "frz", kind="freeze", held=300_000, amount=300_000)
    assert frz.status == "executed"
    assert F.get_command(store, "stop", actor).status == "released"  # the freeze took the money over
    holds = F.active_holds(store, ACC)
    assert [(h.kind, h.amount_fen) for h in holds] == [("freeze", 300_000)]
    with pytest.raises(ConflictError, match="extend it"):
        issue(store, actor, "frz2", "freeze", 300_000)
    f = funnel(store)
    assert (f.stopped_fen, f.frozen_fen) == (300_000, 300_000)


def test_holding_more_than_asked_is_refused(store: Store, actor: Actor) -> None:
    issue(store, actor, amount=100)
    F.send(store, "c1", actor, now=T0)
    with pytest.raises(ValidationError, match="asked for 100"):
        F.apply_receipt(store, "c1", F.Receipt("r", "executed", held_fen=101), actor, now=T0)
    assert F.get_command(store, "c1", actor).status == "sent"  # nothing half-applied


@pytest.mark.parametrize(
    ("kw", "error"),
    [
        ({"kind": "seize"}, ValidationError),
        ({"amount": 0}, ValidationError),
        ({"account": "12ab"}, ValidationError),
        ({"kind": "extend", "amount": None}, ValidationError),
        ({"kind": "extend", "amount": None, "parent_id": "nope"}, NotFoundError),
    ],
)
def test_bad_requests(store: Store, actor: Actor, kw: dict, error: type) -> None:
    kw = dict(kw)
    with pytest.raises(error):
        issue(store, actor, "bad", kw.pop("kind", "freeze"), kw.pop("amount", 100), **kw)


def test_receipt_before_send_is_refused(store: Store, actor: Actor) -> None:
    issue(store, actor)
    with pytest.raises(StateError, match="has not been sent"):
        F.apply_receipt(store, "c1", F.Receipt("r", "executed", held_fen=1), actor, now=T0)


# ---------------------------------------------------------------- escalation
def test_escalation_follows_the_receipt(store: Store, actor: Actor) -> None:
    executed(
        store,
        actor,
        "stop",
        kind="stop_payment",
        held=100_000,
        amount=500_000,
        moved_on_fen=400_000,
        next_hops=({"account": NEXT, "bank": "ABC", "amount_fen": 400_000},),
    )
    children = F.escalate(store, "stop", actor, now=T0 + timedelta(minutes=10))
    assert [(c.id, c.kind, c.account, c.amount_fen, c.hop, c.parent_id, c.root_id) for c in children] == [
        (f"stop>hop:{NEXT}", "stop_payment", NEXT, 400_000, 1, "stop", "stop")
    ]
    again = F.escalate(store, "stop", actor, now=T0 + timedelta(minutes=11))
    assert [c.id for c in again] == [children[0].id]  # idempotent
    assert F.get_command(store, "stop", actor).escalated


def test_escalation_prefers_the_trace_and_caps_at_what_moved(store: Store, actor: Actor) -> None:
    executed(
        store,
        actor,
        "stop",
        kind="stop_payment",
        held=0,
        amount=500_000,
        moved_on_fen=300_000,
        next_hops=({"account": "6200000000000000001", "amount_fen": 300_000},),
    )
    flows = pd.DataFrame(
        {
            "victim_id": ["v1", "v1", "v2"],
            "hop": [1, 1, 1],
            "transfer_id": ["t1", "t2", "t3"],
            "from_account": [ACC, ACC, ACC],
            "to_account": [NEXT, "6217000011112222333", NEXT],
            "amount_fen": [150_000, 200_000, 50_000],
            "at": [T0, T0, T0],
        }
    )
    hops = F.next_hops_from_trace(flows, ACC)
    assert hops == [
        {"account": "6217000011112222333", "bank": None, "amount_fen": 200_000},
        {"account": NEXT, "bank": None, "amount_fen": 200_000},
    ]  # ties: by account
    children = F.escalate(store, "stop", actor, next_hops=hops, now=T0)
    assert [(c.account, c.amount_fen) for c in children] == [
        ("6217000011112222333", 200_000),
        (NEXT, 100_000),
    ]


def test_escalation_needs_money_that_moved(store: Store, actor: Actor) -> None:
    executed(store, actor)
    with pytest.raises(StateError, match="no money moved on"):
        F.escalate(store, "c1", actor, now=T0)
    issue(store, actor, "q", "query", None, account=NEXT)
    with pytest.raises(StateError, match="only executed stop-payments and freezes escalate"):
        F.escalate(store, "q", actor, now=T0)


def test_extend_after_the_term_ran_out_is_refused_even_before_tick(store: Store, actor: Actor) -> None:
    frz = executed(store, actor, "frz")
    assert frz.expires_at is not None
    late = frz.expires_at + timedelta(minutes=1)
    with pytest.raises(StateError, match="a lapsed freeze cannot be extended"):
        issue(store, actor, "ext", "extend", None, parent_id="frz", now=late)


def test_extension_executed_after_the_term_ran_out_is_refused(store: Store, actor: Actor) -> None:
    """Found by QA: an extension issued in time but answered by the bank after the freeze's term ended
    (tick not yet run) gave the lapsed freeze a new 180-day term."""
    frz = executed(store, actor, "frz")
    assert frz.expires_at is not None
    issue(store, actor, "ext", "extend", None, parent_id="frz", now=frz.expires_at - timedelta(hours=2))
    F.send(store, "ext", actor, now=frz.expires_at - timedelta(hours=2))
    late = frz.expires_at + timedelta(minutes=1)
    with pytest.raises(StateError, match="cannot be extended"):
        F.apply_receipt(store, "ext", F.Receipt("r-ext", "executed"), actor, now=late)
    assert F.get_command(store, "frz", actor).expires_at == frz.expires_at
    assert F.get_command(store, "ext", actor).status == "rejected"  # answered, refused: not `sent`
    assert F.tick(store, now=late).holds_expired == ["frz"]
    assert F.active_holds(store) == []


def test_escalation_with_the_graph_trace(store: Store, actor: Actor) -> None:
    """Next hops from fanzha.graph.trace.trace_funds (skipped while the graph area is absent)."""
    trace = pytest.importorskip("fanzha.graph.trace")
    victim_acc, third = "6217000000000000001", "6217000000000000003"
    transfers = pd.DataFrame(
        {
            "transfer_id": ["t0", "t1", "t2"],
            "from_account": [victim_acc, ACC, ACC],
            "to_account": [ACC, NEXT, third],
            "amount_fen": [100_000, 70_000, 20_000],
            "at": pd.to_datetime([T0, T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)], utc=True),
        }
    )
    withdrawals = pd.DataFrame({"withdrawal_id": [], "account": [], "amount_fen": [], "at": []})
    withdrawals["at"] = pd.to_datetime(withdrawals["at"], utc=True)
    withdrawals["amount_fen"] = withdrawals["amount_fen"].astype("int64")
    result = trace.trace_funds(
        transfers, withdrawals, pd.DataFrame({"victim_id": ["v1"], "transfer_id": ["t0"]})
    )
    hops = F.next_hops_from_trace(result.flows, ACC, victim_ids=["v1"])
    assert hops == [
        {"account": NEXT, "bank": None, "amount_fen": 70_000},
        {"account": third, "bank": None, "amount_fen": 20_000},
    ]
    executed(store, actor, "stop", kind="stop_payment", held=10_000, amount=100_000, moved_on_fen=90_000)
    children = F.escalate(store, "stop", actor, next_hops=hops, now=T0)
    assert [(c.account, c.amount_fen, c.hop) for c in children] == [(NEXT, 70_000, 1), (third, 20_000, 1)]


def test_escalation_chains_keep_ids_within_the_column(store: Store, actor: Actor) -> None:
    """Escalating an escalation makes long ids: they are hashed to fit 64 characters, deterministically."""
    executed(
        store,
        actor,
        "case-2026-0501/stop/6222020200112233445",
        kind="stop_payment",
        held=0,
        amount=9_000,
        moved_on_fen=9_000,
        next_hops=({"account": NEXT, "amount_fen": 9_000},),
    )
    (first,) = F.escalate(store, "case-2026-0501/stop/6222020200112233445", actor, now=T0)
    F.send(store, first.id, actor, now=T0)
    F.apply_receipt(
        store,
        first.id,
        F.Receipt(
            "r-hop1",
            "executed",
            held_fen=0,
            moved_on_fen=9_000,
            next_hops=({"account": "6217000011112222333", "amount_fen": 9_000},),
        ),
        actor,
        now=T0,
    )
    (second,) = F.escalate(store, first.id, actor, now=T0)
    assert len(second.id) <= 64 and second.id == F.child_id(first.id, "6217000011112222333")
    assert (second.hop, second.root_id) == (2, "case-2026-0501/stop/6222020200112233445")


def test_overlong_ids_are_validation_errors(store: Store, actor: Actor) -> None:
    with pytest.raises(ValidationError, match="more than the 64 allowed"):
        issue(store, actor, "x" * 65)
    with pytest.raises(ValidationError, match="purpose"):
        Actor("a", "b", "p" * 300)


def test_a_second_freeze_executed_on_a_held_account_is_a_conflict(store: Store, actor: Actor) -> None:
    issue(store, actor, "a")
    issue(store, actor, "b")  # both requested before either executed
    for cid in ("a", "b"):
        F.send(store, cid, actor, now=T0)
    F.apply_receipt(store, "a", F.Receipt("ra", "executed", held_fen=500_000), actor, now=T0)
    with pytest.raises(ConflictError, match="cannot be held twice"):
        F.apply_receipt(store, "b", F.Receipt("rb", "executed", held_fen=500_000), actor, now=T0)
    assert F.get_command(store, "b", actor).status == "sent"  # rolled back whole
    assert [h.command_id for h in F.active_holds(store)] == ["a"]
