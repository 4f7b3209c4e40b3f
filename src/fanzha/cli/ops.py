"""``fanzha ops …`` (warnings, fund-control commands, refunds, tick, stats), ``fanzha lists …`` and
``fanzha audit …``. Amounts on the command line are yuan (exact: converted to fen); times ISO 8601, without a zone read as Asia/Shanghai."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer

ops_app = typer.Typer(
    help="Operations: warnings 预警劝阻, fund control 资金查控, refunds 返还, tick, stats.",
    no_args_is_help=True,
)
warnings_app = typer.Typer(help="Warning and dissuasion tasks.", no_args_is_help=True)
commands_app = typer.Typer(
    help="Fund-control commands: query, stop_payment, freeze, extend, unfreeze.", no_args_is_help=True
)
refunds_app = typer.Typer(
    help="Refunds of frozen money to victims (pro rata when short).", no_args_is_help=True
)
lists_app = typer.Typer(
    help="Block / allow lists for numbers, accounts, hosts, URLs, devices.", no_args_is_help=True
)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
ops_app.add_typer(warnings_app, name="warnings")
ops_app.add_typer(commands_app, name="commands")
ops_app.add_typer(refunds_app, name="refunds")

_STATE: dict[str, Any] = {}
DsnOpt = typer.Option(None, "--dsn", help="ops store DSN (default: settings / FANZHA_OPS_DSN)")
ActorOpt = typer.Option(None, "--actor", help="who acts (default $FANZHA_ACTOR or the login name)")
RoleOpt = typer.Option("analyst", "--role", help="actor's role, recorded in the audit log")
PurposeOpt = typer.Option(
    "command line", "--purpose", help="why: case number or task, recorded in the audit log"
)


def _setup(dsn: str | None, actor: str | None, role: str, purpose: str) -> None:
    _STATE.update(
        dsn=dsn,
        actor=actor or os.environ.get("FANZHA_ACTOR") or getpass.getuser(),
        role=role,
        purpose=purpose,
    )


for _app in (ops_app, lists_app, audit_app):
    _app.callback()(
        lambda dsn=DsnOpt, actor=ActorOpt, role=RoleOpt, purpose=PurposeOpt: _setup(dsn, actor, role, purpose)
    )


def _store() -> Any:
    from fanzha.ops.store import open_store

    return open_store(_STATE.get("dsn"))


def _actor() -> Any:
    from fanzha.ops.audit import Actor

    return Actor(
        _STATE.get("actor") or getpass.getuser(),
        _STATE.get("role", "analyst"),
        _STATE.get("purpose", "command line"),
    )


def _fen(yuan: str | None) -> int | None:
    from decimal import Decimal, InvalidOperation

    from fanzha.errors import ValidationError
    from fanzha.records.normalise import yuan_to_fen

    if yuan is None:
        return None
    try:
        finite = Decimal(yuan.strip()).is_finite()
    except InvalidOperation:
        finite = True  # not a plain number: yuan_to_fen says what is wrong (full-width digits, ¥ …)
    if not finite:
        raise ValidationError(f"amount {yuan!r} is not a number of yuan; give e.g. 1280.50", value=yuan)
    return yuan_to_fen(yuan)


def _when(text: str | None, *, future: bool = False) -> datetime | None:
    """A time from the command line; ``future`` for expiries (up to 100 years ahead, not 1 day)."""
    from datetime import timedelta

    from fanzha.records.normalise import normalise_time

    if text is None:
        return None
    return normalise_time(text, now=datetime.now(UTC) + timedelta(days=36500) if future else None)


def _row(obj: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    return {f: getattr(obj, f) for f in fields}


def _json_value(value: Any) -> str:
    """Times as ISO 8601 with a ``T`` (as the stored JSON of the channels), anything else as text."""
    return value.isoformat() if isinstance(value, datetime | date) else str(value)


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_json_value))


W_FIELDS = (
    "id",
    "person_id",
    "tier",
    "score",
    "status",
    "episode_key",
    "merged_count",
    "issued_at",
    "deadline_at",
    "contacted_at",
    "contact_channel",
    "officer",
    "family_alerted",
)
C_FIELDS = (
    "id",
    "kind",
    "status",
    "account",
    "amount_fen",
    "held_fen",
    "moved_on_fen",
    "hop",
    "parent_id",
    "requested_at",
    "executed_at",
    "expires_at",
    "rejection_reason",
)


# ------------------------------------------------------------------ ops
@ops_app.command("migrate")
def migrate_cmd() -> None:
    """Upgrade the ops store to the newest migration and print the revision."""
    store = _store()
    typer.echo(f"ops store at revision {store.revision()}")


@ops_app.command("tick")
def tick_cmd(
    now: str = typer.Option(None, help="pretend it is this time (ISO; no zone = Asia/Shanghai); default now"),
) -> None:
    """Expire unanswered commands and lapsed stop-payments / freezes (run from cron every few minutes)."""
    from fanzha.ops.fundcontrol import tick

    report = tick(_store(), now=_when(now))
    typer.echo(
        f"expired {len(report.unanswered_expired)} unanswered command(s), "
        f"{len(report.holds_expired)} lapsed hold(s)"
    )
    for cid in report.unanswered_expired + report.holds_expired:
        typer.echo(f"  {cid}")
    typer.echo(f"{len(report.overdue_warnings)} warning(s) past their contact deadline and not yet contacted")
    for wid in report.overdue_warnings[:20]:
        typer.echo(f"  {wid}")


@ops_app.command("stats")
def stats_cmd() -> None:
    """Dissuasion effectiveness by tier and channel, time to contact, and the money funnel."""
    from fanzha.ops.stats import funnel, warning_stats

    store = _store()
    stats = warning_stats(store)
    out = {
        "by_tier": {k: {**v.__dict__, "effectiveness": v.effectiveness} for k, v in stats.by_tier.items()},
        "by_channel": {
            k: {**v.__dict__, "effectiveness": v.effectiveness} for k, v in stats.by_channel.items()
        },
        "minutes_to_contact": stats.minutes_to_contact,
        "funnel": funnel(store).as_dict(),
    }
    _echo(out)


@warnings_app.command("raise")
def warning_raise(
    kind: str = typer.Option(..., help="call | sms | pending_transfer | url_visit | app_install"),
    person: str = typer.Option(..., help="person id of the potential victim"),
    counterpart: str = typer.Option(..., help="the risky number / account / URL / app"),
    risk: float = typer.Option(1.0, help="counterpart risk probability 0–1"),
    amount_yuan: str = typer.Option(None, help="money at stake (pending transfer), yuan"),
    at: str = typer.Option(None, help="when the signal happened (default now)"),
    phone: str = typer.Option(None, help="the person's phone"),
    age: int = typer.Option(None, help="the person's age (else the stored profile)"),
    family: list[str] = typer.Option(None, help="family contact phone (亲情号码); repeatable"),
    episode: str = typer.Option(None, help="episode id: signals of one episode merge"),
    event_id: str = typer.Option(None, help="the signal's id (re-delivery is a no-op)"),
) -> None:
    """Raise (or merge) a warning from one signal event."""
    from fanzha.ops.audit import utcnow
    from fanzha.ops.warnings import SignalEvent, create_warning

    event = SignalEvent(
        kind=kind,
        person_id=person,
        occurred_at=_when(at) or utcnow(),
        counterpart=counterpart,
        counterpart_risk=risk,
        amount_fen=_fen(amount_yuan) or 0,
        phone=phone,
        episode_id=episode,
        event_id=event_id,
        age=age,
        family_contacts=tuple(family) if family else None,
    )
    task = create_warning(_store(), event, _actor())
    _echo({**_row(task, W_FIELDS), "reasons": task.reasons, "channels": task.channels})


@warnings_app.command("move")
def warning_move(
    warning_id: str,
    status: str = typer.Argument(..., help="delivered | contacted | dissuaded | victimised | unreachable"),
    channel: str = typer.Option(None, help="channel that reached the person (for contacted)"),
    officer: str = typer.Option(None, help="officer (default the actor)"),
    note: str = typer.Option(None),
) -> None:
    """Move a warning along its lifecycle."""
    from fanzha.ops.warnings import transition

    task = transition(_store(), warning_id, status, _actor(), officer=officer, channel=channel, note=note)
    _echo(_row(task, W_FIELDS))


@warnings_app.command("list")
def warning_list(
    status: str = typer.Option(None),
    tier: str = typer.Option(None),
    person: str = typer.Option(None),
    limit: int = typer.Option(50),
) -> None:
    """List warnings, newest first."""
    from fanzha.ops.warnings import list_warnings

    _echo(
        [
            _row(t, W_FIELDS)
            for t in list_warnings(
                _store(), _actor(), status=status, tier=tier, person_id=person, limit=limit
            )
        ]
    )


@warnings_app.command("show")
def warning_show(warning_id: str) -> None:
    """One warning with its signals, reasons, channels and history."""
    from fanzha.ops.warnings import get_warning, history

    store = _store()
    task = get_warning(store, warning_id, _actor())
    steps = [
        _row(e, ("at", "from_status", "to_status", "officer", "channel", "note"))
        for e in history(store, warning_id, _actor())
    ]
    _echo(
        {
            **_row(task, W_FIELDS),
            "signals": task.signals,
            "reasons": task.reasons,
            "channels": task.channels,
            "history": steps,
        }
    )


@commands_app.command("issue")
def command_issue(
    command_id: str = typer.Option(..., "--id", help="your idempotency key, e.g. case-001/freeze/1"),
    kind: str = typer.Option(..., help="query | stop_payment | freeze | extend | unfreeze"),
    account: str = typer.Option(...),
    reason: str = typer.Option(..., help="legal basis and case"),
    amount_yuan: str = typer.Option(None, help="amount to hold (default the whole balance)"),
    bank: str = typer.Option(None),
    case: str = typer.Option(None, help="case id"),
    parent: str = typer.Option(None, help="the freeze an extend / unfreeze applies to"),
    victim: list[str] = typer.Option(None, help="victim id; repeatable"),
) -> None:
    """Record a fund-control command (state requested)."""
    from fanzha.ops.fundcontrol import issue_command

    cmd = issue_command(
        _store(),
        _actor(),
        command_id=command_id,
        kind=kind,
        account=account,
        reason=reason,
        bank=bank,
        amount_fen=_fen(amount_yuan),
        case_id=case,
        parent_id=parent,
        victim_ids=victim or [],
    )
    _echo(_row(cmd, C_FIELDS))


@commands_app.command("send")
def command_send(command_id: str) -> None:
    """Mark a command as sent to the bank."""
    from fanzha.ops.fundcontrol import send

    _echo(_row(send(_store(), command_id, _actor()), C_FIELDS))


@commands_app.command("receipt")
def command_receipt(
    command_id: str,
    receipt_id: str = typer.Option(..., help="the bank's receipt number"),
    outcome: str = typer.Option(..., help="acknowledged | executed | partial | rejected"),
    held_yuan: str = typer.Option("0", help="amount actually held"),
    moved_yuan: str = typer.Option("0", help="amount that had already moved on"),
    balance_yuan: str = typer.Option(None),
    next_account: list[str] = typer.Option(
        None, help="where the money went: ACCOUNT or ACCOUNT=YUAN; repeatable"
    ),
    note: str = typer.Option(None),
) -> None:
    """Apply a bank receipt to a command."""
    from fanzha.ops.fundcontrol import Receipt, apply_receipt

    def zero_ok(yuan: str | None) -> int:
        from decimal import Decimal, InvalidOperation

        try:
            if yuan is None or Decimal(yuan.strip()) == 0:  # "0", "0.0", "00": nothing held / moved
                return 0
        except InvalidOperation:
            pass  # not a plain number: _fen says what is wrong
        return int(_fen(yuan) or 0)

    hops = []
    for item in next_account or []:
        acc, _, yuan = item.partition("=")
        hops.append({"account": acc, "bank": None, "amount_fen": _fen(yuan) if yuan else None})
    receipt = Receipt(
        receipt_id=receipt_id,
        outcome=outcome,
        held_fen=zero_ok(held_yuan),
        balance_fen=None if balance_yuan is None else zero_ok(balance_yuan),
        moved_on_fen=zero_ok(moved_yuan),
        next_hops=tuple(hops),
        note=note,
    )
    _echo(_row(apply_receipt(_store(), command_id, receipt, _actor()), C_FIELDS))


@commands_app.command("escalate")
def command_escalate(command_id: str) -> None:
    """Stop-pay the next hop(s) named by the bank's receipt where the money moved on."""
    from fanzha.ops.fundcontrol import escalate

    _echo([_row(c, C_FIELDS) for c in escalate(_store(), command_id, _actor())])


@commands_app.command("list")
def command_list(
    status: str = typer.Option(None),
    account: str = typer.Option(None),
    case: str = typer.Option(None),
    limit: int = typer.Option(50),
) -> None:
    """List fund-control commands, newest first."""
    from fanzha.ops.fundcontrol import list_commands

    _echo(
        [
            _row(c, C_FIELDS)
            for c in list_commands(
                _store(), _actor(), status=status, account=account, case_id=case, limit=limit
            )
        ]
    )


@commands_app.command("show")
def command_show(command_id: str) -> None:
    """One command with its state history and receipts."""
    from fanzha.ops.fundcontrol import command_history, get_command

    store = _store()
    cmd = get_command(store, command_id, _actor())
    events, receipts = command_history(store, command_id, _actor())
    _echo(
        {
            **_row(cmd, C_FIELDS),
            "history": [_row(e, ("at", "from_status", "to_status", "actor", "note")) for e in events],
            "receipts": [
                _row(r, ("id", "outcome", "held_fen", "moved_on_fen", "next_hops", "received_at"))
                for r in receipts
            ],
        }
    )


@refunds_app.command("trace")
def refund_trace(
    path: Path = typer.Argument(
        ..., help="a fund trace's flows (`fanzha trace` → <home>/graph/trace_flows.parquet or .csv)"
    ),
    account: list[str] = typer.Option(
        [], "--account", help="keep only the money traced into this account; repeatable (default: all)"
    ),
) -> None:
    """Record which victim's traced money reached which account: the claims a refund plan honours."""
    from fanzha.ops.refunds import record_trace

    links = _trace_links(path, account)
    added = record_trace(_store(), _actor(), links, source=f"file:{path.name}")
    _echo({"links_read": len(links), "links_added": added})


def _trace_links(path: Path, accounts: list[str]) -> list[dict[str, Any]]:
    """The links ``{victim_id, account, transfer_id, amount_fen, hop}`` of a trace flows file
    (``to_account`` is the account the money reached; a file with ``account`` is taken as is)."""
    import pandas as pd

    from fanzha.errors import InputFileError
    from fanzha.records.normalise import normalise_account

    if not path.is_file():
        raise InputFileError(f"{path}: no such file; give the flows of a fund trace (trace_flows.parquet)")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # pandas / pyarrow errors of any kind
        raise InputFileError(f"{path}: cannot be read as a CSV or Parquet table ({exc})") from None
    where = "to_account" if "to_account" in frame.columns else "account"
    missing = [c for c in ("victim_id", where, "transfer_id", "amount_fen") if c not in frame.columns]
    if missing:
        raise InputFileError(
            f"{path}: missing column {missing[0]!r} (columns found: {', '.join(map(str, frame.columns))}); "
            "give the flows of a fund trace: victim_id, transfer_id, to_account, amount_fen, hop"
        )
    keep = {normalise_account(a) for a in accounts}
    links = []
    for i, row in enumerate(frame.to_dict("records"), start=1):
        acct = str(row[where]).strip()
        if not acct or (keep and normalise_account(acct) not in keep):
            continue
        try:
            amount = int(str(row["amount_fen"]).strip())
            hop = int(str(row.get("hop", 0) or 0).strip())
        except ValueError:
            raise InputFileError(
                f"{path}: row {i}: amount_fen {row['amount_fen']!r} or hop is not a whole number"
            ) from None
        if amount > 0:
            links.append(
                {
                    "victim_id": str(row["victim_id"]),
                    "account": acct,
                    "transfer_id": str(row["transfer_id"]),
                    "amount_fen": amount,
                    "hop": hop,
                }
            )
    return links


@refunds_app.command("plan")
def refund_plan(
    refund_id: str = typer.Option(..., "--id"),
    account: str = typer.Option(..., help="the frozen account"),
    claim: list[str] = typer.Option(..., help="VICTIM=YUAN; repeatable"),
) -> None:
    """Compute (and store) the return of frozen money to claiming victims."""
    from fanzha.errors import ValidationError
    from fanzha.ops.refunds import plan_refund

    claims = {}
    for item in claim:
        victim, sep, yuan = item.partition("=")
        if not sep:
            raise ValidationError(f"claim {item!r} is not VICTIM=YUAN")
        if victim in claims:
            raise ValidationError(
                f"victim {victim!r} claims twice ({claim}); give one --claim per victim with the total"
            )
        claims[victim] = int(_fen(yuan) or 0)
    plan = plan_refund(_store(), _actor(), refund_id=refund_id, account=account, claims=claims)
    _echo(
        {
            "id": plan.id,
            "status": plan.status,
            "calculation": plan.calculation,
            "calculation_hash": plan.calculation_hash,
        }
    )


@refunds_app.command("execute")
def refund_execute(refund_id: str) -> None:
    """Pay out a planned refund (once)."""
    from fanzha.ops.refunds import execute_refund

    plan = execute_refund(_store(), refund_id, _actor())
    _echo({"id": plan.id, "status": plan.status, "returned_fen": plan.returned_fen})


@refunds_app.command("show")
def refund_show(refund_id: str) -> None:
    """A refund plan, its calculation and whether the stored calculation still checks out."""
    from fanzha.ops.refunds import get_refund, verify_calculation

    plan, _lines = get_refund(_store(), refund_id, _actor())
    _echo(
        {
            "id": plan.id,
            "status": plan.status,
            "calculation": plan.calculation,
            "calculation_verified": verify_calculation(plan),
        }
    )


# ------------------------------------------------------------------ lists
@lists_app.command("add")
def list_add(
    kind: str = typer.Argument(..., help="number | account | host | url | device"),
    value: str = typer.Argument(...),
    action: str = typer.Option("block", help="fatal_block | block | allow | warn"),
    reason: str = typer.Option(...),
    source: str = typer.Option("manual"),
    owner: str = typer.Option(None),
    match: str = typer.Option("exact", help="exact | suffix (hosts)"),
    expires: str = typer.Option(
        None, help="expiry time (ISO; no zone = Asia/Shanghai, e.g. 2027-01-01 or 2027-01-01T00:00Z)"
    ),
) -> None:
    """Add a list entry."""
    from fanzha.ops.lists import add_entry

    entry = add_entry(
        _store(),
        _actor(),
        kind=kind,
        value=value,
        action=action,
        reason=reason,
        source=source,
        owner=owner,
        match=match,
        expires_at=_when(expires, future=True),
    )
    _echo(
        _row(entry, ("id", "kind", "value", "match", "action", "source", "owner", "starts_at", "expires_at"))
    )


@lists_app.command("remove")
def list_remove(entry_id: str, reason: str = typer.Option(...)) -> None:
    """Remove a list entry (kept with who, when, why)."""
    from fanzha.ops.lists import remove_entry

    entry = remove_entry(_store(), _actor(), entry_id, reason)
    _echo(_row(entry, ("id", "status", "removed_at", "removed_by", "removal_reason")))


@lists_app.command("appeal")
def list_appeal(
    entry_id: str = typer.Argument(None, help="entry to appeal against"),
    appellant: str = typer.Option(None),
    reason: str = typer.Option(None),
    decide: str = typer.Option(None, help="decide this appeal id instead of filing one"),
    uphold: bool = typer.Option(False, "--uphold/--reject", help="with --decide: uphold removes the entry"),
    note: str = typer.Option("", help="decision note"),
) -> None:
    """File an appeal (申诉) against an entry, or decide one with --decide APPEAL_ID --uphold/--reject."""
    from fanzha.errors import ValidationError
    from fanzha.ops.lists import appeal, decide_appeal

    if decide:
        item = decide_appeal(_store(), _actor(), decide, uphold=uphold, note=note or "decided")
    else:
        if not entry_id or not appellant or not reason:
            raise ValidationError("filing an appeal needs ENTRY_ID, --appellant and --reason")
        item = appeal(_store(), _actor(), entry_id, appellant=appellant, reason=reason)
    _echo(_row(item, ("id", "entry_id", "status", "appellant", "filed_at", "decided_at", "decision_note")))


@lists_app.command("check")
def list_check(kind: str, value: str) -> None:
    """Look a value up: block / allow / warn / none, with the entries and the precedence reason."""
    from fanzha.ops.lists import check

    _echo(check(_store(), _actor(), kind, value).__dict__)


@lists_app.command("load-tw165")
def list_load_tw165(
    directory: Path = typer.Option(Path("../shared/data/tw165"), "--dir", help="folder with the tw165 files"),
) -> None:
    """Load Taiwan 165 open lists (phones, accounts, scam sites, AdGuard allow list) as an example source."""
    from fanzha.ops.lists import load_tw165

    for report in load_tw165(_store(), _actor(), directory):
        typer.echo(
            f"{report.file}: read {report.read}, added {report.added}, already listed {report.already}, "
            f"rejected {report.rejected}"
        )
        for example in report.examples[:2]:
            typer.echo(f"    e.g. {example}")


# ------------------------------------------------------------------ audit
@audit_app.command("verify")
def audit_verify(anchor: str = typer.Option(None, help="SEQ:HASH published earlier, checked too")) -> None:
    """Recompute the hash chain; exit 1 and name the rows when any was edited or deleted."""
    import re

    from fanzha.errors import ValidationError
    from fanzha.ops.audit import verify

    pin = None
    if anchor is not None:
        found = re.fullmatch(r"\s*([0-9]+):([0-9a-fA-F]{64})\s*", anchor)
        if not found or int(found[1]) < 1:
            raise ValidationError(
                f"anchor {anchor!r} is not SEQ:HASH (a row number ≥ 1, a colon and the 64 hex digits "
                "printed by `fanzha audit verify`)",
                value=anchor,
            )
        pin = (int(found[1]), found[2].lower())
    report = verify(_store(), anchor=pin)
    if report.ok:
        typer.echo(f"audit log intact: {report.rows} rows, head {report.head_seq}:{report.head_hash}")
        return
    typer.echo(f"AUDIT LOG TAMPERED: {len(report.problems)} problem(s) in {report.rows} rows", err=True)
    for problem in report.problems:
        typer.echo(f"  {problem}", err=True)
    raise typer.Exit(1)


@audit_app.command("log")
def audit_log(
    subject: str = typer.Option(None), action: str = typer.Option(None), limit: int = typer.Option(20)
) -> None:
    """The newest audit entries (reading the log is logged too)."""
    from fanzha.ops.audit import entries

    rows = entries(_store(), _actor(), subject_id=subject, action=action, limit=limit)
    _echo(
        [
            _row(
                e, ("seq", "at", "actor", "role", "action", "purpose", "subject_kind", "subject_id", "detail")
            )
            for e in rows
        ]
    )


def register(app: typer.Typer) -> None:
    app.add_typer(ops_app, name="ops")
    app.add_typer(lists_app, name="lists")
    app.add_typer(audit_app, name="audit")
