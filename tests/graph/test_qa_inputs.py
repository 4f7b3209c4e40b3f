"""Hostile-but-realistic inputs to the graph commands: clear one-line errors, never a traceback,
never a silent drop (QA round)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from fanzha.errors import ConfigError, FanzhaError, NotFoundError, ValidationError
from fanzha.graph.trace import trace_funds

from .conftest import T0, case

runner = CliRunner()
MIN = pd.Timedelta(minutes=1)


def _transfers(*rows: tuple) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["transfer_id", "from_account", "to_account", "amount_fen", "at"])
    frame["at"] = T0 + pd.to_timedelta(frame["at"], unit="min")
    return frame


def _write(folder: Path, kind: str, frame: pd.DataFrame) -> None:
    (folder / kind).mkdir(parents=True, exist_ok=True)
    frame.to_parquet(folder / kind / "part-00000.parquet", index=False)


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """Two cases naming one mule M; victims VA, VB pay M, M withdraws."""
    sim = tmp_path / "sim"
    cases = pd.DataFrame(
        [case("C1", accounts=["M"], victim="V"), case("C2", accounts=["M"], victim="V")]
    ).assign(reported_at=T0 + pd.Timedelta(days=1))
    _write(sim, "cases", cases)
    accounts = pd.DataFrame(
        {
            "account_no": ["VA", "VB", "M"],
            "owner_id": ["VC1", "VC2", "X"],
            "bank": ["B"] * 3,
            "account_type": ["personal"] * 3,
            "status": ["active"] * 3,
            "opened_at": [T0 - pd.Timedelta(days=400)] * 3,
        }
    )
    _write(sim, "accounts", accounts)
    tr = _transfers(("t1", "VA", "M", 1000, 0), ("t2", "VB", "M", 2000, 5))
    _write(sim, "transfers", tr.assign(channel="online", wallet=None))
    wd = pd.DataFrame(
        {
            "withdrawal_id": ["w1"],
            "account": ["M"],
            "amount_fen": [3000],
            "at": [T0 + 10 * MIN],
            "atm_id": ["A"],
        }
    )
    _write(sim, "withdrawals", wd)
    return sim


def _run(settings, *args: str):
    from fanzha.cli.main import app

    return runner.invoke(app, list(args))


def _assert_clear(result, *needles: str) -> None:
    """A fanzha error (the CLI prints it as one line, exit code 2), not a crash."""
    assert isinstance(result.exception, FanzhaError), (result.exit_code, result.output, result.exception)
    message = str(result.exception)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message


def test_mini_city_traces(mini: Path, settings, tmp_path: Path) -> None:
    result = _run(settings, "trace", "--all", "--sim", str(mini), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    victims = pd.read_parquet(tmp_path / "o" / "trace_victims.parquet")
    assert victims.paid_fen.sum() == 3000


def test_max_degree_values_are_checked(mini: Path, settings, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    _assert_clear(
        _run(settings, "link", "--sim", str(mini), "--out", out, "--max-degree", "phone=abc"), "phone"
    )
    _assert_clear(_run(settings, "link", "--sim", str(mini), "--out", out, "--max-degree", "phone=-5"), "≥ 1")
    _assert_clear(_run(settings, "link", "--sim", str(mini), "--out", out, "--max-degree", "fone=5"), "fone")
    _assert_clear(
        _run(settings, "link", "--sim", str(mini), "--out", out, "--max-degree", "phone"), "--max-degree"
    )
    ok = _run(settings, "link", "--sim", str(mini), "--out", out, "--max-degree", "phone=200")
    assert ok.exit_code == 0, ok.output


def test_supervision_parameter_of_the_wrong_type(mini: Path, settings, tmp_path: Path) -> None:
    result = _run(
        settings, "supervise", "run", "unprosecuted_card_sellers", "--param", "min_cases=abc",
        "--sim", str(mini), "--out", str(tmp_path / "o"),
    )  # fmt: skip
    _assert_clear(result, "min_cases", "whole number")


def test_unknown_supervision_model_is_named_before_records_are_read(settings, tmp_path: Path) -> None:
    # no lake and no --sim: the unknown model name is the error, not the missing records
    result = _run(settings, "supervise", "run", "nope", "--out", str(tmp_path / "o"))
    _assert_clear(result, "no supervision model 'nope'", "unprosecuted_card_sellers")


def test_output_folder_that_cannot_be_made(mini: Path, settings, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _run(settings, "link", "--sim", str(mini), "--out", str(blocker / "sub"))
    _assert_clear(result, "cannot write", "--out")


def test_trace_names_unknown_cases_and_victims(mini: Path, settings, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    result = _run(settings, "trace", "--case", "C1", "--case", "NOPE", "--sim", str(mini), "--out", out)
    _assert_clear(result, "NOPE")
    result = _run(
        settings, "trace", "--victim", "VC1", "--victim", "NOBODY", "--sim", str(mini), "--out", out
    )
    _assert_clear(result, "NOBODY")


def test_trace_case_without_payments_is_reported(mini: Path, settings, tmp_path: Path) -> None:
    cases = pd.read_parquet(mini / "cases")
    extra = pd.DataFrame([case("C3", accounts=["ELSEWHERE"], victim="W")]).assign(reported_at=T0)
    _write(mini, "cases", pd.concat([cases, extra], ignore_index=True))
    out = str(tmp_path / "o")
    result = _run(settings, "trace", "--case", "C1", "--case", "C3", "--sim", str(mini), "--out", out)
    assert result.exit_code == 0, result.output
    assert "C3" in result.output and "no payments" in result.output
    # --all names them too, and lists them in a file (before: dropped in silence)
    result = _run(settings, "trace", "--all", "--sim", str(mini), "--out", out, "--format", "csv")
    assert result.exit_code == 0, result.output
    assert "C3" in result.output
    listed = pd.read_csv(tmp_path / "o" / "trace_not_traced.csv")
    assert listed.to_dict("list") == {"id": ["C3"], "reason": ["no payment found"]}


def test_format_is_checked_before_the_work(mini: Path, settings, tmp_path: Path) -> None:
    for command in (["trace", "--all"], ["link"], ["gangs"]):
        result = _run(settings, *command, "--sim", str(mini / "missing"), "--format", "xlsx")
        _assert_clear(result, "format 'xlsx'")  # before the records (here: a missing folder) are read


def test_lists_are_whole_json_in_csv() -> None:
    """A long numpy array in a cell was written cut short with "…" (numpy's text)."""
    import json

    import numpy as np

    from fanzha.graph.report import _csv_safe

    frame = pd.DataFrame({"numbers": [np.array([f"1700000{i:04d}" for i in range(1201)], dtype=object)]})
    cell = _csv_safe(frame).numbers.iloc[0]
    assert len(json.loads(cell)) == 1201


def test_victim_and_charged_ids_are_normalised(tmp_path: Path) -> None:
    from fanzha.cli.graph import _id_number, _read_charged

    assert _id_number("５１０８０２ 2002 0908 376x".replace("x", "0")) == "510802200209083760"
    assert _id_number("NOBODY ") is None  # not an ID number
    (tmp_path / "c.csv").write_text("id_number\n52010219880303931x\nabc \n", "utf-8")
    listed, invalid = _read_charged(tmp_path / "c.csv")
    assert listed.id_number.tolist() == ["52010219880303931X", "abc"] and invalid == ["abc"]


def test_records_with_missing_times_are_not_dropped(mini: Path, settings, tmp_path: Path) -> None:
    tr = pd.read_parquet(mini / "transfers")
    tr.loc[1, "at"] = pd.NaT
    _write(mini, "transfers", tr)
    result = _run(settings, "trace", "--all", "--sim", str(mini), "--out", str(tmp_path / "o"))
    _assert_clear(result, "missing")


def test_optional_transfer_columns_may_be_absent(mini: Path, settings, tmp_path: Path) -> None:
    tr = pd.read_parquet(mini / "transfers").drop(columns=["wallet"])
    _write(mini, "transfers", tr)
    wd = pd.read_parquet(mini / "withdrawals").drop(columns=["atm_id"])
    _write(mini, "withdrawals", wd)
    result = _run(settings, "trace", "--all", "--sim", str(mini), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output


def test_required_columns_and_types_are_checked(mini: Path, settings, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    tr = pd.read_parquet(mini / "transfers")
    _write(mini, "transfers", tr.drop(columns=["channel"]))
    _assert_clear(_run(settings, "trace", "--all", "--sim", str(mini), "--out", out), "channel")
    _write(mini, "transfers", tr.assign(amount_fen=tr.amount_fen.astype(str)))
    _assert_clear(_run(settings, "trace", "--all", "--sim", str(mini), "--out", out), "amount_fen", "fen")
    _write(mini, "transfers", tr.assign(at=tr["at"].astype(str)))
    _assert_clear(_run(settings, "link", "--sim", str(mini), "--out", out), "timestamp")


def test_gangs_without_phone_records(mini: Path, settings, tmp_path: Path) -> None:
    result = _run(settings, "gangs", "--sim", str(mini), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output


def test_eval_graph_checks_the_method_first(mini: Path, settings) -> None:
    result = _run(settings, "eval", "graph", "--sim", str(mini), "--method", "bogus")
    _assert_clear(result, "bogus")
    assert "linking" not in result.output


def test_trace_funds_rejects_missing_and_duplicate_record_keys() -> None:
    tr = _transfers(("t1", "V", "M", 1000, 0), ("t2", "M", None, 1000, 1))
    with pytest.raises(ValidationError, match="to_account is missing"):
        trace_funds(tr, None, {"t1": "v"})
    tr = _transfers(("t1", "V", "M", 1000, 0), (None, "M", "N", 1000, 1))
    with pytest.raises(ValidationError, match="transfer_id is missing"):
        trace_funds(tr, None, {"t1": "v"})
    tr = _transfers(("t1", "V", "M", 1000, 0))
    wd = pd.DataFrame(
        {"withdrawal_id": ["w1", "w1"], "account": ["M", "M"], "amount_fen": [500, 500], "at": [T0 + MIN] * 2}
    )
    with pytest.raises(ValidationError, match="duplicate withdrawal_id"):
        trace_funds(tr, wd, {"t1": "v"})
    nulls = _transfers(("t1", "V", "M", 1000, 0), ("t2", "M", "N", 1000, 1))
    nulls["amount_fen"] = nulls.amount_fen.astype("Int64")
    nulls.loc[1, "amount_fen"] = pd.NA
    with pytest.raises(ValidationError, match="amount_fen is missing"):
        trace_funds(nulls, None, {"t1": "v"})


def test_unknown_case_ids_in_the_api(mini: Path, settings) -> None:
    from fanzha.graph.casetrace import trace_cases
    from fanzha.graph.records import open_records

    engine = open_records(settings, mini)
    with pytest.raises(NotFoundError, match="NOPE"):
        trace_cases(engine, ["C1", "NOPE"])
    engine.close()


def test_config_error_is_exported() -> None:  # keeps the import used
    assert issubclass(ConfigError, ValueError)


def test_missing_required_values_in_a_folder_are_named(mini: Path, settings, tmp_path: Path) -> None:
    cases = pd.read_parquet(mini / "cases")
    cases.loc[1, "case_id"] = None
    _write(mini, "cases", cases)
    _assert_clear(_run(settings, "link", "--sim", str(mini), "--out", str(tmp_path / "o")), "case_id", "1 ")


def test_max_hours_infinite_or_huge_means_no_limit() -> None:
    tr = _transfers(("t1", "V", "M", 1000, 0), ("t2", "M", "N", 1000, 60))
    for hours in (float("inf"), 1e20):
        r = trace_funds(tr, None, {"t1": "v"}, max_hours=hours)
        assert r.per_victim().held_fen.sum() == 1000
        assert list(r.holdings.account) == ["N"]
    with pytest.raises(ConfigError, match="max_hours"):
        trace_funds(tr, None, {"t1": "v"}, max_hours=float("nan"))
    with pytest.raises(ConfigError, match="max_hours"):
        trace_funds(tr, None, {"t1": "v"}, max_hours=-1)


def test_trace_all_with_case_is_a_conflict(mini: Path, settings, tmp_path: Path) -> None:
    out = str(tmp_path / "o")
    result = _run(settings, "trace", "--all", "--case", "C1", "--sim", str(mini), "--out", out)
    _assert_clear(result, "--all")


def test_duplicate_record_keys_in_a_folder_are_named(mini: Path, settings, tmp_path: Path) -> None:
    """A case listed twice was linked once but its loss counted twice in the group's loss_fen."""
    cases = pd.read_parquet(mini / "cases")
    _write(mini, "cases", pd.concat([cases, cases.iloc[:1]], ignore_index=True))
    _assert_clear(_run(settings, "link", "--sim", str(mini), "--out", str(tmp_path / "o")), "case_id", "C1")


def test_allow_file_encodings_and_untyped_entries(tmp_path: Path) -> None:
    from fanzha.errors import InputFileError
    from fanzha.graph.linking import LinkConfig

    bom = tmp_path / "bom.txt"
    bom.write_bytes("\ufeffphone:13900000003\n# note\n\n".encode())
    assert LinkConfig.read_allow_file(bom) == ("phone:13900000003",)  # the BOM matched nothing
    gbk = tmp_path / "gbk.txt"
    gbk.write_bytes("account:中文\n".encode("gbk"))
    with pytest.raises(InputFileError, match="UTF-8"):
        LinkConfig.read_allow_file(gbk)
    untyped = tmp_path / "untyped.txt"
    untyped.write_text("phone:95588\n13900000003\n", "utf-8")
    with pytest.raises(InputFileError, match="line 2"):
        LinkConfig.read_allow_file(untyped)


def test_metrics_of_nothing_are_not_a_perfect_score(tmp_path: Path) -> None:
    """Recall with nothing to find, or a located share with no victim, is n/a (NaN), not 1.0."""
    import math

    from fanzha.graph.evaluate import Truth, dealer_metrics, tracing_metrics
    from fanzha.simulate.world import SimConfig, simulate

    sim = tmp_path / "sim"
    simulate(SimConfig(people=300, days=3, seed=1), sim)
    for name in ("entities", "money_paths", "held"):
        path = sim / "truth" / f"{name}.parquet"
        pd.read_parquet(path).iloc[:0].to_parquet(path)
    truth = Truth.load(sim)
    dealers = pd.DataFrame({"dealer_id": ["D1"], "organiser": ["device:x"], "resolved": [False],
                            "items": [["phone:1"]], "farmers": [["id:a"]]})  # fmt: skip
    m = dealer_metrics(dealers, truth)
    assert math.isnan(m["dealer_recall"]) and math.isnan(m["farmer_recall"]), m
    result = trace_funds(_transfers(("t1", "V", "M", 1000, 0)), None, {})
    t = tracing_metrics(result, truth, [])
    assert math.isnan(t["located_share"]) and math.isnan(t["victims_ge_95"]), t


def test_missing_truth_file_is_named(tmp_path: Path) -> None:
    from fanzha.graph.evaluate import Truth

    (tmp_path / "truth").mkdir()
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "truth" / "entities.parquet")
    with pytest.raises(NotFoundError, match=r"episodes\.parquet is missing"):
        Truth.load(tmp_path)


def test_identifiers_stored_as_numbers_are_read_as_text(mini: Path, settings, tmp_path: Path) -> None:
    """Account numbers written as int64 in a folder (before: `gangs` failed with a raw SQL binder error)."""
    accounts = pd.read_parquet(mini / "accounts")
    accounts["account_no"] = range(1, len(accounts) + 1)
    _write(mini, "accounts", accounts)
    tr = pd.read_parquet(mini / "transfers")
    numbers = {"VA": 1, "VB": 2, "M": 3}
    tr["from_account"], tr["to_account"] = tr.from_account.map(numbers), tr.to_account.map(numbers)
    _write(mini, "transfers", tr)
    for command in (["gangs"], ["link"], ["trace", "--all"]):
        result = _run(settings, *command, "--sim", str(mini), "--out", str(tmp_path / "o"))
        assert result.exit_code == 0, (command, result.output, result.exception)


def test_gangs_when_cases_name_nothing(settings, tmp_path: Path) -> None:
    """No linking edge that reaches a case (a case naming nothing): an IndexError before."""
    sim = tmp_path / "sim"
    _write(sim, "cases", pd.DataFrame([case("C1")]))
    accounts = pd.DataFrame(
        {"account_no": ["A1"], "owner_id": ["X"], "bank": ["B"], "account_type": ["personal"],
         "status": ["active"], "opened_at": [T0]}
    )  # fmt: skip
    _write(sim, "accounts", accounts)
    result = _run(settings, "gangs", "--sim", str(sim), "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(tmp_path / "o" / "gangs.parquet").empty


def _supervise_charged(mini: Path, settings, tmp_path: Path, charged: str):
    """``supervise run unprosecuted_card_sellers`` on the mini city with a charged list of this text."""
    listed = tmp_path / "charged.csv"
    listed.write_text(charged, "utf-8")
    return _run(
        settings, "supervise", "run", "unprosecuted_card_sellers", "--charged", str(listed),
        "--sim", str(mini), "--out", str(tmp_path / "o"),
    )  # fmt: skip


def test_unreadable_charged_list_is_one_line(mini: Path, settings, tmp_path: Path) -> None:
    """A row with more fields than the header: pandas' message ended in a line break before the
    hint, so the error took two lines (QA round)."""
    result = _supervise_charged(mini, settings, tmp_path, "id_number\n510108200310128935\n1,2\n")
    _assert_clear(result, "charged list", "give CSV or Parquet")


def test_charged_entries_that_are_no_id_number_are_reported(mini: Path, settings, tmp_path: Path) -> None:
    """Bad ID numbers in --charged matched nobody without a word (QA round)."""
    result = _supervise_charged(mini, settings, tmp_path, "id_number\n510108200310128935\nabc\n")
    text = " ".join(result.output.split())  # the console wraps long lines
    assert "1 of 2 entries" in text and "(e.g. 'abc'): they match nobody" in text, text


def test_case_and_victim_that_do_not_go_together(mini: Path, settings, tmp_path: Path) -> None:
    """C1 has payments, of its victim VC1; asked for C1 and VC2, the error said C1 had none."""
    result = _run(
        settings, "trace", "--case", "C1", "--victim", "VC2", "--sim", str(mini), "--out", str(tmp_path / "o")
    )
    _assert_clear(result, "no payments of victims ['VC2'] found in cases ['C1']")


def test_sim_folder_that_does_not_exist_is_named(mini: Path, settings, tmp_path: Path) -> None:
    """A mistyped --sim said "no case records in …; … or pass --sim DIR" — the user had passed one."""
    for command in (["link"], ["trace", "--all"], ["gangs"]):
        result = _run(settings, *command, "--sim", str(mini) + "x", "--out", str(tmp_path / "o"))
        _assert_clear(result, "no such folder")
    _assert_clear(_run(settings, "eval", "graph", "--sim", str(tmp_path / "nope")), "no such folder")
