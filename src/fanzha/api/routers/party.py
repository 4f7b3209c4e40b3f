"""Party API: ingest batches over HTTP, fund-control commands and receipts, interception results."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from fanzha.api.auth import INGEST_KINDS, Principal
from fanzha.api.deps import ServiceDep, require
from fanzha.api.ops_bridge import Unavailable
from fanzha.api.schemas.party import (
    CommandPublic,
    IngestPublic,
    InterceptionCreate,
    InterceptionPublic,
    ReceiptCreate,
)
from fanzha.api.schemas.types import CommandKey
from fanzha.api.service import DecisionService
from fanzha.demo import module_exists
from fanzha.errors import AccessDenied, FanzhaError, NotFoundError, ValidationError
from fanzha.records.contracts import KINDS

router = APIRouter(prefix="/v1", tags=["party"])
MAX_UPLOAD = 64 * 1024 * 1024
FORMATS = {
    "text/csv": ".csv",
    "application/x-ndjson": ".jsonl",
    "application/jsonl": ".jsonl",
    "application/json": ".jsonl",
}


@router.post(
    "/ingest/{kind}",
    response_model=IngestPublic,
    summary="Ingest a batch of one record kind (CSV or JSON lines in the body)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            },
        }
    },
)
async def ingest(
    kind: Annotated[str, PathParam(max_length=32)],
    request: Request,
    who: Annotated[Principal, Depends(require("ingest"))],
    service: ServiceDep,
) -> IngestPublic:
    if kind not in KINDS:
        raise NotFoundError(f"unknown record kind {kind!r}; choose one of: {', '.join(KINDS)}")
    if kind not in INGEST_KINDS[who.role]:
        raise AccessDenied(
            f"a {who.role} key may ingest {', '.join(sorted(INGEST_KINDS[who.role]))}, not {kind}"
        )
    ctype = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if ctype not in FORMATS:
        raise ValidationError(
            f"content type {ctype!r} is not supported; send text/csv or application/x-ndjson"
        )
    body = await request.body()
    if not body.strip():
        raise ValidationError("the request body is empty; send the rows as CSV or JSON lines")
    if len(body) > MAX_UPLOAD:
        raise ValidationError(f"batch of {len(body)} bytes is larger than {MAX_UPLOAD}; split it")
    if not module_exists("fanzha.ingest.api"):
        raise Unavailable("ingest over HTTP needs fanzha.ingest (not installed)")
    from fanzha.ingest.api import ingest_path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{kind}-{who.key_id}{FORMATS[ctype]}"
        path.write_bytes(body)
        # off the event loop: an ingest may wait for the catalog while other requests go on
        try:
            report = await run_in_threadpool(ingest_path, path, kind, service.settings)
        except FanzhaError as exc:
            raise _about_the_body(exc, path, kind) from None
    service.audit(
        who,
        "ingest",
        subject_kind="kind",
        subject_id=kind,
        detail={"bytes": len(body), "landed": report.landed},
    )
    return IngestPublic(
        kind=kind,
        rows_read=report.rows_read,
        landed=report.landed,
        rejected=report.rejected,
        duplicates=report.duplicates,
        # the most frequent rejection reasons (rows themselves stay in the ingest area's reject store)
        rejections=[{"reason": reason, "rows": n} for reason, n in report.top_reasons[:20]],
    )


def _about_the_body(exc: FanzhaError, path: Path, kind: str) -> FanzhaError:
    """The ingest area speaks of files and command-line options; an API caller sent a request body."""
    message = str(exc).replace(str(path), "the request body")
    for cli_hint, http_hint in (
        ("pass --encoding with the right codec", "send UTF-8 or GB18030 text"),
        ("or pass the right --kind", f"or post to the right /v1/ingest/<kind> (this was {kind})"),
    ):
        message = message.replace(cli_hint, http_hint)
    if isinstance(exc, ValidationError):
        return ValidationError(message, field=exc.field, value=exc.value)
    try:
        return type(exc)(message)
    except TypeError:  # an error class with a signature of its own: keep it as it was
        return exc


def _public(cmd: Any) -> CommandPublic:
    return CommandPublic(
        id=cmd.id,
        kind=cmd.kind,
        status=cmd.status,
        account=cmd.account,
        bank=cmd.bank,
        amount_fen=cmd.amount_fen,
        case_id=cmd.case_id,
        reason=cmd.reason,
        requested_at=cmd.requested_at,
        sent_at=cmd.sent_at,
        expires_at=cmd.expires_at,
        held_fen=cmd.held_fen or 0,
    )


def _bank_of(service: DecisionService, cmd: Any) -> str | None:
    return cmd.bank or service.state.directory.account_bank.get(cmd.account)


COMMAND_PAGE = 2000  # commands read per page when a bank lists its own


def _visible(service: DecisionService, who: Principal, cmd: Any) -> bool:
    """Police see every command; a bank sees sent commands for accounts at that bank only."""
    if who.role == "police":
        return True
    bank = _bank_of(service, cmd)
    return bank is not None and bank.casefold() == who.party.casefold() and cmd.status != "requested"


@router.get(
    "/fund-control/commands", response_model=list[CommandPublic], summary="Fund-control commands (资金查控)"
)
def list_commands(
    who: Annotated[Principal, Depends(require("fundcontrol:read"))],
    service: ServiceDep,
    status: Annotated[str | None, Query(max_length=16, pattern=r"^[a-z_]+$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CommandPublic]:
    fc = service.ops.fundcontrol()
    actor = service.ops.actor(who.name, who.role, "fund control (API)")
    if who.role == "police":
        return [_public(c) for c in fc.list_commands(service.ops.store, actor, status=status, limit=limit)]
    # a bank's own commands are found by reading pages until enough are visible (the bank of a command
    # may come from the directory, not the row), not by filtering one page: others' could fill it
    found: dict[str, Any] = {}
    offset = 0
    while len(found) < limit:
        page = fc.list_commands(service.ops.store, actor, status=status, limit=COMMAND_PAGE, offset=offset)
        found.update((c.id, c) for c in page if _visible(service, who, c) and c.id not in found)
        if len(page) < COMMAND_PAGE:
            break
        offset += COMMAND_PAGE
    return [_public(c) for c in list(found.values())[:limit]]


@router.post(
    "/fund-control/commands/{command_id:path}/receipts",  # ids may hold "/" (A510/stop/1)
    response_model=CommandPublic,
    summary="A bank posts its receipt for a command (idempotent on receipt_id)",
)
def post_receipt(
    command_id: Annotated[CommandKey, PathParam()],
    body: ReceiptCreate,
    who: Annotated[Principal, Depends(require("fundcontrol:receipt"))],
    service: ServiceDep,
) -> CommandPublic:
    fc = service.ops.fundcontrol()
    actor = service.ops.actor(who.name, who.role, "bank receipt (API)")
    cmd = fc.get_command(service.ops.store, command_id, actor)
    if not _visible(service, who, cmd):
        # same answer as a missing command: a bank learns nothing about other banks' commands
        raise NotFoundError(f"fund-control command {command_id!r} does not exist")
    receipt = fc.Receipt(
        receipt_id=body.receipt_id,
        outcome=body.outcome,
        held_fen=body.held_fen,
        balance_fen=body.balance_fen,
        moved_on_fen=body.moved_on_fen,
        next_hops=tuple(h.model_dump() for h in body.next_hops),
        note=body.note,
    )
    return _public(fc.apply_receipt(service.ops.store, command_id, receipt, actor))


@router.post(
    "/interceptions",
    response_model=InterceptionPublic,
    status_code=202,
    summary="A telecom posts interception results (blocked calls / SMS, suspended numbers)",
)
def post_interception(
    body: InterceptionCreate,
    who: Annotated[Principal, Depends(require("interceptions:create"))],
    service: ServiceDep,
) -> InterceptionPublic:
    service.audit(
        who,
        f"interception.{body.action}",
        subject_kind="number",
        subject_id=body.number,
        detail={
            "at": body.at.isoformat(),
            "count": body.count,
            "target": body.target,
            "note": body.note,
            "carrier": who.party,
        },
        purpose="interception result",
    )
    service.counters[f"interception:{body.action}"] += body.count
    return InterceptionPublic(accepted=True, number=body.number, action=body.action)
