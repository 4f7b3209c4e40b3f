"""Police case reports (报案) with Chinese narratives, public tips (举报), and the truth tables."""

from __future__ import annotations

import numpy as np

from fanzha.records.normalise import url_host
from fanzha.simulate.episodes import Episode, _own_accounts, local_date
from fanzha.simulate.population import POPULAR_DOMAINS, SERVICE_NUMBERS, SMS_SENDERS, Population
from fanzha.simulate.records import Rows
from fanzha.simulate.supply import Gang

PLATFORM_ZH = {
    "wechat": "微信",
    "qq": "QQ",
    "douyin": "抖音",
    "xianyu": "闲鱼",
    "game": "游戏",
    "taobao": "淘宝",
}


OPENINGS = (
    "{who}报称：",
    "{who}来所报案称：",
    "{who}到派出所报警，",
    "接{who}电话报警，",
    "{who}通过96110报警，",
)


def _who(rng: np.random.Generator, pop: Population, victim: int) -> str:
    """Opening of a police narrative: 事主王某（女，63岁，退休）…"""
    from fanzha.simulate.population import OCCUPATIONS

    name = pop.name[victim].as_py()
    gender = "男" if pop.male[victim] else "女"
    job = OCCUPATIONS[int(pop.occupation[victim])][0]
    who = (
        f"{rng.choice(['事主', '受害人', '报案人'])}{name[0]}某（{gender}，{int(pop.age[victim])}岁，{job}）"
    )
    return OPENINGS[int(rng.integers(len(OPENINGS)))].format(who=who)


def _traits_of(pop: Population, person: int) -> set[str]:
    from fanzha.simulate.population import OCCUPATIONS

    traits = set(OCCUPATIONS[int(pop.occupation[person])][1].split())
    if pop.age[person] >= 60:
        traits.add("elderly")
    if pop.marital[person] >= 2:
        traits.add("divorced")
    return traits


def write_case(
    rng: np.random.Generator, ep: Episode, pop: Population, rows: Rows, used_wallets: dict[str, int]
) -> None:
    """The case report of a reporting victim, naming the identifiers the victim knows.

    A wallet is named only when the gang's wallet really received USDT (it then exists in records).
    """
    t, gang = ep.typ, ep.gang
    assert ep.reported_at is not None
    phones = (
        [n for n in dict.fromkeys(ep.contact_numbers) if rng.random() < 0.9]
        if "phone" in t.suspect_known
        else []
    )
    urls = [ep.url] if ep.url and rng.random() < 0.7 else []
    live = [w for w in gang.wallets if w in used_wallets]
    wallets = live[:1] if live and "wallet" in t.suspect_known and rng.random() < 0.3 else []
    apps = [f"{ep.app[0]}:{ep.app[1]}"] if ep.app and rng.random() < 0.8 else []
    loss_yuan = ep.loss / 100
    traits = _traits_of(pop, ep.victim)
    stories = list(t.narratives) + [n for tr, ns in t.narratives_by_trait.items() if tr in traits for n in ns]
    text = t.render(
        stories[int(rng.integers(len(stories)))],
        rng,
        date=f"{local_date(ep.started).year}年{local_date(ep.started).month}月{local_date(ep.started).day}日",
        loss_yuan=f"{loss_yuan:.2f}".rstrip("0").rstrip("."),
        n_payments=len(ep.payments),
        url=ep.url or "",
    )
    for lead in ("报案人称", "受害人称"):
        text = text.removeprefix(lead)
    if text.startswith(("报案人", "受害人")):
        text = "其" + text[3:]
    text = _who(rng, pop, ep.victim) + text
    known = []
    if phones:
        known.append("对方联系电话" + "、".join(str(p) for p in phones))
    if ep.known_accounts:
        known.append("收款账户" + "、".join(str(a) for a in ep.known_accounts))
    if apps:
        known.append(
            f"对方{PLATFORM_ZH.get(ep.app[0], ep.app[0]) if ep.app else ''}账号{ep.app[1] if ep.app else ''}"
        )
    if wallets:
        known.append("USDT钱包地址" + wallets[0])
    if known:
        text += "报案人提供：" + "；".join(known) + "。"
    rows.add(
        "cases",
        case_id=ep.case_id,
        reported_at=ep.reported_at,
        victim_id=ep.victim,
        fraud_type=t.code,
        loss_fen=ep.loss,
        narrative=text,
        region=str(int(pop.region[ep.victim])),
        suspect_phones=[str(p) for p in phones],
        suspect_accounts=[str(a) for a in ep.known_accounts],
        paid_from=_paid_from(pop, ep),
        suspect_urls=urls,
        suspect_wallets=wallets,
        suspect_app_accounts=apps,
    )


def _paid_from(pop: Population, ep: Episode) -> list[str]:
    """The accounts the victim paid from that are not hers (a parent's card for a minor): the report
    names them (受害人转账账户), else no record ties those payments to her."""
    own = set(_own_accounts(pop, ep.victim))
    return sorted({str(p.frm) for p in ep.payments if p.frm and p.frm not in own})


def tips(
    rng: np.random.Generator, gangs: list[Gang], pop: Population, start_s: int, end_s: int, rows: Rows
) -> None:
    """Public tips: on fraud numbers and scam URLs, plus some mistaken ones on couriers' numbers."""
    seq = 0

    def tip(kind: str, identifier: str, text: str, at: int) -> None:
        nonlocal seq
        seq += 1
        reporter = int(pop.phone[int(rng.integers(pop.n))])
        rows.add(
            "tips",
            tip_id=f"TP{local_date(at):%Y%m%d}{seq:07d}",
            reported_at=at,
            reporter=str(reporter) if reporter else None,
            identifier_kind=kind,
            identifier=identifier,
            text=text,
        )

    for gang in gangs:
        for sim in gang.sims:
            lo, hi = max(sim.active_from, start_s), min(sim.active_to, end_s)
            if hi > lo and rng.random() < 0.25:
                tip(
                    "phone",
                    str(sim.number),
                    "接到自称客服的电话，要求转账，疑似诈骗",
                    int(rng.integers(lo, hi)),
                )
        for url in gang.urls:
            if rng.random() < 0.4:
                tip("url", url, "收到短信链接，网站要求充值，疑似诈骗平台", int(rng.integers(start_s, end_s)))
    couriers = np.flatnonzero(pop.occupation == 9)
    for _ in range(max(1, len(couriers) // 200)):
        if len(couriers):
            who = int(couriers[int(rng.integers(len(couriers)))])
            tip(
                "phone",
                str(int(pop.phone[who])),
                "陌生号码频繁来电，疑似骚扰",
                int(rng.integers(start_s, end_s)),
            )


def entities(
    gangs: list[Gang],
    episodes: list[Episode],
    pop: Population,
    first_used: dict[int, int],
    wallet_first: dict[str, int],
) -> Rows:
    """truth/entities: one row per (entity, role)."""
    out = Rows()
    ident = pop.id_number

    def add(
        entity: str,
        kind: str,
        role: str,
        gang: str | None = None,
        fraud_type: str | None = None,
        organiser: str | None = None,
        layer: int | None = None,
        first: int | None = None,
    ) -> None:
        out.add(
            "entities",
            entity=entity,
            entity_kind=kind,
            role=role,
            gang_id=gang,
            fraud_type=fraud_type,
            organiser=organiser,
            layer=layer,
            first_used_at=first,
        )

    seen_dealer: set[int] = set()
    for g in gangs:
        ftype = g.types[0]
        for d in g.dealers:
            if d not in seen_dealer:
                seen_dealer.add(d)
                add(f"id:{ident[d].as_py()}", "person", "card_dealer", g.gid)
        farmers: dict[int, int] = {}
        for sim in g.sims:
            farmers.setdefault(sim.farmer, sim.dealer)
            org = f"id:{ident[sim.dealer].as_py()}"
            add(f"phone:{sim.number}", "phone", "sim_farm_number", g.gid, ftype, org, None, sim.active_from)
        for dev in g.devices:
            add(f"device:{dev}", "device", "sim_farm_device", g.gid, ftype)
        for layer, accounts in g.layers.items():
            for a in accounts:
                farmer, dealer, _bank = g.account_owner[a]
                farmers.setdefault(farmer, dealer)
                add(
                    f"account:{a}",
                    "account",
                    "mule_account",
                    g.gid,
                    ftype,
                    f"id:{ident[dealer].as_py()}",
                    layer,
                    first_used.get(a),
                )
        placed = {a for accounts in g.layers.values() for a in accounts}
        for a, (farmer, dealer, _bank) in g.account_owner.items():
            if a not in placed:  # opened (or offered) for sale in the dealer's batch, not bought
                add(f"account:{a}", "account", "unsold_card", g.gid, None, f"id:{ident[dealer].as_py()}")
                farmers.setdefault(farmer, dealer)  # he opened it for sale all the same (卡农)
        for farmer, dealer in farmers.items():
            add(
                f"id:{ident[farmer].as_py()}",
                "person",
                "card_farmer",
                g.gid,
                None,
                f"id:{ident[dealer].as_py()}",
            )
        for c in g.cashiers:
            add(f"id:{ident[c].as_py()}", "person", "gang_member", g.gid)
        for platform, account_id, _phone, _farmer in g.apps:
            add(f"app:{platform}:{account_id}", "app_account", "scam_app_account", g.gid, ftype)
        for host in dict.fromkeys(url_host(u) for u in g.urls):
            add(f"url:{host}", "url", "scam_url", g.gid, ftype)
        for w in g.wallets:
            if w in wallet_first:  # a wallet never paid into appears in no record
                add(f"wallet:{w}", "wallet", "otc_wallet", g.gid, ftype, None, None, wallet_first[w])
    contacted: dict[int | str, tuple[str, str, int]] = {}
    for ep in episodes:
        add(
            f"id:{ident[ep.victim].as_py()}",
            "person",
            "victim",
            ep.gang.gid,
            ep.typ.code,
            None,
            None,
            ep.started,
        )
        for n in ep.contact_numbers:
            contacted.setdefault(n, (ep.gang.gid, ep.typ.code, ep.started))
    for n, (gid, code, at) in contacted.items():
        add(f"phone:{n}", "phone", "fraud_number", gid, code, None, None, at)
    for a in [*pop.otc_merchants.tolist(), *pop.gold_shops.tolist()]:
        add(f"account:{a}", "account", "cashout_merchant")
    for s in [*SERVICE_NUMBERS, *SMS_SENDERS]:
        add(f"phone:{s}", "phone", "hub_legit")
    couriers = np.flatnonzero(np.isin(pop.occupation, [9, 10]) & (pop.phone > 0))
    for c in couriers.tolist():
        add(f"phone:{int(pop.phone[c])}", "phone", "hub_legit")
    for a in [*pop.pooled.values()]:
        add(f"account:{a}", "account", "hub_legit")
    for h in POPULAR_DOMAINS:
        add(f"url:{h}", "url", "hub_legit")
    return out


def episode_rows(episodes: list[Episode], pop: Population) -> Rows:
    out = Rows()
    for ep in episodes:
        out.add(
            "episodes",
            episode_id=ep.eid,
            victim_id=pop.id_number[ep.victim].as_py(),
            fraud_type=ep.typ.code,
            gang_id=ep.gang.gid,
            contact_channel=ep.channel,
            started_at=ep.started,
            first_payment_at=ep.payments[0].at,
            loss_fen=ep.loss,
            reported=ep.case_id is not None,
            case_id=ep.case_id,
        )
    return out
