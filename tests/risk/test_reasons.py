"""Plain-words reasons from feature values."""

from __future__ import annotations

from fanzha.risk.reasons import ACCOUNT_REASONS, NUMBER_REASONS, describe


def test_catalogue_messages() -> None:
    assert describe("short_call_share", 0.92, NUMBER_REASONS) == (
        "SHORT_CALLS",
        "92 % of calls shorter than 15 s",
    )
    assert describe("out_within_1h_share", 1.0, ACCOUNT_REASONS) == (
        "PASS_THROUGH_FAST",
        "100 % of money out leaves within 1 hour of arriving",
    )
    assert describe("in_amt_fen", 1_234_56, ACCOUNT_REASONS)[1] == "received ¥1,234.56 in the window"
    assert describe("max_sims_on_device", 12, NUMBER_REASONS)[0] == "SIM_FARM"


def test_counts_of_one_read_in_the_singular() -> None:
    one = {f: describe(f, 1.0, ACCOUNT_REASONS | NUMBER_REASONS)[1] for f in ACCOUNT_REASONS | NUMBER_REASONS}
    assert one["owner_card_device_cards"].endswith("a device that activated 1 card")
    assert one["max_sims_on_device"] == "its device holds 1 SIM card (猫池 / GOIP?)"
    assert one["open_device_owners"] == "opened on a device that opened accounts for 1 person (同设备开户)"
    assert one["reciprocal_cp"] == "1 counterparty sends money back"
    assert one["callee_cities"] == "calls into 1 different city"
    assert one["withdrawal_n"] == "1 cash withdrawal" and one["sms_out"] == "1 SMS sent"
    assert describe("withdrawal_n", 2.0, ACCOUNT_REASONS)[1] == "2 cash withdrawals"
    assert describe("reciprocal_cp", 3.0, ACCOUNT_REASONS)[1] == "3 counterparties send money back"


def test_window_suffix_and_fallback() -> None:
    assert (
        describe("short_call_share_7d", 0.5, NUMBER_REASONS)[1]
        == "50 % of calls shorter than 15 s (last 7 days)"
    )
    assert describe("topups_1d", 2.0, NUMBER_REASONS)[1].endswith("(last day)")
    assert describe("topups_all", 2.0, NUMBER_REASONS)[1].endswith("(all time)")  # not "(last all)"
    code, message = describe("arpu_skew", 2.5, NUMBER_REASONS)
    assert code == "FEATURE_ARPU_SKEW" and message == "arpu skew = 2.50 (unusual)"
    assert describe("owner_cards", float("nan"), NUMBER_REASONS)[1] == "no owner cards data"


def test_every_account_feature_has_words(account_engine) -> None:  # type: ignore[no-untyped-def]
    """No account reason falls back to 'feature = value (unusual)': each column has a message."""
    from fanzha.risk.features_accounts import account_features

    from .records import AS_OF

    columns = account_features(account_engine, as_of=AS_OF).column_names
    fallback = [
        c for c in columns if c != "id" and describe(c, 1.0, ACCOUNT_REASONS)[0].startswith("FEATURE_")
    ]
    assert fallback == [], fallback


def test_every_number_feature_has_words(number_engine) -> None:  # type: ignore[no-untyped-def]
    from fanzha.risk.features_numbers import number_features

    from .records import AS_OF

    columns = number_features(number_engine, as_of=AS_OF).column_names
    fallback = [
        c for c in columns if c != "id" and describe(c, 1.0, NUMBER_REASONS)[0].startswith("FEATURE_")
    ]
    assert fallback == [], fallback
