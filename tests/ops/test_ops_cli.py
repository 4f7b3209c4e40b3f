"""CLI: fanzha ops / lists / audit drive the same service layer (default SQLite store from settings)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from fanzha.cli.main import app

runner = CliRunner()


def run(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_warning_lifecycle_via_cli(settings) -> None:
    out = json.loads(
        run(
            "ops",
            "--actor",
            "li",
            "--purpose",
            "case 7",
            "warnings",
            "raise",
            "--kind",
            "call",
            "--person",
            "p1",
            "--counterpart",
            "13800138000",
            "--age",
            "70",
            "--family",
            "13900139000",
        )
    )
    assert out["tier"] == "orange" and out["family_alerted"] is True
    wid = out["id"]
    run("ops", "warnings", "move", wid, "delivered")
    run("ops", "warnings", "move", wid, "contacted", "--channel", "call")
    assert json.loads(run("ops", "warnings", "move", wid, "dissuaded"))["status"] == "dissuaded"
    shown = json.loads(run("ops", "warnings", "show", wid))
    assert [h["to_status"] for h in shown["history"]] == ["issued", "delivered", "contacted", "dissuaded"]
    stats = json.loads(run("ops", "stats"))
    assert stats["by_tier"]["orange"]["effectiveness"] == 1.0 and stats["funnel"]["dissuaded"] == 1
    log = json.loads(run("audit", "log", "--limit", "50"))
    assert any(e["actor"] == "li" and e["purpose"] == "case 7" for e in log)


def test_illegal_move_is_one_clear_error(settings) -> None:
    from fanzha.errors import StateError

    wid = json.loads(
        run("ops", "warnings", "raise", "--kind", "sms", "--person", "p1", "--counterpart", "13800138000")
    )["id"]
    result = runner.invoke(app, ["ops", "warnings", "move", wid, "dissuaded"])
    assert isinstance(result.exception, StateError) and "Allowed next: delivered, unreachable" in str(
        result.exception
    )


def test_fund_control_and_refund_via_cli(settings) -> None:
    acc = "6222020200112233445"
    run(
        "ops",
        "commands",
        "issue",
        "--id",
        "k1",
        "--kind",
        "freeze",
        "--account",
        acc,
        "--amount-yuan",
        "1000",
        "--reason",
        "case 7",
    )
    run("ops", "commands", "send", "k1")
    out = json.loads(
        run(
            "ops",
            "commands",
            "receipt",
            "k1",
            "--receipt-id",
            "b1",
            "--outcome",
            "executed",
            "--held-yuan",
            "600",
            "--moved-yuan",
            "400",
            "--next-account",
            "6228480011223344556=400",
        )
    )
    assert (out["status"], out["held_fen"], out["moved_on_fen"]) == ("partial", 60_000, 40_000)
    kids = json.loads(run("ops", "commands", "escalate", "k1"))
    assert kids[0]["account"] == "6228480011223344556" and kids[0]["hop"] == 1
    from fanzha.ops.audit import Actor
    from fanzha.ops.refunds import record_trace
    from fanzha.ops.store import open_store

    record_trace(
        open_store(),
        Actor("t", "police", "t"),
        [{"victim_id": "v1", "account": acc, "transfer_id": "t1", "amount_fen": 100_000}],
    )
    plan = json.loads(run("ops", "refunds", "plan", "--id", "rf", "--account", acc, "--claim", "v1=1000"))
    assert plan["calculation"]["method"] == "pro_rata" and plan["calculation"]["pool_fen"] == 60_000
    assert json.loads(run("ops", "refunds", "execute", "rf"))["returned_fen"] == 60_000
    assert json.loads(run("ops", "refunds", "show", "rf"))["calculation_verified"] is True
    assert "expired 0 unanswered" in run("ops", "tick")
    assert "intact" in run("audit", "verify")


def test_lists_via_cli(settings) -> None:
    entry = json.loads(
        run("lists", "add", "host", "scam.example", "--match", "suffix", "--reason", "reported")
    )
    assert json.loads(run("lists", "check", "url", "http://a.scam.example/x"))["action"] == "block"
    appeal = json.loads(run("lists", "appeal", entry["id"], "--appellant", "owner", "--reason", "mistake"))
    run("lists", "appeal", "--decide", appeal["id"], "--uphold", "--note", "verified")
    assert json.loads(run("lists", "check", "host", "a.scam.example"))["action"] == "none"


def test_a_decimal_comma_in_yuan_is_refused_not_read_as_hundreds_of_times_the_amount(settings) -> None:
    # was: `--amount-yuan 12,50` issued a freeze of 1,250.00 yuan (125 000 fen)
    result = runner.invoke(
        app,
        ["ops", "commands", "issue", "--id", "k9", "--kind", "freeze", "--account", "6222020200112233445",
         "--amount-yuan", "12,50", "--reason", "case 9"],
    )  # fmt: skip
    assert result.exit_code != 0 and "12,50" in str(result.exception), result.output
    assert json.loads(run("ops", "commands", "list")) == []
    issued = json.loads(
        run("ops", "commands", "issue", "--id", "k9", "--kind", "freeze", "--account", "6222020200112233445",
            "--amount-yuan", "1,234.50", "--reason", "case 9")
    )  # fmt: skip
    assert issued["amount_fen"] == 123_450
