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
    # one time format in the JSON: ISO 8601 with a T, top-level fields as the channels' deadlines
    # (found by QA: "2026-11-22 07:37:47+00:00" beside "2026-11-22T07:52:47+00:00")
    times = [out["issued_at"], out["deadline_at"], *(c["deadline_at"] for c in out["channels"])]
    assert all("T" in t and " " not in t for t in times), times
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


def test_refund_from_a_trace_file_via_cli(settings, tmp_path) -> None:
    """docs/ops.md's refund commands could not succeed from the command line: `refunds plan` asked to
    "record the trace first" and only Python could (QA: docs followed literally)."""
    from fanzha.errors import InputFileError, ValidationError

    acc, other = "6222020200112233445", "6228480011223344556"
    run("ops", "commands", "issue", "--id", "f1", "--kind", "freeze", "--account", acc,
        "--amount-yuan", "500", "--reason", "case 8")  # fmt: skip
    run("ops", "commands", "send", "f1")
    run(
        "ops",
        "commands",
        "receipt",
        "f1",
        "--receipt-id",
        "b1",
        "--outcome",
        "executed",
        "--held-yuan",
        "500",
    )
    result = runner.invoke(
        app, ["ops", "refunds", "plan", "--id", "r0", "--account", acc, "--claim", "V1=300"]
    )
    assert isinstance(result.exception, ValidationError) and "fanzha ops refunds trace" in str(
        result.exception
    )
    flows = tmp_path / "trace_flows.csv"
    flows.write_text(
        "victim_id,hop,transfer_id,from_account,to_account,amount_fen,at\n"
        f"V1,0,T1,6216615746628769,{acc},30000,2026-09-01 03:14:05+00:00\n"
        f"V2,0,T2,6216615746628770,{acc},40000,2026-09-01 03:15:05+00:00\n"
        f"V2,1,T3,{acc},{other},10000,2026-09-01 03:35:05+00:00\n"
    )
    out = json.loads(run("ops", "refunds", "trace", str(flows), "--account", acc))
    assert out == {"links_read": 2, "links_added": 2}
    assert json.loads(run("ops", "refunds", "trace", str(flows), "--account", acc))["links_added"] == 0
    plan = json.loads(
        run(
            "ops", "refunds", "plan", "--id", "r1", "--account", acc, "--claim", "V1=300", "--claim", "V2=400"
        )
    )
    assert plan["calculation"]["pool_fen"] == 50_000 and plan["calculation"]["method"] == "pro_rata"
    assert json.loads(run("ops", "refunds", "execute", "r1"))["returned_fen"] == 50_000
    bad = tmp_path / "links.csv"
    bad.write_text("victim,account\nV1,1\n")
    result = runner.invoke(app, ["ops", "refunds", "trace", str(bad)])
    assert isinstance(result.exception, InputFileError) and "missing column 'victim_id'" in str(
        result.exception
    )
    result = runner.invoke(app, ["ops", "refunds", "trace", str(tmp_path / "none.parquet")])
    assert isinstance(result.exception, InputFileError) and "no such file" in str(result.exception)


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
