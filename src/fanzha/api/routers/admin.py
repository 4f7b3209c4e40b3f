"""Service status and the audit log (police and procurators: 法律监督 reads the log)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from fanzha.api.auth import Principal
from fanzha.api.deps import ServiceDep, require

router = APIRouter(tags=["admin"])


@router.get("/healthz", summary="Liveness (no data, no authentication)")
async def healthz() -> dict[str, bool]:
    return {"ok": True}


@router.get("/v1/status", summary="Versions in force and decision counts")
def status(who: Annotated[Principal, Depends(require("status:read"))], service: ServiceDep) -> dict[str, Any]:
    out: dict[str, Any] = {
        "started": service.started.isoformat(),
        "uptime_s": round((datetime.now(UTC) - service.started).total_seconds(), 1),
        "versions": {
            "rules": service.rulebook.live.label,
            **service.state.versions(),
            **service.engine.model_versions,
        },
        "draft": service.rulebook.draft.label if service.rulebook.draft else None,
    }
    if who.role in ("police", "procurator"):
        out["counters"] = dict(service.counters)
        out["rules_error"] = service.rulebook.last_error
    return out


@router.get("/v1/audit", summary="Read the audit log, newest first (the read is itself logged)")
def read_audit(
    who: Annotated[Principal, Depends(require("audit:read"))],
    service: ServiceDep,
    subject_id: Annotated[str | None, Query(max_length=256)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    service.flush()  # what this caller just did is in the answer
    actor = service.ops.actor(who.name, who.role, "audit review")
    rows = service.ops.read_audit(actor, subject_id=subject_id, action=action, limit=limit)
    return [
        {
            "seq": r.seq,
            "at": r.at.isoformat(),
            "actor": r.actor,
            "role": r.role,
            "action": r.action,
            "purpose": r.purpose,
            "subject_kind": r.subject_kind,
            "subject_id": r.subject_id,
            "detail": r.detail,
            "hash": r.hash,
        }
        for r in rows
    ]
