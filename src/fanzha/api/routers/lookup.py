"""Lookups for the public and parties: 反诈名片-style labels, 一证通查, tips (举报)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam

from fanzha.api.auth import DETAIL_ROLES, PARTY_ROLES, Principal
from fanzha.api.deps import ServiceDep, require
from fanzha.api.schemas.decide import ReasonPublic
from fanzha.api.schemas.lookup import LookupPublic, PhoneCardPublic, PhoneCardsPublic, TipCreate, TipPublic
from fanzha.api.schemas.types import Account, IdNumber, Phone, Url
from fanzha.api.service import DecisionService
from fanzha.decide.state import ListEntry, RiskScore
from fanzha.errors import ValidationError
from fanzha.records.contracts import IDENTIFIER_NORMALISERS
from fanzha.records.normalise import mask_account, mask_id_number, mask_phone, url_host

router = APIRouter(prefix="/v1", tags=["lookup"])
TEXT = {
    "verified": "已认证",
    "high_risk": "高风险 · 疑似诈骗",
    "suspicious": "可疑 · 请谨慎",
    "no_record": "暂无风险记录",
}


def _label(
    service: DecisionService, entry: ListEntry | None, score: RiskScore | None, p: float | None
) -> str:
    high = service.rulebook.live.threshold("number_high_risk", 0.8)
    if entry and entry.status == "block":
        return "high_risk"
    if entry and entry.status == "allow":
        return "verified"
    if p is not None and p >= high:
        return "high_risk"
    if (entry and entry.status == "watch") or (p is not None and p >= 0.5):
        return "suspicious"
    return "no_record"


def _answer(
    service: DecisionService,
    who: Principal,
    kind: str,
    ident: str,
    shown: str,
    entry: ListEntry | None,
    score: RiskScore | None,
    p: float | None,
) -> LookupPublic:
    label = _label(service, entry, score, p)
    # an allow entry's reason is its 反诈名片 label (who is calling); a block entry's reason is an
    # officer's note (it may name a victim): the public sees the generic label
    text = entry.label if entry and entry.label and label == "verified" else TEXT[label]
    out = LookupPublic(kind=kind, identifier=shown, label=label, label_text=text)
    if who.role in DETAIL_ROLES or who.role in PARTY_ROLES:
        out.tier = score.tier if score else None
        out.probability = round(p, 4) if p is not None else None
    if who.role in DETAIL_ROLES:
        out.identifier = ident
        out.reasons = (
            [ReasonPublic(code=score.top_reason, message="top reason of the risk score")]
            if score and score.top_reason
            else []
        )
        # the list entry and the scores that labelled this kind (an account's label came from the
        # account scores, a URL's from the URL model: all three named the number scores' file)
        model = {
            "phone": service.state.scores.numbers_version,
            "account": service.state.scores.accounts_version,
            "url": service.engine.model_versions.get("url", ""),
        }[kind]
        out.sources = [s for s in ((entry.source if entry else ""), model) if s and s != "none"]
    service.audit(who, f"lookup.{kind}", subject_kind=kind, subject_id=ident, detail={"label": label})
    return out


@router.get(
    "/lookup/phone/{number}", response_model=LookupPublic, summary="Label of a phone number (反诈名片)"
)
def lookup_phone(
    number: Annotated[Phone, PathParam()],
    who: Annotated[Principal, Depends(require("lookup"))],
    service: ServiceDep,
) -> LookupPublic:
    score = service.state.number_score(number)
    return _answer(
        service,
        who,
        "phone",
        number,
        mask_phone(number),
        service.state.lists.get(f"phone:{number}"),
        score,
        score.probability if score else None,
    )


@router.get("/lookup/account/{account}", response_model=LookupPublic, summary="Label of a bank account")
def lookup_account(
    account: Annotated[Account, PathParam()],
    who: Annotated[Principal, Depends(require("lookup"))],
    service: ServiceDep,
) -> LookupPublic:
    score = service.state.account_score(account)
    return _answer(
        service,
        who,
        "account",
        account,
        mask_account(account),
        service.state.lists.get(f"account:{account}"),
        score,
        score.probability if score else None,
    )


@router.get(
    "/lookup/url", response_model=LookupPublic, summary="Label of a URL (by host, plus the URL model)"
)
def lookup_url(
    url: Annotated[Url, Query()], who: Annotated[Principal, Depends(require("lookup"))], service: ServiceDep
) -> LookupPublic:
    host = url_host(url)
    scorer = service.engine.url_scorer
    p = scorer(url)[0] if scorer else None
    return _answer(service, who, "url", url, host, service.state.lists.get_url(url, host), None, p)


def _cards(service: DecisionService, id_number: str, mask: bool) -> PhoneCardsPublic:
    rows = service.state.directory.cards_of.get(id_number, [])
    cards = [
        PhoneCardPublic(
            number=mask_phone(r["number"]) if mask else r["number"],
            carrier=r.get("carrier"),
            card_type=r.get("card_type"),
            status=r.get("status"),
            opened_at=r.get("opened_at"),
        )
        for r in rows
    ]
    # id_number is an 18-character normalised ID here (IdNumber path parameter, or a public key's party)
    return PhoneCardsPublic(id_number=mask_id_number(id_number), cards=cards, count=len(cards))


@router.get(
    "/me/phone-cards", response_model=PhoneCardsPublic, summary="一证通查: phone cards on one's own ID"
)
def my_phone_cards(
    who: Annotated[Principal, Depends(require("phonecards:self"))], service: ServiceDep
) -> PhoneCardsPublic:
    service.audit(who, "phonecards.self", subject_kind="id_number", subject_id=who.party)
    return _cards(service, who.party, mask=True)


@router.get(
    "/phone-cards/{id_number}", response_model=PhoneCardsPublic, summary="Phone cards on an ID (police)"
)
def phone_cards(
    id_number: Annotated[IdNumber, PathParam()],
    who: Annotated[Principal, Depends(require("phonecards:any"))],
    service: ServiceDep,
) -> PhoneCardsPublic:
    service.audit(who, "phonecards.query", subject_kind="id_number", subject_id=id_number)
    return _cards(service, id_number, mask=False)


@router.post("/tips", response_model=TipPublic, status_code=201, summary="Submit a tip or report (举报)")
def submit_tip(
    body: TipCreate, who: Annotated[Principal, Depends(require("tips:create"))], service: ServiceDep
) -> TipPublic:
    try:
        ident = IDENTIFIER_NORMALISERS[body.identifier_kind](body.identifier)
    except (ValueError, OverflowError) as exc:
        raise ValidationError(
            f"identifier {body.identifier!r} is not a valid {body.identifier_kind}: {exc}", field="identifier"
        ) from None
    tip_id = f"tip-{uuid.uuid4().hex[:16]}"
    row = {
        "tip_id": tip_id,
        "reported_at": (body.reported_at or datetime.now(UTC)).isoformat(),
        "identifier_kind": body.identifier_kind,
        "identifier": ident,
        "text": body.text,
    }
    service.queue_tip(row)
    service.audit(
        who, "tip.create", subject_kind=body.identifier_kind, subject_id=ident, detail={"tip_id": tip_id}
    )
    return TipPublic(tip_id=tip_id, identifier_kind=body.identifier_kind, identifier=ident, stored="queued")
