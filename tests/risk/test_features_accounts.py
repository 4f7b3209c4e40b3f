"""Account features on a hand-made transfer set (V1, V2 → M → N → P → M)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from fanzha.errors import ValidationError
from fanzha.risk.features_accounts import account_features

from .records import AS_OF, accounts_table, t, transfers_table


@pytest.fixture(params=[False, True], ids=["sql", "numba"])
def rows(account_engine, request):  # type: ignore[no-untyped-def]
    return account_features(account_engine, as_of=AS_OF, accelerate=request.param).to_pandas().set_index("id")


def test_flows_of_the_mule(rows) -> None:  # type: ignore[no-untyped-def]
    m = rows.loc["M"]
    assert (m.in_n, m.out_n, m.in_amt_fen, m.out_amt_fen) == (3, 1, 31_000, 29_000)
    assert (m.in_cp, m.out_cp) == (3, 1)
    assert m.pass_through_ratio == pytest.approx(29_000 / 31_000)
    assert m.out_within_1h_share == pytest.approx(1.0)  # t3 leaves 10 minutes after t2 arrived
    assert m.dwell_median_h == pytest.approx(10 / 60)
    assert m.in_leaves_1d_share == pytest.approx(30_000 / 31_000)  # t5 arrives after the last out
    assert m.night_share == pytest.approx(0.25)  # t5 at 21:00 UTC is 05:00 Beijing time


def test_dwell_of_the_second_layer(rows) -> None:  # type: ignore[no-untyped-def]
    n = rows.loc["N"]
    assert n.out_within_1h_share == 0.0
    assert n.out_within_1d_share == pytest.approx(1.0)
    assert n.dwell_median_h == pytest.approx(9 + 20 / 60)
    assert rows.loc["V1"].out_before_any_in_share == pytest.approx(1.0)


def test_graph_structure(rows) -> None:  # type: ignore[no-untyped-def]
    assert rows.loc["M"].cycle3_cp == 1 and rows.loc["N"].cycle3_cp == 1
    assert rows.loc["V1"].cycle3_cp == 0
    assert rows.loc["M"].out_to_relay_share == pytest.approx(1.0)  # N passes its money on within a day
    assert rows.loc["M"].reciprocal_cp == 0
    assert rows.loc["N"].in2_degree == 3  # its payer M receives from 3 accounts


def test_account_table_features(rows) -> None:  # type: ignore[no-untyped-def]
    m = rows.loc["M"]
    assert m.accounts_per_owner == 3
    assert m.in_crossbank_share == pytest.approx(1.0) and m.out_crossbank_share == pytest.approx(1.0)
    assert m.crossbank_relay == 1
    assert m.account_age_days == pytest.approx(9.0)
    q = rows.loc["Q"]  # an account without transfers is still scored, with zero counts
    assert (q.in_n, q.out_n, q.in_amt_fen) == (0, 0, 0)


def test_withdrawals_and_flagged(account_engine) -> None:  # type: ignore[no-untyped-def]
    from .records import t

    account_engine.register(
        "withdrawals",
        pa.table(
            {
                "withdrawal_id": ["w1", "w2", "w3"],
                "account": ["P", "P", "P"],
                "amount_fen": pa.array([5_000, 6_000, 7_000], pa.int64()),
                "at": pa.array([t(9, 22), t(9, 23), t(9, 23, 30)], pa.timestamp("us", tz="UTC")),
                "atm_id": ["a1", "a2", "a2"],
                "location": ["510104", "510105", "510105"],
            }
        ),
    )
    account_engine.register("flagged_accounts", pa.table({"account": ["N"]}))
    rows = account_features(account_engine, as_of=AS_OF).to_pandas().set_index("id")
    p = rows.loc["P"]
    assert (p.withdrawal_n, p.withdrawal_amt_fen, p.withdrawal_places, p.withdrawal_atms) == (3, 18_000, 2, 2)
    assert rows.loc["M"].out_to_flagged_share == pytest.approx(1.0)
    assert p.in_from_flagged_share == pytest.approx(1.0)
    assert rows.loc["M"].in_from_flagged_share == pytest.approx(0.0)


def test_bad_transfer_tables(engine) -> None:  # type: ignore[no-untyped-def]
    engine.register("transfers", transfers_table().drop_columns(["amount_fen"]))
    with pytest.raises(ValidationError, match="amount_fen"):
        account_features(engine, as_of=AS_OF)
    engine.register("transfers", transfers_table().slice(0, 0))
    with pytest.raises(ValidationError, match="empty"):
        account_features(engine)


def test_the_owners_phone_cards(account_engine) -> None:  # type: ignore[no-untyped-def]
    """两卡: M's owner o3 also holds phone cards; a card farmer's come in a batch on the dealer's
    handset. Cards opened after as_of do not count; closed cards count as recent but not as held."""
    from .records import t

    ts = pa.timestamp("us", tz="UTC")
    account_engine.register(
        "phone_cards",
        pa.table(
            {
                "number": ["13800000001", "13800000002", "13800000003", "13800000004", "13800000005"],
                "owner_id": ["o3", "o3", "o3", "o9", "o3"],
                "opened_at": pa.array(
                    [t(2, 0), t(2, 1), t(1, 0, year=2024), t(2, 2), t(20, 0, month=2)], ts
                ),  # the last one after AS_OF
                "closed_at": pa.array([None, t(5, 0), None, None, None], ts),
                "open_imei": ["861", "861", None, "861", "861"],
            }
        ),
    )
    for accelerate in (False, True):
        rows = (
            account_features(account_engine, as_of=AS_OF, accelerate=accelerate).to_pandas().set_index("id")
        )
        m = rows.loc["M"]
        assert m.owner_phone_cards == 2  # 1 and 3 (2 was closed before AS_OF)
        assert m.owner_recent_phone_cards == 2  # 1 and 2: opened in the last 90 days
        assert m.owner_card_device_cards == 3  # handset 861 activated 1, 2 and o9's 4 by AS_OF
        assert rows.loc["N"].owner_phone_cards == 2  # same owner
        v1 = rows.loc["V1"]  # an owner without phone cards
        assert (v1.owner_phone_cards, v1.owner_recent_phone_cards, v1.owner_card_device_cards) == (0, 0, 0)
    # an operator's table with numeric owner IDs is compared as text, not refused by the engine
    account_engine.register(
        "phone_cards",
        pa.table(
            {"number": ["1"], "owner_id": pa.array([3], pa.int64()), "opened_at": pa.array([t(2, 0)], ts)}
        ),
    )
    assert (
        account_features(account_engine, as_of=AS_OF).to_pandas().set_index("id").owner_phone_cards.sum() == 0
    )


def test_people_opening_accounts_on_one_device_or_ip(account_engine) -> None:  # type: ignore[no-untyped-def]
    """同设备开户: the dealer opens his farmers' accounts on his own phone, from his own IP. The
    features count different people (an owner's own accounts count once), leave out accounts opened
    after as_of, and stay missing for accounts opened without a recorded device or IP."""
    from .records import t

    table = accounts_table()
    table = table.set_column(
        table.schema.get_field_index("opened_at"),
        "opened_at",
        pa.array([t(1, 0, month=2)] + [t(1, 0)] * 5, pa.timestamp("us", tz="UTC")),  # V1 after AS_OF
    )
    # accounts V1 V2 M N P Q, owners o1 o2 o3 o3 o4 o3
    table = table.append_column("open_imei", pa.array(["d1", "d2", "d1", "d1", "d1", None]))
    table = table.append_column("open_ip", pa.array([None, None, "ip1", "ip2", "ip1", "ip1"]))
    account_engine.register("accounts", table)
    for accelerate in (False, True):
        rows = (
            account_features(account_engine, as_of=AS_OF, accelerate=accelerate).to_pandas().set_index("id")
        )
        assert rows.loc["M"].open_device_owners == 2  # o3 (M and N) and o4 (P); V1 opened later
        assert rows.loc["V1"].open_device_owners == 2
        assert rows.loc["V2"].open_device_owners == 1
        assert rows.loc["M"].open_ip_owners == 2  # o3 (M and Q) and o4 (P)
        assert rows.loc["N"].open_ip_owners == 1
        assert pd.isna(rows.loc["Q"].open_device_owners) and pd.isna(rows.loc["V1"].open_ip_owners)
    # without the columns the features are not made up
    account_engine.register("accounts", accounts_table())
    rows = account_features(account_engine, as_of=AS_OF).to_pandas()
    assert "open_device_owners" not in rows and "open_ip_owners" not in rows


def test_logins_from_one_handset_reaching_several_people(account_engine) -> None:  # type: ignore[no-untyped-def]
    """一机多户: handset H1 reaches M and N (owner o3) and P (o4): two people; V1 only its own."""
    rows = [
        ("M", t(8, 10), "H1", "10.0.0.1"),
        ("M", t(9, 10), "H1", "10.0.0.1"),
        ("N", t(9, 11), "H1", "10.0.0.1"),
        ("P", t(9, 12), "H1", "10.0.0.2"),
        ("P", t(9, 13), "H2", "10.0.0.2"),
        ("V1", t(9, 14), "H3", "10.0.0.2"),
        ("V1", t(1, 14, month=11, year=2025), "H1", "10.0.0.1"),  # outside the window
        ("UNSEEN", t(9, 15), "H1", "10.0.0.1"),  # no transfer, no account record: not added
    ]
    cols = list(zip(*rows, strict=True))
    account_engine.register(
        "logins",
        pa.table(
            {
                "account": list(cols[0]),
                "at": pa.array(cols[1], pa.timestamp("us", tz="UTC")),
                "imei": list(cols[2]),
                "ip": list(cols[3]),
            }
        ),
    )
    rows_ = account_features(account_engine, as_of=AS_OF).to_pandas().set_index("id")
    m, p, v1 = rows_.loc["M"], rows_.loc["P"], rows_.loc["V1"]
    assert (m.logins, m.login_devices, m.login_device_owners) == (2, 1, 3)  # o3, o4 and UNSEEN's own
    assert (p.logins, p.login_devices, p.login_device_owners) == (2, 2, 3)
    assert (v1.logins, v1.login_devices, v1.login_device_owners, v1.login_ip_owners) == (1, 1, 1, 2)
    assert m.login_ip_owners == 2  # 10.0.0.1: o3 and UNSEEN
    assert rows_.loc["V2"].logins == 0 and pd.isna(rows_.loc["V2"].login_devices)
    assert "UNSEEN" not in rows_.index
