"""`fanzha train | score numbers|accounts` end to end on small files, and score publishing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from fanzha.cli.main import app
from fanzha.risk.publish import publish_scores, read_scores

from .test_model import feature_table

runner = CliRunner()
FAST = ["--window", "0"]


@pytest.fixture(autouse=True)
def fast_models(monkeypatch: pytest.MonkeyPatch) -> None:
    from fanzha.risk import model

    monkeypatch.setattr(model.GBDTDetector, "__init__", _fast_init(model.GBDTDetector.__init__))


def _fast_init(init):  # type: ignore[no-untyped-def]
    def wrapped(self, **kw):  # type: ignore[no-untyped-def]
        init(self, **{"n_estimators": 30, "learning_rate": 0.2, "cv": 3, **kw})

    return wrapped


def test_numbers_feature_table(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    table = feature_table(240).rename(columns={"id": "phone_no_m"})
    table.to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "model"
    r = runner.invoke(
        app,
        [
            "train",
            "numbers",
            "--data",
            str(tmp_path / "train.csv"),
            "--label",
            "label",
            "--id",
            "phone_no_m",
            "--out",
            str(model),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (model / "meta.json").exists() and "CV AP" in r.output
    assert "relies most on (share of split gain): short_call_share" in " ".join(r.output.split()) or (
        "relies most on (share of split gain): out_calls" in " ".join(r.output.split())
    )
    r = runner.invoke(
        app,
        [
            "score",
            "numbers",
            "--model",
            str(model),
            "--data",
            str(tmp_path / "train.csv"),
            "--out",
            str(tmp_path / "s.csv"),
            "--publish",
        ],
    )
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(tmp_path / "s.csv")
    assert list(scores.columns[:4]) == ["id", "probability", "tier", "reasons"] and len(scores) == 240
    published = read_scores("numbers", settings)
    assert published["reasons"].map(len).max() >= 1
    assert set(published.columns) == {"id", "probability", "tier", "reasons"}


def _transfers(tmp_path: Path) -> tuple[Path, Path]:
    """Mules: receive from many one-off payers and pass it on the same day; normals: regular partners."""
    rng = np.random.default_rng(0)
    rows, labels = [], []
    for a in range(120):
        mule = a % 4 == 0
        labels.append((f"acc{a}", int(mule)))
        for d in range(20):
            if mule:
                rows.append((f"p{a}_{d}", f"acc{a}", 50_000 + d, f"2024-03-{d % 28 + 1:02d} 09:00:00"))
                rows.append((f"acc{a}", f"x{a}_{d}", 49_000, f"2024-03-{d % 28 + 1:02d} 09:20:00"))
            else:
                rows.append(
                    (
                        f"acc{a}",
                        f"acc{(a + 1) % 120}",
                        int(rng.integers(100, 9_000)),
                        f"2024-03-{d % 28 + 1:02d} 1{d % 10}:00:00",
                    )
                )
    tx = pd.DataFrame(rows, columns=["payer", "payee", "yuan", "when"])
    tx.insert(0, "serial", range(len(tx)))
    tx["yuan"] = tx["yuan"] / 100
    tx.to_csv(tmp_path / "tx.csv", index=False)
    pd.DataFrame(labels, columns=["acct", "is_mule"]).to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path / "tx.csv", tmp_path / "labels.csv"


def test_accounts_from_partner_transfers(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tx, labels = _transfers(tmp_path)
    mapping = [
        "--transfers",
        str(tx),
        "--tx-id-col",
        "serial",
        "--from-col",
        "payer",
        "--to-col",
        "payee",
        "--amount-col",
        "yuan",
        "--amount-unit",
        "yuan",
        "--time-col",
        "when",
        *FAST,
    ]
    model = tmp_path / "acc-model"
    r = runner.invoke(
        app,
        [
            "train",
            "accounts",
            *mapping,
            "--labels",
            str(labels),
            "--id-col",
            "acct",
            "--label-col",
            "is_mule",
            "--out",
            str(model),
        ],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app, ["score", "accounts", "--model", str(model), *mapping, "--out", str(tmp_path / "a.csv")]
    )
    assert r.exit_code == 0, r.output
    scores = pd.read_csv(tmp_path / "a.csv").set_index("id")
    mules = [f"acc{a}" for a in range(0, 120, 4)]
    from sklearn.metrics import average_precision_score

    assert average_precision_score(scores.index.isin(mules), scores["probability"]) > 0.95
    reasons = json.loads(scores.loc["acc0", "reasons_json"])
    assert reasons and all({"code", "message", "value", "weight"} <= set(r) for r in reasons)
    # 模型监控: the same data as in training drift nowhere
    report = pd.read_csv(tmp_path / "a.drift.csv")
    assert len(report) > 10 and (report.psi < 0.01).all() and "feature drift: stable" in r.output
    # the partner now sends fen in the column mapped as yuan: every amount 100× — warned, named
    shifted = pd.read_csv(tx).assign(yuan=lambda d: (d.yuan * 100).round(2))
    shifted.to_csv(tmp_path / "tx100.csv", index=False)
    mapping[1] = str(tmp_path / "tx100.csv")
    r = runner.invoke(
        app, ["score", "accounts", "--model", str(model), *mapping, "--out", str(tmp_path / "b.csv")]
    )
    assert r.exit_code == 0, r.output
    assert "differ strongly from the training data" in " ".join(r.output.split())
    report = pd.read_csv(tmp_path / "b.drift.csv").set_index("feature")
    assert report.loc["in_amt_fen", "status"] == "major"
    assert report.loc["in_amt_fen", "scored_median"] == pytest.approx(
        100 * report.loc["in_amt_fen", "train_median"]
    )
    assert report.loc["in_n", "status"] == "stable"  # counts did not change


def test_partner_transfers_rejected_rows(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tx, labels = _transfers(tmp_path)
    frame = pd.read_csv(tx)
    bad = max(3, len(frame) // 50)  # about 2 % of the rows: over the default 1 %
    extra = pd.DataFrame(
        {
            "serial": range(10**6, 10**6 + bad),
            "payer": "acc1",
            "payee": "acc2",
            "yuan": "n/a",
            "when": "2024-03-02",
        }
    )
    pd.concat([frame, extra]).to_csv(tx, index=False)
    args = ["train", "accounts", "--transfers", str(tx), "--tx-id-col", "serial", "--from-col", "payer",
            "--to-col", "payee", "--amount-col", "yuan", "--amount-unit", "yuan", "--time-col", "when",
            "--labels", str(labels), "--id-col", "acct", "--label-col", "is_mule", *FAST,
            "--out", str(tmp_path / "m")]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code != 0 and "--max-rejected" in str(r.exception)
    r = runner.invoke(app, [*args, "--max-rejected", "0.05"])
    assert r.exit_code == 0, r.output
    rejected = pd.read_csv(tmp_path / "m.rejected.csv", dtype=str, keep_default_na=False)
    assert len(rejected) == bad and set(rejected.amount) == {"n/a"}
    assert rejected.reason.str.startswith("amount is not a number").all()


def test_eval_names_a_missing_path_before_simulating(tmp_path: Path) -> None:
    from fanzha.errors import InputFileError

    missing = tmp_path / "no-such-folder"
    for args in (["eval", "numbers", "--sichuan", str(missing)], ["eval", "accounts", "--sim", str(missing)]):
        r = runner.invoke(app, [*args, "--out", str(tmp_path / "e.json")])
        assert isinstance(r.exception, InputFileError) and "does not exist" in str(r.exception)


def test_eval_takes_the_shared_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """README: `fanzha eval numbers|accounts|texts|urls --data-dir ../shared/data`; numbers and
    accounts had no --data-dir ("No such option") (QA: docs followed literally)."""
    from fanzha.errors import ConfigError, InputFileError
    from fanzha.risk import evaluate as ev

    figures = {"rows": 10, "positives": 2, "method": "cv"} | dict.fromkeys(
        ("precision", "recall", "f1", "roc_auc", "average_precision", "brier", "ece"), 0.5
    )
    seen: list[Path] = []
    monkeypatch.setattr(ev, "eval_sichuan", lambda path, folds: seen.append(path) or figures)
    monkeypatch.setattr(ev, "eval_amlsim", lambda engine, path, folds: seen.append(path) or figures)
    monkeypatch.setattr(ev, "eval_simulated", lambda *a, **k: figures)
    shared = tmp_path / "data"
    (shared / "sichuan-numbers").mkdir(parents=True)
    (shared / "sichuan-numbers" / "numbers_train.csv").write_text("x\n")
    (shared / "amlsim-world0").mkdir()
    for what in ("numbers", "accounts"):
        out = tmp_path / f"{what}.json"
        r = runner.invoke(
            app, ["eval", what, "--sim", str(tmp_path), "--data-dir", str(shared), "--out", str(out)]
        )
        assert r.exit_code == 0, r.output
        assert "sichuan" in json.loads(out.read_text()) or "amlsim" in json.loads(out.read_text())
    assert seen == [shared / "sichuan-numbers" / "numbers_train.csv", shared / "amlsim-world0"]
    r = runner.invoke(app, ["eval", "numbers", "--data-dir", str(tmp_path / "sim")])
    assert isinstance(r.exception, InputFileError) and "not a folder" in str(r.exception)
    r = runner.invoke(app, ["eval", "accounts", "--data-dir", str(shared / "sichuan-numbers")])
    assert isinstance(r.exception, InputFileError) and "has no amlsim-world0" in str(r.exception)
    r = runner.invoke(app, ["eval", "numbers", "--data-dir", str(shared), "--sichuan", str(shared)])
    assert isinstance(r.exception, ConfigError) and "not both" in str(r.exception)


def test_an_output_that_cannot_be_written_fails_before_the_work(tmp_path: Path) -> None:
    from fanzha.errors import ConfigError

    (tmp_path / "scores").mkdir()
    r = runner.invoke(
        app,
        [
            "score",
            "numbers",
            "--model",
            str(tmp_path / "m"),
            "--data",
            "lake",
            "--out",
            str(tmp_path / "scores"),
        ],
    )  # the model does not exist either: the output is checked first
    assert isinstance(r.exception, ConfigError) and "it is a folder" in str(r.exception)


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    r = runner.invoke(
        app, ["train", "numbers", "--data", str(tmp_path / "none.csv"), "--out", str(tmp_path / "m")]
    )
    assert r.exit_code != 0
    from fanzha.errors import FanzhaError

    assert isinstance(r.exception, FanzhaError)


def test_publish_rejects_unknown_target(settings) -> None:  # type: ignore[no-untyped-def]
    from fanzha.errors import ValidationError

    frame = pd.DataFrame({"id": ["1"], "probability": [0.5], "tier": ["yellow"], "reasons": [[]]})
    with pytest.raises(ValidationError, match="cannot publish"):
        publish_scores(frame, "urls", settings)
    path = publish_scores(frame, "accounts", settings)
    assert path == settings.home / "scores" / "accounts.parquet"


def test_several_windows_train_and_score_with_the_models_own(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fanzha.simulate import SimConfig, simulate

    city = simulate(SimConfig(people=600, days=5, seed=3, fraud_rate=80), tmp_path / "city").out
    model = tmp_path / "num-model"
    r = runner.invoke(app, ["train", "numbers", "--data", str(city), "--window", "1,0", "--out", str(model)])
    assert r.exit_code == 0, r.output
    meta = json.loads((model / "meta.json").read_text("utf-8"))
    assert meta["extra"]["window_days"] == [1, None]
    from fanzha.risk.model import GBDTDetector

    names = set(GBDTDetector.load(model).feature_names_)
    assert {"out_calls_1d", "out_calls_all", "card_age_days"} <= names and "card_age_days_1d" not in names

    def score(*window: str, out: str) -> Any:
        args = ["score", "numbers", "--model", str(model), "--data", str(city), *window]
        return runner.invoke(app, [*args, "--out", str(tmp_path / out)])

    r = score(out="s.csv")  # no --window: the model's own windows
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(tmp_path / "s.csv")) > 100
    assert "truth" not in r.output  # scoring reads no labels, and says nothing about them
    r = score("--window", "30", out="t.csv")
    assert r.exit_code != 0 and "trained on the window(s) 1,0 (all)" in str(r.exception)
    r = score("--window", "0,1", out="u.csv")  # the same windows in another order: the same columns
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    ("window", "message"),
    [
        ("7,,30", "not a comma-separated list"),
        ("3,", "not a comma-separated list"),
        ("1_0", "not a comma-separated list"),
        ("٣", "not a comma-separated list"),
        ("1000000000", "at most 36,600"),
        ("7,3000000000", "at most 36,600"),
        ("7,7", "repeats a value"),
    ],
)
def test_malformed_windows_are_refused_before_the_work(tmp_path: Path, window: str, message: str) -> None:
    from fanzha.errors import ConfigError

    r = runner.invoke(
        app, ["train", "numbers", "--data", str(tmp_path), "--window", window, "--out", str(tmp_path / "m")]
    )
    assert isinstance(r.exception, ConfigError) and message in str(r.exception)


def test_a_damaged_model_is_a_clear_error(tmp_path: Path) -> None:
    from fanzha.errors import ModelError
    from fanzha.risk.model import GBDTDetector

    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(b"garbage")
    for meta in ("hello", "[]", '{"format": 999}'):
        (folder / "meta.json").write_text(meta, "utf-8")
        with pytest.raises(ModelError, match="retrain"):
            GBDTDetector.load(folder)
    good = tmp_path / "good"
    table = feature_table(60)
    from fanzha.risk.model import NumberDetector

    from .test_model import FAST as FAST_MODEL

    NumberDetector(**FAST_MODEL).fit(table).save(good)
    (folder / "meta.json").write_text((good / "meta.json").read_text("utf-8"), "utf-8")
    for pickled in (b"garbage", (good / "model.pkl").read_bytes()[:1000]):
        (folder / "model.pkl").write_bytes(pickled)
        with pytest.raises(ModelError, match=r"model\.pkl cannot be read"):
            GBDTDetector.load(folder)


def test_feature_table_ids_must_be_present_and_unique(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fanzha.errors import ValidationError

    table = feature_table(60)
    for name, broken, message in (
        ("empty", table.assign(id=["", *list(table["id"][1:])]), "1 row(s) have an empty id"),
        ("twice", table.assign(id=["13900000000"] * 60), "appear on more than one row"),
    ):
        broken.to_csv(tmp_path / f"{name}.csv", index=False)
        r = runner.invoke(
            app,
            [
                "train",
                "numbers",
                "--data",
                str(tmp_path / f"{name}.csv"),
                "--label",
                "label",
                "--out",
                str(tmp_path / "m"),
            ],
        )
        assert isinstance(r.exception, ValidationError) and message in str(r.exception), r.output


def test_a_feature_table_with_a_column_name_twice_is_refused(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Before: DuckDB renamed the second 'noise' to 'noise_1' in silence; the model then asked every
    scoring file for a column 'noise_1' that no file has (QA round)."""
    from fanzha.errors import InputFileError

    table = feature_table(60).drop(columns=["free_text"])
    table.columns = ["id", "short_call_share", "noise", "noise", "carrier", "label"]
    table.to_csv(tmp_path / "t.csv", index=False)
    args = ["train", "numbers", "--data", str(tmp_path / "t.csv"), "--label", "label", *FAST]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert isinstance(r.exception, InputFileError), r.output
    assert "'noise'" in str(r.exception) and "more than once" in str(r.exception)


def test_rows_a_labels_file_leaves_out_are_counted_aloud(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rows without a label in --labels count as normal; before, 3,060 of 3,260 accounts were
    labelled normal that way without a word (QA round)."""
    table = feature_table(120)
    table.drop(columns=["label"]).to_csv(tmp_path / "t.csv", index=False)
    table[["id", "label"]].head(90).to_csv(tmp_path / "labels.csv", index=False)
    args = [
        "train",
        "numbers",
        "--data",
        str(tmp_path / "t.csv"),
        "--labels",
        str(tmp_path / "labels.csv"),
        *FAST,
    ]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert "30 of the 120 rows have no label" in " ".join(r.output.split()), r.output


def test_transfers_and_data_together_are_refused(tmp_path: Path) -> None:
    from fanzha.errors import ValidationError

    (tmp_path / "tx.csv").write_text("transfer_id,from_account,to_account,amount_fen,at\n", "utf-8")
    r = runner.invoke(
        app,
        [
            "train",
            "accounts",
            "--transfers",
            str(tmp_path / "tx.csv"),
            "--data",
            "/nonexistent",
            "--labels",
            str(tmp_path / "tx.csv"),
            "--out",
            str(tmp_path / "m"),
        ],
    )
    assert isinstance(r.exception, ValidationError) and "not both" in str(r.exception)


@pytest.mark.parametrize("folds", ["0", "1", "-2", "500"])
def test_folds_out_of_range_are_refused(tmp_path: Path, folds: str) -> None:
    from fanzha.errors import ConfigError

    r = runner.invoke(
        app, ["eval", "numbers", "--sim", str(tmp_path), "--folds", folds, "--out", str(tmp_path / "e.json")]
    )
    assert isinstance(r.exception, ConfigError) and "2 to 50" in str(r.exception), r.output


def test_more_folds_than_positives_is_a_clear_error() -> None:
    from fanzha.errors import ValidationError
    from fanzha.risk.evaluate import cross_validate
    from fanzha.risk.model import NumberDetector

    table = feature_table(40)
    y = np.zeros(40, dtype=int)
    y[:3] = 1
    with pytest.raises(ValidationError, match=r"needs 2 ≤ folds ≤ the rows of the smaller class \(3\)"):
        cross_validate(NumberDetector, table.drop(columns=["label"]), y, folds=5)


def test_label_file_columns_without_a_label_file_are_refused(tmp_path: Path) -> None:
    """``--id-col`` / ``--label-col`` name a --labels file's columns; given without one they were
    ignored and the error then named the --data id column as missing (QA, tenth session)."""
    from fanzha.errors import ConfigError

    data = tmp_path / "numbers.csv"
    feature_table(60).rename(columns={"id": "phone_no_m"}).to_csv(data, index=False)
    args = ["train", "numbers", "--data", str(data), "--out", str(tmp_path / "m")]
    r = runner.invoke(app, [*args, "--id-col", "phone_no_m", "--label-col", "label"])
    assert isinstance(r.exception, ConfigError) and "--id and --label" in str(r.exception)
    assert not (tmp_path / "m").exists()
    r = runner.invoke(app, [*args, "--id", "phone_no_m", "--label", "label", *FAST])  # the way it is meant
    assert r.exit_code == 0, r.output


def test_reading_scores_before_any_are_published_says_so(settings) -> None:
    """Found by QA: read_scores on a fresh home raised a raw FileNotFoundError."""
    from fanzha.errors import NotFoundError

    with pytest.raises(NotFoundError, match=r"no numbers scores are published.*--publish"):
        read_scores("numbers", settings)


def test_a_model_saved_with_other_library_versions_says_so(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """meta.json records the library versions a model was trained with; nothing compared them, so a
    model from another installation (another LightGBM, scikit-learn, numpy) scored in silence."""
    from fanzha.detect.contract import Detector, ModelVersionWarning
    from fanzha.errors import ModelError
    from fanzha.risk.model import NumberDetector

    from .test_model import FAST as FAST_MODEL

    table = feature_table(80)
    detector = NumberDetector(**FAST_MODEL).fit(table)
    detector.meta_.libraries = {**detector.meta_.libraries, "lightgbm": "3.3.0", "scikit-learn": "0.24.2"}
    folder = detector.save(tmp_path / "old")
    with pytest.warns(ModelVersionWarning, match=r"saved with scikit-learn 0\.24\.2, lightgbm 3\.3\.0"):
        Detector.load(folder)
    table.drop(columns=["label"]).to_csv(tmp_path / "new.csv", index=False)
    r = runner.invoke(
        app,
        [
            "score",
            "numbers",
            "--model",
            str(folder),
            "--data",
            str(tmp_path / "new.csv"),
            "--out",
            str(tmp_path / "s.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "warning:" in said and "lightgbm 3.3.0" in said and "lightgbm 4" not in said.split("installed")[0]
    # a model.pkl the installed libraries cannot read: the versions are named as the likely cause
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    meta.pop("model_sha256")
    (folder / "meta.json").write_text(json.dumps(meta), "utf-8")
    (folder / "model.pkl").write_bytes(b"garbage")
    with pytest.raises(ModelError, match=r"it was saved with .*lightgbm 3\.3\.0.*the likely cause"):
        Detector.load(folder)
