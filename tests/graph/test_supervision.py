"""Supervision models: known hits on a hand-made city, versioning, last-run metrics."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.errors import ConfigError, NotFoundError
from fanzha.graph.supervision import ModelStore, run_model

T0 = pd.Timestamp("2026-03-01", tz="UTC")


@pytest.fixture
def city() -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(threads=1)
    cases = pd.DataFrame(
        {
            "case_id": ["C1", "C2", "C3"],
            "victim_id": ["V1", "V2", "V3"],
            "region": ["510104", "440305", "510104"],
            "loss_fen": [100, 200, 300],
            "reported_at": [T0] * 3,
            "suspect_phones": [["13900000001"], ["13900000002"], ["13900000009"]],
            "suspect_accounts": [["A1"], [], []],
        }
    )
    cards = pd.DataFrame(
        {
            "number": ["13900000001", "13900000002", "13900000009"] + [f"1370000000{i}" for i in range(5)],
            "owner_id": ["SELLER", "SELLER", "STUDENT2"] + ["STUDENT1"] * 5,
            "opened_at": [T0] * 8,
            "outlet": ["x"] * 8,
        }
    )
    people = pd.DataFrame(
        {
            "id_number": ["SELLER", "STUDENT1", "STUDENT2", "OTHER"],
            "name": ["s", "a", "b", "c"],
            "region": ["510104"] * 4,
            "is_student": [False, True, True, True],
        }
    )
    accounts = pd.DataFrame({"account_no": ["A1"], "owner_id": ["CHARGED"], "account_type": ["personal"]})
    for name, frame in (("cases", cases), ("phone_cards", cards), ("people", people), ("accounts", accounts)):
        eng.register(name, frame)
    eng.register(
        "case_groups",
        pd.DataFrame({"case_id": ["C1", "C2"], "group_id": ["G1", "G1"], "identifiers": [[], []]}),
    )
    yield eng
    eng.close()


def test_unprosecuted_sellers_respect_the_charged_list(city, tmp_path) -> None:
    store = ModelStore(tmp_path)
    clues, _ = run_model(city, store, "unprosecuted_card_sellers")
    assert clues.id_number.tolist() == ["SELLER"]
    assert list(clues.cases[0]) == ["C1", "C2"]
    city.register("charged", pd.DataFrame({"id_number": ["SELLER"]}))
    clues, _ = run_model(city, store, "unprosecuted_card_sellers")
    assert clues.empty
    assert store.load("unprosecuted_card_sellers").last_run["hits"] == 0


def test_students_with_many_or_fraud_cards(city, tmp_path) -> None:
    clues, metrics = run_model(city, ModelStore(tmp_path), "student_card_hoarders", truth={"STUDENT2"})
    assert clues.id_number.tolist() == ["STUDENT2", "STUDENT1"]
    assert clues.n_cards.tolist() == [1, 5]
    assert metrics["precision"] == 0.5


def test_cross_district_groups(city, tmp_path) -> None:
    clues, _ = run_model(city, ModelStore(tmp_path), "cross_district_links")
    assert clues.group_id.tolist() == ["G1"]
    assert list(clues.regions[0]) == ["440305", "510104"]


def test_models_are_versioned_and_params_checked(city, tmp_path) -> None:
    store = ModelStore(tmp_path)
    assert store.names() == [
        "card_upkeep_payers",
        "cross_district_links",
        "student_card_hoarders",
        "unprosecuted_card_sellers",
    ]
    model = store.load("student_card_hoarders")
    model.params["max_cards"] = 3
    assert store.save(model).version == 2
    assert store.save(store.load("student_card_hoarders")).version == 2  # unchanged: no new version
    assert store.load("student_card_hoarders", version=1).params["max_cards"] == 5
    with pytest.raises(ConfigError, match="no parameters"):
        run_model(city, store, "student_card_hoarders", {"bogus": 1})
    with pytest.raises(NotFoundError, match="no supervision model"):
        store.load("nope")
    for bad in (float("nan"), float("inf"), -5, 2.5):  # before: a traceback for nan / inf, -5 ran as 0
        with pytest.raises(ConfigError, match="must be a whole number ≥ 0"):
            run_model(city, store, "student_card_hoarders", {"max_cards": bad})
    with pytest.raises(NotFoundError, match="no supervision model"):  # a name, never a path
        store.load("../student_card_hoarders")


def test_stray_and_damaged_model_files(city, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A stray file in a model's folder is ignored; a damaged version names its path; a query without
    the clue key fails before any output (before: tracebacks, every model broken by one stray file)."""
    import json

    store = ModelStore(tmp_path)
    folder = tmp_path / "student_card_hoarders"
    store.names()
    (folder / "v1-old.json").write_text("{}", "utf-8")
    assert "student_card_hoarders" in store.names() and store.load("student_card_hoarders").version == 1
    (folder / "v2.json").write_text("{bad json", "utf-8")
    with pytest.raises(ConfigError, match=r"v2\.json is damaged"):
        store.load("student_card_hoarders")
    assert store.load("cross_district_links").version == 1  # the other models still work
    model = json.loads((folder / "v1.json").read_text("utf-8"))
    sql = "SELECT " + ", ".join(f"${k} AS p{i}" for i, k in enumerate(model["params"]))
    (folder / "v2.json").write_text(json.dumps({**model, "version": 2, "sql": sql}), "utf-8")
    with pytest.raises(ConfigError, match="returns no 'id_number' column"):
        run_model(city, store, "student_card_hoarders")


def test_card_upkeep_payers_name_the_dealer(city, tmp_path) -> None:
    """养卡: the one who tops up other people's cards, some named in cases; not their owners, not
    someone topping up their own card, not someone charged."""
    city.register(
        "accounts",
        pd.DataFrame(
            {
                "account_no": ["A1", "AD", "AS"],
                "owner_id": ["CHARGED", "DEALER", "SELLER"],
                "account_type": ["personal"] * 3,
            }
        ),
    )
    numbers = ["13900000001", "13900000002", "13900000009", "13700000000", "13900000001"]
    city.register(
        "topups",
        pd.DataFrame(
            {
                "topup_id": [f"t{i}" for i in range(6)],
                "number": [*numbers[:4], "13900000001", "13700000001"],
                "payer_account": ["AD", "AD", "AD", "AD", "AS", "A1"],  # SELLER tops up their own card
                "amount_fen": [2000] * 6,
                "at": [T0] * 6,
            }
        ),
    )
    store = ModelStore(tmp_path)
    clues, metrics = run_model(city, store, "card_upkeep_payers", truth={"DEALER"})
    assert clues.id_number.tolist() == ["DEALER"] and metrics["precision"] == 1.0
    row = clues.iloc[0]
    assert (row.n_cards, row.n_owners, row.n_fraud_cards) == (4, 3, 3)
    assert sorted(row.cases) == ["C1", "C2", "C3"]
    assert "topped up 4 phone cards of 3 other people, 3 named in fraud cases" in row.evidence
    clues, _ = run_model(city, store, "card_upkeep_payers", {"min_cards": 5})
    assert clues.empty
    city.register("charged", pd.DataFrame({"id_number": ["DEALER"]}))
    assert run_model(city, store, "card_upkeep_payers")[0].empty


@pytest.mark.parametrize("width", ["80", "160"])
def test_supervise_list_reads_in_a_narrow_terminal(settings, monkeypatch, width: str) -> None:
    """Found by QA: in 80 columns the seven-column table wrapped every description one word a line;
    a narrow terminal now gets one block per model, a wide one the table."""
    from typer.testing import CliRunner

    from fanzha.cli.main import app

    monkeypatch.setenv("COLUMNS", width)
    out = CliRunner().invoke(app, ["supervise", "list"], catch_exceptions=False).output
    assert "card_upkeep_payers" in out and "cross_district_links" in out
    if width == "80":
        assert "┃" not in out and "card_upkeep_payers v1 · min_cards=3, min_fraud_cards=1" in out
        assert "phone cards of other people" in out  # the description whole, not a word a line
    else:
        assert "┃" in out
