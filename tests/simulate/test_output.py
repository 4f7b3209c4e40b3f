"""Simulator output: layout, validity of every row, determinism and truth consistency."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from fanzha.errors import ConfigError
from fanzha.records.contracts import SPECS, validate_row
from fanzha.simulate import SimConfig, SimResult, simulate
from fanzha.simulate.writer import TRUTH_SCHEMAS, kind_schema


def _kind(result: SimResult, kind: str) -> pd.DataFrame:
    return ds.dataset(result.out / kind).to_table().to_pandas()


def _truth(result: SimResult, name: str) -> pd.DataFrame:
    return pq.read_table(result.out / "truth" / f"{name}.parquet").to_pandas()


def test_layout_and_schemas(small_city: SimResult) -> None:
    out = small_city.out
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["parameters"]["people"] == 1500
    for kind in SPECS:
        files = sorted((out / kind).glob("part-*.parquet"))
        assert files, kind
        assert pq.read_schema(files[0]).equals(kind_schema(kind), check_metadata=False), kind
        assert manifest["rows"][kind] == sum(pq.read_metadata(f).num_rows for f in files)
    for name, schema in TRUTH_SCHEMAS.items():
        assert pq.read_schema(out / "truth" / f"{name}.parquet").equals(schema, check_metadata=False)
    assert small_city.rows["people"] == 1500
    assert small_city.episodes > 10 and small_city.cases > 0


def test_every_row_passes_the_validators(small_city: SimResult) -> None:
    for kind in SPECS:
        table = ds.dataset(small_city.out / kind).to_table()
        for row in table.to_pylist():
            _norm, reasons = validate_row(kind, row)
            assert not reasons, (kind, row, reasons)


def test_keys_are_unique(small_city: SimResult) -> None:
    for kind, spec in SPECS.items():
        frame = _kind(small_city, kind)[list(spec.key)]
        assert not frame.duplicated().any(), kind


def test_money_paths_sum_exactly(small_city: SimResult) -> None:
    paths, held, eps = (
        _truth(small_city, "money_paths"),
        _truth(small_city, "held"),
        _truth(small_city, "episodes"),
    )
    steps = _truth(small_city, "transfers").set_index("transfer_id")["step"]
    hop0 = paths[paths.hop == 0].groupby("episode_id").amount_fen.sum()
    is_cash = (paths.record_kind == "withdrawal") | paths.record_id.map(steps).isin(
        ["cashout_otc", "cashout_gold"]
    )
    cashed = paths[is_cash].groupby("episode_id").amount_fen.sum()
    kept = held.groupby("episode_id").amount_fen.sum()
    frame = pd.DataFrame(
        {"loss": eps.set_index("episode_id").loss_fen, "hop0": hop0, "cash": cashed, "held": kept}
    )
    frame = frame.fillna(0).astype("int64")
    assert (frame.loss > 0).all()
    assert (frame.loss == frame.hop0).all()
    assert (frame.loss == frame.cash + frame.held).all()
    # per account and episode: what came in = what went out + what is held
    inflow = paths[paths.to_account.notna()].groupby(["episode_id", "to_account"]).amount_fen.sum()
    outflow = paths[paths.hop > 0].groupby(["episode_id", "from_account"]).amount_fen.sum()
    balance = inflow.sub(outflow.rename_axis(inflow.index.names), fill_value=0)
    ends = held.groupby(["episode_id", "account"]).amount_fen.sum().rename_axis(inflow.index.names)
    mids = balance[balance != 0]
    cash_to = paths[is_cash].set_index(["episode_id", "to_account"]).amount_fen
    sinks = cash_to.groupby(level=[0, 1]).sum() if len(cash_to) else cash_to
    expected = ends.add(sinks.rename_axis(inflow.index.names), fill_value=0)
    assert mids.sort_index().to_dict() == expected[expected != 0].sort_index().to_dict()


def test_money_path_records_exist(small_city: SimResult) -> None:
    paths = _truth(small_city, "money_paths")
    transfers = _kind(small_city, "transfers").set_index("transfer_id")
    tr = paths[paths.record_kind == "transfer"]
    rec = transfers.loc[tr.record_id]
    assert (rec.from_account.to_numpy() == tr.from_account.to_numpy()).all()
    assert (rec.to_account.to_numpy() == tr.to_account.to_numpy()).all()
    # a record's victims' portions add up to its amount (USDT purchases merge several victims)
    portions = tr.groupby("record_id").amount_fen.sum()
    assert (transfers.loc[portions.index].amount_fen == portions).all()
    merged = tr.groupby("record_id").episode_id.nunique()
    truth = _truth(small_city, "transfers").set_index("transfer_id")
    assert truth.loc[merged[merged > 1].index].episode_id.isna().all()
    assert truth.loc[merged[merged == 1].index].episode_id.notna().all()
    wd = set(_kind(small_city, "withdrawals").withdrawal_id)
    assert set(paths[paths.record_kind == "withdrawal"].record_id) <= wd


def test_cases_refer_to_existing_people_and_identifiers(small_city: SimResult) -> None:
    cases = _kind(small_city, "cases")
    assert len(cases) == small_city.cases
    people = set(_kind(small_city, "people").id_number)
    # registered numbers, and the international / spoofed numbers seen calling (not registered here)
    phones = set(_kind(small_city, "phone_cards").number) | set(_kind(small_city, "calls").caller)
    accounts = set(_kind(small_city, "accounts").account_no)
    urls = set(_kind(small_city, "urls").url)
    apps = _kind(small_city, "app_accounts")
    app_keys = set(apps.platform + ":" + apps.account_id)
    wallets = set(_kind(small_city, "transfers").wallet.dropna())
    eps = _truth(small_city, "episodes")
    assert set(cases.case_id) == set(eps.case_id.dropna())
    for case in cases.itertuples():
        assert case.victim_id in people
        assert set(case.suspect_phones) <= phones
        assert set(case.suspect_accounts) <= accounts
        assert set(case.suspect_urls) <= urls
        assert set(case.suspect_app_accounts) <= app_keys
        assert set(case.suspect_wallets) <= wallets
        assert case.narrative and "{" not in case.narrative


def test_truth_entities_exist_in_records(small_city: SimResult) -> None:
    ent = _truth(small_city, "entities")
    calls, sms = _kind(small_city, "calls"), _kind(small_city, "sms")
    phones = (
        set(_kind(small_city, "phone_cards").number) | set(calls.caller) | set(calls.callee) | set(sms.sender)
    )
    known = {
        "person": set(_kind(small_city, "people").id_number),
        "phone": phones,
        "account": set(_kind(small_city, "accounts").account_no),
        "device": set(_kind(small_city, "devices").imei),
        "url": set(_kind(small_city, "urls").host),
        "wallet": set(_kind(small_city, "transfers").wallet.dropna()),
    }
    apps = _kind(small_city, "app_accounts")
    known["app_account"] = set(apps.platform + ":" + apps.account_id)
    for row in ent.itertuples():
        value = row.entity.split(":", 1)[1]
        assert value in known[row.entity_kind], row
    roles = set(ent.role)
    for role in (
        "victim",
        "card_farmer",
        "card_dealer",
        "gang_member",
        "fraud_number",
        "sim_farm_device",
        "sim_farm_number",
        "mule_account",
        "scam_url",
        "scam_app_account",
        "otc_wallet",
        "cashout_merchant",
        "hub_legit",
    ):
        assert role in roles, role
    mules = ent[ent.role == "mule_account"]
    assert set(mules.layer) == {1, 2, 3}
    assert mules.organiser.str.startswith("id:").all()


def test_fraud_is_a_small_minority_and_labelled(small_city: SimResult) -> None:
    calls, tr = _truth(small_city, "calls"), _truth(small_city, "transfers")
    assert 0 < calls.is_fraud.mean() < 0.1
    assert 0 < tr.is_fraud.mean() < 0.1
    assert set(tr.step) >= {"legit", "victim_payment", "layering"}
    assert tr[tr.is_fraud].gang_id.notna().all()
    assert (tr.step == "legit").eq(~tr.is_fraud).all()


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*.parquet")):
        table = pq.read_table(path)
        out[str(path.relative_to(folder))] = hashlib.sha256(
            table.to_pandas().to_csv(index=False).encode()
        ).hexdigest()
    return out


def test_same_seed_same_output(tmp_path: Path) -> None:
    config = SimConfig(people=400, days=3, seed=5, fraud_rate=80)
    a = simulate(config, tmp_path / "a")
    b = simulate(config, tmp_path / "b")
    assert _digest(a.out) == _digest(b.out)
    files = sorted(p.relative_to(a.out) for p in a.out.rglob("*.parquet"))
    assert all((a.out / f).read_bytes() == (b.out / f).read_bytes() for f in files)
    c = simulate(SimConfig(people=400, days=3, seed=6, fraud_rate=80), tmp_path / "c")
    assert _digest(c.out) != _digest(a.out)


def test_future_window_is_refused(tmp_path: Path) -> None:
    from datetime import date

    with pytest.raises(ConfigError, match="future"):
        simulate(SimConfig(people=300, days=10, start=date(2099, 1, 1)), tmp_path / "x")
    with pytest.raises(ConfigError, match="people"):
        simulate(SimConfig(people=10), tmp_path / "y")
    with pytest.raises(ConfigError, match="too large"):  # was: a MemoryError traceback (745 GiB)
        simulate(SimConfig(people=99_999_999_999, days=1), tmp_path / "w")
    with pytest.raises(ConfigError, match="--seed -1 must be"):
        simulate(SimConfig(people=300, days=1, seed=-1), tmp_path / "z")


def test_unwritable_out_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot create the folder"):
        simulate(SimConfig(people=300, days=1), tmp_path / "file" / "sim")  # under a file


def test_never_deletes_a_folder_that_is_not_its_output(tmp_path: Path) -> None:
    precious = tmp_path / "home"
    precious.mkdir()
    (precious / "thesis.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="not a simulator output"):
        simulate(SimConfig(people=300, days=1), precious)
    assert (precious / "thesis.txt").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        simulate(SimConfig(people=300, days=1), tmp_path / "file")
    out = tmp_path / "sim"
    simulate(SimConfig(people=300, days=1), out)
    simulate(SimConfig(people=300, days=1), out)  # a previous output is replaced
    assert (out / "manifest.json").exists()


def test_identical_across_processes_and_hash_seeds(tmp_path: Path) -> None:
    """No dependence on set / dict order of strings: two interpreters, two hash seeds, same bytes."""
    import os
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from fanzha.simulate import SimConfig, simulate; "
        "simulate(SimConfig(people=300, days=2, seed=9, fraud_rate=300), Path(sys.argv[1]))"
    )
    for h in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": h}
        subprocess.run([sys.executable, "-c", code, str(tmp_path / h)], check=True, env=env)
    files = sorted(p.relative_to(tmp_path / "1") for p in (tmp_path / "1").rglob("*.parquet"))
    assert files
    for f in files:
        assert (tmp_path / "1" / f).read_bytes() == (tmp_path / "2" / f).read_bytes(), f


def test_mule_accounts_never_go_below_zero(small_city: SimResult) -> None:
    """Replaying the records, a gang account only pays out money it has received."""
    tr = _kind(small_city, "transfers").merge(_truth(small_city, "transfers"), on="transfer_id")
    wd = _kind(small_city, "withdrawals")
    mules = set(_truth(small_city, "entities").query("role == 'mule_account'").entity.str[8:])
    legit_touched = set(tr[~tr.is_fraud].from_account) | set(tr[~tr.is_fraud].to_account)
    pure = mules - legit_touched  # cards with ordinary history have no known opening balance
    assert pure
    moves = pd.concat(
        [
            tr[["to_account", "amount_fen", "at"]].rename(columns={"to_account": "account"}),
            tr[["from_account", "amount_fen", "at"]]
            .rename(columns={"from_account": "account"})
            .assign(amount_fen=lambda f: -f.amount_fen),
            wd[["account", "amount_fen", "at"]].assign(amount_fen=lambda f: -f.amount_fen),
        ]
    )
    moves = moves[moves.account.isin(pure)].sort_values(
        ["account", "at", "amount_fen"], ascending=[True, True, False]
    )
    balance = moves.groupby("account").amount_fen.cumsum()
    assert (balance >= 0).all()


def test_every_card_opened_for_sale_names_its_farmer(tmp_path: Path) -> None:
    """A mule account and the dealer's unsold stock were both opened for sale: their owners are card
    farmers (卡农) in the truth, whether or not a gang bought the card. The city (seed 7) holds a
    farmer whose cards all went unsold."""
    result = simulate(SimConfig(people=2000, days=14, seed=7, fraud_rate=60.0), tmp_path / "sim")
    ent = _truth(result, "entities")
    accounts = _kind(result, "accounts").set_index("account_no")
    farmers = set(ent.loc[ent.role == "card_farmer", "entity"])
    owners = {}
    for role in ("mule_account", "unsold_card"):
        cards = ent.loc[ent.role == role, "entity"].str.removeprefix("account:")
        owners[role] = {f"id:{o}" for o in accounts.loc[cards, "owner_id"]}
        assert owners[role] and owners[role] <= farmers, role
    assert owners["unsold_card"] - owners["mule_account"]  # the case is exercised


def test_card_upkeep_top_ups_and_data_usage(small_city: SimResult) -> None:
    """Dealers keep their cards alive from their own accounts (养卡), employers pay staff cards in
    batches (集团代付), SIM-farm cards use next to no data while ordinary cards use some most days."""
    ent, topups = _truth(small_city, "entities"), _kind(small_city, "topups")
    accounts, usage = _kind(small_city, "accounts"), _kind(small_city, "data_usage")
    farm = set(ent.loc[ent.role == "sim_farm_number", "entity"].str.split(":", n=1).str[1])
    dealers = set(ent.loc[ent.role == "card_dealer", "entity"].str.split(":", n=1).str[1])
    dealer_accounts = set(accounts.loc[accounts.owner_id.isin(dealers), "account_no"])
    paid_by_dealer = set(topups.loc[topups.payer_account.isin(dealer_accounts), "number"])
    assert farm and paid_by_dealer <= farm | set(_kind(small_city, "phone_cards").number)
    assert len(farm & paid_by_dealer) / len(farm) > 0.9
    corporate = set(accounts.loc[accounts.account_type == "corporate", "account_no"])
    batches = topups[topups.payer_account.isin(corporate)].groupby("payer_account").number.nunique()
    assert (batches >= 3).any()
    per_card = usage.groupby("number").kb.sum()
    ordinary = per_card[~per_card.index.isin(farm)]
    assert per_card.reindex(list(farm)).fillna(0).median() < ordinary.median() / 100
    assert usage.kb.ge(0).all() and topups.amount_fen.gt(0).all()


def test_bought_mule_accounts_are_logged_in_to_by_the_gang(small_city: SimResult) -> None:
    """跑分: a gang's handsets log in to the accounts it bought, each handset to several people's;
    the dealer's unsold stock is never logged in to; ordinary handsets reach one or two people."""
    ent, logins = _truth(small_city, "entities"), _kind(small_city, "logins")
    accounts = _kind(small_city, "accounts").set_index("account_no").owner_id
    mules = set(ent.loc[ent.role == "mule_account", "entity"].str[8:])
    unsold = set(ent.loc[ent.role == "unsold_card", "entity"].str[8:])
    logins = logins.assign(owner=logins.account.map(accounts))
    per_device = logins.groupby("imei").owner.nunique()
    gang = logins[logins.account.isin(mules)]
    assert gang.account.nunique() / len(mules) > 0.8
    assert per_device.reindex(gang.imei.unique()).max() >= 3
    stock = logins[logins.account.isin(unsold)]
    assert stock.empty or (stock.imei.map(per_device) <= 2).all()
    ordinary = logins[~logins.account.isin(mules | unsold)]
    assert per_device.reindex(ordinary.imei.unique()).max() <= 2  # own accounts, or a parent's too


def test_a_repeated_key_moves_on_by_a_second() -> None:
    """Two calls of one pair in one second (seed 7, 20,000 people) broke the calls' natural key:
    ingest took one of them as a duplicate. The day's merge moves the repeat on by one second."""
    import pyarrow as pa

    from fanzha.simulate.world import _merge

    t0 = pd.Timestamp("2026-09-01 08:00:00", tz="UTC")
    day = pa.Table.from_pandas(
        pd.DataFrame(
            {
                "caller": ["A", "A", "A", "B", "A"],
                "callee": ["X", "X", "X", "X", "Y"],
                "start_at": [t0, t0, t0 + pd.Timedelta(seconds=1), t0, t0],
                "direction": ["out"] * 5,
                "duration_s": [33, 18, 5, 7, 9],
            }
        ),
        preserve_index=False,
    )
    merged = _merge([day.slice(0, 3), day.slice(3)], "start_at", SPECS["calls"].key).to_pandas()
    assert len(merged) == 5 and not merged.duplicated(["caller", "callee", "start_at", "direction"]).any()
    # the repeat moved on; its next second held A → X as well, so one of those two moved on again
    seconds = sorted((merged.start_at - t0).dt.total_seconds())
    assert seconds == [0, 0, 0, 1, 2]
    assert set(merged[merged.start_at == t0].duration_s) == {33, 7, 9}  # the first of each key stays
    assert merged.start_at.is_monotonic_increasing
    assert sorted(merged.duration_s) == [5, 7, 9, 18, 33]  # nothing lost


def test_impossible_fraud_rates_are_clear_errors(tmp_path: Path) -> None:
    from datetime import date

    # was: NaN / inf gave numpy's "lam < 0 or lam is NaN" traceback, 1e12 ran until killed, and a rate
    # whose gangs need more people than the city has "Probabilities contain NaN"
    for rate in (float("nan"), float("inf"), 1e12, 1000.5):
        with pytest.raises(ConfigError, match="--fraud-rate"):
            simulate(SimConfig(people=300, days=1, fraud_rate=rate), tmp_path / "x")
    with pytest.raises(ConfigError, match="too small for the gangs"):
        simulate(SimConfig(people=200, days=60, start=date(2025, 1, 1), fraud_rate=700), tmp_path / "y")
