"""Data contracts: one :class:`RecordSpec` per record kind, shared by every party.

A spec lists its fields with a *type* naming the normaliser that validates them. The kind name is
also the table name in the lake and in every Engine query (``calls``, ``transfers`` …), and the field
names are the column names. :func:`validate_row` is the scalar reference; ingest vectorises the same
rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from fanzha.errors import NotFoundError, ValidationError
from fanzha.records import normalise as n

LIST_SEPARATORS = (";", "|", "；", "，", ",")


def _enum(*allowed: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = n._width(value).lower().replace("-", "_").replace(" ", "_")
        if text not in allowed:
            raise ValidationError(f"{value!r} is not one of {', '.join(allowed)}", value=value)
        return text

    check.allowed = allowed  # type: ignore[attr-defined]
    return check


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = n._width(value).lower()
    if text in {"1", "true", "t", "yes", "y", "是"}:
        return True
    if text in {"0", "false", "f", "no", "n", "否"}:
        return False
    raise ValidationError(f"{value!r} is not a yes/no value (true/false, 1/0, 是/否)", value=value)


def _date(value: object) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = n._width(value).replace("/", "-")[:10]
    try:  # an explicit YYYY-MM-DD (fromisoformat's other forms differ by Python version)
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError(text)
        return date(int(text[:4]), int(text[5:7]), int(text[8:10]))
    except ValueError:
        raise ValidationError(f"date {value!r} is not YYYY-MM-DD", value=value) from None


def _whole(value: object) -> int:
    """An int, or text of ASCII digits with an optional sign (no ``1_000``, no other scripts)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = n._width(value)
    if not re.fullmatch(r"[+-]?[0-9]+", text) or len(text) > 40:
        raise ValueError(text)
    return int(text)


def _duration(value: object) -> int:
    try:
        seconds = _whole(value)
    except ValueError:
        raise ValidationError(f"duration {value!r} is not whole seconds", value=value) from None
    if not 0 <= seconds <= 86_400:
        raise ValidationError(f"duration {value!r} s is outside 0 … 86400", value=value)
    return seconds


def _short_text(value: object) -> str:
    return n.normalise_text(value, max_chars=200)


def _int(value: object) -> int:
    try:
        number = _whole(value)
    except ValueError:
        raise ValidationError(f"{value!r} is not an integer", value=value) from None
    if not -(2**63) <= number < 2**63:
        raise ValidationError(f"{value!r} is outside the 64-bit integer range", value=value)
    return number


NORMALISERS: dict[str, Callable[[object], Any]] = {
    "id_number": n.normalise_id_number,
    "phone": n.normalise_phone,
    "account": n.normalise_account,
    "imei": n.normalise_imei,
    "amount_fen": n.normalise_amount_fen,
    "time": n.normalise_time,
    "date": _date,
    "bool": _bool,
    "duration_s": _duration,
    "int": _int,
    "url": n.normalise_url,
    "host": n.normalise_host,
    "wallet": n.normalise_wallet,
    "region": n.normalise_region,
    "text": n.normalise_text,
    "name": _short_text,
}

CARRIERS = ("cmcc", "cucc", "ctcc", "cbn", "mvno", "foreign")
CARD_TYPES = ("personal", "industry", "iot")
CARD_STATUS = ("active", "suspended", "closed")
ACCOUNT_TYPES = ("personal", "corporate", "merchant", "pooled")
ACCOUNT_STATUS = ("active", "dormant", "frozen", "closed")
CHANNELS = ("mobile", "online", "atm", "counter", "third_party", "crypto_otc")
EDUCATION = ("primary", "junior", "senior", "vocational", "bachelor", "master", "doctor", "unknown")
TOPUP_CHANNELS = ("app", "online", "counter", "voucher", "auto_debit", "agent", "third_party")
IDENTIFIER_KINDS = ("phone", "account", "url", "wallet", "app_account", "id_number", "imei")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str  # a key of NORMALISERS, or "enum" with ``choices``
    required: bool = True
    choices: tuple[str, ...] = ()
    is_list: bool = False  # several values, separated by ; | or a native list
    doc: str = ""

    def normaliser(self) -> Callable[[object], Any]:
        return _enum(*self.choices) if self.type == "enum" else NORMALISERS[self.type]


@dataclass(frozen=True)
class RecordSpec:
    kind: str  # table name in the lake and in Engine queries
    party: str
    fields: tuple[FieldSpec, ...]
    key: tuple[str, ...]  # natural key: rows with the same key are the same record
    time_field: str | None = None  # partitions the lake by day; None → one partition
    doc: str = ""
    checks: tuple[Callable[[dict[str, Any]], str | None], ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields if f.required)

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise NotFoundError(f"{self.kind} has no field {name!r}; fields: {', '.join(self.columns)}")


def F(name: str, type_: str, required: bool = True, **kw: Any) -> FieldSpec:
    return FieldSpec(name, type_, required, **kw)


def E(name: str, choices: tuple[str, ...], required: bool = True, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "enum", required, choices=choices, **kw)


def _person_consistent(row: dict[str, Any]) -> str | None:
    idn = row.get("id_number")
    if not idn:
        return None
    if row.get("gender") and row["gender"] != n.id_gender(idn).lower():
        return f"gender {row['gender']!r} contradicts ID number (which says {n.id_gender(idn)})"
    if row.get("birth_date") and row["birth_date"] != n.id_birth_date(idn):
        return f"birth_date {row['birth_date']} contradicts ID number ({n.id_birth_date(idn)})"
    return None


def _closed_after_opened(row: dict[str, Any]) -> str | None:
    if row.get("closed_at") and row.get("opened_at") and row["closed_at"] < row["opened_at"]:
        return "closed_at is before opened_at"
    return None


def _not_self_transfer(row: dict[str, Any]) -> str | None:
    if row.get("from_account") and row.get("from_account") == row.get("to_account"):
        return "from_account equals to_account"
    return None


def _usage_not_negative(row: dict[str, Any]) -> str | None:
    if row.get("kb") is not None and row["kb"] < 0:
        return f"kb {row['kb']} is negative"
    return None


def _loss_in_range(row: dict[str, Any]) -> str | None:
    """A case's loss is 0 (attempted, dissuaded in time) or more fen, never less, and at most
    ``MAX_FEN`` as any amount (a loss beyond it is a unit mix-up, and overflows sums of losses)."""
    loss = row.get("loss_fen")
    if loss is not None and loss < 0:
        return f"loss_fen {loss} is negative"
    if loss is not None and loss > n.MAX_FEN:
        return f"loss_fen {loss} is implausibly large (> {n.MAX_FEN})"
    return None


SPECS: dict[str, RecordSpec] = {
    s.kind: s
    for s in (
        RecordSpec(
            "people",
            "police",
            (
                F("id_number", "id_number"),
                F("name", "name"),
                E("gender", ("m", "f"), False),
                F("birth_date", "date", False),
                E("education", EDUCATION, False),
                F("occupation", "name", False),
                F("region", "region", False),
                F("is_student", "bool", False),
                F("family_contact", "phone", False, doc="亲情号码: relative alerted for elderly"),
            ),
            key=("id_number",),
            checks=(_person_consistent,),
            doc="natural persons (resident ID number is the key)",
        ),
        RecordSpec(
            "phone_cards",
            "telecom",
            (
                F("number", "phone"),
                F("owner_id", "id_number"),
                E("carrier", CARRIERS),
                E("card_type", CARD_TYPES),
                F("opened_at", "time"),
                F("closed_at", "time", False),
                E("status", CARD_STATUS),
                F("outlet", "name", False, doc="sales outlet / agent"),
                F("open_imei", "imei", False, doc="device used at activation"),
            ),
            key=("number", "opened_at"),
            time_field="opened_at",
            checks=(_closed_after_opened,),
            doc="phone cards (SIMs) with their registered owner (实名制)",
        ),
        RecordSpec(
            "devices",
            "telecom",
            (
                F("imei", "imei"),
                F("brand", "name", False),
                F("model", "name", False),
                F("first_seen", "time", False),
            ),
            key=("imei",),
            doc="handsets and SIM-farm (猫池/GOIP) devices",
        ),
        RecordSpec(
            "calls",
            "telecom",
            (
                F("caller", "phone"),
                F("callee", "phone"),
                F("start_at", "time"),
                F("duration_s", "duration_s"),
                E("direction", ("out", "in")),
                F("city", "region", False),
                F("cell_id", "name", False),
                F("imei", "imei", False),
            ),
            key=("caller", "callee", "start_at", "direction"),
            time_field="start_at",
            doc="call detail records; direction from the record owner's side",
        ),
        RecordSpec(
            "sms",
            "telecom",
            (
                F("sender", "phone"),
                F("receiver", "phone"),
                F("sent_at", "time"),
                F("text", "text"),
                F("imei", "imei", False),
            ),
            key=("sender", "receiver", "sent_at"),
            time_field="sent_at",
            doc="short messages",
        ),
        RecordSpec(
            "topups",
            "telecom",
            (
                F("topup_id", "name"),
                F("number", "phone"),
                F("amount_fen", "amount_fen"),
                F("at", "time"),
                E("channel", TOPUP_CHANNELS),
                F("payer_account", "account", False, doc="account that paid; empty for cash and vouchers"),
            ),
            key=("topup_id",),
            time_field="at",
            doc="top-ups (充值缴费) of phone cards, amounts in integer fen",
        ),
        RecordSpec(
            "data_usage",
            "telecom",
            (
                F("number", "phone"),
                F("start_at", "time", doc="start of the period the row sums (a day for daily totals)"),
                F("kb", "int", doc="mobile data used, kilobytes (all applications together)"),
            ),
            key=("number", "start_at"),
            time_field="start_at",
            checks=(_usage_not_negative,),
            doc="mobile data usage (流量) per number and period",
        ),
        RecordSpec(
            "accounts",
            "bank",
            (
                F("account_no", "account"),
                F("bank", "name"),
                F("owner_id", "id_number", False),
                E("account_type", ACCOUNT_TYPES),
                F("opened_at", "time"),
                E("status", ACCOUNT_STATUS),
                F("branch", "name", False),
                F("open_ip", "name", False),
                F("open_imei", "imei", False),
                F("merchant_category", "name", False, doc="e.g. gold, crypto_otc, payment_platform"),
            ),
            key=("account_no",),
            time_field="opened_at",
            doc="bank and payment accounts",
        ),
        RecordSpec(
            "transfers",
            "bank",
            (
                F("transfer_id", "name"),
                F("from_account", "account"),
                F("to_account", "account"),
                F("amount_fen", "amount_fen"),
                F("at", "time"),
                E("channel", CHANNELS),
                F("memo", "text", False),
                F("wallet", "wallet", False, doc="USDT address (OTC)"),
            ),
            key=("transfer_id",),
            time_field="at",
            checks=(_not_self_transfer,),
            doc="account-to-account transfers, amounts in integer fen",
        ),
        RecordSpec(
            "logins",
            "bank",
            (
                F("account", "account"),
                F("at", "time"),
                F("imei", "imei", False, doc="handset of a mobile-banking login"),
                F("ip", "name", False),
                F("city", "region", False),
            ),
            key=("account", "at"),
            time_field="at",
            doc="mobile / online banking logins (登录日志): which handset and network reached an account",
        ),
        RecordSpec(
            "withdrawals",
            "bank",
            (
                F("withdrawal_id", "name"),
                F("account", "account"),
                F("amount_fen", "amount_fen"),
                F("at", "time"),
                F("atm_id", "name", False),
                F("location", "region", False),
            ),
            key=("withdrawal_id",),
            time_field="at",
            doc="cash withdrawals (ATM / counter)",
        ),
        RecordSpec(
            "urls",
            "internet",
            (F("url", "url"), F("host", "host", False), F("first_seen", "time"), F("source", "name", False)),
            key=("url",),
            time_field="first_seen",
            doc="URLs seen by platforms (host derived)",
        ),
        RecordSpec(
            "app_accounts",
            "internet",
            (
                F("platform", "name"),
                F("account_id", "name"),
                F("phone", "phone", False),
                F("owner_id", "id_number", False),
                F("registered_at", "time", False),
            ),
            key=("platform", "account_id"),
            time_field="registered_at",
            doc="accounts on internet platforms (chat, social, shopping, games)",
        ),
        RecordSpec(
            "cases",
            "police",
            (
                F("case_id", "name"),
                F("reported_at", "time"),
                F("victim_id", "id_number"),
                F("fraud_type", "name"),
                F("loss_fen", "int"),
                F("narrative", "text"),
                F("region", "region", False),
                F("suspect_phones", "phone", False, is_list=True),
                F("suspect_accounts", "account", False, is_list=True),
                F(
                    "paid_from",
                    "account",
                    False,
                    is_list=True,
                    doc="accounts the victim paid from that are not her own (a parent's card for a minor)",
                ),
                F("suspect_urls", "url", False, is_list=True),
                F("suspect_wallets", "wallet", False, is_list=True),
                F("suspect_app_accounts", "name", False, is_list=True, doc="platform:account_id"),
            ),
            key=("case_id",),
            time_field="reported_at",
            checks=(_loss_in_range,),
            doc="case reports (报案) with the suspect identifiers the victim knows",
        ),
        RecordSpec(
            "tips",
            "public",
            (
                F("tip_id", "name"),
                F("reported_at", "time"),
                F("reporter", "phone", False),
                E("identifier_kind", IDENTIFIER_KINDS),
                F("identifier", "name"),
                F("text", "text", False),
            ),
            key=("tip_id",),
            time_field="reported_at",
            doc="public tips (举报线索)",
        ),
    )
}

KINDS = tuple(SPECS)
IDENTIFIER_NORMALISERS: dict[str, Callable[[object], str]] = {
    "phone": n.normalise_phone,
    "account": n.normalise_account,
    "url": n.normalise_url,
    "wallet": n.normalise_wallet,
    "id_number": n.normalise_id_number,
    "imei": n.normalise_imei,
    "app_account": _short_text,
    "host": n.normalise_host,
}


def get_spec(kind: str) -> RecordSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise NotFoundError(f"unknown record kind {kind!r}; choose one of: {', '.join(KINDS)}") from None


def _split_list(value: object) -> list[object]:
    if isinstance(value, list | tuple):
        return list(value)
    text = n._width(value)
    for sep in LIST_SEPARATORS:
        text = text.replace(sep, ";")
    return [part for part in text.split(";") if part.strip()]


def _missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN from pandas
        return True
    return isinstance(value, str) and not value.strip()


def tip_identifier(kind: str, identifier: str) -> tuple[str | None, str | None]:
    """A tip's identifier in the normal form of its kind (as ``POST /v1/tips`` stores it), or the
    reason it is not one: (value, None) or (None, reason)."""
    try:
        return IDENTIFIER_NORMALISERS[kind](identifier), None
    except ValidationError as exc:
        return None, f"not a valid {kind}: {exc}"


def validate_row(kind: str, row: Mapping[str, object]) -> tuple[dict[str, Any] | None, list[str]]:
    """Normalise one raw row. Returns ``(normalised, [])`` or ``(None, reasons)``.

    Reasons have the form ``field: message``; every failing field is reported, not only the first.
    """
    spec = get_spec(kind)
    out: dict[str, Any] = {}
    reasons: list[str] = []
    for f in spec.fields:
        value = row.get(f.name)
        if _missing(value):
            if f.required:
                reasons.append(f"{f.name}: required value is missing")
            out[f.name] = [] if f.is_list else None
            continue
        norm = f.normaliser()
        try:
            out[f.name] = [norm(v) for v in _split_list(value)] if f.is_list else norm(value)
        except ValidationError as exc:
            reasons.append(f"{f.name}: {exc}")
    if spec.kind == "urls" and not reasons and out.get("host") is None:
        out["host"] = n.url_host(out["url"])
    if spec.kind == "tips" and not reasons:
        value, problem = tip_identifier(out["identifier_kind"], out["identifier"])
        if problem:
            reasons.append(f"identifier: {problem}")
        else:
            out["identifier"] = value
    if not reasons:
        for check in spec.checks:
            problem = check(out)
            if problem:
                reasons.append(problem)
    return (None, reasons) if reasons else (out, [])
