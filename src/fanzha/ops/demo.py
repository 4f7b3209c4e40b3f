"""Demo step: warnings, fund control and refunds for the simulated city's detected fraud.

Uses the earlier steps when they ran: published risk scores (``<home>/scores/*.parquet``) flag
numbers and accounts; the graph's fund trace (``ctx.results["graph"]`` or
``fanzha.graph.trace.trace_funds`` run here on the victims' reported payments) gives next hops and
the victims' money per account. Whatever is missing is replaced by the simulator's truth and the
output says so. The simulator's truth also stands in for the world's answers: whether a warned
person was really being defrauded and had already paid (dissuasion outcome), and how much of the
victims' money each bank still finds in an account (bank receipts).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from fanzha.demo import DemoContext, module_exists
from fanzha.ops import fundcontrol as F
from fanzha.ops import refunds as R
from fanzha.ops import warnings as W
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store, open_store

FLAG_AT = 0.5  # risk probability from which a number / account counts as flagged
DISSUADE_IF_IN_TIME = 0.75  # chance a victim reached before paying is talked out of it (assumption)
REACH = {"red": 0.95, "orange": 0.85, "yellow": 0.7}  # chance the person is reached at all (assumption)
MAX_HOPS = 4


@dataclass
class World:
    people: pd.DataFrame
    cards: pd.DataFrame
    accounts: pd.DataFrame
    calls: pd.DataFrame
    sms: pd.DataFrame
    transfers: pd.DataFrame
    withdrawals: pd.DataFrame
    truth: dict[str, pd.DataFrame]
    notes: list[str] = field(default_factory=list)


def _read(folder: Path) -> pd.DataFrame:
    from fanzha.engine import get_engine

    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    with get_engine() as engine:
        engine.register_parquet("t", [str(f) for f in files])
        return engine.frame("SELECT * FROM t")


def _world(ctx: DemoContext) -> World:
    sim = ctx.sim_dir
    kinds = ("people", "phone_cards", "accounts", "calls", "sms", "transfers", "withdrawals")
    frames = {k: _read(sim / k) for k in kinds}
    truth = {p.stem: pd.read_parquet(p) for p in (sim / "truth").glob("*.parquet")}
    return World(
        frames["people"],
        frames["phone_cards"],
        frames["accounts"],
        frames["calls"],
        frames["sms"],
        frames["transfers"],
        frames["withdrawals"],
        truth,
    )


def _flagged(ctx: DemoContext, world: World) -> tuple[dict[str, float], dict[str, float]]:
    scores = ctx.settings.home / "scores"
    out: list[dict[str, float]] = []
    for name, roles in (("numbers", ("fraud_number", "sim_farm_number")), ("accounts", ("mule_account",))):
        path = scores / f"{name}.parquet"
        if path.is_file():
            df = pd.read_parquet(path, columns=["id", "probability"])
            # ids may be plain or typed keys (phone:…, account:…): compare plain
            ids = df["id"].astype(str).str.split(":", n=1).str[-1]
            out.append({i: float(p) for i, p in zip(ids, df["probability"], strict=True) if p >= FLAG_AT})
            world.notes.append(f"flagged {name}: risk scores ≥ {FLAG_AT} ({len(out[-1])})")
        else:
            ents = world.truth["entities"]
            keys = ents.loc[ents.role.isin(roles), "entity"].str.split(":", n=1).str[1]
            out.append(dict.fromkeys(keys.astype(str), 0.9))
            world.notes.append(
                f"flagged {name}: no risk scores at {path} — simulator truth used as a stand-in "
                f"(oracle, {len(out[-1])})"
            )
    return out[0], out[1]


def _signals(world: World, numbers: dict[str, float], accounts: dict[str, float]) -> list[W.SignalEvent]:
    owner = dict(zip(world.cards["number"], world.cards["owner_id"], strict=True))
    acc_owner = dict(zip(world.accounts["account_no"], world.accounts["owner_id"], strict=True))
    events = []
    calls = world.calls[world.calls.caller.isin(numbers) & world.calls.callee.isin(owner)]
    for row in calls.itertuples():
        events.append(
            W.SignalEvent(
                "call",
                owner[row.callee],
                row.start_at.to_pydatetime(),
                row.caller,
                numbers[row.caller],
                phone=row.callee,
                duration_s=int(row.duration_s),
                event_id=f"call:{row.caller}:{row.callee}:{row.start_at.isoformat()}",
            )
        )
    sms = world.sms[world.sms.sender.isin(numbers) & world.sms.receiver.isin(owner)]
    for row in sms.itertuples():
        events.append(
            W.SignalEvent(
                "sms",
                owner[row.receiver],
                row.sent_at.to_pydatetime(),
                row.sender,
                numbers[row.sender],
                phone=row.receiver,
                event_id=f"sms:{row.sender}:{row.receiver}:{row.sent_at.isoformat()}",
            )
        )
    pay = world.transfers[
        world.transfers.to_account.isin(accounts) & world.transfers.from_account.isin(acc_owner)
    ]
    pay = pay[pay.from_account.map(acc_owner).notna() & ~pay.from_account.isin(accounts)]
    for row in pay.itertuples():
        events.append(
            W.SignalEvent(
                "pending_transfer",
                acc_owner[row.from_account],
                row.at.to_pydatetime(),
                row.to_account,
                accounts[row.to_account],
                amount_fen=int(row.amount_fen),
                event_id=f"transfer:{row.transfer_id}",
            )
        )
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id or ""))


def _vulnerability(
    world: World, persons: set[str], today: datetime
) -> dict[str, tuple[int | None, tuple[str, ...]]]:
    """Age and family contact (亲情号码) per person, passed with each event (the profile table is for
    centres that keep them; the demo has them in the people records)."""
    people = world.people[world.people.id_number.isin(persons)]
    out: dict[str, tuple[int | None, tuple[str, ...]]] = {}
    for row in people.itertuples():
        birth = pd.Timestamp(row.birth_date) if not pd.isna(row.birth_date) else None
        age = (
            None
            if birth is None
            else today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
        )
        family = (row.family_contact,) if isinstance(row.family_contact, str) else ()
        out[row.id_number] = (age, family)
    return out


def _warnings(
    ctx: DemoContext, store: Store, actor: Actor, world: World, events: list[W.SignalEvent]
) -> dict[str, Any]:
    if not events:
        return {"warned": 0}
    facts = _vulnerability(world, {e.person_id for e in events}, events[0].occurred_at)
    tasks: dict[str, Any] = {}
    for event in events:
        age, family = facts.get(event.person_id, (None, ()))
        event = replace(event, age=age, family_contacts=family)
        task = W.create_warning(store, event, actor, now=event.occurred_at + timedelta(minutes=1))
        tasks[task.id] = task
    episodes = world.truth["episodes"]
    first_paid = episodes.groupby("victim_id")["first_payment_at"].min().to_dict()
    rng = random.Random(ctx.seed)
    true_victims = dissuaded_true = 0
    victimised: set[str] = set()
    for wid, task in sorted(tasks.items(), key=lambda kv: (kv[1].issued_at, kv[1].person_id)):
        start = task.issued_at
        W.transition(store, wid, "delivered", actor, now=start + timedelta(minutes=1))
        if rng.random() > REACH[task.tier]:
            W.transition(
                store,
                wid,
                "unreachable",
                actor,
                note="no answer on any channel",
                now=start + timedelta(hours=2),
            )
            true_victims += task.person_id in first_paid
            continue
        contact = start + timedelta(minutes=3 + rng.randint(0, 25))
        channel = rng.choice([c["channel"] for c in task.channels if c["target_kind"] == "person"])
        W.transition(store, wid, "contacted", actor, channel=channel, now=contact)
        paid = first_paid.get(task.person_id)
        if paid is None:
            W.transition(
                store, wid, "dissuaded", actor, note="no fraud in progress found (false alarm)", now=contact
            )
            continue
        true_victims += 1
        if paid.to_pydatetime() <= contact or rng.random() > DISSUADE_IF_IN_TIME:
            W.transition(store, wid, "victimised", actor, note="had already paid / paid anyway", now=contact)
            victimised.add(task.person_id)
        else:
            dissuaded_true += 1
            W.transition(store, wid, "dissuaded", actor, now=contact + timedelta(minutes=5))
    return {
        "warned": len(tasks),
        "true_victims": true_victims,
        "dissuaded_true": dissuaded_true,
        "victims_total": int(episodes.victim_id.nunique()),
    }


def _trace(ctx: DemoContext, world: World, sources: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(flows, holdings, note): victim money per transfer and per account at the end."""
    graph = ctx.results.get("graph")
    trace = graph.get("trace") if isinstance(graph, dict) else getattr(graph, "trace", None)
    if trace is not None and hasattr(trace, "flows"):
        return trace.flows, trace.holdings, "fund trace from the graph step"
    if module_exists("fanzha.graph.trace"):
        from fanzha.graph.trace import trace_funds

        merchants = world.accounts.dropna(subset=["merchant_category"])
        cashout = {
            a: c
            for a, c in zip(merchants.account_no, merchants.merchant_category, strict=True)
            if c in ("gold", "crypto_otc")
        }
        result = trace_funds(
            world.transfers,
            world.withdrawals,
            sources[["victim_id", "transfer_id"]],
            cashout_accounts=cashout,
        )
        return result.flows, result.holdings, "fund trace by fanzha.graph.trace.trace_funds (fifo)"
    paths = world.truth["money_paths"]
    flows = paths[paths.record_kind == "transfer"].rename(columns={"record_id": "transfer_id"})
    held = world.truth["held"].merge(world.truth["episodes"][["episode_id", "victim_id"]], on="episode_id")
    note = "fanzha.graph.trace absent — simulator truth money paths used as the trace"
    return flows, held.groupby(["victim_id", "account"], as_index=False)["amount_fen"].sum(), note


def _fund_control(
    ctx: DemoContext, store: Store, actor: Actor, world: World, victimised: set[str]
) -> dict[str, Any]:
    """Cases the police know of: reported ones, and victims the warning call found had already paid."""
    episodes = world.truth["episodes"]
    reported = episodes[episodes.reported.astype(bool) | episodes.victim_id.isin(victimised)]
    paths = world.truth["money_paths"]
    sources = paths[
        (paths.hop == 0) & paths.episode_id.isin(reported.episode_id) & (paths.record_kind == "transfer")
    ]
    sources = sources.rename(columns={"record_id": "transfer_id"})
    if sources.empty:
        return {"note": "no reported case with a payment to trace", "reported": 0}
    flows, holdings, note = _trace(ctx, world, sources)
    bank_held = (
        world.truth["held"].groupby("account")["amount_fen"].sum().to_dict()
    )  # what the bank will find
    report_at = reported.set_index("episode_id")["first_payment_at"].to_dict()
    first: dict[str, tuple[int, list[str], Any]] = {}
    for row in sources.itertuples():
        amount, victims, at = first.get(row.to_account, (0, [], report_at[row.episode_id]))
        first[row.to_account] = (
            amount + int(row.amount_fen),
            [*victims, str(row.victim_id)],
            min(at, report_at[row.episode_id]),
        )
    queue = [
        (f"demo/stop/{acc}", acc, amount, sorted(set(v)), (at + timedelta(hours=1)).to_pydatetime())
        for acc, (amount, v, at) in sorted(first.items())
    ]
    for cid, account, amount, victims, at in queue:
        F.issue_command(
            store,
            actor,
            command_id=cid,
            kind="stop_payment",
            account=account,
            amount_fen=amount,
            victim_ids=victims,
            reason="reported fraud case: victim payment",
            now=at,
        )
    _work_queue(store, actor, [(q[0], q[4]) for q in queue], flows, bank_held)
    return {"reported": len(reported), "trace_note": note, "flows": flows, "holdings": holdings}


def _receipt(store: Store, cmd: F.FundCommand, flows: pd.DataFrame, bank_held: dict[str, int]) -> F.Receipt:
    same = [h for h in F.active_holds(store, cmd.account) if h.kind == cmd.kind]
    if same:  # e.g. an escalation reached an account a reported case had stopped already
        return F.Receipt(f"bank/{cmd.id}", "rejected", note=f"already held by {same[0].command_id}")
    there = bank_held.get(cmd.account, 0)
    held = min(cmd.amount_fen or there, there)
    bank_held[cmd.account] = there - held  # the bank holds this money once
    moved = (cmd.amount_fen or held) - held
    hops = tuple(F.next_hops_from_trace(flows, cmd.account, victim_ids=cmd.victim_ids)) if moved else ()
    outcome = "executed" if held else "partial"
    return F.Receipt(
        f"bank/{cmd.id}",
        outcome,
        held_fen=held,
        moved_on_fen=moved if hops else 0,
        next_hops=hops,
        note="money already moved on" if moved else None,
    )


def _work_queue(
    store: Store,
    actor: Actor,
    todo: list[tuple[str, datetime]],
    flows: pd.DataFrame,
    bank_held: dict[str, int],
) -> None:
    while todo:
        cid, at = todo.pop(0)
        F.send(store, cid, actor, now=at)
        cmd = F.apply_receipt(
            store,
            cid,
            _receipt(store, F.get_command(store, cid, actor), flows, bank_held),
            actor,
            now=at + timedelta(minutes=20),
        )
        frozen = any(h.kind == "freeze" for h in F.active_holds(store, cmd.account))
        if cmd.held_fen and not frozen:  # turn the stop-payment into a freeze of what was held
            fid = f"demo/freeze/{cmd.account}"  # one freeze per account: the money is held once
            F.issue_command(
                store,
                actor,
                command_id=fid,
                kind="freeze",
                account=cmd.account,
                amount_fen=cmd.held_fen,
                victim_ids=cmd.victim_ids,
                reason="freeze after stop-payment",
                now=at + timedelta(hours=2),
            )
            F.send(store, fid, actor, now=at + timedelta(hours=2))
            F.apply_receipt(
                store,
                fid,
                F.Receipt(f"bank/{fid}", "executed", held_fen=cmd.held_fen),
                actor,
                now=at + timedelta(hours=3),
            )
        if cmd.moved_on_fen and cmd.hop < MAX_HOPS:
            for child in F.escalate(store, cid, actor, now=at + timedelta(minutes=30)):
                if child.status == "requested":
                    todo.append((child.id, at + timedelta(minutes=30)))


def _refunds(store: Store, actor: Actor, flows: pd.DataFrame, holdings: pd.DataFrame) -> int:
    frozen = {h.account for h in F.active_holds(store) if h.kind == "freeze"}
    links = flows[flows.to_account.isin(frozen)]
    R.record_trace(
        store,
        actor,
        [
            {
                "victim_id": str(r.victim_id),
                "account": r.to_account,
                "transfer_id": str(r.transfer_id),
                "amount_fen": int(r.amount_fen),
                "hop": int(r.hop),
            }
            for r in links.itertuples()
            if int(r.amount_fen) > 0
        ],
    )
    plans = 0
    for account in sorted(frozen):
        mine = holdings[holdings.account == account]
        claims = {str(v): int(a) for v, a in zip(mine.victim_id, mine.amount_fen, strict=True) if a > 0}
        if not claims:
            continue
        try:
            R.plan_refund(store, actor, refund_id=f"demo/refund/{account}", account=account, claims=claims)
        except Exception as exc:  # a claim not backed by the trace: reported, not fatal for the demo
            from fanzha.errors import FanzhaError

            if not isinstance(exc, FanzhaError):
                raise
            continue
        R.execute_refund(store, f"demo/refund/{account}", actor)
        plans += 1
    return plans


def run(ctx: DemoContext) -> None:
    from rich.table import Table

    from fanzha.ops.audit import verify
    from fanzha.ops.stats import funnel, warning_stats

    if not (ctx.sim_dir / "truth").is_dir():
        ctx.console.print(
            "[yellow]no simulated city (simulate step absent): nothing for operations to act on"
        )
        return
    store = open_store(ctx.settings.ops)
    actor = Actor("demo.officer", "police", "fanzha demo: simulated city")
    world = _world(ctx)
    numbers, accounts = _flagged(ctx, world)
    events = _signals(world, numbers, accounts)
    warned = _warnings(ctx, store, actor, world, events)
    money = _fund_control(ctx, store, actor, world, warned.get("victimised", set()))
    world.notes.append(money.get("trace_note", money.get("note", "")))
    refunds = _refunds(store, actor, money["flows"], money["holdings"]) if "flows" in money else 0
    for note in world.notes:
        ctx.console.print(f"[dim]· {note}[/]")
    f, stats = funnel(store), warning_stats(store)
    table = Table(title="effectiveness funnel 成效漏斗")
    table.add_column("stage")
    table.add_column("count / yuan", justify="right")
    table.add_row("signals (calls, SMS, payments touched by flagged numbers / accounts)", f"{len(events):,}")
    table.add_row("warned 预警 (persons, repeated signals merged)", f"{f.warned:,}")
    table.add_row("  contacted 接触", f"{f.contacted:,}")
    table.add_row("  dissuaded 劝阻成功 (incl. false alarms closed)", f"{f.dissuaded:,}")
    table.add_row(
        "  true victims among the warned (truth) → dissuaded in time",
        f"{warned.get('true_victims', 0)} → {warned.get('dissuaded_true', 0)} "
        f"(of {warned.get('victims_total', 0)} victims)",
    )
    table.add_row("stop-payments 止付 → money held", f"{f.stop_commands} → {f.stopped_fen / 100:,.2f}")
    table.add_row("freezes 冻结 → money frozen", f"{f.freeze_commands} → {f.frozen_fen / 100:,.2f}")
    table.add_row(f"returned 返还 to victims ({refunds} refund plans)", f"{f.returned_fen / 100:,.2f}")
    ctx.console.print(table)
    rates = ", ".join(
        f"{t} {r.effectiveness:.0%} of {r.closed}"
        for t, r in sorted(stats.by_tier.items())
        if r.effectiveness is not None
    )
    ctx.console.print(f"dissuasion effectiveness by tier: {rates or 'n/a'}")
    by_channel = ", ".join(
        f"{c} {r.effectiveness:.0%}"
        for c, r in sorted(stats.by_channel.items())
        if r.effectiveness is not None
    )
    ctx.console.print(f"by contact channel: {by_channel or 'n/a'}")
    waits = ", ".join(f"{t} {m['median']:.0f} min" for t, m in sorted(stats.minutes_to_contact.items()))
    ctx.console.print(f"median time to contact: {waits or 'n/a'}")
    check = verify(store)
    ctx.console.print(f"audit log: {check.rows:,} rows, chain {'intact' if check.ok else 'BROKEN'}")
    ctx.results["ops"] = {
        "funnel": f.as_dict(),
        "warnings": {k: v for k, v in warned.items()},
        "refund_plans": refunds,
        "audit_rows": check.rows,
    }
    store.close()
