"""Card dealers: the organiser behind a batch of cards, not only the farmers who sold them."""

from __future__ import annotations

import pandas as pd

from fanzha.engine.duckdb import DuckDBEngine
from fanzha.graph.dealers import DealerConfig, find_dealers

T0 = pd.Timestamp("2026-02-01 09:00", tz="UTC")


def card(number: str, owner: str, minutes: int, imei: str | None, outlet: str = "营业厅A") -> dict:
    return {
        "number": number,
        "owner_id": owner,
        "carrier": "cmcc",
        "card_type": "personal",
        "opened_at": T0 + pd.Timedelta(minutes=minutes),
        "closed_at": None,
        "status": "active",
        "outlet": outlet,
        "open_imei": imei,
    }


def register_case(eng: DuckDBEngine, phones: list[str]) -> None:
    """One reported case naming ``phones``."""
    eng.register(
        "cases",
        pd.DataFrame(
            {"case_id": ["K1"], "victim_id": ["V"], "suspect_phones": [phones], "suspect_accounts": [[]]}
        ),
    )


def account(no: str, owner: str) -> dict:
    return {
        "account_no": no,
        "bank": "b",
        "owner_id": owner,
        "account_type": "personal",
        "opened_at": T0 - pd.Timedelta(days=400),
        "status": "active",
        "branch": None,
        "open_ip": None,
        "open_imei": None,
        "merchant_category": None,
    }


def test_dealer_found_through_device_and_card_fees() -> None:
    cards = [card(f"1390000000{i}", f"F{i}", i * 600, "DEV9") for i in range(4)]
    cards.append(card("13800000009", "DEALER", 0, None))  # the dealer's own card, opened elsewhere
    # an ordinary outlet: three people, weeks apart, no shared device → no cluster
    cards += [card(f"1370000000{i}", f"N{i}", i * 60 * 24 * 7, None, "营业厅B") for i in range(3)]
    eng = DuckDBEngine(threads=1)
    eng.register("phone_cards", pd.DataFrame(cards))
    eng.register(
        "accounts", pd.DataFrame([account(f"AF{i}", f"F{i}") for i in range(4)] + [account("AD", "DEALER")])
    )
    eng.register(
        "transfers",
        pd.DataFrame(
            {
                "transfer_id": ["p0", "p1", "p2"],
                "from_account": ["AD"] * 3,
                "to_account": ["AF0", "AF1", "AF2"],
                "amount_fen": [30_000] * 3,
                "at": [T0] * 3,
            }
        ),
    )
    eng.register(
        "calls",
        pd.DataFrame(
            {
                "caller": ["13800000009"] * 2,
                "callee": ["13700000000"] * 2,
                "start_at": [T0, T0],
                "direction": ["out", "out"],
                "imei": ["DEV9", "DEV9"],
            }
        ),
    )
    register_case(eng, ["13900000001", "13900000002"])
    dealers, clusters = find_dealers(eng, DealerConfig())
    assert clusters.cluster.tolist() == ["device:DEV9"]
    assert clusters.n_fraud_items.tolist() == [2]
    top = dealers.iloc[0]
    assert top.organiser == "id:DEALER"
    assert {r["code"] for r in top.reasons} == {"device_user", "pays_farmers", "same_device"}
    assert top.resolved and top["keys"] == ["device:DEV9"]
    assert top.farmers == ["id:F0", "id:F1", "id:F2", "id:F3"]
    assert "id:F0" not in set(dealers.organiser)


def test_unresolved_dealer_points_at_his_device_and_outlet_batch() -> None:
    # no calls, no card fees: the organiser is known only by his activation device
    cards = [card(f"1390000000{i}", f"F{i}", i * 10, "DEV9", "代理点07号") for i in range(4)]
    eng = DuckDBEngine(threads=1)
    eng.register("phone_cards", pd.DataFrame(cards))
    register_case(eng, ["13900000003"])
    dealers, clusters = find_dealers(eng, DealerConfig(burst_minutes=120))
    assert len(dealers) == 1  # the device cluster and the outlet burst share items: one dealer
    assert sorted(clusters.signal) == ["place_burst", "same_device"]
    assert dealers.organiser[0] == "device:DEV9" and not dealers.resolved[0]
    assert dealers.farmers[0] == ["id:F0", "id:F1", "id:F2", "id:F3"]
    eng.close()
    eng.close()


def test_dealer_named_by_the_top_ups_that_keep_his_cards_alive() -> None:
    """养卡: the account that tops up the batch's cards names the organiser; a farmer topping up
    their own card, or one card only, names no one."""
    cards = [card(f"1390000000{i}", f"F{i}", i * 10, "DEV9", "代理点07号") for i in range(4)]
    eng = DuckDBEngine(threads=1)
    eng.register("phone_cards", pd.DataFrame(cards))
    eng.register(
        "accounts",
        pd.DataFrame([account("AD", "DEALER"), account("AF0", "F0"), account("AX", "NEIGHBOUR")]),
    )
    eng.register(
        "topups",
        pd.DataFrame(
            {
                "topup_id": ["t0", "t1", "t2", "t3", "t4"],
                "number": ["13900000000", "13900000001", "13900000002", "13900000000", "13900000003"],
                "amount_fen": [2000] * 5,
                "at": [T0 + pd.Timedelta(hours=1)] * 5,
                "channel": ["online"] * 5,
                "payer_account": ["AD", "AD", "AD", "AF0", "AX"],
            }
        ),
    )
    register_case(eng, ["13900000003"])
    dealers, _ = find_dealers(eng, DealerConfig())
    assert len(dealers) == 1 and dealers.organiser[0] == "id:DEALER" and dealers.resolved[0]
    top_up = [r for r in dealers.reasons[0] if r["code"] == "tops_up_cards"]
    # the device, outlet and payer clusters merge into one dealer: the same top-ups are one reason,
    # counted once in his score (before: once per cluster)
    assert [r["value"] for r in top_up] == [3]
    assert "topped up 3 of the cluster's phone cards" in top_up[0]["message"]
    assert "id:NEIGHBOUR" not in dealers.farmers[0] and "id:F0" in dealers.farmers[0]
    eng.close()


def test_top_ups_alone_cluster_a_dealers_cards() -> None:
    """No shared device, outlet or day: the one account topping up the cards still groups them."""
    cards = [card(f"1390000000{i}", f"F{i}", i * 60 * 24 * 9, None, f"营业厅{i}") for i in range(3)]
    cards.append(card("13800000009", "DEALER", 0, None, "营业厅9"))  # his own card, his own top-ups
    eng = DuckDBEngine(threads=1)
    eng.register("phone_cards", pd.DataFrame(cards))
    eng.register("accounts", pd.DataFrame([account("AD", "DEALER")]))
    numbers = [c["number"] for c in cards]
    eng.register(
        "topups",
        pd.DataFrame(
            {
                "topup_id": [f"t{i}" for i in range(4)],
                "number": numbers,
                "amount_fen": [2000] * 4,
                "at": [T0] * 4,
                "channel": ["online"] * 4,
                "payer_account": ["AD"] * 4,
            }
        ),
    )
    register_case(eng, ["13900000001"])
    dealers, clusters = find_dealers(eng, DealerConfig())
    assert clusters.cluster.tolist() == ["payer:AD"] and clusters.n_owners.tolist() == [3]
    assert dealers.organiser[0] == "id:DEALER" and dealers.resolved[0]
    assert dealers.farmers[0] == ["id:F0", "id:F1", "id:F2"]
    eng.close()


def test_no_dealer_keeps_the_cluster_columns() -> None:
    """Without a cluster, dealer_clusters lacked the ``group`` column a city with dealers has."""
    cards = [card(f"1390000000{i}", f"F{i}", i * 10, "DEV9", "代理点07号") for i in range(4)]
    eng = DuckDBEngine(threads=1)
    eng.register("phone_cards", pd.DataFrame(cards))
    register_case(eng, ["13900000003"])
    _, found = find_dealers(eng, DealerConfig(burst_minutes=120))
    register_case(eng, ["13800000000"])  # no card of the batch in a case: no cluster
    _, none = find_dealers(eng, DealerConfig(burst_minutes=120))
    assert none.empty and list(none.columns) == list(found.columns)
    eng.close()
