from api.conftest import RISKY_NUMBER, VICTIM_ACCOUNT, VICTIM_NUMBER


def test_fusion_call_then_payment_is_delayed(api):
    r = api.client.post(
        "/v1/decide/call",
        json={"caller": RISKY_NUMBER, "callee": VICTIM_NUMBER, "duration_s": 300},
        headers=api.as_("telecom"),
    )
    assert r.status_code == 200, r.text
    print(r.json())
    r = api.client.post(
        "/v1/decide/payment",
        json={
            "payer": VICTIM_ACCOUNT,
            "payee": "6222000000000003333",
            "amount_fen": 100_000,
            "channel": "mobile",
        },
        headers=api.as_("bank"),
    )
    assert r.status_code == 200, r.text
    print(r.json())
    assert r.json()["outcome"] == "delay"
    assert {x["code"] for x in r.json()["reasons"]} >= {"RISKY_CALL_BEFORE_PAYMENT", "PAID_AFTER_WARNING"}
