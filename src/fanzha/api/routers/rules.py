"""Decision rules as data: read, write the draft, promote it, and see what shadow mode recorded."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends
from fastapi import Path as PathParam

from fanzha.api.auth import Principal
from fanzha.api.deps import ServiceDep, require
from fanzha.api.schemas.rules import RuleSetPublic, ShadowPublic
from fanzha.api.service import DecisionService
from fanzha.decide.ruleset import OUTCOMES, RuleSet
from fanzha.errors import NotFoundError

router = APIRouter(prefix="/v1/rules", tags=["rules"])
Name = Literal["live", "draft"]


def _public(service: DecisionService, name: str, ruleset: RuleSet | None) -> RuleSetPublic:
    if ruleset is None:
        raise NotFoundError(f"there is no {name} rule set; PUT one to /v1/rules/draft")
    return RuleSetPublic(
        name=name,
        version=ruleset.version,
        label=ruleset.label,
        rules=len(ruleset.rules),
        document=service.rulebook.document(name),
    )


@router.get("/shadow", response_model=ShadowPublic, summary="Shadow mode: live vs draft outcomes so far")
def shadow(who: Annotated[Principal, Depends(require("rules:read"))], service: ServiceDep) -> ShadowPublic:
    s = service.shadow
    service.rulebook.refresh(force=True)
    draft = service.rulebook.draft
    s.follow(service.rulebook.live.label, draft.label if draft else None)
    total = sum(s.pairs.values())
    agree = sum(n for (a, b), n in s.pairs.items() if a == b)
    matrix = {a: {b: s.pairs.get((a, b), 0) for b in OUTCOMES} for a in OUTCOMES}
    return ShadowPublic(
        live=service.rulebook.live.label,
        draft=draft.label if draft else None,
        decisions=total,
        agreement=round(agree / total, 4) if total else None,
        matrix=matrix,
        recent_disagreements=list(s.recent)[-50:],
    )


@router.get("/{name}", response_model=RuleSetPublic, summary="The live or draft rule set")
def get_rules(
    name: Annotated[Name, PathParam()],
    who: Annotated[Principal, Depends(require("rules:read"))],
    service: ServiceDep,
) -> RuleSetPublic:
    service.rulebook.refresh(force=True)
    return _public(service, name, service.rulebook.live if name == "live" else service.rulebook.draft)


@router.put("/draft", response_model=RuleSetPublic, summary="Install a draft rule set (runs in shadow mode)")
def put_draft(
    document: Annotated[dict[str, Any], Body()],
    who: Annotated[Principal, Depends(require("rules:write"))],
    service: ServiceDep,
) -> RuleSetPublic:
    ruleset = service.rulebook.write("draft", document)
    service.shadow.pairs.clear()
    service.shadow.recent.clear()
    service.audit(who, "rules.draft", subject_kind="ruleset", subject_id=ruleset.label, purpose="rule change")
    return _public(service, "draft", ruleset)


@router.delete("/draft", status_code=204, summary="Remove the draft rule set (ends shadow mode)")
def delete_draft(who: Annotated[Principal, Depends(require("rules:write"))], service: ServiceDep) -> None:
    path = service.rulebook.path("draft")
    if path is None or not path.exists():
        raise NotFoundError("there is no draft rule set to delete")
    path.unlink()
    service.rulebook.refresh(force=True)
    service.audit(who, "rules.draft_removed", subject_kind="ruleset", purpose="rule change")


@router.post("/promote", response_model=RuleSetPublic, summary="Make the draft the live rule set")
def promote(who: Annotated[Principal, Depends(require("rules:write"))], service: ServiceDep) -> RuleSetPublic:
    ruleset = service.rulebook.promote()
    service.audit(
        who, "rules.promote", subject_kind="ruleset", subject_id=ruleset.label, purpose="rule change"
    )
    return _public(service, "live", ruleset)
