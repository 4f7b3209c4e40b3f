"""Bad input at the ops boundary: one clear error, never a traceback, a silent drop or a wrong answer.

Found by adversarial QA; one test per defect (service layer on SQLite and PostgreSQL, CLI on SQLite).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from fanzha.cli.main import app
from fanzha.errors import FanzhaError

runner = CliRunner()
ACCOUNT = "6222020200112233445"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def cli(*args: str) -> tuple[int, str, BaseException | None]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output, result.exception


def assert_clear_error(*args: str, says: str) -> None:
    """The command fails with a FanzhaError (one line on the real command line), not a traceback."""
    code, output, exc = cli(*args)
    assert code != 0, output
    assert isinstance(exc, FanzhaError), f"{type(exc).__name__}: {exc}"
    assert says in str(exc), str(exc)


@pytest.mark.parametrize("amount", ["inf", "-Infinity", "nan", "sNaN"])
def test_cli_amount_that_is_not_a_finite_number_is_refused(settings, amount: str) -> None:
    assert_clear_error(
        "ops", "commands", "issue", "--id", "c1", "--kind", "freeze", "--account", ACCOUNT,
        "--reason", "r", "--amount-yuan", amount,
        says="is not a number of yuan",
    )  # fmt: skip


@pytest.mark.parametrize("anchor", ["abc", "12", ":abcd", "x:abcd", "-1:abcd"])
def test_cli_audit_verify_malformed_anchor_is_one_clear_error(settings, anchor: str) -> None:
    assert_clear_error("audit", "verify", "--anchor", anchor, says="SEQ:HASH")


def test_cli_refund_plan_with_the_same_victim_twice_is_refused(settings) -> None:
    # was: the second --claim silently replaced the first
    assert_clear_error(
        "ops", "refunds", "plan", "--id", "r1", "--account", ACCOUNT,
        "--claim", "V1=100", "--claim", "V1=5",
        says="V1",
    )  # fmt: skip
    _, _, exc = cli("ops", "refunds", "plan", "--id", "r1", "--account", ACCOUNT, "--claim", "V1=100")
    assert "twice" not in str(exc)


@pytest.mark.parametrize("zero", ["0", "0.0", "0.00", "00"])
def test_cli_receipt_accepts_zero_in_any_spelling(settings, zero: str) -> None:
    cli("ops", "commands", "issue", "--id", "c1", "--kind", "freeze", "--account", ACCOUNT, "--reason", "r")
    cli("ops", "commands", "send", "c1")
    code, output, exc = cli(
        "ops", "commands", "receipt", "c1", "--receipt-id", "b1", "--outcome", "rejected",
        "--held-yuan", zero, "--moved-yuan", zero,
    )  # fmt: skip
    assert code == 0, f"{output} {exc}"


def test_cli_time_options_say_naive_times_are_beijing_time(settings) -> None:
    # the help said "UTC ISO" while a time without zone is read as Asia/Shanghai (8 hours apart)
    for command in (["ops", "tick", "--help"], ["lists", "add", "--help"]):
        assert "UTC ISO" not in cli(*command)[1]
    out = cli(
        "lists", "add", "number", "13800138000", "--reason", "r", "--expires", "2027-01-01 08:00"
    )[1]  # fmt: skip
    assert "2027-01-01T00:00:00+00:00" in out, out


def test_cli_load_tw165_with_a_file_that_is_not_utf8_is_one_clear_error(settings, tmp_path) -> None:
    # was: UnicodeDecodeError traceback
    (tmp_path / "tw165_blacklisted_phones.csv").write_bytes(b"phone\n\xff\xfe0912345678\n")
    assert_clear_error("lists", "load-tw165", "--dir", str(tmp_path), says="UTF-8")
    good = "phone\n+886912345678\n"
    (tmp_path / "tw165_blacklisted_phones.csv").write_text(good, encoding="utf-8")
    for name, text in (
        ("tw165_blacklisted_bank_accounts.csv", "account\n12345678901\n"),
        ("tw165_scam_websites_train.csv", "host\nscam.example\n"),
    ):
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "allowlist_adguard.txt").write_bytes(b"@@||bank.example^\n\xff\n")
    assert_clear_error("lists", "load-tw165", "--dir", str(tmp_path), says="allowlist_adguard.txt")
