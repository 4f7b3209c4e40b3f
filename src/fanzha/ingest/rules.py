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
_PROVINCES = ", ".join(f"'{p}'" for p in sorted(n.PROVINCE_CODES))
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


def lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _re(x: str, pattern: str) -> str:
    return f"regexp_full_match({x}, {lit(pattern)})"


def is_ascii(x: str) -> str:
    return f"(strlen({x}) = length({x}))"


def trimmed(x: str) -> str:
    """str.strip() of ASCII text."""
    return f"trim({x}, {lit(WS)})"


def stripped(x: str) -> str:
    """str.strip() of any text."""
    return f"(CASE WHEN {is_ascii(x)} THEN {trimmed(x)} ELSE fz_strip({x}) END)"


def widened(x: str) -> str:
    """normalise._width (NFKC + strip) of any text."""
    return f"(CASE WHEN {is_ascii(x)} THEN {trimmed(x)} ELSE fz_width({x}) END)"


def missing(x: str) -> str:
    return f"({x} IS NULL OR {stripped(x)} = '')"


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


# -- one function per field type ---------------------------------------------------------------


def _phone(a: str, x: str) -> tuple[str, str]:
    plus = f"(starts_with({a}, '+') OR starts_with({a}, '00'))"
    d = f"(CASE WHEN starts_with({a}, '+') THEN substr({a}, 2) WHEN starts_with({a}, '00') THEN substr({a}, 3) ELSE {a} END)"
    intl = f"({plus} OR (starts_with({d}, '86') AND length({d}) = 13))"
    cn_mobile = f"(starts_with({d}, '86') AND {_re(f'substr({d}, 3)', _MOBILE)})"
    landline = f"(starts_with({d}, '0') AND length({d}) BETWEEN 10 AND 12 AND substr({d}, 2, 1) <> '0')"
    service = f"(length({d}) BETWEEN 3 AND 8 AND left({d}, 1) IN ('1', '9'))"
    r = py_repr(x)
    value = (
        f"(CASE WHEN {_re(a, _MOBILE)} THEN {a} WHEN NOT {_re(d, '[0-9]+')} THEN NULL "
        f"WHEN {intl} THEN (CASE WHEN {cn_mobile} THEN substr({d}, 3) "
        f"WHEN length({d}) BETWEEN 8 AND 15 THEN '+' || {d} END) "
        f"WHEN {_re(d, _MOBILE)} THEN {d} WHEN {landline} THEN '+86' || substr({d}, 2) "
        f"WHEN {service} THEN {d} END)"
    )
    error = (
        f"(CASE WHEN {_re(a, _MOBILE)} THEN NULL "
        f"WHEN NOT {_re(d, '[0-9]+')} THEN 'phone number ' || {r} || ' has characters other than digits' "
        f"WHEN {intl} THEN (CASE WHEN {cn_mobile} OR length({d}) BETWEEN 8 AND 15 THEN NULL "
        f"ELSE 'phone number ' || {r} || ' is not a valid E.164 number' END) "
        f"WHEN {_re(d, _MOBILE)} OR {landline} OR {service} THEN NULL "
        f"ELSE 'phone number ' || {r} || ' is neither an 11-digit mobile (1[3-9]…), a landline 0…, "
        f"a service code nor an international +… number' END)"
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


def _id_number(a: str, x: str) -> tuple[str, str]:
    up = f"upper({a})"
    old = f"(left({up}, 6) || '19' || substr({up}, 7))"
    s = f"(CASE WHEN {_re(up, '[0-9]{15}')} THEN {old} || {id_check_sql(old)} ELSE {up} END)"
    born = f"TRY_CAST(substr({s}, 7, 4) || '-' || substr({s}, 11, 2) || '-' || substr({s}, 13, 2) AS DATE)"
    born_text = f"(substr({s}, 7, 4) || '-' || substr({s}, 11, 2) || '-' || substr({s}, 13, 2))"
    r = py_repr(x)
    error = (
        f"(CASE WHEN NOT {_re(s, '[0-9]{17}[0-9X]')} THEN 'ID number ' || {r} || "
        "' is not 18 characters of 17 digits and a digit or X; check it' "
        f"WHEN left({s}, 2) NOT IN ({_PROVINCES}) THEN 'ID number ' || {r} || ' has unknown region code ' || left({s}, 6) "
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
    off_ok = f"({off} IN ('', 'Z') OR ({off_h} < '24' AND {off_m} < '60'))"
    off_minutes = (
        f"(CASE WHEN {off} = '' THEN 480 WHEN {off} = 'Z' THEN 0 ELSE (CASE WHEN starts_with({off}, '-') THEN -1 ELSE 1 END) "
        f"* (CAST({off_h} AS INTEGER) * 60 + CAST({off_m} AS INTEGER)) END)"
    )
    parsed = f"CAST({naive} - to_minutes({off_minutes}) AS TIMESTAMPTZ)"
    epoch = (
        f"(CASE WHEN length({a}) > 20 THEN NULL WHEN TRY_CAST({a} AS HUGEINT) > 100000000000 "
        f"THEN TRY_CAST({a} AS HUGEINT) * 1000 ELSE TRY_CAST({a} AS HUGEINT) * 1000000 END)"
    )
    earliest_us, latest_us = "946684800000000", "epoch_us(now() + INTERVAL 1 DAY)"
    epoch_ok = f"({epoch} BETWEEN {earliest_us} AND {latest_us})"
    # fast path: the canonical naive form, valid and in range, needs no regex extraction
    fast = _re(a, "20[0-9]{2}-[0-9]{2}-[0-9]{2} ([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
    fast_ts = f"CAST(TRY_CAST({a} AS TIMESTAMP) - INTERVAL 8 HOUR AS TIMESTAMPTZ)"
    fast_ok = (
        f"({fast} AND {fast_ts} BETWEEN TIMESTAMPTZ '2000-01-01 00:00:00+00' AND now() + INTERVAL 1 DAY)"
    )
    value = (
        f"(CASE WHEN {fast_ok} THEN {fast_ts} "
        f"WHEN {_re(a, '[0-9]+')} THEN (CASE WHEN {epoch_ok} THEN CAST(make_timestamp(CAST({epoch} AS BIGINT)) AS TIMESTAMPTZ) END) "
        f"WHEN {_re(a, _TIME_RE)} AND {off_ok} THEN {parsed} END)"
    )
    r = py_repr(x)
    bad = f"'time ' || {r} || ' is not ISO-8601 like 2024-05-01 13:45:00 (+08:00 optional)'"
    out_of_range = f"'time ' || {r} || ' is out of range (2000 … now + 1 day)'"
    error = (
        f"(CASE WHEN {fast_ok} THEN NULL WHEN {_re(a, '[0-9]+')} THEN (CASE WHEN {epoch_ok} THEN NULL ELSE {out_of_range} END) "
        f"WHEN NOT ({_re(a, _TIME_RE)} AND {off_ok}) OR {naive} IS NULL THEN {bad} "
        f"WHEN NOT {parsed} BETWEEN TIMESTAMPTZ '2000-01-01 00:00:00+00' AND now() + INTERVAL 1 DAY THEN {out_of_range} END)"
    )
    return value, error


def _date(a: str, x: str) -> tuple[str, str]:
    d = f"left({a}, 10)"
    ok = f"({_re(d, '[0-9]{4}-[0-9]{2}-[0-9]{2}')} AND left({d}, 4) <> '0000')"
    value = f"(CASE WHEN {ok} THEN TRY_CAST({d} AS DATE) END)"
    error = f"(CASE WHEN {value} IS NULL THEN 'date ' || {py_repr(x)} || ' is not YYYY-MM-DD' END)"
    return value, error


def _bool(a: str, x: str) -> tuple[str, str]:
    yes, no = "('1', 'true', 't', 'yes', 'y')", "('0', 'false', 'f', 'no', 'n')"
    value = f"(CASE WHEN lower({a}) IN {yes} THEN true WHEN lower({a}) IN {no} THEN false END)"
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
        f"(CASE WHEN NOT {_re(a, '[0-9]{6}')} OR left({a}, 2) NOT IN ({_PROVINCES}) THEN "
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
        f"ELSE regexp_replace(fz_strip({x}), {_UNICODE_CONTROLS}, '', 'g') END)"
    )


def _enum_body(choices: tuple[str, ...]) -> Callable[[str, str], tuple[str, str]]:
    allowed = ", ".join(lit(ch) for ch in choices)
    message = lit(" is not one of " + ", ".join(choices))

    def body(a: str, x: str) -> tuple[str, str]:
        v = f"replace(replace(lower({a}), '-', '_'), ' ', '_')"
        return v, f"(CASE WHEN {v} NOT IN ({allowed}) THEN {py_repr(x)} || {message} END)"

    return body


RULES: dict[str, Rule] = {
    "phone": Rule(lambda x: _fast_digits(x, "+"), _phone),
    "id_number": Rule(lambda x: _fast_digits(x, "X"), _id_number),
    "account": Rule(_fast_digits, _account),
    "imei": Rule(_fast_digits, _imei),
    "amount_fen": Rule(lambda x: f"replace({trimmed(x)}, ',', '')", _amount_fen),
    "time": Rule(lambda x: f"replace({trimmed(x)}, '/', '-')", _time),
    "date": Rule(lambda x: f"replace({trimmed(x)}, '/', '-')", _date),
    "bool": Rule(trimmed, _bool),
    "duration_s": Rule(trimmed, _duration),
    "int": Rule(trimmed, _int),
    "region": Rule(trimmed, _region),
    "wallet": Rule(trimmed, _wallet),
    "text": Rule(_text_prep, _text(100_000)),
    "name": Rule(_text_prep, _text(200)),
}


def rule_for(f: c.FieldSpec) -> Rule | None:
    """The SQL rule of a field, or None when the scalar normaliser runs through a UDF."""
    if f.type == "enum":
        return Rule(trimmed, _enum_body(f.choices))
    return RULES.get(f.type)


# -- assembling a record kind ------------------------------------------------------------------


def _struct(value: str, error: str, typ: str) -> str:
    return f"{{'v': CAST({value} AS {typ}), 'e': CAST({error} AS VARCHAR)}}"


def field_struct(kind: str, f: c.FieldSpec, x: str, prepared: str | None = None) -> str:
    """``{'v': value, 'e': 'field: reason' | NULL}`` of one raw value ``x`` (known not missing)."""
    typ = sql_type(f.type)
    prefix = lit(f"{f.name}: ")
    py = _struct(
        f"fz_value({lit(kind)}, {lit(f.name)}, {x})",
        f"{prefix} || fz_error({lit(kind)}, {lit(f.name)}, {x})",
        typ,
    )
    rule = rule_for(f)
    if rule is None:
        return py
    value, error = rule.body(prepared or rule.prep(x), x)
    sql = _struct(value, f"{prefix} || {error}", typ)
    if f.type in UNICODE_TYPES:
        return sql
    return f"(CASE WHEN {is_ascii(x)} THEN {sql} ELSE {py} END)"


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
    # layer 1: prepared text once per field (separators removed, trimmed …)
    preps = []
    for f in spec.fields:
        rule = rule_for(f)
        if rule is not None and not f.is_list:
            preps.append(f"{rule.prep(_raw(f.name))} AS {ident('_a_' + f.name)}")
    layer1 = f"SELECT _line, {raws}{''.join(', ' + p for p in preps)} FROM ({source}) AS src"
    # layer 2: value + reason per field
    results = []
    for f in spec.fields:
        x, typ = _raw(f.name), sql_type(f.type)
        need = lit(f"{f.name}: required value is missing") if f.required else "NULL"
        if f.is_list:
            item = field_struct(kind, f, "p")
            body = f"list_transform({_list_parts(x)}, lambda p: {item})"
            empty = f"CAST([] AS STRUCT(v {typ}, e VARCHAR)[])"
        else:
            prepared = ident("_a_" + f.name) if rule_for(f) is not None else None
            body = field_struct(kind, f, x, prepared)
            empty = _struct("NULL", need, typ)
        results.append(f"(CASE WHEN {missing(x)} THEN {empty} ELSE {body} END) AS {ident('_r_' + f.name)}")
    layer2 = f"SELECT _line, {raws}, {', '.join(results)} FROM ({layer1}) AS l1"
    # layer 3: typed columns and the reasons list
    cols, errs = [], []
    for f in spec.fields:
        r = ident("_r_" + f.name)
        if f.is_list:
            cols.append(f"list_transform({r}, lambda s: s.v) AS {ident(f.name)}")
            errs.append(f"list_filter({r}, lambda s: s.e IS NOT NULL)[1].e")
        else:
            cols.append(f"{r}.v AS {ident(f.name)}")
            errs.append(f"{r}.e")
    reasons = f"list_filter([{', '.join(errs)}], lambda e: e IS NOT NULL)"
    layer3 = f"SELECT _line, {raws}, {', '.join(cols)}, {reasons} AS _reasons FROM ({layer2}) AS l2"
    # layer 4: derived values and cross-field checks on valid rows, raw JSON of rejected rows
    names = [f.name for f in spec.fields]
    outs = []
    for name in names:
        if kind == "urls" and name == "host":
            outs.append(
                "(CASE WHEN host IS NULL AND len(_reasons) = 0 THEN fz_url_host(url) ELSE host END) AS host"
            )
        else:
            outs.append(ident(name))
    checks = [CHECKS[check] for check in spec.checks]
    final_reasons = "_reasons"
    if checks:
        final_reasons = (
            f"(CASE WHEN len(_reasons) = 0 THEN list_filter([{', '.join(checks)}], lambda e: e IS NOT NULL) "
            "ELSE _reasons END)"
        )
    raw_json = "json_object(" + ", ".join(f"{lit(name)}, {_raw(name)}" for name in names) + ")"
    return (
        f"SELECT _line, {', '.join(outs)}, r AS _reasons, CASE WHEN len(r) > 0 THEN {raw_json} END AS _raw "
        f"FROM (SELECT *, {final_reasons} AS r FROM ({layer3}) AS l3) AS l4"
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
        return lambda a, b, c: apply((a, b, c))

    functions: dict[str, tuple[Callable[..., str | None], int]] = {
        "fz_strip": (str.strip, 1),
        "fz_width": (_width, 1),
        "fz_repr": (repr, 1),
        "fz_value": (lambda k, f, v: scalar_field(k, f, v)[0], 3),
        "fz_error": (lambda k, f, v: scalar_field(k, f, v)[1], 3),
        "fz_url_host": (n.url_host, 1),
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
