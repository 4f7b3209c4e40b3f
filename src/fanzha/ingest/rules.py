"""The data contracts as SQL: one generator per field type, mirroring the scalar normalisers.

:func:`validation_sql` turns a :class:`~fanzha.records.contracts.RecordSpec` into one DuckDB SELECT
that normalises every field, collects every reason (the exact strings
:func:`fanzha.records.contracts.validate_row` gives) and keeps the raw values of rejected rows. The
scalar functions stay the reference: property tests compare the two row by row.

Design: the hot path is plain ASCII text, handled with SQL string functions and RE2 regexes. Rare
values take a vectorised Python UDF that calls the scalar normaliser itself (the single definition of
the rule): non-ASCII input to identifier, number and time fields (full-width digits need Unicode NFKC,
which SQL lacks), URLs and hosts (``urllib`` and IDNA semantics), and ``repr`` of unusual text in
messages. So per-row Python runs only on the few rows that need it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from fanzha.engine.sql import quote_ident as ident
from fanzha.engine.sql import quote_literal as lit
from fanzha.errors import ValidationError
from fanzha.records import contracts as c
from fanzha.records import normalise as n

# characters str.strip() removes from ASCII text
WS = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "
# printable ASCII without quote and backslash: repr() is the text in single quotes
_SIMPLE_REPR = r"[ -&(-\[\]-~]*"
# the ASCII members of normalise._SEPARATORS
_SEPS = r"[\t-\r\x1c-\x20\-_.()/]+"
_MOBILE = "1[3-9][0-9]{9}"
_PROVINCE_RE = "(" + "|".join(str(p) for p in sorted(n.PROVINCE_CODES)) + ")"
_TIME_RE = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
# types always validated by the scalar normaliser through a UDF (rare, intricate semantics)
PYTHON_TYPES = frozenset({"url", "host"})
# types whose SQL handles any Unicode input; others send non-ASCII input to the scalar normaliser
UNICODE_TYPES = frozenset({"text", "name"})

SQL_TYPES = {
    "time": "TIMESTAMPTZ",
    "date": "DATE",
    "amount_fen": "BIGINT",
    "int": "BIGINT",
    "duration_s": "INTEGER",
    "bool": "BOOLEAN",
}


def sql_type(spec_type: str) -> str:
    return SQL_TYPES.get(spec_type, "VARCHAR")


def one_of(x: str, choices: tuple[str, ...] | list[str]) -> str:
    """``x IN (…)`` as ORs: DuckDB plans an IN list on a computed value as a (slow) mark join."""
    return "(" + " OR ".join(f"{x} = {lit(ch)}" for ch in choices) + ")"


def _re(x: str, pattern: str) -> str:
    return f"regexp_full_match({x}, {lit(pattern)})"


def is_ascii(x: str) -> str:
    return f"(strlen({x}) = length({x}))"


def trimmed(x: str) -> str:
    """str.strip() of ASCII text (trim with a character set is slow: skip it when nothing to strip)."""
    return f"(CASE WHEN ascii({x}) > 32 AND ascii(right({x}, 1)) > 32 THEN {x} ELSE trim({x}, {lit(WS)}) END)"


# every character for which str.isspace() is true
_UNICODE_WS = r"[\t-\r\x1c-\x20\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"
_STRIP_RE = lit(f"^{_UNICODE_WS}+|{_UNICODE_WS}+$")


def stripped(x: str) -> str:
    """str.strip() of any text."""
    return f"(CASE WHEN {is_ascii(x)} THEN {trimmed(x)} ELSE regexp_replace({x}, {_STRIP_RE}, '', 'g') END)"


def widened(x: str) -> str:
    """normalise._width (NFKC + strip) of any text."""
    return f"(CASE WHEN {is_ascii(x)} THEN {trimmed(x)} ELSE fz_width({x}) END)"


def missing(x: str) -> str:
    # a printable ASCII first character settles it without stripping
    return f"({x} IS NULL OR (ascii({x}) NOT BETWEEN 33 AND 126 AND {stripped(x)} = ''))"


def py_repr(x: str) -> str:
    """Python repr() of a text, as in the scalar messages."""
    return f"(CASE WHEN {_re(x, _SIMPLE_REPR)} THEN '''' || {x} || '''' ELSE fz_repr({x}) END)"


def _no_seps(x: str) -> str:
    return f"regexp_replace({trimmed(x)}, {lit(_SEPS)}, '', 'g')"


@dataclass(frozen=True)
class Rule:
    """SQL for one field type on ASCII, non-missing input.

    ``prep(x)`` is computed once per row; ``body(a, x)`` gives ``(value, error)`` from the prepared
    expression ``a`` and the raw expression ``x`` (for ``repr`` in messages). ``error`` is NULL when
    the value is valid; ``value`` never raises (TRY_CAST), its content is irrelevant on error.
    """

    prep: Callable[[str], str]
    body: Callable[[str, str], tuple[str, str]]
    # (guard on the raw text, value): the canonical form, valid without further checks
    fast: Callable[[str], tuple[str, str]] | None = None
    # digits of a check-digit number: raw text of exactly that many digits is cast to a BIGINT
    # column once, before the paths, and ``check(num)`` on it joins the fast path
    numeric: int = 0
    check: Callable[[str], str] | None = None


# -- one function per field type ---------------------------------------------------------------


def _phone(a: str, x: str) -> tuple[str, str]:
    plus = f"(starts_with({a}, '+') OR starts_with({a}, '00'))"
    d = f"(CASE WHEN starts_with({a}, '+') THEN substr({a}, 2) WHEN starts_with({a}, '00') THEN substr({a}, 3) ELSE {a} END)"
    intl = f"({plus} OR (starts_with({d}, '86') AND length({d}) = 13))"
    # international digits without the domestic trunk 0 kept after 86 (+86 (0)10 …)
    e = f"(CASE WHEN starts_with({d}, '860') THEN '86' || substr({d}, 4) ELSE {d} END)"
    cn_mobile = f"(starts_with({e}, '86') AND {_re(f'substr({e}, 3)', _MOBILE)})"
    landline = f"(starts_with({d}, '0') AND length({d}) BETWEEN 10 AND 12 AND substr({d}, 2, 1) <> '0')"
    service = (
        f"((length({d}) BETWEEN 3 AND 8 AND {one_of(f'left({d}, 1)', ('1', '9'))}) "
        f"OR (length({d}) = 10 AND {one_of(f'left({d}, 3)', ('400', '800'))}))"
    )
    r = py_repr(x)
    value = (
        f"(CASE WHEN {_re(a, _MOBILE)} THEN {a} WHEN NOT {_re(d, '[0-9]+')} THEN NULL "
        f"WHEN {intl} THEN (CASE WHEN {cn_mobile} THEN substr({e}, 3) "
        f"WHEN length({e}) BETWEEN 8 AND 15 THEN '+' || {e} END) "
        f"WHEN {_re(d, _MOBILE)} THEN {d} WHEN {landline} THEN '+86' || substr({d}, 2) "
        f"WHEN {service} THEN {d} END)"
    )
    error = (
        f"(CASE WHEN {_re(a, _MOBILE)} THEN NULL "
        f"WHEN NOT {_re(d, '[0-9]+')} THEN 'phone number ' || {r} || ' has characters other than digits' "
        f"WHEN {intl} THEN (CASE WHEN {cn_mobile} OR length({e}) BETWEEN 8 AND 15 THEN NULL "
        f"ELSE 'phone number ' || {r} || ' is not a valid E.164 number' END) "
        f"WHEN {_re(d, _MOBILE)} OR {landline} OR {service} THEN NULL "
        f"ELSE 'phone number ' || {r} || ' is neither an 11-digit mobile (1[3-9]…), a landline 0…, "
        f"a service code, a 400 / 800 hotline nor an international +… number' END)"
    )
    return value, error


def _fast_digits(x: str, extra: str = "") -> str:
    """Skip separator removal when the raw text is already bare digits (the common case)."""
    return f"(CASE WHEN {_re(x, f'[0-9{extra}]+')} THEN {x} ELSE {_no_seps(x)} END)"


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_check_sql(s: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits of ``s``."""
    total = " + ".join(f"(ascii(substr({s}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(_ID_WEIGHTS))
    return f"substr('10X98765432', ({total}) % 11 + 1, 1)"


def _id_prep(x: str) -> str:
    """Separators removed, upper case, a 15-digit first-generation number upgraded to 18."""
    up = f"upper({_fast_digits(x, 'X')})"
    old = f"(left({up}, 6) || '19' || substr({up}, 7))"
    return f"(CASE WHEN {_re(up, '[0-9]{15}')} THEN {old} || {id_check_sql(old)} ELSE {up} END)"


def _id_number(s: str, x: str) -> tuple[str, str]:
    born = f"TRY_CAST(substr({s}, 7, 4) || '-' || substr({s}, 11, 2) || '-' || substr({s}, 13, 2) AS DATE)"
    born_text = f"(substr({s}, 7, 4) || '-' || substr({s}, 11, 2) || '-' || substr({s}, 13, 2))"
    r = py_repr(x)
    error = (
        f"(CASE WHEN NOT {_re(s, '[0-9]{17}[0-9X]')} THEN 'ID number ' || {r} || "
        "' is not 18 characters of 17 digits and a digit or X; check it' "
        f"WHEN NOT {_re(f'left({s}, 2)', _PROVINCE_RE)} THEN 'ID number ' || {r} || ' has unknown region code ' || left({s}, 6) "
        f"WHEN {born} IS NULL OR substr({s}, 7, 4) = '0000' THEN 'ID number ' || {r} || "
        f"' has an impossible birth date ' || substr({s}, 7, 8) "
        f"WHEN year({born}) < 1900 OR {born} > current_date THEN 'ID number ' || {r} || ' has birth date ' || {born_text} || ' out of range' "
        f"WHEN {id_check_sql(s)} <> substr({s}, 18, 1) THEN 'ID number ' || {r} || "
        f"' fails its check digit (expected ' || {id_check_sql(s)} || ')' END)"
    )
    return s, error


def _account(a: str, x: str) -> tuple[str, str]:
    error = (
        f"(CASE WHEN NOT {_re(a, '[0-9]{10,25}')} THEN 'account number ' || {py_repr(x)} || "
        "' is not 10–25 digits; remove letters and check its length' END)"
    )
    return a, error


def luhn_sql(s: str, length: int) -> str:
    """True when the ``length``-digit string ``s`` passes the Luhn check."""
    terms = []
    for k in range(1, length + 1):
        d = f"(ascii(substr({s}, {k}, 1)) - 48)"
        terms.append(f"(2 * {d} - CASE WHEN {d} > 4 THEN 9 ELSE 0 END)" if (length - k) % 2 else d)
    return f"(({' + '.join(terms)}) % 10 = 0)"


def luhn_int_sql(num: str, length: int) -> str:
    """The Luhn check on ``num``, a column holding the ``length``-digit number as a BIGINT.

    Integer arithmetic on a column computed once costs about half of one ``substr`` per digit
    (DuckDB does not share repeated subexpressions, so the number must be a column).
    """
    terms = []
    for k in range(1, length + 1):
        d = f"({num} // {10 ** (length - k)} % 10)"
        terms.append(f"(2 * {d} - 9 * ({d} // 5))" if (length - k) % 2 else d)
    return f"(({' + '.join(terms)}) % 10 = 0)"


def _imei(a: str, x: str) -> tuple[str, str]:
    r = py_repr(x)
    error = (
        f"(CASE WHEN NOT {_re(a, '[0-9]{14,16}')} THEN 'IMEI ' || {r} || ' is not 14–16 digits' "
        f"WHEN length({a}) = 15 AND NOT {luhn_sql(a, 15)} THEN 'IMEI ' || {r} || ' fails its Luhn check digit' END)"
    )
    return a, error


def _signed_digits(a: str) -> tuple[str, str, str]:
    """(is negative, digits without sign and leading zeros, Python's str(int(a))) of ``[+-]?[0-9]+``."""
    neg = f"starts_with({a}, '-')"
    digits = f"ltrim(ltrim({a}, '+-'), '0')"
    as_int = f"(CASE WHEN {digits} = '' THEN '0' WHEN {neg} THEN '-' || {digits} ELSE {digits} END)"
    return neg, digits, as_int


def _amount_fen(a: str, x: str) -> tuple[str, str]:
    neg, digits, as_int = _signed_digits(a)
    too_big = f"(length({digits}) > 14 OR (length({digits}) = 14 AND {digits} > '{n.MAX_FEN}'))"
    error = (
        f"(CASE WHEN NOT {_re(a, '[+-]?[0-9]+')} THEN 'amount ' || {py_repr(x)} || "
        "' is not an integer number of fen; convert yuan with yuan_to_fen' "
        f"WHEN {digits} = '' OR {neg} THEN 'amount ' || {as_int} || ' fen is not positive' "
        f"WHEN {too_big} THEN 'amount ' || {as_int} || ' fen is implausibly large (> {n.MAX_FEN})' END)"
    )
    return f"TRY_CAST({a} AS BIGINT)", error


def _time(a: str, x: str) -> tuple[str, str]:
    g = [f"regexp_extract({a}, {lit(_TIME_RE)}, {i})" for i in range(9)]
    fraction = f"rpad(CASE WHEN {g[7]} = '' THEN '0' ELSE {g[7]} END, 6, '0')"
    clock = (
        f"(CASE WHEN {g[4]} = '' THEN '00:00:00' ELSE {g[4]} || ':' || {g[5]} || ':' || "
        f"(CASE WHEN {g[6]} = '' THEN '00' ELSE {g[6]} END) END)"
    )
    naive = (
        f"(CASE WHEN {g[1]} <> '0000' AND (CASE WHEN {g[4]} = '' THEN true ELSE {g[4]} < '24' AND {g[5]} < '60' "
        f"AND (CASE WHEN {g[6]} = '' THEN true ELSE {g[6]} < '60' END) END) "
        f"THEN TRY_CAST({g[1]} || '-' || {g[2]} || '-' || {g[3]} || ' ' || {clock} || '.' || {fraction} AS TIMESTAMP) END)"
    )
    off = g[8]
    off_digits = f"replace(substr({off}, 2), ':', '')"
    off_h, off_m = (
        f"left({off_digits}, 2)",
        f"(CASE WHEN length({off_digits}) > 2 THEN substr({off_digits}, 3) ELSE '00' END)",
    )
    off_ok = f"({one_of(off, ('', 'Z'))} OR ({off_h} < '24' AND {off_m} < '60'))"
    off_minutes = (
        f"(CASE WHEN {off} = '' THEN 480 WHEN {off} = 'Z' THEN 0 ELSE (CASE WHEN starts_with({off}, '-') THEN -1 ELSE 1 END) "
        f"* (CAST({off_h} AS INTEGER) * 60 + CAST({off_m} AS INTEGER)) END)"
    )
    parsed = f"CAST({naive} - to_minutes({off_minutes}) AS TIMESTAMPTZ)"
    epoch = (
        f"(CASE WHEN length({a}) > 20 THEN NULL WHEN TRY_CAST({a} AS HUGEINT) > 100000000000 "
        f"THEN TRY_CAST({a} AS HUGEINT) * 1000 ELSE TRY_CAST({a} AS HUGEINT) * 1000000 END)"
    )
    earliest_us, latest_us = "946684800000000", "epoch_us(fz_latest())"
    epoch_ok = f"({epoch} BETWEEN {earliest_us} AND {latest_us})"
    value = (
        f"(CASE WHEN {_re(a, '[0-9]+')} THEN (CASE WHEN {epoch_ok} THEN CAST(make_timestamp(CAST({epoch} AS BIGINT)) AS TIMESTAMPTZ) END) "
        f"WHEN {_re(a, _TIME_RE)} AND {off_ok} THEN {parsed} END)"
    )
    r = py_repr(x)
    bad = f"'time ' || {r} || ' is not ISO-8601 like 2024-05-01 13:45:00 (+08:00 optional)'"
    out_of_range = f"'time ' || {r} || ' is out of range (2000 … now + 1 day)'"
    error = (
        f"(CASE WHEN {_re(a, '[0-9]+')} THEN (CASE WHEN {epoch_ok} THEN NULL ELSE {out_of_range} END) "
        f"WHEN NOT ({_re(a, _TIME_RE)} AND {off_ok}) OR {naive} IS NULL THEN {bad} "
        f"WHEN NOT {parsed} BETWEEN TIMESTAMPTZ '2000-01-01 00:00:00+00' AND fz_latest() THEN {out_of_range} END)"
    )
    return value, error


def _date(a: str, x: str) -> tuple[str, str]:
    d = f"left({a}, 10)"
    ok = f"({_re(d, '[0-9]{4}-[0-9]{2}-[0-9]{2}')} AND left({d}, 4) <> '0000')"
    value = f"(CASE WHEN {ok} THEN TRY_CAST({d} AS DATE) END)"
    error = f"(CASE WHEN {value} IS NULL THEN 'date ' || {py_repr(x)} || ' is not YYYY-MM-DD' END)"
    return value, error


def _bool(a: str, x: str) -> tuple[str, str]:
    yes = one_of(f"lower({a})", ("1", "true", "t", "yes", "y"))
    no = one_of(f"lower({a})", ("0", "false", "f", "no", "n"))
    value = f"(CASE WHEN {yes} THEN true WHEN {no} THEN false END)"
    error = f"(CASE WHEN {value} IS NULL THEN {py_repr(x)} || ' is not a yes/no value (true/false, 1/0, 是/否)' END)"
    return value, error


def _duration(a: str, x: str) -> tuple[str, str]:
    neg, digits, _ = _signed_digits(a)
    r = py_repr(x)
    error = (
        f"(CASE WHEN NOT {_re(a, '[+-]?[0-9]+')} OR length({a}) > 40 THEN 'duration ' || {r} || ' is not whole seconds' "
        f"WHEN ({neg} AND {digits} <> '') OR length({digits}) > 5 OR TRY_CAST({a} AS INTEGER) > 86400 "
        f"THEN 'duration ' || {r} || ' s is outside 0 … 86400' END)"
    )
    return f"TRY_CAST({a} AS INTEGER)", error


def _int(a: str, x: str) -> tuple[str, str]:
    r = py_repr(x)
    error = (
        f"(CASE WHEN NOT {_re(a, '[+-]?[0-9]+')} OR length({a}) > 40 THEN {r} || ' is not an integer' "
        f"WHEN TRY_CAST({a} AS BIGINT) IS NULL THEN {r} || ' is outside the 64-bit integer range' END)"
    )
    return f"TRY_CAST({a} AS BIGINT)", error


def _region(a: str, x: str) -> tuple[str, str]:
    error = (
        f"(CASE WHEN NOT {_re(a, _PROVINCE_RE + '[0-9]{4}')} THEN "
        f"'region ' || {py_repr(x)} || ' is not a 6-digit division code like 510104' END)"
    )
    return a, error


def _wallet(a: str, x: str) -> tuple[str, str]:
    tron = _re(a, "T[1-9A-HJ-NP-Za-km-z]{33}")
    eth = _re(a, "0[xX][0-9a-fA-F]{40}")
    btc = _re(a, "(bc1|[13])[a-zA-HJ-NP-Z0-9]{25,62}")
    value = f"(CASE WHEN {eth} THEN lower({a}) ELSE {a} END)"
    error = (
        f"(CASE WHEN NOT ({tron} OR {eth} OR {btc}) THEN 'wallet ' || {py_repr(x)} || "
        "' is not a TRON, Ethereum or Bitcoin address' END)"
    )
    return value, error


def _text(max_chars: int) -> Callable[[str, str], tuple[str, str]]:
    def body(a: str, x: str) -> tuple[str, str]:
        error = (
            f"(CASE WHEN {a} = '' THEN 'text is empty' WHEN length({a}) > {max_chars} "
            f"THEN 'text has ' || length({a}) || ' characters, more than {max_chars}' END)"
        )
        return a, error

    return body


_ASCII_CONTROLS = lit(r"[\x00-\x08\x0b-\x1f\x7f]")
_UNICODE_CONTROLS = lit(r"[^\P{C}\n\t]")


def _text_prep(x: str) -> str:
    """Strip, then drop control / format / private characters except newline and tab."""
    return (
        f"(CASE WHEN {is_ascii(x)} THEN regexp_replace({trimmed(x)}, {_ASCII_CONTROLS}, '', 'g') "
        f"ELSE regexp_replace({stripped(x)}, {_UNICODE_CONTROLS}, '', 'g') END)"
    )


def _enum_body(choices: tuple[str, ...]) -> Callable[[str, str], tuple[str, str]]:
    message = lit(" is not one of " + ", ".join(choices))

    def body(a: str, x: str) -> tuple[str, str]:
        v = f"replace(replace(lower({a}), '-', '_'), ' ', '_')"
        return v, f"(CASE WHEN NOT {one_of(v, choices)} THEN {py_repr(x)} || {message} END)"

    return body


def _fast_time(x: str) -> tuple[str, str]:
    """Canonical naive Shanghai time, whole seconds, in range (bounds as naive Shanghai times)."""
    canonical = _re(x, "20[0-9]{2}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
    ts = f"TRY_CAST({x} AS TIMESTAMP)"
    guard = f"({canonical} AND {ts} BETWEEN TIMESTAMP '2000-01-01 08:00:00' AND fz_latest_shanghai())"
    # epoch arithmetic avoids the (slow) time-zone cast; whole seconds are exact in a double
    return guard, f"to_timestamp(epoch({ts}) - 28800)"


def _fast_printable(max_chars: int) -> Callable[[str], tuple[str, str]]:
    def fast(x: str) -> tuple[str, str]:
        return f"(strlen({x}) <= {max_chars} AND {_re(x, '[!-~]([ -~]*[!-~])?')})", x

    return fast


RULES: dict[str, Rule] = {
    "phone": Rule(lambda x: _fast_digits(x, "+"), _phone, lambda x: (_re(x, _MOBILE), x)),
    "id_number": Rule(_id_prep, _id_number),
    "account": Rule(_fast_digits, _account, lambda x: (_re(x, "[0-9]{10,25}"), x)),
    "imei": Rule(
        _fast_digits,
        _imei,
        lambda x: (_re(x, "[0-9]{14}|[0-9]{16}"), x),
        numeric=15,
        check=lambda num: luhn_int_sql(num, 15),
    ),
    "amount_fen": Rule(
        lambda x: (
            f"(CASE WHEN {_re(trimmed(x), n._THOUSANDS.pattern)} THEN replace({trimmed(x)}, ',', '') "
            f"ELSE {trimmed(x)} END)"
        ),
        _amount_fen,
        lambda x: (_re(x, "[1-9][0-9]{0,12}"), f"TRY_CAST({x} AS BIGINT)"),
    ),
    "time": Rule(lambda x: f"replace({trimmed(x)}, '/', '-')", _time, _fast_time),
    "date": Rule(lambda x: f"replace({trimmed(x)}, '/', '-')", _date),
    "bool": Rule(trimmed, _bool),
    "duration_s": Rule(
        trimmed,
        _duration,
        lambda x: (
            f"({_re(x, '[0-9]{1,5}')} AND TRY_CAST({x} AS INTEGER) <= 86400)",
            f"TRY_CAST({x} AS INTEGER)",
        ),
    ),
    "int": Rule(trimmed, _int, lambda x: (_re(x, "-?[0-9]{1,18}"), f"TRY_CAST({x} AS BIGINT)")),
    "region": Rule(trimmed, _region, lambda x: (_re(x, _PROVINCE_RE + "[0-9]{4}"), x)),
    "wallet": Rule(trimmed, _wallet),
    "text": Rule(_text_prep, _text(100_000), _fast_printable(100_000)),
    "name": Rule(_text_prep, _text(200), _fast_printable(200)),
}


def rule_for(f: c.FieldSpec) -> Rule | None:
    """The SQL rule of a field, or None when the scalar normaliser runs through a UDF."""
    if f.type == "enum":
        return Rule(trimmed, _enum_body(f.choices), lambda x: (one_of(x, f.choices), x))
    return RULES.get(f.type)


# -- assembling a record kind ------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSql:
    """The SQL of one field on a raw text ``x`` (known not missing), by path.

    Paths: 1 the canonical form (fast: one check), 2 non-ASCII text (the scalar normaliser through a
    UDF), 3 other ASCII text (the full SQL rule). Values and errors are separate *scalar* CASEs:
    DuckDB evaluates the branches of a scalar CASE only for the rows that take them (a STRUCT-typed
    CASE evaluates all of them, which would call the UDFs on every row).
    """

    guard: str | None  # path 1
    fast: str | None
    python: bool  # path 2 exists
    value: str  # path 3 (or 2 when python only)
    error: str
    py_value: str
    py_error: str


def _num(name: str) -> str:
    return ident(f"_n_{name}")


def field_sql(
    kind: str, f: c.FieldSpec, x: str, prepared: str | None = None, num: str | None = None
) -> FieldSql:
    typ = sql_type(f.type)
    prefix = lit(f"{f.name}: ")
    py_value = f"CAST(fz_value({lit(kind)}, {lit(f.name)}, {x}) AS {typ})"
    py_error = f"{prefix} || fz_error({lit(kind)}, {lit(f.name)}, {x})"
    rule = rule_for(f)
    if rule is None:
        return FieldSql(None, None, True, py_value, py_error, py_value, py_error)
    value, error = rule.body(prepared or rule.prep(x), x)
    guard, fast = rule.fast(x) if rule.fast is not None else (None, None)
    if num is not None and rule.check is not None and guard is not None:
        guard = f"({guard} OR ({num} IS NOT NULL AND {rule.check(num)}))"
    return FieldSql(
        guard,
        f"CAST({fast} AS {typ})" if fast is not None else None,
        f.type not in UNICODE_TYPES,
        f"CAST({value} AS {typ})",
        f"{prefix} || {error}",
        py_value,
        py_error,
    )


def path_sql(fs: FieldSql, x: str) -> str:
    """The path number (0 missing, 1 fast, 2 python, 3 SQL) of a raw value."""
    # the canonical-form guard first: it implies "not missing" and settles most values in one check
    whens = [f"WHEN {x} IS NULL THEN 0"]
    if fs.guard is not None:
        whens.append(f"WHEN {fs.guard} THEN 1")
    whens.append(f"WHEN {missing(x)} THEN 0")
    if fs.python:
        whens.append(f"WHEN NOT {is_ascii(x)} THEN 2")
    return f"CAST(CASE {' '.join(whens)} ELSE 3 END AS TINYINT)"


def by_path(path: str, fast: str | None, py: str, sql: str, missing_value: str = "NULL") -> str:
    whens = [f"WHEN 0 THEN {missing_value}", f"WHEN 2 THEN {py}", f"WHEN 3 THEN {sql}"]
    if fast is not None:
        whens.append(f"WHEN 1 THEN {fast}")
    return f"(CASE {path} {' '.join(whens)} END)"


def _item_exprs(kind: str, f: c.FieldSpec) -> tuple[str, str]:
    """(value, error) of one part ``p`` of a list field, as lambda bodies."""
    fs = field_sql(kind, f, "p")
    path = path_sql(fs, "p")
    return by_path(path, fs.fast, fs.py_value, fs.value), by_path(path, "NULL", fs.py_error, fs.error)


def _list_parts(x: str) -> str:
    text = f"regexp_replace({widened(x)}, '[;|；，,]', ';', 'g')"
    return f"list_filter(string_split({text}, ';'), lambda p: {stripped('p')} <> '')"


def _raw(name: str) -> str:
    return ident(f"_x_{name}")


def validation_sql(kind: str, source: str) -> str:
    """A SELECT over ``source`` (columns ``_line`` and ``_x_<field>`` VARCHAR, one per field).

    Output: ``_line``, every field typed (docs/interfaces.md), ``_reasons`` (VARCHAR[], empty when the
    row is valid) and ``_raw`` (JSON text of the raw values, only for rejected rows).
    """
    spec = c.get_spec(kind)
    raws = ", ".join(_raw(f.name) for f in spec.fields)
    # check-digit numbers of canonical length as BIGINT columns, so the check runs on the fast path
    numbered = {
        f.name: rule.numeric
        for f in spec.fields
        if not f.is_list and (rule := rule_for(f)) is not None and rule.numeric and rule.check is not None
    }
    if numbered:
        nums = ", ".join(
            f"(CASE WHEN strlen({x}) = {digits} AND {_re(x, f'[0-9]{{{digits}}}')} "
            f"THEN CAST({x} AS BIGINT) END) AS {_num(name)}"
            for name, digits in numbered.items()
            for x in [_raw(name)]
        )
        source = f"SELECT *, {nums} FROM ({source}) AS src0"
    # layer A: which path each value takes (one check per value on the fast path)
    paths = []
    for f in spec.fields:
        x = _raw(f.name)
        if f.is_list:
            paths.append(
                f"(CASE WHEN {missing(x)} THEN CAST([] AS VARCHAR[]) ELSE {_list_parts(x)} END) AS {ident('_p_' + f.name)}"
            )
        else:
            num = _num(f.name) if f.name in numbered else None
            paths.append(f"{path_sql(field_sql(kind, f, x, num=num), x)} AS {ident('_p_' + f.name)}")
    layer_a = f"SELECT _line, {raws}, {', '.join(paths)} FROM ({source}) AS src"
    # prepared text (separators removed …) once, only for the rows on the full SQL path
    preps = [
        f"(CASE WHEN {ident('_p_' + f.name)} = 3 THEN {rule.prep(_raw(f.name))} END) AS {ident('_a_' + f.name)}"
        for f in spec.fields
        if not f.is_list and (rule := rule_for(f)) is not None
    ]
    if preps:
        layer_a = f"SELECT *, {', '.join(preps)} FROM ({layer_a}) AS la0"
    # layer B: typed value and reason per field
    cols, errs = [], []
    for f in spec.fields:
        x, p = _raw(f.name), ident("_p_" + f.name)
        if f.is_list:
            item_value, item_error = _item_exprs(kind, f)
            cols.append(f"list_transform({p}, lambda p: {item_value}) AS {ident(f.name)}")
            error = f"list_filter(list_transform({p}, lambda p: {item_error}), lambda e: e IS NOT NULL)[1]"
        else:
            fs = field_sql(kind, f, x, ident("_a_" + f.name) if rule_for(f) is not None else None)
            need = lit(f"{f.name}: required value is missing") if f.required else "NULL"
            cols.append(f"{by_path(p, fs.fast, fs.py_value, fs.value)} AS {ident(f.name)}")
            error = by_path(p, "NULL", fs.py_error, fs.error, need)
        errs.append(f"{error} AS {ident('_e_' + f.name)}")
    layer_b = f"SELECT _line, {raws}, {', '.join(cols)}, {', '.join(errs)} FROM ({layer_a}) AS la"
    # layer C: the reasons list, derived values and cross-field checks on valid rows
    names = [f.name for f in spec.fields]
    e_cols = [ident("_e_" + name) for name in names]
    all_ok = " AND ".join(f"{e} IS NULL" for e in e_cols)
    reasons = (
        f"(CASE WHEN {all_ok} THEN CAST([] AS VARCHAR[]) "
        f"ELSE list_filter([{', '.join(e_cols)}], lambda e: e IS NOT NULL) END)"
    )
    checks = [CHECKS[check] for check in spec.checks]
    if checks:
        found = f"list_filter([{', '.join(checks)}], lambda e: e IS NOT NULL)"
        reasons = f"(CASE WHEN {all_ok} THEN {found} ELSE {reasons} END)"
    if kind == "tips":  # the identifier in the normal form of its kind (contracts.tip_identifier)
        problem = f"(CASE WHEN {all_ok} THEN fz_tip_error(identifier_kind, identifier) END)"
        reasons = (
            f"(CASE WHEN {problem} IS NOT NULL THEN list_append({reasons}, 'identifier: ' || {problem}) "
            f"ELSE {reasons} END)"
        )
    outs = []
    for name in names:
        if kind == "urls" and name == "host":
            outs.append(f"(CASE WHEN host IS NULL AND {all_ok} THEN fz_url_host(url) ELSE host END) AS host")
        elif kind == "tips" and name == "identifier":
            outs.append(
                f"(CASE WHEN {all_ok} THEN coalesce(fz_tip_value(identifier_kind, identifier), identifier) "
                "ELSE identifier END) AS identifier"
            )
        else:
            outs.append(ident(name))
    raw_json = "json_object(" + ", ".join(f"{lit(name)}, {_raw(name)}" for name in names) + ")"
    return (
        f"SELECT _line, {', '.join(ident(n) for n in names)}, r AS _reasons, "
        f"CASE WHEN len(r) > 0 THEN {raw_json} END AS _raw "
        f"FROM (SELECT _line, {raws}, {', '.join(outs)}, {reasons} AS r FROM ({layer_b}) AS lb) AS lc"
    )


# -- cross-field checks (contracts.RecordSpec.checks) in SQL -----------------------------------


def _person_sql() -> str:
    gender = "(CASE WHEN (ascii(substr(id_number, 17, 1)) - 48) % 2 = 1 THEN 'M' ELSE 'F' END)"
    born_text = (
        "(substr(id_number, 7, 4) || '-' || substr(id_number, 11, 2) || '-' || substr(id_number, 13, 2))"
    )
    return (
        "(CASE WHEN id_number IS NULL THEN NULL "
        f"WHEN gender IS NOT NULL AND gender <> lower({gender}) THEN "
        f"'gender ''' || gender || ''' contradicts ID number (which says ' || {gender} || ')' "
        f"WHEN birth_date IS NOT NULL AND CAST(birth_date AS VARCHAR) <> {born_text} THEN "
        f"'birth_date ' || CAST(birth_date AS VARCHAR) || ' contradicts ID number (' || {born_text} || ')' END)"
    )


CHECKS: dict[Callable[[dict[str, Any]], str | None], str] = {
    c._person_consistent: _person_sql(),
    c._closed_after_opened: (
        "(CASE WHEN closed_at IS NOT NULL AND opened_at IS NOT NULL AND closed_at < opened_at "
        "THEN 'closed_at is before opened_at' END)"
    ),
    c._not_self_transfer: (
        "(CASE WHEN from_account IS NOT NULL AND from_account = to_account THEN 'from_account equals to_account' END)"
    ),
    c._usage_not_negative: "(CASE WHEN kb < 0 THEN 'kb ' || kb || ' is negative' END)",
    c._loss_in_range: "(CASE WHEN loss_fen < 0 THEN 'loss_fen ' || loss_fen || ' is negative' "
    f"WHEN loss_fen > {n.MAX_FEN} THEN 'loss_fen ' || loss_fen || ' is implausibly large (> {n.MAX_FEN})' END)",
}


# -- the Python side: UDFs for the rare values -------------------------------------------------


def _canonical(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


@lru_cache(maxsize=65_536)
def scalar_field(kind: str, field: str, value: str) -> tuple[str | None, str | None]:
    """(canonical text of the value, reason) from the scalar normaliser of one field."""
    try:
        return _canonical(c.get_spec(kind).field(field).normaliser()(value)), None
    except ValidationError as exc:
        return None, str(exc)


def _width(value: str) -> str:
    return unicodedata.normalize("NFKC", value).strip()


def register_udfs(con: Any) -> None:
    """Prepare a DuckDB connection for the generated SQL: UTC session, the fz_* functions."""
    con.execute("SET TimeZone = 'UTC'")
    # the latest acceptable time (now + 1 day), in UTC and as a naive Shanghai time
    con.execute("CREATE OR REPLACE TEMP MACRO fz_latest() AS now() + INTERVAL 1 DAY")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO fz_latest_shanghai() AS CAST(now() AS TIMESTAMP) + INTERVAL 32 HOUR"
    )
    import pyarrow as pa
    from duckdb import sqltypes

    varchar = sqltypes.VARCHAR

    def vector(fn: Callable[..., str | None], arity: int) -> Callable[..., Any]:
        def apply(arrays: tuple[Any, ...]) -> Any:
            columns = [a.to_pylist() for a in arrays]
            rows = zip(*columns, strict=True)
            return pa.array([None if None in args else fn(*args) for args in rows], pa.string())

        # DuckDB reads the arity from the signature
        if arity == 1:
            return lambda a: apply((a,))
        if arity == 2:
            return lambda a, b: apply((a, b))
        return lambda a, b, c: apply((a, b, c))

    functions: dict[str, tuple[Callable[..., str | None], int]] = {
        "fz_width": (_width, 1),
        "fz_repr": (repr, 1),
        "fz_value": (lambda k, f, v: scalar_field(k, f, v)[0], 3),
        "fz_error": (lambda k, f, v: scalar_field(k, f, v)[1], 3),
        "fz_url_host": (n.url_host, 1),
        "fz_tip_value": (lambda k, v: c.tip_identifier(k, v)[0], 2),
        "fz_tip_error": (lambda k, v: c.tip_identifier(k, v)[1], 2),
    }
    for name, (fn, arity) in functions.items():
        con.create_function(
            name,
            vector(fn, arity),
            [varchar] * arity,
            varchar,
            type="arrow",
            null_handling="special",
            side_effects=False,
        )
