"""The scalar normalisers: the reference semantics of every data contract."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanzha.errors import FanzhaError, ValidationError
from fanzha.records import normalise as n

NOW = datetime(2024, 6, 1, tzinfo=UTC)


# -- resident ID numbers ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("11010519491231002x", "11010519491231002X"),  # lower-case check character
        (" 110105 19491231 002X ", "11010519491231002X"),  # separators
        ("１１０１０５１９４９１２３１００２Ｘ", "11010519491231002X"),  # full-width
        ("110105491231002", "11010519491231002X"),  # 15-digit first generation, upgraded
    ],
)
def test_id_number_valid(raw, expected):
    assert n.normalise_id_number(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("110105194912310021", "fails its check digit \\(expected X\\)"),
        ("11010519491231002", "not 18 characters"),
        ("990105194912310024", "unknown region code 990105"),
        ("110105194902300025", "impossible birth date 19490230"),
        ("110105180001010020", "out of range"),
        ("110105209901010026", "out of range"),  # born in the future
        ("abcdefghijklmnopqr", "not 18 characters"),
        ("١١٠١٠٥١٩٤٩١٢٣١٠٠٢X", "not 18 characters"),  # other scripts' digits are not ID digits
    ],
)
def test_id_number_invalid(raw, match):
    with pytest.raises(ValidationError, match=match):
        n.normalise_id_number(raw)


def test_id_number_helpers():
    assert n.id_check_digit("11010519491231002") == "X"
    assert n.id_gender("11010519491231002X") == "F"
    assert n.id_birth_date("11010519491231002X") == date(1949, 12, 31)
    assert n.mask_id_number("11010519491231002X") == "110105********002X"


# -- phone numbers --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),  # full-width digits
        ("010-12345678", "+861012345678"),  # Beijing landline
        # the same landline with the country code and the trunk 0 kept (it was +8601012345678)
        ("+86 (0)10 1234 5678", "+861012345678"),
        ("0086 010 12345678", "+861012345678"),
        ("8601012345678", "+861012345678"),
        ("+86 0138 0013 8000", "13800138000"),
        ("0755 8888 9999", "+8675588889999"),  # Shenzhen landline
        ("110", "110"),  # service codes kept
        ("95588", "95588"),
        ("12381", "12381"),
        ("400-800-1234", "4008001234"),  # business hotlines (企业客服) kept as digits
        ("8008101234", "8008101234"),
        ("+44 20 7946 0958", "+442079460958"),  # E.164
        ("+1 (212) 555-0100", "+12125550100"),
        ("00852 2345 6789", "+85223456789"),
    ],
)
def test_phone_valid(raw, expected):
    assert n.normalise_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("23456", "neither an 11-digit mobile"),
        ("1380013800", "neither"),  # 10 digits
        ("abc-123", "characters other than digits"),
        ("+86 12", "not a valid E.164"),
        ("+123456789012345678", "not a valid E.164"),
        ("0012", "not a valid E.164"),
    ],
)
def test_phone_invalid(raw, match):
    with pytest.raises(ValidationError, match=match):
        n.normalise_phone(raw)


def test_phone_masks():
    assert n.mask_phone("13800138000") == "138****8000"
    assert n.is_mobile("13800138000") and not n.is_mobile("+861012345678")


# -- card / account numbers and IMEI ---------------------------------------------------------
def test_account_numbers():
    assert n.normalise_account("6222 0212 3456 7890") == "6222021234567890"
    assert n.normalise_account("6217-0000-1111-2222-333") == "6217000011112222333"
    for bad in ("12345", "6222abc12345678", "1" * 26):
        with pytest.raises(ValidationError, match="not 10–25 digits"):
            n.normalise_account(bad)
    assert n.mask_account("6222021234567890") == "6222********7890"
    assert n.luhn_ok("4111111111111111") and not n.luhn_ok("4111111111111112")


def test_imei():
    assert n.normalise_imei("49-015420-323751-8") == "490154203237518"
    assert n.normalise_imei("12345678901234") == "12345678901234"  # 14 digits: no check digit
    with pytest.raises(ValidationError, match="Luhn"):
        n.normalise_imei("490154203237519")
    with pytest.raises(ValidationError, match="14–16 digits"):
        n.normalise_imei("123")


# -- amounts ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "fen"),
    [(1, 1), ("100", 100), ("1,000,000", 1_000_000), ("+250", 250), (12.0, 12), ("１２３", 123)],
)
def test_amount_valid(raw, fen):
    assert n.normalise_amount_fen(raw) == fen


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (12.5, "has a fraction"),
        ("12.50", "not an integer number of fen"),
        ("-100", "-100 fen is not positive"),
        (0, "not positive"),
        ("abc", "not an integer"),
        ("1e5", "not an integer"),
        ("12,50", "not an integer number of fen"),  # a decimal comma, not thousands: was 1250
        ("1,00,0", "not an integer number of fen"),
        (10**13 + 1, "implausibly large"),
        (True, "missing or not a number"),
        (None, "missing or not a number"),
    ],
)
def test_amount_invalid(raw, match):
    with pytest.raises(ValidationError, match=match):
        n.normalise_amount_fen(raw)


def test_yuan_to_fen_is_exact():
    assert n.yuan_to_fen("12.34") == 1234
    for odd in ("inf", "-Infinity", "nan"):
        with pytest.raises(ValidationError, match="not a finite number"):
            n.yuan_to_fen(odd)
    assert n.yuan_to_fen("¥1,000.5元") == 100_050
    with pytest.raises(ValidationError, match="more than two decimals"):
        n.yuan_to_fen("0.001")


# -- times -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01 13:45:00", datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),  # naive = Asia/Shanghai
        ("2024/05/01 13:45", datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),
        ("2024-05-01T05:45:00Z", datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),
        ("2024-05-01T13:45:00+08:00", datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),
        ("2024-05-01T05:45:00-0230", datetime(2024, 5, 1, 8, 15, tzinfo=UTC)),
        ("2024-05-01 13:45:00.5", datetime(2024, 5, 1, 5, 45, 0, 500_000, tzinfo=UTC)),
        ("2024-05-01", datetime(2024, 4, 30, 16, 0, tzinfo=UTC)),
        ("1714542300000", datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),  # epoch milliseconds
        ("1714542300", datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),  # epoch seconds
        (1714542300123, datetime(2024, 5, 1, 5, 45, 0, 123_000, tzinfo=UTC)),
        (datetime(2024, 5, 1, 13, 45), datetime(2024, 5, 1, 5, 45, tzinfo=UTC)),
    ],
)
def test_time_valid(raw, expected):
    assert n.normalise_time(raw, now=NOW) == expected


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ("1999-12-31 23:59:59", "out of range"),
        ("2024-06-03 00:00:00", "out of range"),  # more than a day after now
        ("2024-02-30 10:00:00", "not ISO-8601"),
        ("2024-05-01 24:00:00", "not ISO-8601"),
        ("2024-05-01T05:45:00+24:00", "not ISO-8601"),
        ("yesterday", "not ISO-8601"),
        ("20240501", "out of range"),  # a digit string is an epoch: 1970
        ("99999999999999999999999", "out of range"),
        ("0001-01-01 00:00", "out of range"),
    ],
)
def test_time_invalid(raw, match):
    with pytest.raises(ValidationError, match=match):
        n.normalise_time(raw, now=NOW)


def test_time_out_of_range_shows_a_datetime_as_a_time():
    """An API body's time came back as "time datetime.datetime(2030, 1, 1, 0, 0) is out of range"
    (QA: docs followed literally)."""
    with pytest.raises(ValidationError) as info:
        n.normalise_time(datetime(2030, 1, 1), now=NOW)
    assert "time '2030-01-01 00:00:00' is out of range" in str(info.value)
    assert "datetime.datetime" not in str(info.value)


# -- URLs, hosts, wallets, regions, text --------------------------------------------------------
def test_urls_and_hosts():
    assert n.normalise_url("EXAMPLE.com/path?a=1") == "http://example.com/path?a=1"
    assert n.normalise_url("https://中文.com/x") == "https://xn--fiq228c.com/x"
    assert n.url_host("http://Sub.Example.COM:8080/a") == "sub.example.com"
    # the scheme's default port is no part of the URL (it was kept: two spellings, two URLs)
    assert n.normalise_url("http://a.cn:80/x") == n.normalise_url("HTTP://A.cn./x") == "http://a.cn/x"
    assert n.normalise_url("https://a.cn:443/") == "https://a.cn/"
    assert n.normalise_url("http://a.cn:443/") == "http://a.cn:443/"  # not http's default: kept
    assert n.normalise_host("Sub.Example.COM.") == "sub.example.com"
    for bad in ("ftp://example.com", "http://", "http://a.com:99999/"):
        with pytest.raises(ValidationError):
            n.normalise_url(bad)
    # the host a browser opens: a backslash ends it like a slash, so this is evil.xyz, not the bank
    assert n.url_host("http://evil.xyz\\@www.icbc.com.cn/login") == "evil.xyz"
    assert n.normalise_url("http://evil.xyz\\@bank.com/a") == "http://evil.xyz/@bank.com/a"
    assert n.url_host("//cdn.example.com/x.js") == "cdn.example.com"
    assert n.url_host("http://bank.com@evil.xyz/") == "evil.xyz"  # userinfo before @ is not the host
    assert n.normalise_url("http://a.com/p?q=a\\b") == "http://a.com/p?q=a\\b"  # the query keeps its own


def test_wallet_region_text():
    assert (
        n.normalise_wallet("0xAbCdEf0123456789abcdef0123456789ABCDEF01")
        == "0xabcdef0123456789abcdef0123456789abcdef01"
    )
    assert n.normalise_wallet("TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW").startswith("T")
    assert n.normalise_region("４４０３０５") == "440305"
    assert n.normalise_text("  zero\u200bwidth\x00 ") == "zerowidth"
    with pytest.raises(ValidationError, match="not a TRON"):
        n.normalise_wallet("hello")
    with pytest.raises(ValidationError, match="6-digit division"):
        n.normalise_region("990101")
    with pytest.raises(ValidationError, match="text is empty"):
        n.normalise_text("\x00\x01")


def test_validation_errors_are_fanzha_and_value_errors():
    with pytest.raises(FanzhaError):
        n.normalise_phone("x")
    with pytest.raises(ValueError):
        n.normalise_phone("x")


@pytest.mark.parametrize("odd", ["12,50", "1,2,3", ",5", "1e3", "1_000", "١٢", "12,5000"])
def test_yuan_to_fen_refuses_what_is_no_plain_number_of_yuan(odd):
    # was: commas were removed wherever they stood, so a decimal comma '12,50' became 1,250 yuan
    # (125 000 fen, 100× the amount), and Decimal's exponents, underscores and Arabic-Indic digits passed
    with pytest.raises(ValidationError, match="not a number of yuan"):
        n.yuan_to_fen(odd)


@given(st.integers(min_value=1, max_value=n.MAX_FEN))
def test_yuan_to_fen_reads_every_spelling_of_one_amount_alike(fen):
    yuan, cents = divmod(fen, 100)
    plain = f"{yuan}.{cents:02d}"
    grouped = f"{yuan:,}.{cents:02d}"
    wide = plain.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    for spelling in (plain, grouped, f"¥{grouped}", f" {plain}元\t", wide, f"+{plain}0"):
        assert n.yuan_to_fen(spelling) == fen, spelling
