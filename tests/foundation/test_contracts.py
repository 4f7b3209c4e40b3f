"""Record specs and the scalar row validator."""

import random
from datetime import date

import pytest

from fanzha.errors import NotFoundError
from fanzha.records import samples
from fanzha.records.contracts import KINDS, SPECS, get_spec, validate_row


def test_every_kind_has_a_key_of_required_fields():
    assert set(KINDS) >= {"people", "phone_cards", "devices", "calls", "sms", "accounts", "transfers"}
    for spec in SPECS.values():
        assert spec.key and set(spec.key) <= set(spec.required), spec.kind
        assert spec.time_field is None or spec.time_field in spec.columns


def test_unknown_kind_names_the_choices():
    with pytest.raises(NotFoundError, match="choose one of: people"):
        get_spec("callz")


def test_validate_row_reports_every_failing_field():
    row, reasons = validate_row(
        "calls",
        {
            "caller": "12",
            "callee": "13800138000",
            "start_at": "yesterday",
            "duration_s": "5",
            "direction": "up",
        },
    )
    assert row is None
    assert [r.split(":")[0] for r in reasons] == ["caller", "start_at", "direction"]


def test_validate_row_normalises():
    row, reasons = validate_row(
        "transfers",
        {
            "transfer_id": "T1",
            "from_account": "6222 0212 3456 7890",
            "to_account": "6222021234567891",
            "amount_fen": "1,000",
            "at": "2024-05-01 13:45:00",
            "channel": "Third-Party",
        },
    )
    assert reasons == []
    assert row is not None and row["amount_fen"] == 1000 and row["channel"] == "third_party"
    assert row["memo"] is None


def test_cross_field_checks():
    idn = "11010519491231002X"  # female, born 1949-12-31
    _, reasons = validate_row("people", {"id_number": idn, "name": "王芳", "gender": "m"})
    assert reasons == ["gender 'm' contradicts ID number (which says F)"]
    _, reasons = validate_row("people", {"id_number": idn, "name": "王芳", "birth_date": "1950-01-01"})
    assert reasons == ["birth_date 1950-01-01 contradicts ID number (1949-12-31)"]
    row, reasons = validate_row(
        "people", {"id_number": idn, "name": "王芳", "gender": "F", "birth_date": "1949/12/31"}
    )
    assert reasons == [] and row is not None and row["birth_date"] == date(1949, 12, 31)
    _, reasons = validate_row(
        "transfers",
        {
            "transfer_id": "T",
            "from_account": "1234567890",
            "to_account": "1234567890",
            "amount_fen": "5",
            "at": "2024-05-01",
            "channel": "atm",
        },
    )
    assert reasons == ["from_account equals to_account"]


def test_list_fields_split_and_validate_each_part():
    base = {
        "case_id": "C1",
        "reported_at": "2024-05-01",
        "victim_id": "11010519491231002X",
        "fraud_type": "shuadan",
        "loss_fen": "100",
        "narrative": "被骗",
    }
    row, _ = validate_row("cases", {**base, "suspect_phones": "13800138000；+86 139 0013 9000|"})
    assert row is not None and row["suspect_phones"] == ["13800138000", "13900139000"]
    _, reasons = validate_row("cases", {**base, "suspect_phones": "13800138000;12"})
    assert reasons and reasons[0].startswith("suspect_phones: phone number '12'")


@pytest.mark.parametrize("kind", KINDS)
def test_samples_are_what_they_claim(kind):
    rnd = random.Random(3)
    for _ in range(30):
        assert validate_row(kind, samples.valid_row(kind, rnd))[1] == [], kind
        assert validate_row(kind, samples.invalid_row(kind, rnd))[1] != [], kind
