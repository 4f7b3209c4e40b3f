"""Behaviour over HTTP: masking per role, rate limits, 4xx errors, warning tasks, audit, shadow, party flows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from api.conftest import (
    PUBLIC_ID,
    RISKY_ACCOUNT,
    RISKY_NUMBER,
    SAFE_NUMBER,
    VICTIM_ACCOUNT,
    VICTIM_NUMBER,
    make_api,
)
from fanzha.ops.models import WarningTask


def test_lookup_masks_for_the_public_and_explains_for_police(api) -> None:
    pub = api.client.get(f"/v1/lookup/phone/{RISKY_NUMBER}", headers=api.as_("public")).json()
    assert pub == {
        "kind": "phone",
        "identifier": "171****1111",
        "label": "high_risk",
        "label_text": "高风险 · 疑似诈骗",
        "tier": None,
        "probability": None,
        "reasons": None,
        "sources": None,
    }
    bank = api.client.get(f"/v1/lookup/phone/{RISKY_NUMBER}", headers=api.as_("bank")).json()
    assert bank["identifier"] == "171****1111" and bank["tier"] == "red" and bank["reasons"] is None
    police = api.client.get("/v1/lookup/phone/+86 171-0000-1111", headers=api.as_("police")).json()
    assert police["identifier"] == RISKY_NUMBER and police["reasons"][0]["code"] == "fan_out"
    acct = api.client.get(f"/v1/lookup/account/{RISKY_ACCOUNT}", headers=api.as_("public")).json()
    assert acct["identifier"] == "6222***********9999" and acct["label"] == "high_risk"
    safe = api.client.get(f"/v1/lookup/phone/{SAFE_NUMBER}", headers=api.as_("public")).json()
    assert safe["label"] == "no_record"


def test_police_lookup_names_the_scores_of_its_kind(api) -> None:
    """An account lookup named the number scores' file as its source (QA: docs followed literally)."""
    versions = api.service.state.scores
    phone = api.client.get(f"/v1/lookup/phone/{RISKY_NUMBER}", headers=api.as_("police")).json()
    assert phone["sources"] == [versions.numbers_version]
    acct = api.client.get(f"/v1/lookup/account/{RISKY_ACCOUNT}", headers=api.as_("police")).json()
    assert acct["sources"] == [versions.accounts_version]
    assert versions.accounts_version.startswith("accounts.parquet@")


def test_verified_caller_label_from_allow_list(api) -> None:
    from fanzha.ops import lists
    from fanzha.ops.audit import Actor

    lists.add_entry(
        api.service.ops.store,
        Actor("admin", "police", "test"),
        kind="number",
        value="95588",
        action="allow",
        reason="中国工商银行客服",
        source="bank",
    )
    lists.add_entry(
        api.service.ops.store,
        Actor("admin", "police", "test"),
        kind="number",
        value=SAFE_NUMBER,
        action="fatal_block",
        reason="confirmed fraud, reported by victim 张三",
        source="police",
    )
    api.service.refresh()
    verified = api.client.get("/v1/lookup/phone/95588", headers=api.as_("public")).json()
    assert verified["label"] == "verified" and verified["label_text"] == "中国工商银行客服"
    # a block entry's reason is an officer's note: the public sees the generic label only
    blocked = api.client.get(f"/v1/lookup/phone/{SAFE_NUMBER}", headers=api.as_("public")).json()
    assert blocked["label"] == "high_risk" and blocked["label_text"] == "高风险 · 疑似诈骗"
    d = api.client.post(
        "/v1/decide/call", json={"caller": SAFE_NUMBER, "callee": VICTIM_NUMBER}, headers=api.as_("telecom")
    ).json()
    assert d["outcome"] == "block" and d["versions"]["lists"].startswith("ops:2@")
    d = api.client.post(
        "/v1/decide/call", json={"caller": "95588", "callee": VICTIM_NUMBER}, headers=api.as_("telecom")
    ).json()
    assert d["outcome"] == "proceed" and d["reasons"][0]["code"] == "CALLER_VERIFIED"


def test_phone_cards_self_is_masked_and_police_sees_full(api) -> None:
    mine = api.client.get("/v1/me/phone-cards", headers=api.as_("public")).json()
    assert mine["count"] == 2 and mine["id_number"] == "110105********002X"
    assert {c["number"] for c in mine["cards"]} == {"139****1234", "139****5678"}
    police = api.client.get(f"/v1/phone-cards/{PUBLIC_ID.lower()}", headers=api.as_("police")).json()
    assert {c["number"] for c in police["cards"]} == {VICTIM_NUMBER, "13900005678"}


def test_public_rate_limit(settings) -> None:
    gen = make_api(settings, public_burst=3, public_rate=0.01)
    api = next(gen)
    codes = [
        api.client.get(f"/v1/lookup/phone/{SAFE_NUMBER}", headers=api.as_("public")).status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    r = api.client.get(f"/v1/lookup/phone/{SAFE_NUMBER}", headers=api.as_("public"))
    assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["message"]
    assert api.client.get(f"/v1/lookup/phone/{SAFE_NUMBER}", headers=api.as_("bank")).status_code == 200
    gen.close()


def test_bad_inputs_are_clear_4xx(api) -> None:
    h = api.as_("bank")
    base = {"payer": VICTIM_ACCOUNT, "payee": RISKY_ACCOUNT, "amount_fen": 100, "channel": "mobile"}
    cases = [
        ({**base, "amount_fen": 12.5}, "amount_fen"),
        ({**base, "amount_fen": -1}, "amount_fen"),
        ({**base, "payer": "62x2"}, "payer"),
        ({**base, "channel": "pigeon"}, "channel"),
        ({**base, "at": "yesterday"}, "at"),
        ({**base, "at": "1970-01-01T00:00:00Z"}, "at"),
        ({**base, "extra": 1}, "extra"),
        ({k: v for k, v in base.items() if k != "payee"}, "payee"),
    ]
    for body, field in cases:
        r = api.client.post("/v1/decide/payment", json=body, headers=h)
        assert r.status_code == 422, (body, r.text)
        assert field in r.json()["message"], r.json()
    r = api.client.post(
        "/v1/decide/payment", content=b"{not json", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code == 422
    r = api.client.get("/v1/lookup/phone/12ab", headers=h)
    assert r.status_code == 422 and "phone number '12ab'" in r.json()["message"]
    assert api.client.get("/v1/rules/nothing", headers=api.as_("police")).status_code == 422
    assert (
        api.client.put("/v1/rules/draft", json={"version": "x"}, headers=api.as_("police")).status_code == 422
    )


def test_warn_creates_warning_task_and_decisions_are_audited(api) -> None:
    # an elevated (orange) caller warns the callee: a warning task lands in the operational store
    from fanzha.decide.state import RiskScore

    api.service.state.scores.numbers["17100002222"] = RiskScore(0.75, "orange")
    now = datetime.now(UTC).isoformat()
    d = api.client.post(
        "/v1/decide/call",
        json={"caller": "17100002222", "callee": VICTIM_NUMBER, "at": now},
        headers=api.as_("telecom"),
    ).json()
    assert d["outcome"] == "warn"
    api.service.flush()
    with api.service.ops.store.transaction() as s:
        tasks = list(s.execute(select(WarningTask)).scalars())
    assert len(tasks) == 1 and tasks[0].person_id == PUBLIC_ID and tasks[0].phone == VICTIM_NUMBER
    rows = api.client.get("/v1/audit", params={"action": "decide.call"}, headers=api.as_("procurator")).json()
    assert rows and rows[0]["detail"]["count"] == 1 and rows[0]["role"] == "telecom"
    denied = api.client.post(
        "/v1/decide/call", json={"caller": SAFE_NUMBER, "callee": VICTIM_NUMBER}, headers=api.as_("public")
    )
    assert denied.status_code == 403
    rows = api.client.get("/v1/audit", params={"action": "denied"}, headers=api.as_("police")).json()
    assert rows[0]["subject_id"] == "/v1/decide/call" and rows[0]["role"] == "public"


def test_shadow_mode_over_http(api) -> None:
    h = api.as_("police")
    doc = api.client.get("/v1/rules/live", headers=h).json()["document"]
    doc["version"] = "draft-strict"
    doc["bands"]["warn"] = 0.0001  # draft warns on everything that fires any rule
    assert api.client.put("/v1/rules/draft", json=doc, headers=h).status_code == 200
    body = {
        "payer": VICTIM_ACCOUNT,
        "payee": "6222000000000005555",
        "amount_fen": 10_000_000,
        "channel": "online",
    }
    r = api.client.post("/v1/decide/payment", json=body, headers=api.as_("bank")).json()
    assert r["outcome"] == "warn"
    shadow = api.client.get("/v1/rules/shadow", headers=api.as_("procurator")).json()
    assert shadow["draft"].startswith("draft-strict#") and shadow["decisions"] == 1
    assert api.client.delete("/v1/rules/draft", headers=h).status_code == 204
    assert api.client.get("/v1/rules/draft", headers=h).status_code == 404


def test_bank_sees_only_its_own_commands_and_posts_receipts(api) -> None:
    from fanzha.ops import fundcontrol
    from fanzha.ops.audit import Actor

    police = Actor("officer", "police", "case 1")
    store = api.service.ops.store
    for cid, account, bank in (("c-icbc", VICTIM_ACCOUNT, "ICBC"), ("c-abc", RISKY_ACCOUNT, "ABC")):
        fundcontrol.issue_command(
            store,
            police,
            command_id=cid,
            kind="stop_payment",
            account=account,
            bank=bank,
            amount_fen=5000,
            reason="victim report",
        )
        fundcontrol.send(store, cid, police)
    mine = api.client.get("/v1/fund-control/commands", headers=api.as_("bank")).json()
    assert [c["id"] for c in mine] == ["c-icbc"]
    assert {
        c["id"] for c in api.client.get("/v1/fund-control/commands", headers=api.as_("police")).json()
    } == {"c-icbc", "c-abc"}
    other = api.client.post(
        "/v1/fund-control/commands/c-abc/receipts",
        json={"receipt_id": "r1", "outcome": "acknowledged"},
        headers=api.as_("bank"),
    )
    assert other.status_code == 404
    ok = api.client.post(
        "/v1/fund-control/commands/c-icbc/receipts",
        json={"receipt_id": "r1", "outcome": "acknowledged"},
        headers=api.as_("bank"),
    )
    assert ok.status_code == 200 and ok.json()["status"] == "acknowledged"
    moved = {
        "receipt_id": "r2",
        "outcome": "partial",
        "held_fen": 1000,
        "moved_on_fen": 4000,
        "next_hops": [{"account": "6222 0000 0000 0077 777", "bank": "CCB", "amount_fen": 4000}],
    }
    r = api.client.post("/v1/fund-control/commands/c-icbc/receipts", json=moved, headers=api.as_("bank"))
    assert r.status_code == 200 and r.json()["status"] == "partial" and r.json()["held_fen"] == 1000
    bad = {**moved, "receipt_id": "r3", "next_hops": [{"account": "x", "amount_fen": 1}]}
    assert (
        api.client.post(
            "/v1/fund-control/commands/c-icbc/receipts", json=bad, headers=api.as_("bank")
        ).status_code
        == 422
    )


def test_tips_interceptions_and_batches(api) -> None:
    r = api.client.post(
        "/v1/tips",
        json={"identifier_kind": "phone", "identifier": "+86 171 0000 1111", "text": "冒充客服"},
        headers=api.as_("public"),
    )
    assert r.status_code == 201 and r.json()["identifier"] == RISKY_NUMBER
    api.service.flush()
    assert api.service.counters["tips_landed"] == 1  # landed in the lake through fanzha.ingest
    assert (
        api.client.post(
            "/v1/tips", json={"identifier_kind": "account", "identifier": "abc"}, headers=api.as_("public")
        ).status_code
        == 422
    )
    r = api.client.post(
        "/v1/interceptions",
        json={
            "number": RISKY_NUMBER,
            "action": "call_blocked",
            "at": datetime.now(UTC).isoformat(),
            "count": 12,
        },
        headers=api.as_("telecom"),
    )
    assert r.status_code == 202
    pay = {"payer": VICTIM_ACCOUNT, "payee": RISKY_ACCOUNT, "amount_fen": 100, "channel": "mobile"}
    out = api.client.post("/v1/decide/payments", json=[pay] * 3, headers=api.as_("bank")).json()
    assert [d["outcome"] for d in out] == ["delay", "delay", "delay"]
    assert (
        api.client.post("/v1/decide/payments", json=[pay] * 1001, headers=api.as_("bank")).status_code == 422
    )


def test_bank_ingests_a_csv_batch_over_http(api) -> None:
    csv = (
        "transfer_id,from_account,to_account,amount_fen,at,channel\n"
        f"t1,{VICTIM_ACCOUNT},{RISKY_ACCOUNT},50000,2026-01-05 10:00:00,mobile\n"
        f"t2,{VICTIM_ACCOUNT},{VICTIM_ACCOUNT},100,2026-01-05 10:01:00,mobile\n"
    ).encode()
    r = api.client.post(
        "/v1/ingest/transfers", content=csv, headers={**api.as_("bank"), "content-type": "text/csv"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows_read"], body["landed"], body["rejected"]) == (2, 1, 1)
    assert "from_account equals to_account" in body["rejections"][0]["reason"]
    r = api.client.post(
        "/v1/ingest/calls", content=csv, headers={**api.as_("bank"), "content-type": "text/csv"}
    )
    assert r.status_code == 403 and "may ingest" in r.json()["message"]


def test_operators_send_top_ups_and_data_usage_banks_send_logins(api) -> None:
    topups = (
        b"topup_id,number,amount_fen,at,channel,payer_account\nu1,13800138000,5000,2026-01-05 10:00:00,app,\n"
    )
    usage = b"number,start_at,kb\n13800138000,2026-01-05,2048\n13800138001,2026-01-05,-1\n"
    logins = b"account,at,imei,ip\n6222020000000001,2026-01-05 10:00:00,,10.0.0.1\n"
    for kind, body, party, landed in (
        ("topups", topups, "telecom", 1),
        ("data_usage", usage, "telecom", 1),
        ("logins", logins, "bank", 1),
    ):
        headers = {"content-type": "text/csv"}
        r = api.client.post(f"/v1/ingest/{kind}", content=body, headers={**api.as_(party), **headers})
        assert r.status_code == 200 and r.json()["landed"] == landed, r.text
        other = "bank" if party == "telecom" else "telecom"
        r = api.client.post(f"/v1/ingest/{kind}", content=body, headers={**api.as_(other), **headers})
        assert r.status_code == 403, r.text
    r = api.client.post(
        "/v1/ingest/data_usage", content=usage, headers={**api.as_("telecom"), "content-type": "text/csv"}
    )
    assert any("kb -1 is negative" in x["reason"] for x in r.json()["rejections"])


def test_outer_fast_path_wrapper_serves_decisions_and_passes_the_rest(api) -> None:
    from fastapi.testclient import TestClient

    from fanzha.api.fastpath import OuterFastDecisions

    outer = TestClient(OuterFastDecisions(api.client.app), raise_server_exceptions=False)
    body = {"payer": VICTIM_ACCOUNT, "payee": RISKY_ACCOUNT, "amount_fen": 100, "channel": "mobile"}
    r = outer.post("/v1/decide/payment", json=body, headers=api.as_("bank"))
    assert r.status_code == 200 and r.json()["outcome"] == "delay"
    assert (
        outer.post("/v1/decide/payment", json={**body, "amount_fen": 0}, headers=api.as_("bank")).status_code
        == 422
    )
    assert outer.post("/v1/decide/payment", json=body, headers=api.as_("public")).status_code == 403
    assert (
        outer.get(f"/v1/lookup/phone/{SAFE_NUMBER}", headers=api.as_("public")).json()["label"] == "no_record"
    )


def test_malformed_rule_sets_are_422_not_500(api) -> None:
    h = api.as_("police")
    for doc in (
        {"version": "x", "bands": "x", "rules": [], "delay_tiers": []},
        {"version": 1, "bands": {}, "rules": 5, "delay_tiers": [{"name": "T1", "minutes": "soon"}]},
        [],
    ):
        r = api.client.put("/v1/rules/draft", json=doc, headers=h)
        assert r.status_code == 422, r.text


def test_a_low_scores_lowering_reasons_are_not_its_top_reason(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A score below every tier explains itself by what lowers it (weight < 0); the lookup showed the
    strongest of those as "top reason of the risk score" of a 0.000 account."""
    import json

    import pandas as pd

    from fanzha.decide.sources import read_score_file
    from fanzha.risk.publish import publish_scores
    from fanzha.settings import Settings

    up = {"code": "FAN_IN", "message": "receives from 40 different accounts", "value": 40, "weight": 2.1}
    down = {"code": "LOGINS", "message": "0 logins — lowers the score", "value": 0, "weight": -1.5}
    scores = pd.DataFrame(
        {
            "id": ["high", "low", "mixed", "plain"],
            "probability": [0.97, 0.0, 0.6, 0.8],
            "tier": ["red", "none", "yellow", "orange"],
            "reasons": [[up, down], [down], [down, up], [{"code": "X", "message": "no weight"}]],
        }
    )
    path = publish_scores(scores, "accounts", Settings(home=tmp_path))
    read = read_score_file(path)
    assert [read[i].top_reason for i in ("high", "low", "mixed", "plain")] == ["FAN_IN", "", "FAN_IN", "X"]
    assert json.loads(pd.read_parquet(path)["reasons"][1])[0]["weight"] < 0  # still published in full
