"""A URL with a backslash before '@' goes where a browser goes: browsers (WHATWG URL standard) read
'\\' as '/' in http(s) URLs, so http://scam.example\\@bank.example/ opens scam.example — the list check
answered for bank.example (an allowed host: 'allow' for a phishing link)."""

from __future__ import annotations

from fanzha.ops import lists as L
from fanzha.ops.audit import Actor
from fanzha.ops.store import Store


def test_backslash_trick_is_checked_against_the_host_a_browser_opens(store: Store, actor: Actor) -> None:
    L.add_entry(
        store,
        actor,
        kind="host",
        value="scam.example",
        action="block",
        reason="kit",
        source="t",
        match="suffix",
    )
    L.add_entry(
        store,
        actor,
        kind="host",
        value="icbc.com.cn",
        action="allow",
        reason="bank",
        source="t",
        match="suffix",
    )
    for url in ("http://scam.example\\@icbc.com.cn/", "https://pay.scam.example\\\\@www.icbc.com.cn/login"):
        verdict = L.check(store, actor, "url", url)
        assert verdict.action == "block", (url, verdict)
    # an ordinary user@host URL is unchanged: the host is after the '@'
    assert L.check(store, actor, "url", "http://user@scam.example/").action == "block"
