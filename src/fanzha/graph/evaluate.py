"""Measure linking, tracing and card-dealer detection against the simulator's ground truth.

Truth layout: docs/interfaces.md (``<sim>/truth/*.parquet``). Definitions:

* linking: over reported cases whose episode has a gang, a pair of cases is *true* iff both have the
  same ``gang_id``; a pair is *predicted* iff both fall in one linked group. Pairwise precision and
  recall.
* tracing (the money of the victim's *reported* episodes: a later episode that no case reports is
  not the case's to trace): per victim, *located* money = Σ over accounts min(traced held, true held) + Σ over
  cash-out records min(traced, true amount) (true cash-outs: ``money_paths`` rows of withdrawals and
  of transfers whose truth step is ``cashout_otc`` / ``cashout_gold``); share = located / money the
  victim paid (hop 0). Reported: the share of victims with ≥ 95 % located, and the overall share;
  ``*_by_place`` counts cash-outs per victim in total (whichever withdrawal / OTC transfer carried
  them), since which of a mule's withdrawals took which victim's money is an attribution choice.
  Candidate freeze targets (``TraceResult.candidates``): coverage of the misplaced money and
  precision, defined in docs/graph.md ("Measuring candidates").
* dealers: an organiser found as a person is right iff the truth role of that ID is ``card_dealer``;
  a dealer found by its key (device / IP / outlet batch) is right iff ≥ 80 % of its cards' and
  accounts' truth
  ``organiser`` is one card dealer (purity). Farmers: precision of the listed farmers against role
  ``card_farmer``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fanzha.errors import NotFoundError
from fanzha.graph.linking import LinkResult, pairs_in_groups
from fanzha.graph.trace import TraceResult

NAN = float("nan")  # a share of nothing: not defined

NA = float("nan")  # a share or rate of nothing: n/a, not a vacuous 1.0


@dataclass
class Truth:
    entities: pd.DataFrame
    episodes: pd.DataFrame
    money_paths: pd.DataFrame
    held: pd.DataFrame
    transfers: pd.DataFrame
    # every outflow of the records (account, amount_fen, at, fraud): for the "traceable" share
    outflows: pd.DataFrame | None = field(default=None)

    @classmethod
    def load(cls, sim_dir: str | Path) -> Truth:
        root = Path(sim_dir) / "truth"
        if not root.is_dir():
            raise NotFoundError(
                f"{root} is missing: evaluation needs a simulator output with its truth/ folder"
            )
        names = ("entities", "episodes", "money_paths", "held", "transfers")
        missing = [f"{n}.parquet" for n in names if not (root / f"{n}.parquet").is_file()]
        if missing:
            raise NotFoundError(
                f"{root}/{missing[0]} is missing{f' (and {missing[1:]})' if len(missing) > 1 else ''}: "
                "evaluation needs a complete simulator truth/ folder"
            )
        read = lambda name: pd.read_parquet(root / f"{name}.parquet")  # noqa: E731
        truth = cls(read("entities"), read("episodes"), read("money_paths"), read("held"), read("transfers"))
        truth.outflows = _outflows(Path(sim_dir), truth)
        return truth


def _outflows(sim_dir: Path, truth: Truth) -> pd.DataFrame | None:
    """All transfers and withdrawals out of accounts, flagged ``fraud`` when a money path uses them."""
    parts = []
    fraud_ids = set(truth.money_paths.record_id)
    for kind, cols in (
        ("transfers", ["transfer_id", "from_account"]),
        ("withdrawals", ["withdrawal_id", "account"]),
    ):
        folder = sim_dir / kind
        if not folder.is_dir():
            continue
        frame = pd.read_parquet(folder, columns=[*cols, "amount_fen", "at"])
        frame.columns = ["record_id", "account", "amount_fen", "at"]
        parts.append(frame)
    if not parts:
        return None
    out = pd.concat(parts, ignore_index=True)
    out["fraud"] = out.record_id.isin(fraud_ids)
    return out


def linking_metrics(result: LinkResult, truth: Truth) -> dict[str, float]:
    eps = truth.episodes.dropna(subset=["case_id", "gang_id"])
    known = set(eps.case_id)
    cases = result.cases[result.cases.case_id.isin(known)]
    predicted = pairs_in_groups(zip(cases.case_id, cases.group_id, strict=True))
    actual = pairs_in_groups(zip(eps.case_id, eps.gang_id, strict=True))
    hit = len(predicted & actual)
    return {
        "cases": len(cases),
        "true_pairs": len(actual),
        "predicted_pairs": len(predicted),
        "precision": hit / len(predicted) if predicted else NA,
        "recall": hit / len(actual) if actual else NA,
    }


def gang_metrics(members: pd.DataFrame, truth: Truth) -> dict[str, float]:
    """Pairwise precision / recall of the communities' cases against the true gangs."""
    eps = truth.episodes.dropna(subset=["case_id", "gang_id"])
    cases = members[members.node_type == "case"].assign(case_id=lambda d: d.node.str[5:])
    cases = cases[cases.case_id.isin(set(eps.case_id))]
    predicted = pairs_in_groups(zip(cases.case_id, cases.gang_id, strict=True))
    actual = pairs_in_groups(zip(eps.case_id, eps.gang_id, strict=True))
    hit = len(predicted & actual)
    return {
        "gangs": int(cases.gang_id.nunique()),
        "true_gangs": int(eps.gang_id.nunique()),
        "precision": hit / len(predicted) if predicted else NA,
        "recall": hit / len(actual) if actual else NA,
    }


@dataclass
class _Placed:
    """Where the truth and the trace put each victim's money (shared by the figures and the
    per-victim table)."""

    paths: pd.DataFrame
    paid: pd.Series
    held_truth: pd.Series
    held_ours: pd.Series
    cash_rows: pd.DataFrame
    located: pd.Series
    by_place: pd.Series


def _placed(result: TraceResult, truth: Truth, victims: list[str] | None) -> _Placed:
    paths, held_rows = truth.money_paths, truth.held
    if "case_id" in truth.episodes.columns:  # only the money of reported episodes is the cases' to trace
        reported = set(truth.episodes.loc[truth.episodes.case_id.notna(), "episode_id"])
        paths = paths[paths.episode_id.isin(reported)]
        held_rows = held_rows[held_rows.episode_id.isin(reported)]
    paid = paths[paths.hop == 0].groupby("victim_id").amount_fen.sum()
    if victims is not None:
        paid = paid[paid.index.isin(victims)]
    held_truth = held_rows.merge(truth.episodes[["episode_id", "victim_id"]], on="episode_id")
    held_truth = held_truth.groupby(["victim_id", "account"]).amount_fen.sum().rename("truth")
    held_ours = result.holdings.groupby(["victim_id", "account"]).amount_fen.sum().rename("ours")
    held = pd.concat([held_truth, held_ours], axis=1).fillna(0)
    steps = truth.transfers.set_index("transfer_id").step
    cash_rows = paths[
        (paths.record_kind == "withdrawal") | paths.record_id.map(steps).isin(["cashout_otc", "cashout_gold"])
    ]
    cash_truth = cash_rows.groupby(["victim_id", "record_id"]).amount_fen.sum().rename("truth")
    cash_ours = result.cashouts.groupby(["victim_id", "record_id"]).amount_fen.sum().rename("ours")
    cash = pd.concat([cash_truth, cash_ours], axis=1).fillna(0)
    held_min = held[["truth", "ours"]].min(axis=1).groupby(level=0).sum()
    located = held_min.add(cash[["truth", "ours"]].min(axis=1).groupby(level=0).sum(), fill_value=0)
    # by place: the cash-out total per victim, whichever withdrawal or OTC transfer carried it
    cash_total = cash.groupby(level=0).sum()
    by_place = held_min.add(cash_total.min(axis=1), fill_value=0)
    return _Placed(paths, paid, held_truth, held_ours, cash_rows, located, by_place)


def tracing_metrics(result: TraceResult, truth: Truth, victims: list[str] | None = None) -> dict[str, float]:
    placed = _placed(result, truth, victims)
    paths, paid, held_truth, held_ours = placed.paths, placed.paid, placed.held_truth, placed.held_ours
    cash_rows, located, by_place = placed.cash_rows, placed.located, placed.by_place
    out: dict[str, float] = {"victims": len(paid), "paid_fen": int(paid.sum())}
    # money the rule attributed by one of several combinations of parcels that fit (reported, not
    # left out of any share below)
    amb = result.ambiguous.groupby("victim_id").amount_fen.sum().reindex(paid.index).fillna(0)
    out["ambiguous_share"] = float(amb.sum() / paid.sum()) if paid.sum() else 0.0
    out["victims_with_ambiguous"] = int((amb > 0).sum())
    place_truth = pd.concat(
        [held_truth, cash_rows.groupby(["victim_id", "from_account"]).amount_fen.sum().rename("truth")]
    )
    place_ours = pd.concat(
        [held_ours, result.cashouts.groupby(["victim_id", "account"]).amount_fen.sum().rename("ours")]
    )
    out.update(_candidate_metrics(result.candidates, place_truth, place_ours, paths, held_truth, paid.index))
    for name, found in (("", located), ("_by_place", by_place)):
        found = found.reindex(paid.index).fillna(0)
        share = (found / paid).clip(upper=1.0)
        out[f"located_share{name}"] = float(found.sum() / paid.sum()) if paid.sum() else NA
        out[f"victims_ge_95{name}"] = float((share >= 0.95).mean()) if len(share) else NA
        out[f"min_share{name}"] = float(share.min()) if len(share) else NA
    if truth.outflows is not None:
        table = _traceable_table(truth, paid, by_place, held_truth)
        traceable, found, share = table.traceable_fen, table.located_fen, table.share
        out["undetermined_fen"] = int(table.undetermined_fen.sum())
        out["located_share_traceable"] = (
            float(found.clip(upper=traceable).sum() / traceable.sum()) if traceable.sum() else NA
        )
        out["victims_ge_95_traceable"] = float((share >= 0.95).mean()) if len(share) else NA
        out["min_share_traceable"] = float(share.min()) if len(share) else NA
    return out


def _traceable_table(
    truth: Truth, paid: pd.Series, by_place: pd.Series, held_truth: pd.Series
) -> pd.DataFrame:
    """Per victim: paid, undetermined, traceable and located fen (by place) and the located share
    of the traceable money. "Traceable": without the money whose place the records do not
    determine — money the truth leaves in an account whose owner later spends from it (ordinary
    outflows after the money arrived: which fen they took is a convention, not a record)."""
    parked = _undetermined(truth, held_truth).reindex(paid.index).fillna(0)
    traceable = paid - parked
    found = by_place.reindex(paid.index).fillna(0)
    share = (found / traceable.where(traceable > 0)).clip(upper=1.0).fillna(1.0)
    fen = {"paid_fen": paid, "undetermined_fen": parked, "traceable_fen": traceable, "located_fen": found}
    return pd.DataFrame(
        {k: v.round().astype("int64") for k, v in fen.items()} | {"share": share}
    ).rename_axis("victim_id")


def victim_shares(result: TraceResult, truth: Truth, victims: list[str] | None = None) -> pd.DataFrame:
    """The per-victim table behind ``victims_ge_95_traceable`` (the issue's "≥ 95 % of the
    traceable money of each victim"): ``victim_id, paid_fen, undetermined_fen, traceable_fen,
    located_fen, share, ambiguous_fen``, lowest share first — the victims to look at.
    ``ambiguous_fen``: the victim's money the trace placed by a choice it reported as ambiguous
    (``result.ambiguous``: the records fit another reading as well; its candidates name the other
    account) — a shortfall there is a choice the records cannot settle, not a silent miss."""
    if truth.outflows is None:
        raise NotFoundError("the simulator output has no transfers/ or withdrawals/: no traceable share")
    placed = _placed(result, truth, victims)
    table = _traceable_table(truth, placed.paid, placed.by_place, placed.held_truth)
    amb = result.ambiguous.groupby("victim_id").amount_fen.sum()
    table["ambiguous_fen"] = amb.reindex(table.index).fillna(0).round().astype("int64")
    return table.reset_index().sort_values(["share", "victim_id"], kind="stable").reset_index(drop=True)


def _candidate_metrics(
    candidates: pd.DataFrame,
    place_truth: pd.Series,
    place_ours: pd.Series,
    paths: pd.DataFrame,
    held_truth: pd.Series,
    victims: pd.Index,
) -> dict[str, float]:
    """Coverage of the misplaced money and precision of the candidate freeze targets (冻结候选;
    definitions: docs/graph.md, "Measuring candidates"). Places are (victim, account) pairs."""

    def by_place(values: pd.Series) -> pd.Series:
        values = values[values.index.get_level_values(0).isin(victims)]
        return values.groupby(level=[0, 1]).sum().rename_axis(["victim_id", "account"])

    truth, ours = by_place(place_truth), by_place(place_ours)
    cand = candidates[candidates.victim_id.isin(victims)]
    listed = by_place(cand.set_index(["victim_id", "account"]).amount_fen.astype("int64"))
    table = pd.concat([truth.rename("truth"), ours.rename("ours"), listed.rename("listed")], axis=1)
    table = table.fillna(0)
    misplaced = (table.truth - table.ours).clip(lower=0)
    covered = pd.concat([misplaced, table.listed], axis=1).min(axis=1)
    per_victim = pd.concat(
        [misplaced.groupby(level=0).sum().rename("mis"), covered.groupby(level=0).sum().rename("hit")], axis=1
    )
    per_victim = per_victim[per_victim.mis > 0]
    passing = pd.concat(
        [
            paths[["victim_id", "from_account"]].set_axis(["victim_id", "account"], axis=1),
            paths[["victim_id", "to_account"]].set_axis(["victim_id", "account"], axis=1),
            held_truth.index.to_frame(index=False)[["victim_id", "account"]],
        ]
    ).dropna()
    right_keys = pd.MultiIndex.from_frame(passing.astype(str).drop_duplicates())
    keys = pd.MultiIndex.from_frame(cand[["victim_id", "account"]].astype(str))
    right = cand.amount_fen.to_numpy()[keys.isin(right_keys)].sum() if len(cand) else 0
    total = int(cand.amount_fen.sum())
    at_place = float(pd.concat([table.listed, table.truth], axis=1).min(axis=1).sum())
    rows = cand.groupby("victim_id").size()
    new = cand.new_place.to_numpy(dtype=bool)
    new_total = int(cand.amount_fen[new].sum())
    new_right = cand.amount_fen.to_numpy()[new & keys.isin(right_keys)].sum() if len(cand) else 0
    return {
        "victims_with_candidates": len(rows),
        "candidates_per_victim": float(rows.mean()) if len(rows) else 0.0,
        "candidates_fen": total,
        "misplaced_fen": int(misplaced.sum()),
        # shares of nothing are not defined: NaN ("n/a"), not a vacuous 1.0
        "candidates_coverage": float(covered.sum() / misplaced.sum()) if misplaced.sum() else NAN,
        "candidates_coverage_mean": float((per_victim.hit / per_victim.mis).mean())
        if len(per_victim)
        else NAN,
        "candidates_precision": float(right) / total if total else NAN,
        "candidates_precision_place": at_place / total if total else NAN,
        "candidates_new_place_fen": new_total,
        "candidates_precision_new_place": float(new_right) / new_total if new_total else NAN,
    }


def _undetermined(truth: Truth, held_truth: pd.Series) -> pd.Series:
    """Per victim: Σ over accounts holding the victim's money (truth) of min(held, ordinary
    outflows of that account after the victim's money first arrived there)."""
    assert truth.outflows is not None
    paths = truth.money_paths
    arrived = paths.groupby(["victim_id", "to_account"])["at"].min().rename("arrived")
    held = held_truth.reset_index().rename(columns={"truth": "held"})
    held = held.merge(
        arrived.rename_axis(["victim_id", "account"]).reset_index(), on=["victim_id", "account"]
    )
    ordinary = truth.outflows[~truth.outflows.fraud]
    ordinary = ordinary[ordinary.account.isin(set(held.account))]
    joined = held.merge(ordinary[["account", "amount_fen", "at"]], on="account")
    joined = joined[joined["at"] > joined["arrived"]]
    spent = joined.groupby(["victim_id", "account"]).amount_fen.sum()
    held = held.set_index(["victim_id", "account"])
    held["spent"] = spent.reindex(held.index).fillna(0)
    return held[["held", "spent"]].min(axis=1).groupby(level=0).sum()


def supervision_truth(name: str, truth: Truth | None) -> set[str] | None:
    """The keys a supervision model's clues should hit (ID numbers of card farmers, dealers and gang
    members) to measure its precision; None for ``cross_district_links`` (its clues are case groups)."""
    if truth is None or name == "cross_district_links":
        return None
    ent = truth.entities
    roles = {"card_farmer", "card_dealer", "gang_member"}
    return set(ent.loc[ent.role.isin(roles) & ent.entity.str.startswith("id:"), "entity"].str[3:])


def dealer_metrics(dealers: pd.DataFrame, truth: Truth) -> dict[str, float]:
    ent = truth.entities
    dealer_ids = set(ent.loc[ent.role == "card_dealer", "entity"])
    farmers_true = set(ent.loc[ent.role == "card_farmer", "entity"])
    organiser_of = ent.dropna(subset=["organiser"]).set_index("entity").organiser
    right = 0
    for row in dealers.to_dict("records"):
        if row["resolved"]:
            right += row["organiser"] in dealer_ids
            continue
        # unresolved: the items behind its keys should belong to one true organiser
        owners = pd.Series([organiser_of.get(f) for f in row["items"]]).dropna()
        right += bool(len(owners)) and owners.value_counts(normalize=True).iloc[0] >= 0.8
    listed = {f for fs in dealers.farmers for f in fs} if len(dealers) else set()
    found_dealers = set()
    for row in dealers.to_dict("records"):
        owners = pd.Series([organiser_of.get(f) for f in row["items"]]).dropna()
        if len(owners):
            found_dealers.add(owners.value_counts().index[0])
    return {
        "dealers_flagged": len(dealers),
        "dealer_precision": right / len(dealers) if len(dealers) else NA,
        "resolved_persons": int(dealers.resolved.sum()) if len(dealers) else 0,
        "true_dealers": len(dealer_ids),
        "dealer_recall": len(found_dealers & dealer_ids) / len(dealer_ids) if dealer_ids else NA,
        "farmer_precision": len(listed & farmers_true) / len(listed) if listed else NA,
        "farmer_recall": len(listed & farmers_true) / len(farmers_true) if farmers_true else NA,
    }
