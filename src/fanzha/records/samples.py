"""Deterministic sample rows per record kind, valid and invalid, for tests and benchmarks.

Values are raw text as a partner's CSV would carry them, in the many forms the normalisers accept
(full-width digits, +86 / 0086 prefixes, separators, epoch milliseconds …) and the ways they go wrong.
:func:`call_batches` generates call records vectorised (numpy) for the 10-million-row benchmark.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from fanzha.records import contracts as c
from fanzha.records.normalise import id_check_digit

ID_BASE = ("110101", "310104", "440305", "510104", "330106")


def make_id(rnd: random.Random, *, male: bool | None = None, born: str | None = None) -> str:
    """A valid 18-character resident ID number."""
    born = born or f"{rnd.randint(1940, 2010)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
    seq = rnd.randint(0, 99) * 10
    sex = (
        rnd.choice((1, 3, 5, 7, 9))
        if male or (male is None and rnd.random() < 0.5)
        else rnd.choice((0, 2, 4, 6, 8))
    )
    first17 = f"{rnd.choice(ID_BASE)}{born}{seq // 10:02d}{sex}"
    return first17 + id_check_digit(first17)


def make_imei(rnd: random.Random) -> str:
    body = "".join(str(rnd.randint(0, 9)) for _ in range(14))
    for check in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(body + check)):
            d = int(ch)
            total += (d * 2 - 9 if d > 4 else d * 2) if i % 2 else d
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


# -- value pools per field type: (valid, invalid) raw texts ---------------------------------------
VALID: dict[str, list[str]] = {
    "id_number": ["11010519491231002X", "44030519900101123x", "51010420000229002X", "110105491231002"],
    "phone": [
        "13800138000",
        "+86 138 0013 8000",
        "0086-13800138000",
        "8613800138000",
        "138-0013-8000",
        "１３８００１３８０００",
        "010-12345678",
        "+86 (0)10 1234 5678",
        "0086 010 12345678",
        "8601012345678",
        "0755 8888 9999",
        "110",
        "95588",
        "12381",
        "400-800-1234",
        "8008101234",
        "+44 20 7946 0958",
        "+1 (212) 555-0100",
        " 13912345678 ",
    ],
    "account": ["6222021234567890123", "6222 0212 3456 7890", "1234567890", "6217-0000-1111-2222-333"],
    "imei": ["490154203237518", "35-209900-176148-1", "12345678901234", "1234567890123456"],
    "amount_fen": ["1", "100", "1,000,000", "+250", "00042", "10000000000000", "１２３"],
    "time": [
        "2024-05-01 13:45:00",
        "2024-05-01T05:45:00Z",
        "2024/05/01 13:45",
        "2024-05-01T13:45:00+08:00",
        "2024-05-01 13:45:00.123",
        "1714542300000",
        "1714542300",
        "2024-05-01",
        "2024-05-01T05:45:00-0230",
        "２０２４-０５-０１ １３:４５:００",
    ],
    "date": ["1990-01-02", "1990/01/02", "1990-01-02 00:00:00"],
    "bool": ["1", "0", "true", "False", "yes", "N", "是", "否"],
    "duration_s": ["0", "59", "86400", "+12", "007"],
    "int": ["0", "-5", "123456", "+7"],
    "region": ["510104", "110101", "４４０３０５"],
    "wallet": [
        "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW",
        "0xAbCdEf0123456789abcdef0123456789ABCDEF01",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    ],
    "url": ["http://example.com/a?b=1", "EXAMPLE.com/path", "https://xn--fiq228c.com/", "https://中文.com/x"],
    "host": ["example.com", "Sub.Example.COM.", "例子.cn"],
    "text": ["你好，这是一条短信", "hello world", "  padded text  ", "line1\nline2", "zero\u200bwidth"],
    "name": ["张三", "Li Lei", "outlet-17", "  Wang  "],
}
INVALID: dict[str, list[str]] = {
    "id_number": [
        "110105194912310021",
        "11010519491231002",
        "990105194912310024",
        "110105194902300025",
        "abc",
        "110105180001010020",
        "11010549123100X",
    ],
    "phone": [
        "23456",
        "1380013800",
        "4008001234 5",
        "500-800-1234",
        "+86 12",
        "+86 (0)",
        "abc-123",
        "00",
        "+123456789012345678",
        "1380013800０a",
        "0012",
    ],
    "account": ["12345", "6222abc12345678", "1" * 26],
    "imei": ["490154203237519", "123", "4901542032375a8"],
    "amount_fen": [
        "12.50",
        "-100",
        "0",
        "abc",
        "10000000000001",
        "1e5",
        "¥100",
        "-0",
        "99999999999999999999999",
        "1,5",
        "12,50",
        "1,00,0",
        ",100",
    ],
    "time": [
        "1999-12-31 23:59:59",
        "2100-01-01 00:00:00",
        "2024-02-30 10:00:00",
        "2024-05-01 24:00:00",
        "yesterday",
        "2024-13-01",
        "20240501",
        "12",
        "2024-05-01T05:45:00+24:00",
        "99999999999999999999999",
        "0001-01-01 00:00",
    ],
    "date": ["1990-13-02", "19900102", "May 1", "0000-01-01"],
    "bool": ["maybe", "2", "ja"],
    "duration_s": ["-1", "86401", "1.5", "abc", "1_000", "99999999999"],
    "int": ["1.0", "x", "99999999999999999999"],
    "region": ["12345", "990101", "51010a"],
    "wallet": ["T123", "0x123", "hello"],
    "url": ["ftp://example.com", "http://", "http://exa mple.com", "http://a.com:99999/"],
    "host": ["no_dot", "-bad-.com", "a..b"],
    "text": ["\x00\x01", "x" * 100_001],
    "name": ["\x07", "名" * 201],
}
ENUM_INVALID = ["unknown-value", "ＸＸ", "?"]
MISSING = ["", "  ", "\u3000"]


def valid_value(f: c.FieldSpec, rnd: random.Random) -> str:
    if f.type == "enum":
        choice = rnd.choice(f.choices)
        return rnd.choice((choice, choice.upper(), choice.replace("_", "-"), f" {choice} "))
    if f.type == "id_number":
        return rnd.choice((make_id(rnd), make_id(rnd).lower(), *VALID["id_number"]))
    if f.type == "imei":
        return rnd.choice((make_imei(rnd), *VALID["imei"]))
    if f.type == "phone" and rnd.random() < 0.5:
        return f"1{rnd.randint(3, 9)}{rnd.randint(0, 999_999_999):09d}"
    return rnd.choice(VALID[f.type])


def invalid_value(f: c.FieldSpec, rnd: random.Random) -> str:
    return rnd.choice(ENUM_INVALID if f.type == "enum" else INVALID[f.type])


def _fix_person(row: dict[str, str], rnd: random.Random) -> None:
    """Make gender and birth date agree with the ID number (the cross-field check)."""
    born = f"{rnd.randint(1940, 2010)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
    male = rnd.random() < 0.5
    row["id_number"] = make_id(rnd, male=male, born=born.replace("-", ""))
    row["gender"] = rnd.choice(("m", "M")) if male else "f"
    row["birth_date"] = born


def valid_row(kind: str, rnd: random.Random) -> dict[str, str]:
    """A row that passes validation (optional fields sometimes empty)."""
    spec = c.get_spec(kind)
    row = {
        f.name: "" if not f.required and rnd.random() < 0.3 else valid_value(f, rnd)
        for f in spec.fields
        if not f.is_list
    }
    for f in spec.fields:
        if f.is_list:
            row[f.name] = ";".join(valid_value(f, rnd) for _ in range(rnd.randint(0, 3)))
    if kind == "people":
        _fix_person(row, rnd)
    if kind == "phone_cards":
        row["closed_at"] = ""
    if kind == "transfers":
        row["to_account"] = str(int(row["from_account"].replace(" ", "").replace("-", "")) + 1)
    if kind == "accounts":
        row["account_no"] = str(rnd.randint(10**15, 10**16 - 1))
    if kind == "data_usage":
        row["kb"] = str(rnd.randint(0, 10**7))
    if kind == "cases":
        row["loss_fen"] = str(rnd.randint(0, 10**9))
    if kind == "tips":  # the identifier is one of its kind (contracts.tip_identifier)
        kind_of = row["identifier_kind"].strip().lower().replace("-", "_")
        field_type = "name" if kind_of == "app_account" else kind_of
        row["identifier"] = valid_value(c.FieldSpec("identifier", field_type), rnd)
    if kind in {"transfers", "withdrawals", "cases", "tips", "topups"}:
        row[spec.key[0]] = f"K{rnd.randint(0, 10**12)}"
    return row


def invalid_row(kind: str, rnd: random.Random) -> dict[str, str]:
    """A row with at least one invalid or missing required field."""
    spec = c.get_spec(kind)
    row = valid_row(kind, rnd)
    f = rnd.choice([f for f in spec.fields if not f.is_list or rnd.random() < 0.3])
    if f.required and rnd.random() < 0.25:
        row[f.name] = rnd.choice(MISSING)
    else:
        bad = invalid_value(f, rnd)
        row[f.name] = (row[f.name] + ";" + bad) if f.is_list else bad
    return row


def sample_rows(kind: str, n: int, *, seed: int = 0, invalid_share: float = 0.2) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    return [
        invalid_row(kind, rnd) if rnd.random() < invalid_share else valid_row(kind, rnd) for _ in range(n)
    ]


CALL_COLUMNS = ("caller", "callee", "start_at", "duration_s", "direction", "city", "cell_id", "imei")


def call_batches(
    n: int, *, seed: int = 0, batch: int = 500_000, invalid_share: float = 0.01
) -> Iterator[object]:
    """``n`` call records as pyarrow tables of text (vectorised; keys unique; ~1 % invalid)."""
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    start = np.datetime64("2024-05-01T00:00:00")
    for offset in range(0, n, batch):
        size = min(batch, n - offset)
        idx = np.arange(offset, offset + size, dtype=np.int64)
        # caller = f(row index) is unique, so the natural key never repeats
        caller = 13_000_000_000 + (idx * 7_919) % 6_000_000_000
        callee = 13_000_000_000 + rng.integers(0, 6_000_000_000, size)
        at = (start + (idx % (14 * 86_400)).astype("timedelta64[s]")).astype(str)
        duration = rng.integers(0, 3_600, size)
        city = rng.choice(np.array(["510104", "110101", "440305", "310104"]), size)
        cell = np.char.add("C", rng.integers(0, 100_000, size).astype(str))
        imei = np.where(rng.random(size) < 0.5, "", "490154203237518")
        bad = rng.random(size) < invalid_share
        duration_text = np.where(bad, "12.5", duration.astype(str))
        yield pa.table(
            {
                "caller": caller.astype(str),
                "callee": callee.astype(str),
                "start_at": np.char.replace(at, "T", " "),
                "duration_s": duration_text,
                "direction": rng.choice(np.array(["out", "in"]), size),
                "city": city,
                "cell_id": cell,
                "imei": imei,
            }
        )
