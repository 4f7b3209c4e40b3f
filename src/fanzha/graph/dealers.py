"""Card dealers (卡头 / 卡商) behind card farmers (卡农): the "two cards" (两卡) pattern.

A dealer has many people open phone cards and bank accounts for him, usually with his own handset
(same activation IMEI), from his network (same opening IP), or in a batch at one outlet / branch
(a time burst), and then sells them on to gangs. So:

1. *clusters*: cards and accounts grouped by activation device, by opening IP, by outlet or
   branch within a time bucket (``burst_minutes``), and phone cards of other people topped up from
   one account (``same_payer``); a cluster is suspicious when it spans at least
   ``min_owners`` different owners and at least ``min_fraud_items`` of its items were later used by
   fraud (named in a case, or given as known fraud items: traced mule accounts, flagged numbers);
2. *organiser*: for each suspicious cluster the people who point at the dealer rather than the
   farmers: the person whose own SIM made calls / SMS from the activation device (``device_user``),
   and the person whose accounts paid several of the cluster's owners around the opening dates
   (``pays_farmers``, the card fee: from a day before the first to a week after the last opening;
   only into the farmers' older own accounts (opened before the batch), not the sold ones, which
   victims pay once they are mules; farmers of any suspicious cluster, victims of reported cases and
   anyone who paid an account used by fraud — an unreported victim — are never payer candidates),
   and the person whose accounts topped up several of the cluster's phone cards (``tops_up_cards``:
   a dealer keeps the cards he sells alive, 养卡; farmers of any suspicious cluster are excluded).
   Farmers themselves are excluded as organisers unless the evidence is overwhelming (they own
   items in the cluster *and* are its device user).

Every flagged organiser carries its reasons (code, message, value).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fanzha.engine.base import Engine
from fanzha.errors import ConfigError


@dataclass
class DealerConfig:
    min_owners: int = 3  # distinct owners in one cluster
    min_fraud_items: int = 1  # cluster items later used by fraud
    burst_minutes: int = 120  # outlet / branch time bucket
    min_paid_farmers: int = 2  # a payer must pay at least this many farmers
    min_score: float = 1.0

    def __post_init__(self) -> None:
        if self.min_owners < 2 or self.burst_minutes < 1:
            raise ConfigError("min_owners must be ≥ 2 and burst_minutes ≥ 1")


def _items_sql(engine: Engine) -> str:
    parts = []
    if engine.has_table("phone_cards"):
        parts.append(
            "SELECT 'phone:' || number AS item, owner_id, opened_at, outlet AS place, open_imei AS device, "
            "NULL::VARCHAR AS ip FROM phone_cards WHERE owner_id IS NOT NULL"
        )
    if engine.has_table("accounts"):
        parts.append(
            "SELECT 'account:' || account_no AS item, owner_id, opened_at, branch AS place, open_imei AS device, "
            "open_ip AS ip FROM accounts "
            "WHERE owner_id IS NOT NULL AND account_type = 'personal'"
        )
    if not parts:
        raise ConfigError("card-dealer detection needs table phone_cards or accounts")
    return " UNION ALL ".join(parts)


def _fraud_items_sql(engine: Engine) -> str:
    parts = ["SELECT item FROM __fraud_items"]
    if engine.has_table("cases"):
        # unnest in a projection of its own: Spark runs no generator inside an expression
        parts.append("SELECT 'phone:' || x FROM (SELECT unnest(suspect_phones) AS x FROM cases)")
        parts.append("SELECT 'account:' || x FROM (SELECT unnest(suspect_accounts) AS x FROM cases)")
    return " UNION ".join(parts)


def _payer_clusters_sql(engine: Engine) -> str:
    """Phone cards of other people topped up from one account (养卡): a cluster per paying account."""
    if not (engine.has_table("topups") and engine.has_table("accounts") and engine.has_table("phone_cards")):
        return ""
    return """UNION ALL
               SELECT 'payer:' || t.payer_account, 'same_payer', items.*
               FROM items JOIN (SELECT DISTINCT number, payer_account FROM topups
                                WHERE payer_account IS NOT NULL) t ON items.item = 'phone:' || t.number
               JOIN accounts pa ON pa.account_no = t.payer_account
               WHERE pa.owner_id IS DISTINCT FROM items.owner_id"""


def find_clusters(engine: Engine, config: DealerConfig, fraud_items: list[str] | None = None) -> pd.DataFrame:
    """Suspicious opening clusters: ``cluster, signal, n_owners, n_items, n_fraud_items, owners, items``."""
    engine.register("__fraud_items", pd.DataFrame({"item": list(fraud_items or [])}, dtype=object))
    burst = int(config.burst_minutes)
    engine.execute(f"CREATE OR REPLACE TEMP TABLE __fraud_all AS {_fraud_items_sql(engine)}")
    sql = f"""
        WITH items AS ({_items_sql(engine)}),
             fraud AS (SELECT item FROM __fraud_all),
             keyed AS (
               SELECT 'device:' || device AS cluster, 'same_device' AS signal, * FROM items WHERE device IS NOT NULL
               UNION ALL
               SELECT 'ip:' || ip, 'same_ip', * FROM items WHERE ip IS NOT NULL
               UNION ALL
               SELECT 'place:' || place || '@' || strftime(b, '%Y-%m-%d') || 'T' || strftime(b, '%H:%M'),
                      'place_burst', * EXCLUDE (b)
               -- the burst's bucket counted from the Unix epoch (the same buckets as DuckDB's
               -- time_bucket for the default 120 minutes, and plain SQL every engine runs)
               FROM (SELECT *, to_timestamp(floor(epoch(opened_at) / {60 * burst}) * {60 * burst}) AS b
                     FROM items WHERE place IS NOT NULL)
               {_payer_clusters_sql(engine)})
        SELECT cluster, signal, count(DISTINCT owner_id) AS n_owners, count(*) AS n_items,
               count(*) FILTER (WHERE item IN (SELECT item FROM fraud)) AS n_fraud_items,
               list(DISTINCT 'id:' || owner_id ORDER BY 'id:' || owner_id) AS owners, list(item ORDER BY item) AS items,
               min(opened_at) AS first_opened, max(opened_at) AS last_opened
        FROM keyed GROUP BY cluster, signal
        HAVING count(DISTINCT owner_id) >= {int(config.min_owners)}
           AND count(*) FILTER (WHERE item IN (SELECT item FROM fraud)) >= {int(config.min_fraud_items)}
        ORDER BY n_fraud_items DESC, n_owners DESC, cluster
    """
    return engine.frame(sql)


def _candidates(engine: Engine, clusters: pd.DataFrame, config: DealerConfig) -> pd.DataFrame:
    """Candidate organisers per cluster with the evidence that points at them."""
    members = clusters[["cluster", "owners"]].explode("owners").rename(columns={"owners": "farmer"})
    engine.register("__members", members)
    engine.register("__windows", clusters[["cluster", "first_opened", "last_opened", "items"]])
    parts = []
    device_clusters = clusters[clusters.signal == "same_device"]
    if (
        len(device_clusters)
        and engine.has_table("phone_cards")
        and (engine.has_table("calls") or engine.has_table("sms"))
    ):
        uses = []
        if engine.has_table("calls"):
            uses.append(
                "SELECT CASE WHEN direction = 'out' THEN caller ELSE callee END AS phone, imei FROM calls "
                "WHERE imei IS NOT NULL"
            )
        if engine.has_table("sms"):
            uses.append("SELECT sender, imei FROM sms WHERE imei IS NOT NULL")
        parts.append(
            f"""SELECT 'device:' || u.imei AS cluster, 'id:' || pc.owner_id AS person, 'device_user' AS code,
                       count(*)::DOUBLE AS value
                FROM ({" UNION ALL ".join(uses)}) u JOIN phone_cards pc ON pc.number = u.phone
                WHERE 'device:' || u.imei IN (SELECT cluster FROM __members) AND pc.owner_id IS NOT NULL
                GROUP BY ALL"""
        )
    if engine.has_table("transfers") and engine.has_table("accounts"):
        parts.append(
            f"""SELECT m.cluster, 'id:' || pa.owner_id AS person, 'pays_farmers' AS code,
                       count(DISTINCT m.farmer)::DOUBLE AS value
                FROM __members m
                JOIN accounts fa ON 'id:' || fa.owner_id = m.farmer
                JOIN transfers t ON t.to_account = fa.account_no
                JOIN accounts pa ON pa.account_no = t.from_account
                JOIN __windows w ON w.cluster = m.cluster
                WHERE pa.owner_id IS NOT NULL AND 'id:' || pa.owner_id <> m.farmer
                  AND pa.account_type = 'personal'
                  AND fa.opened_at < w.first_opened - INTERVAL 1 DAY
                  AND 'id:' || pa.owner_id NOT IN (SELECT farmer FROM __members)
                  AND pa.account_no NOT IN (SELECT p.from_account FROM transfers p
                                            WHERE 'account:' || p.to_account IN (SELECT item FROM __fraud_all))
                  AND t."at" BETWEEN w.first_opened - INTERVAL 1 DAY AND w.last_opened + INTERVAL 7 DAY
                  {"AND pa.owner_id NOT IN (SELECT victim_id FROM cases)" if engine.has_table("cases") else ""}
                GROUP BY ALL HAVING count(DISTINCT m.farmer) >= {int(config.min_paid_farmers)}"""
        )
    if engine.has_table("topups") and engine.has_table("accounts"):
        parts.append(
            f"""SELECT w.cluster, 'id:' || pa.owner_id AS person, 'tops_up_cards' AS code,
                       count(DISTINCT t.number)::DOUBLE AS value
                FROM (SELECT cluster, unnest(items) AS item FROM __windows) w
                JOIN topups t ON w.item = 'phone:' || t.number
                JOIN accounts pa ON pa.account_no = t.payer_account
                WHERE pa.owner_id IS NOT NULL
                  AND 'id:' || pa.owner_id NOT IN (SELECT farmer FROM __members)
                GROUP BY ALL HAVING count(DISTINCT t.number) >= {int(config.min_paid_farmers)}"""
        )
    if not parts:
        return pd.DataFrame(columns=["cluster", "person", "code", "value"])
    return engine.frame(" UNION ALL ".join(parts))


REASON_TEXT = {
    "device_user": "their own SIM used the device that activated the cluster's cards ({value:.0f} records)",
    "pays_farmers": "their accounts paid {value:.0f} of the cluster's card owners (card fee)",
    "tops_up_cards": "their accounts topped up {value:.0f} of the cluster's phone cards (养卡)",
}
KEY_RANK = {"device": 0, "ip": 1, "payer": 2, "place": 3}
DEALER_COLUMNS = [
    "dealer_id",
    "organiser",
    "resolved",
    "score",
    "reasons",
    "keys",
    "farmers",
    "n_items",
    "n_fraud_items",
    "items",
]


def _merge_clusters(clusters: pd.DataFrame) -> pd.Series:
    """Clusters that share an item belong to one dealer (his device, his IP, his outlet batches)."""
    from fanzha.graph.components import connected_components

    pairs = clusters[["cluster", "items"]].explode("items")
    ckeys, cidx = np.unique(pairs.cluster.to_numpy(str), return_inverse=True)
    ikeys, iidx = np.unique(pairs["items"].to_numpy(str), return_inverse=True)
    labels = connected_components(
        cidx.astype(np.int32), (iidx + len(ckeys)).astype(np.int32), len(ckeys) + len(ikeys)
    )
    return pd.Series(labels[: len(ckeys)], index=ckeys)


def _person_evidence(cand: pd.DataFrame, farmers: set[tuple[str, str]]) -> pd.DataFrame:
    """Scored (cluster, person, code, value, score) rows; a farmer of the cluster only as its device user."""
    if cand.empty:
        return cand.assign(score=[])
    own = [(c, p) in farmers for c, p in zip(cand.cluster, cand.person, strict=True)]
    cand = cand[~(pd.Series(own, index=cand.index) & (cand.code != "device_user"))].copy()
    weight = np.where(cand.code == "device_user", 2.0, 1.0)
    cand["score"] = weight * (1.0 + np.minimum(cand.value.to_numpy(float), 10.0) / 10.0)
    return cand


def find_dealers(
    engine: Engine, config: DealerConfig | None = None, fraud_items: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(dealers, clusters)``: one row per dealer (merged clusters) with the organiser it points at.

    ``organiser`` is a person (``id:…``, ``resolved`` true) when the records name one; otherwise the
    dealer's strongest key (his activation device, his IP, or his outlet batch) so that the farmers'
    cards are still grouped under the organiser rather than listed one farmer at a time.
    """
    config = config or DealerConfig()
    clusters = find_clusters(engine, config, fraud_items)
    if clusters.empty:  # the columns of a city with dealers (``group`` too)
        return pd.DataFrame(columns=DEALER_COLUMNS), clusters.assign(group=pd.Series([], dtype="int64"))
    clusters["group"] = clusters.cluster.map(_merge_clusters(clusters))
    farmers = clusters[["cluster", "owners"]].explode("owners")
    cand = _person_evidence(
        _candidates(engine, clusters, config), set(zip(farmers.cluster, farmers.owners, strict=True))
    )
    cand = cand.merge(clusters[["cluster", "group"]], on="cluster")
    rows = []
    for group, members in clusters.groupby("group", sort=False):
        # one piece of evidence once: merged clusters (a device batch and a payer's cards) see the
        # same top-ups or handset; per (person, code) the strongest reading counts, in a stable order
        evidence = (
            cand[cand.group == group]
            .sort_values(["person", "code", "score", "cluster"], ascending=[True, True, False, True])
            .drop_duplicates(["person", "code"])
        )
        per_person = evidence.groupby("person").score.sum().sort_values(ascending=False, kind="stable")
        keys = sorted(members.cluster, key=lambda k: (KEY_RANK.get(k.split(":", 1)[0], 9), k))
        resolved = bool(len(per_person)) and float(per_person.iloc[0]) >= config.min_score
        organiser = str(per_person.index[0]) if resolved else keys[0]
        reasons = [
            {
                "code": r.code,
                "message": REASON_TEXT[r.code].format(value=r.value),
                "value": float(r.value),
                "cluster": r.cluster,
            }
            for r in evidence[evidence.person == organiser].itertuples()
        ] + [
            {
                "code": m.signal,
                "message": f"{m.n_owners} owners opened {m.n_items} items at {m.cluster}, "
                f"{m.n_fraud_items} later used by fraud",
                "value": float(m.n_fraud_items),
                "cluster": m.cluster,
            }
            for m in members.sort_values("cluster").itertuples()
        ]
        owners = sorted(set().union(*members.owners.map(set)) - {organiser})
        items = set().union(*members["items"].map(set))
        rows.append(
            {
                "organiser": organiser,
                "resolved": resolved,
                "score": float(per_person.iloc[0]) if resolved else 0.0,
                "reasons": reasons,
                "keys": keys,
                "farmers": owners,
                "n_items": len(items),
                "items": sorted(items),
                "n_fraud_items": int(members.n_fraud_items.max()),
            }
        )
    dealers = pd.DataFrame(rows).sort_values(["n_fraud_items", "n_items"], ascending=False, ignore_index=True)
    dealers.insert(0, "dealer_id", [f"D{i + 1:04d}" for i in range(len(dealers))])
    return dealers[DEALER_COLUMNS], clusters
