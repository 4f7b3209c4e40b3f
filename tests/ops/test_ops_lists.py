"""Lists: precedence, host suffix match, expiry, removal, appeals, tw165 loading."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fanzha.errors import ConflictError, NotFoundError, StateError, ValidationError
from fanzha.ops import lists as L
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


def add(store: Store, actor: Actor, kind: str, value: str, action: str, **kw) -> L.ListEntry:
    kw.setdefault("now", T0)
    return L.add_entry(
        store,
        actor,
        kind=kind,
        value=value,
        action=action,
        reason=kw.pop("reason", "test"),
        source=kw.pop("source", "unit"),
        **kw,
    )


@pytest.mark.parametrize(
    ("actions", "expected", "fatal"),
    [
        ([], "none", False),
        (["warn"], "warn", False),
        (["block", "warn"], "block", False),
        (["block", "allow"], "allow", False),  # an allow override lifts an ordinary block
        (["warn", "allow"], "allow", False),
        (["fatal_block", "allow"], "block", True),  # … but never a fatal block
        (["fatal_block", "block", "allow", "warn"], "block", True),
    ],
)
def test_precedence(store: Store, actor: Actor, actions: list[str], expected: str, fatal: bool) -> None:
    for i, action in enumerate(actions):
        add(store, actor, "number", "13800138000", action, source=f"s{i}")
    verdict = L.check(store, actor, "number", "+86 138-0013-8000", now=T0)
    assert (verdict.action, verdict.fatal) == (expected, fatal)
    assert len(verdict.matched) == len(actions)
    if actions == ["fatal_block", "allow"]:
        assert verdict.reasons[-1]["code"] == "override_refused"


def test_host_suffix_and_url_matching(store: Store, actor: Actor) -> None:
    add(store, actor, "host", "scam.example", "block", match="suffix")
    add(store, actor, "host", "safe.scam.example", "allow")
    add(store, actor, "url", "https://ok.example/pay?id=1", "warn")
    assert L.check(store, actor, "host", "a.b.scam.example", now=T0).action == "block"
    assert L.check(store, actor, "host", "scam.example", now=T0).action == "block"
    assert L.check(store, actor, "host", "notscam.example", now=T0).action == "none"
    assert L.check(store, actor, "host", "safe.scam.example", now=T0).action == "allow"
    assert L.check(store, actor, "url", "HTTP://www.Scam.example/login", now=T0).action == "block"
    assert L.check(store, actor, "url", "https://ok.example/pay?id=1", now=T0).action == "warn"
    assert L.check(store, actor, "url", "https://ok.example/other", now=T0).action == "none"
    with pytest.raises(ValidationError, match="suffix match is for hosts"):
        add(store, actor, "number", "13800138000", "block", match="suffix")


def test_start_and_expiry(store: Store, actor: Actor) -> None:
    add(
        store,
        actor,
        "account",
        "6222020200112233445",
        "block",
        starts_at=T0 + timedelta(hours=1),
        expires_at=T0 + timedelta(days=1),
    )
    assert L.check(store, actor, "account", "6222 0202 0011 2233 445", now=T0).action == "none"
    assert (
        L.check(store, actor, "account", "6222020200112233445", now=T0 + timedelta(hours=2)).action == "block"
    )
    assert (
        L.check(store, actor, "account", "6222020200112233445", now=T0 + timedelta(days=2)).action == "none"
    )
    with pytest.raises(ValidationError, match="not after the start"):
        add(store, actor, "account", "6222020200112233446", "block", expires_at=T0 - timedelta(days=1))


def test_duplicates_removal_and_audit(store: Store, actor: Actor) -> None:
    a = add(store, actor, "device", "86-123456-789012-7", "block")
    b = add(store, actor, "device", "861234567890127", "block")
    assert a.id == b.id and a.value == "861234567890127"
    removed = L.remove_entry(store, actor, a.id, "owner proved the phone was stolen", now=T0)
    assert (removed.status, removed.removed_by) == ("removed", actor.name)
    assert L.check(store, actor, "device", "861234567890127", now=T0).action == "none"
    c = add(store, actor, "device", "861234567890127", "block")  # can be listed again afterwards
    assert c.id != a.id
    with pytest.raises(NotFoundError):
        L.remove_entry(store, actor, "l_nope", "x")
    with pytest.raises(ValidationError):
        add(store, actor, "device", "123", "block")


def test_appeal_upheld_removes_even_a_fatal_block(store: Store, actor: Actor) -> None:
    entry = add(store, actor, "number", "13800138000", "fatal_block")
    item = L.appeal(store, actor, entry.id, appellant="张三", reason="号码已实名且本人使用", now=T0)
    assert item.status == "open"
    decided = L.decide_appeal(store, actor, item.id, uphold=True, note="核实为正常用户", now=T0)
    assert decided.status == "upheld"
    assert L.check(store, actor, "number", "13800138000", now=T0).action == "none"
    with pytest.raises(StateError, match="already decided"):
        L.decide_appeal(store, actor, item.id, uphold=False, note="x")
    with pytest.raises(StateError, match="nothing to appeal"):
        L.appeal(store, actor, entry.id, appellant="张三", reason="again")


def test_rejected_appeal_keeps_the_entry(store: Store, actor: Actor) -> None:
    entry = add(store, actor, "number", "13800138000", "block")
    item = L.appeal(store, actor, entry.id, appellant="李四", reason="误判", now=T0)
    L.decide_appeal(store, actor, item.id, uphold=False, note="多次涉诈", now=T0)
    assert L.check(store, actor, "number", "13800138000", now=T0).action == "block"


def test_one_open_appeal_per_entry(store: Store, actor: Actor) -> None:
    """Found by QA: a second appeal on an entry was filed while the first was open, and both could
    be upheld; the second is refused until the first is decided, then may be filed again."""
    entry = add(store, actor, "number", "13800138000", "block")
    first = L.appeal(store, actor, entry.id, appellant="李四", reason="误判", now=T0)
    with pytest.raises(ConflictError, match=f"already has an open appeal {first.id}"):
        L.appeal(store, actor, entry.id, appellant="李四", reason="再次申诉", now=T0)
    L.decide_appeal(store, actor, first.id, uphold=False, note="多次涉诈", now=T0)
    second = L.appeal(store, actor, entry.id, appellant="李四", reason="补充材料", now=T0)
    assert second.status == "open" and second.id != first.id


def _tiny_tw165(folder: Path) -> Path:
    folder.mkdir()
    (folder / "tw165_blacklisted_phones.csv").write_text("phone\n+886912345678\n+165\n+886912345678\n")
    (folder / "tw165_blacklisted_bank_accounts.csv").write_text(
        "account,fraud_type,swift_bic\n0000111148821,假投資,X\n000290555,其他,Y\n"
    )
    (folder / "tw165_scam_websites_train.csv").write_text(
        "site_name,url,host,report_count\nA,www.fake-invest.tw,www.fake-invest.tw,1\n"
    )
    (folder / "allowlist_adguard.txt").write_text("! comment\n@@||moptt.tw^\n@@||example.org^$important\n")
    return folder


def test_load_tw165_example_source(store: Store, actor: Actor, tmp_path: Path) -> None:
    reports = L.load_tw165(store, actor, _tiny_tw165(tmp_path / "tw165"), now=T0)
    got = {r.file: (r.read, r.added, r.already, r.rejected) for r in reports}
    assert got == {
        "tw165_blacklisted_phones.csv": (3, 1, 1, 1),
        "tw165_blacklisted_bank_accounts.csv": (2, 1, 0, 1),
        "tw165_scam_websites_train.csv": (1, 1, 0, 0),
        "allowlist_adguard.txt": (2, 2, 0, 0),
    }
    assert L.check(store, actor, "number", "+886912345678", now=T0).action == "block"
    assert L.check(store, actor, "host", "m.moptt.tw", now=T0).action == "allow"
    again = L.load_tw165(store, actor, tmp_path / "tw165", now=T0)
    assert sum(r.added for r in again) == 0  # loading twice adds nothing


def test_load_tw165_missing_folder(store: Store, actor: Actor, tmp_path: Path) -> None:
    from fanzha.errors import InputFileError

    with pytest.raises(InputFileError, match="missing"):
        L.load_tw165(store, actor, tmp_path / "nope")


@pytest.mark.shared_data
def test_load_real_tw165(shared_data: Path, tmp_path: Path, actor: Actor) -> None:
    from fanzha.ops.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'ops.db'}")
    reports = L.load_tw165(store, actor, shared_data / "tw165", now=T0)
    assert all(r.read == r.added + r.already + r.rejected for r in reports)
    assert sum(r.added for r in reports) > 20_000
    assert L.check(store, actor, "host", "www.0xboost.finance", now=T0).action == "block"
    store.close()
