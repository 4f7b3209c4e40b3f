"""Scalar normalisers for identifiers, money and time: the reference semantics of the data contracts.

Each ``normalise_*`` function takes a raw value and returns the canonical form or raises
:class:`~fanzha.errors.ValidationError` with a message naming the value and the fix. Vectorised
versions (ingest) must agree with these; tests compare them.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fanzha.errors import ValidationError

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_FEN = 10**13  # 1e11 yuan: beyond any single real transfer; guards against unit mix-ups
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

# first two digits of a resident ID number (province-level region codes, GB/T 2260)
PROVINCE_CODES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
        83,
        91,
    }
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_SEPARATORS = re.compile(r"[\s\-–—_.()（）/]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+")


def _width(value: object) -> str:
    """Full-width to half-width, trimmed; ``None`` and non-strings become strings or fail."""
    if value is None:
        raise ValidationError("value is missing; supply it", value=value)
    if isinstance(value, bool):
        raise ValidationError(f"got a boolean {value!r} where text or digits were expected")
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise ValidationError(f"got {type(value).__name__} {value!r}; expected text")
    return unicodedata.normalize("NFKC", value).strip()


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID number."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def normalise_id_number(value: object, *, today: date | None = None) -> str:
    """18-character resident ID number (upper-case X), validated: region, birth date, check digit.

    A 15-digit first-generation number is upgraded to 18 characters (century 19, check digit added).
    """
    raw = _SEPARATORS.sub("", _width(value)).upper()
    if re.fullmatch(r"[0-9]{15}", raw):
        raw = raw[:6] + "19" + raw[6:]
        raw += id_check_digit(raw)
    if not re.fullmatch(r"[0-9]{17}[0-9X]", raw):
        raise ValidationError(
            f"ID number {value!r} is not 18 characters of 17 digits and a digit or X; check it",
            value=value,
        )
    if int(raw[:2]) not in PROVINCE_CODES:
        raise ValidationError(f"ID number {value!r} has unknown region code {raw[:6]}", value=value)
    try:
        born = date(int(raw[6:10]), int(raw[10:12]), int(raw[12:14]))
    except ValueError:
        raise ValidationError(
            f"ID number {value!r} has an impossible birth date {raw[6:14]}", value=value
        ) from None
    if born.year < 1900 or born > (today or date.today()):
        raise ValidationError(f"ID number {value!r} has birth date {born} out of range", value=value)
    if id_check_digit(raw[:17]) != raw[17]:
        raise ValidationError(
            f"ID number {value!r} fails its check digit (expected {id_check_digit(raw[:17])})",
            value=value,
        )
    return raw


def person_key(value: str) -> str:
    """A person named by a caller (a victim claiming a refund, the person a warning is about): the ID
    number in its normal form when the key is a valid one (a lower-case x, full-width digits,
    spaces), else any other key (a case system's own id) as written, trimmed."""
    try:
        return normalise_id_number(value)
    except ValidationError:
        return value.strip()


def id_birth_date(id_number: str) -> date:
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def id_gender(id_number: str) -> str:
    """'M' or 'F' from the 17th digit (odd = male)."""
    return "M" if int(id_number[16]) % 2 else "F"


def normalise_phone(value: object) -> str:
    """Mainland mobile → 11 digits; other numbers → E.164 (``+<digits>``); service codes kept.

    Mainland landlines ``0<area><number>`` become ``+86<area><number>``, also when written with
    the country code and the trunk 0 (``+86 (0)10 …``, ``0086 010 …``). Short service numbers
    (3–8 digits starting 1 or 9, e.g. 110, 12381, 95588) and the 10-digit 400 / 800 business
    hotlines (企业客服, e.g. 400-800-1234: the numbers scammers imitate, and case hubs) are kept as
    digits.
    """
    raw = _SEPARATORS.sub("", _width(value))
    if raw.startswith("+"):
        digits, plus = raw[1:], True
    elif raw.startswith("00"):
        digits, plus = raw[2:], True
    else:
        digits, plus = raw, False
    if not digits.isdigit() or not digits.isascii():
        raise ValidationError(f"phone number {value!r} has characters other than digits", value=value)
    if plus or (digits.startswith("86") and len(digits) == 13):
        if digits.startswith("860"):  # the domestic trunk 0 kept after +86: +86 (0)10 6552 9988
            digits = "86" + digits[3:]
        if digits.startswith("86") and _MOBILE.match(digits[2:]):
            return digits[2:]
        if not 8 <= len(digits) <= 15:
            raise ValidationError(f"phone number {value!r} is not a valid E.164 number", value=value)
        return "+" + digits
    if _MOBILE.match(digits):
        return digits
    if digits.startswith("0") and 10 <= len(digits) <= 12 and digits[1] != "0":
        return "+86" + digits[1:]
    if (3 <= len(digits) <= 8 and digits[0] in "19") or (len(digits) == 10 and digits[:3] in ("400", "800")):
        return digits
    raise ValidationError(
        f"phone number {value!r} is neither an 11-digit mobile (1[3-9]…), a landline 0…, "
        "a service code, a 400 / 800 hotline nor an international +… number",
        value=value,
    )


def is_mobile(phone: str) -> bool:
    return bool(_MOBILE.match(phone))


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def normalise_account(value: object) -> str:
    """Bank card or account number as a digit string of 10–25 digits (separators removed).

    Card numbers are not Luhn-checked: many Chinese settlement account numbers do not carry one.
    """
    raw = _SEPARATORS.sub("", _width(value))
    if not raw.isdigit() or not raw.isascii() or not 10 <= len(raw) <= 25:
        raise ValidationError(
            f"account number {value!r} is not 10–25 digits; remove letters and check its length",
            value=value,
        )
    return raw


def normalise_imei(value: object) -> str:
    """14–16 digit device identity; a 15-digit IMEI must pass its Luhn check."""
    raw = _SEPARATORS.sub("", _width(value))
    if not raw.isdigit() or not raw.isascii() or not 14 <= len(raw) <= 16:
        raise ValidationError(f"IMEI {value!r} is not 14–16 digits", value=value)
    if len(raw) == 15 and not luhn_ok(raw):
        raise ValidationError(f"IMEI {value!r} fails its Luhn check digit", value=value)
    return raw


def normalise_amount_fen(value: object) -> int:
    """A positive integer amount in fen. Floats are refused: money is never a float."""
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"amount {value!r} is missing or not a number of fen", value=value)
    if isinstance(value, float):
        if not value.is_integer():
            raise ValidationError(
                f"amount {value!r} has a fraction; amounts are integer fen (1 yuan = 100 fen)",
                value=value,
            )
        value = int(value)
    if isinstance(value, str):
        text = _width(value)
        if _THOUSANDS.fullmatch(text):  # a comma only between groups of three digits: 12,50 is no number
            text = text.replace(",", "")
        if not re.fullmatch(r"[+-]?[0-9]+", text):
            raise ValidationError(
                f"amount {value!r} is not an integer number of fen; convert yuan with yuan_to_fen",
                value=value,
            )
        value = int(text)
    if not isinstance(value, int):
        raise ValidationError(f"amount {value!r} is not an integer number of fen", value=value)
    if value <= 0:
        raise ValidationError(f"amount {value} fen is not positive", value=value)
    if value > MAX_FEN:
        raise ValidationError(f"amount {value} fen is implausibly large (> {MAX_FEN})", value=value)
    return value


# yuan as written: ASCII digits, a comma only between groups of three, an optional decimal part
_YUAN = re.compile(r"[+-]?(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]*)?|[+-]?\.[0-9]+")


def yuan_to_fen(value: object) -> int:
    """Exact conversion of a yuan amount ('12.34', '¥1,234.50', 12) to integer fen.

    A comma groups thousands or the amount is refused: '12,50' (a decimal comma) is no 1,250 yuan.
    """
    text = _width(value).replace("¥", "").replace("元", "").strip()
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValidationError(f"amount {value!r} is not a number of yuan", value=value) from None
    if not amount.is_finite():  # Decimal takes 'inf' and 'nan'
        raise ValidationError(f"amount {value!r} is not a finite number of yuan", value=value)
    if not _YUAN.fullmatch(text):  # Decimal also takes '1e3', '1_000', other scripts' digits
        raise ValidationError(
            f"amount {value!r} is not a number of yuan like 1,234.50 (ASCII digits; a comma only "
            "between groups of three digits)",
            value=value,
        )
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValidationError(f"amount {value!r} has more than two decimals", value=value)
    return normalise_amount_fen(int(fen))


# the accepted text forms of a time: an explicit grammar (not datetime.fromisoformat, whose accepted
# forms vary by Python version) so that ingest can implement exactly the same rule in SQL
_TIME_TEXT = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _epoch(value: int) -> datetime:
    """Epoch seconds, or milliseconds when larger than 1e11 (exact integer arithmetic)."""
    micros = value * 1000 if value > 10**11 else value * 1_000_000
    if not -(10**17) < micros < 10**17:  # beyond year 5000 either way: out of range below
        return datetime(1, 1, 1, tzinfo=UTC)
    return _EPOCH + timedelta(microseconds=micros)


def _parse_time_text(text: str) -> datetime | None:
    match = _TIME_TEXT.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        return None
    if offset is None:
        return moment
    if offset == "Z":
        return moment.replace(tzinfo=UTC)
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        return None
    delta = timedelta(hours=hours, minutes=minutes)
    return moment.replace(tzinfo=timezone(delta if offset[0] == "+" else -delta))


def normalise_time(value: object, *, now: datetime | None = None) -> datetime:
    """Timezone-aware UTC datetime. Naive times are read as Asia/Shanghai (the parties' clocks).

    Accepts datetimes, epoch seconds or milliseconds (numbers or digit strings; > 1e11 means ms) and
    text ``YYYY-MM-DD[( |T)HH:MM[:SS[.ffffff]][Z|±HH[:MM]]]`` (``/`` may replace ``-`` in the
    date). Refuses times before 2000 or more than a day in the future.
    """
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, int) and not isinstance(value, bool):
        moment = _epoch(value)
    elif isinstance(value, float):
        seconds = value / 1000 if value > 10**11 else value
        moment = datetime.fromtimestamp(seconds, tz=UTC)
    else:
        text = _width(value).replace("/", "-")
        if text.isdigit() and text.isascii():
            parsed: datetime | None = _epoch(int(text)) if len(text) <= 20 else _epoch(10**30)
        else:
            parsed = _parse_time_text(text)
        if parsed is None:
            raise ValidationError(
                f"time {value!r} is not ISO-8601 like 2024-05-01 13:45:00 (+08:00 optional)",
                value=value,
            )
        moment = parsed
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # year 1 or 9999 shifted past the calendar: out of range anyway
        moment = datetime(1, 1, 1, tzinfo=UTC)
    limit = (now or datetime.now(UTC)) + timedelta(days=1)
    if not EARLIEST <= moment <= limit:
        # a datetime (an API body, a typed Parquet column) is shown as a time, not as its Python repr
        shown = value.isoformat(sep=" ") if isinstance(value, datetime) else value
        raise ValidationError(f"time {shown!r} is out of range (2000 … now + 1 day)", value=value)
    return moment


_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def normalise_host(value: object) -> str:
    """Lower-case host name (IDN → punycode), no port, no trailing dot; IPv4 kept as is."""
    raw = _width(value).lower().rstrip(".")
    if "://" in raw or "/" in raw:
        return normalise_url(raw).split("://", 1)[1].split("/", 1)[0]
    raw = raw.split(":", 1)[0] if raw.count(":") == 1 else raw
    try:
        host = raw.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"host {value!r} is not a valid domain name", value=value) from None
    if not _HOST.match(host) or "." not in host:
        raise ValidationError(f"host {value!r} is not a valid domain name or IPv4", value=value)
    return host


def with_scheme(raw: str) -> str:
    """A URL as a browser reads it: ``//host`` and a bare host get ``http://``; in http(s), a
    backslash before the query ends the host as a slash does (``http://evil.xyz\\@bank.com`` opens
    evil.xyz)."""
    if raw.startswith("//"):  # protocol-relative
        raw = "http:" + raw
    if "://" not in raw:
        raw = "http://" + raw
    scheme, _, rest = raw.partition("://")
    if scheme.lower() in ("http", "https"):
        cut = min((j for j in (rest.find("?"), rest.find("#")) if j >= 0), default=len(rest))
        raw = f"{scheme}://{rest[:cut].replace(chr(92), '/')}{rest[cut:]}"
    return raw


_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_url(value: object) -> str:
    """URL with a scheme (http:// added when missing) and a normalised host (the scheme's default
    port dropped); path kept."""
    raw = _width(value)
    if not raw:
        raise ValidationError("URL is empty", value=value)
    raw = with_scheme(raw)
    try:  # urlsplit and .port raise ValueError on bad brackets or ports: a rejection, not a crash
        parts = urlsplit(raw)
        # the scheme's default port is the same URL as none (http://a.cn:80/x is http://a.cn/x)
        default = _DEFAULT_PORTS.get(parts.scheme.lower())
        port = f":{parts.port}" if parts.port and parts.port != default else ""
    except ValueError:
        raise ValidationError(f"URL {value!r} is not an http(s) URL with a host", value=value) from None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValidationError(f"URL {value!r} is not an http(s) URL with a host", value=value)
    host = normalise_host(parts.hostname)
    rest = raw.split(parts.netloc, 1)[1] if parts.netloc else ""
    return f"{parts.scheme.lower()}://{host}{port}{rest}"


def url_host(url: str) -> str:
    return normalise_host(urlsplit(normalise_url(url)).hostname or "")


def normalise_wallet(value: object) -> str:
    """Crypto wallet address: TRON (T + 33 base58) kept, Ethereum (0x + 40 hex) lower-cased."""
    raw = _width(value)
    if re.fullmatch(r"T[1-9A-HJ-NP-Za-km-z]{33}", raw):
        return raw
    if re.fullmatch(r"0[xX][0-9a-fA-F]{40}", raw):
        return raw.lower()
    if re.fullmatch(r"(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,62}", raw):
        return raw
    raise ValidationError(f"wallet {value!r} is not a TRON, Ethereum or Bitcoin address", value=value)


def normalise_region(value: object) -> str:
    """6-digit administrative division code (GB/T 2260) with a known province prefix."""
    raw = _width(value)
    if not re.fullmatch(r"[0-9]{6}", raw) or int(raw[:2]) not in PROVINCE_CODES:
        raise ValidationError(f"region {value!r} is not a 6-digit division code like 510104", value=value)
    return raw


def normalise_text(value: object, *, max_chars: int = 100_000) -> str:
    """Non-empty text with control characters removed (kept as written otherwise)."""
    raw = _width(value) if not isinstance(value, str) else value.strip()
    cleaned = "".join(ch for ch in raw if ch in "\n\t" or unicodedata.category(ch)[0] != "C")
    if not cleaned:
        raise ValidationError("text is empty", value=value)
    if len(cleaned) > max_chars:
        raise ValidationError(
            f"text has {len(cleaned)} characters, more than {max_chars}",
            value=value[:40] if isinstance(value, str) else value,
        )
    return cleaned


def mask_id_number(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[-4:] if len(id_number) == 18 else "***"


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "***"


def mask_account(account: str) -> str:
    return account[:4] + "*" * max(len(account) - 8, 3) + account[-4:] if len(account) > 8 else "***"
