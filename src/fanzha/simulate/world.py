"""``simulate()``: one synthetic city, every party's records and the ground truth, streamed to disk.

Order of work: population → registrations (written in slices) → fraud supply chain → fraud
episodes and laundering (event level, kept in memory: they are few) → day by day, ordinary traffic
+ SIM-farm sweep + that day's fraud events, sorted by time and appended to the Parquet parts.
Every random stream is derived from ``(seed, stream, day)``, so the output does not depend on
chunk sizes or on anything but the parameters.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.errors import ConfigError, StateError
from fanzha.simulate import cases as case_mod
from fanzha.simulate import episodes as ep_mod
from fanzha.simulate import ids, static
from fanzha.simulate.launder import Launderer
from fanzha.simulate.population import DAY, Population, build_population, people_table
from fanzha.simulate.records import Rows
from fanzha.simulate.supply import PeoplePicker, build_gangs, card_upkeep, mule_logins
from fanzha.simulate.sweep import Sweep
from fanzha.simulate.traffic import Rates, Traffic
from fanzha.simulate.writer import Output
from fanzha.taxonomy.typologies import load_typologies

DEFAULT_START = date(2026, 9, 1)
TRUTH_COLS = pa.schema([("is_fraud", pa.bool_()), ("episode_id", pa.string()), ("gang_id", pa.string())])
STEP_COL = pa.schema([("step", pa.string())])


def _with_truth(kind: str) -> pa.Schema:
    from fanzha.simulate.writer import kind_schema

    return pa.schema(list(kind_schema(kind)) + list(TRUTH_COLS))


CALL_TRUTH = _with_truth("calls")
SMS_TRUTH = _with_truth("sms")


MAX_PEOPLE = 10_000_000  # memory grows with the population (arrays of every person, card, account)
MAX_FRAUD_RATE = 1000.0  # one episode per person a month: beyond it the gangs outnumber the city


@dataclass(frozen=True)
class SimConfig:
    people: int = 2000
    days: int = 14
    seed: int = 7
    start: date = DEFAULT_START
    fraud_rate: float = 25.0  # fraud episodes per 1,000 people per 30 days
    sweep_share: float = 0.03  # SIM-farm calls as a share of ordinary calls
    rows_per_part: int = 2_000_000
    people_chunk: int = 200_000

    def validate(self) -> None:
        if self.people < 200:
            raise ConfigError(f"--people {self.people} is too small; use at least 200")
        if self.people > MAX_PEOPLE:
            raise ConfigError(
                f"--people {self.people} is too large; use at most {MAX_PEOPLE:,} "
                "(1,000,000 people take ~1.7 GB of memory)"
            )
        if not 1 <= self.days <= 366:
            raise ConfigError(f"--days {self.days} must be between 1 and 366")
        end = self.start + timedelta(days=self.days)
        if end > datetime.now(UTC).date() + timedelta(days=1):
            raise ConfigError(
                f"--start {self.start} + {self.days} days ends on {end}, in the future; records with future "
                "times fail validation. Choose an earlier --start."
            )
        if self.start < date(2001, 1, 1):
            raise ConfigError(f"--start {self.start} is before 2001; choose a later date")
        if not 0 <= self.fraud_rate <= MAX_FRAUD_RATE:  # also refuses NaN
            raise ConfigError(
                f"--fraud-rate {self.fraud_rate} must be between 0 and {MAX_FRAUD_RATE:g} "
                "(episodes per 1,000 people per 30 days)"
            )
        if self.seed < 0:
            raise ConfigError(f"--seed {self.seed} must be a whole number ≥ 0")


@dataclass
class SimResult:
    out: Path
    config: SimConfig
    rows: dict[str, int]
    truth_rows: dict[str, int]
    episodes: int
    cases: int
    gangs: int
    extra: dict[str, Any] = field(default_factory=dict)


def _rng(seed: int, stream: int, day: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed, stream, day])


def simulate(
    config: SimConfig, out: Path, *, progress: Callable[[str, int, int], None] | None = None
) -> SimResult:
    """Simulate the city of ``config`` into ``out`` (replaced if it exists)."""
    config.validate()
    tick = progress or (lambda _stage, _done, _total: None)
    _prepare_out(out)
    start_s = (
        int(datetime.combine(config.start, time(0), tzinfo=UTC).timestamp()) - 8 * 3600
    )  # local midnight
    end_s = start_s + config.days * DAY
    counter = ids.Counter()
    pop = build_population(_rng(config.seed, 1), config.people, np.datetime64(config.start), counter)
    output = Output(out, rows_per_part=config.rows_per_part)
    typs = load_typologies()
    frng = _rng(config.seed, 2)
    expected = config.fraud_rate * config.people / 1000 * config.days / 30
    n_episodes = int(frng.poisson(expected))
    n_gangs = int(np.clip(round(np.sqrt(max(expected, 1)) * 1.5), 3, 500))
    rates = Rates()
    traffic = Traffic(pop, _rng(config.seed, 3), rates)
    daily_calls = rates.calls * len(traffic.phones) + rates.courier_calls * len(traffic.couriers)
    sweep_volume = config.sweep_share * daily_calls
    sims_active = max(1, round(sweep_volume / 40 / n_gangs))
    fraud_rows, truth = Rows(), Rows()
    picker = PeoplePicker(pop, frng)
    gangs = build_gangs(
        frng,
        pop,
        counter,
        picker,
        list(typs),
        n_gangs=n_gangs,
        episodes_per_gang=expected / n_gangs,
        sims_active_per_gang=sims_active,
        start_s=start_s,
        end_s=end_s,
        rows=fraud_rows,
    )
    episodes = ep_mod.plan_episodes(frng, pop, typs, gangs, picker.taken, n_episodes, start_s, end_s)
    for ep in episodes:
        ep_mod.contact_events(frng, ep, pop, start_s, fraud_rows)
    freeze = ep_mod.report_cases(frng, episodes, pop, end_s)
    ident = ep_mod.Ids()
    launderer = Launderer(frng, pop, ident, fraud_rows, truth, freeze, end_s)
    for ep in episodes:
        launderer.episode(ep)
        ep_mod.rebates(frng, ep, pop, ident, fraud_rows, truth, end_s, launderer.wallet_first)
        ep_mod.credit_loans(frng, ep, pop, ident, fraud_rows, truth, start_s)
    launderer.flush_otc()
    for ep in episodes:
        if ep.case_id:
            case_mod.write_case(frng, ep, pop, fraud_rows, launderer.wallet_first)
    case_mod.tips(frng, gangs, pop, start_s, end_s, fraud_rows)
    frozen = {a for a, t in freeze.items() if t < end_s}
    _freeze_status(fraud_rows, frozen)
    tick("registrations", 0, 1)
    _write_registrations(config, pop, counter, start_s, output, frozen)
    for kind in ("phone_cards", "devices", "accounts", "app_accounts", "urls"):
        output.write(kind, fraud_rows.table(kind, pop))
    _write_days(
        config,
        pop,
        traffic,
        Sweep(gangs, typs, pop, _rng(config.seed, 4)),
        fraud_rows,
        truth,
        start_s,
        sweep_volume,
        output,
        tick,
    )
    for kind in ("cases", "tips"):
        output.write(kind, fraud_rows.table(kind, pop).sort_by(_time_col(kind)))
    upkeep = card_upkeep(_rng(config.seed, 5), gangs, pop, start_s, end_s)
    for kind, table in zip(("topups", "data_usage"), upkeep, strict=True):
        output.write(kind, table.sort_by(_time_col(kind)))
    output.write(
        "logins", mule_logins(_rng(config.seed, 6), gangs, pop, counter, start_s, end_s).sort_by("at")
    )
    output.write_truth(
        "entities",
        case_mod.entities(gangs, episodes, pop, launderer.first_used, launderer.wallet_first).table(
            "entities", pop, truth=True
        ),
    )
    output.write_truth("episodes", case_mod.episode_rows(episodes, pop).table("episodes", pop, truth=True))
    _check_money(episodes, truth)
    output.write_truth("money_paths", truth.table("money_paths", pop, truth=True))
    output.write_truth("held", truth.table("held", pop, truth=True))
    counts = output.close()
    truth_counts = {k: w.rows for k, w in output.truth.items()}
    result = SimResult(
        out, config, counts, truth_counts, len(episodes), sum(1 for e in episodes if e.case_id), len(gangs)
    )
    manifest = {
        "parameters": {**asdict(config), "start": config.start.isoformat()},
        "window": {
            "start": datetime.fromtimestamp(start_s, UTC).isoformat(),
            "end": datetime.fromtimestamp(end_s, UTC).isoformat(),
        },
        "rows": counts,
        "truth_rows": truth_counts,
        "episodes": result.episodes,
        "cases": result.cases,
        "gangs": result.gangs,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    return result


def _check_money(episodes: list[ep_mod.Episode], truth: Rows) -> None:
    """Guard the truth's central promise before writing it: sum(hop 0) = loss = cashed out + held."""
    paths: dict[str, list[Any]] = truth.data.get("money_paths", {})
    hop0: dict[Any, int] = {}
    moved_out: dict[Any, int] = {}
    cash_ids = (
        {
            tid
            for tid, step in zip(
                truth.data["transfers"]["transfer_id"], truth.data["transfers"]["step"], strict=True
            )
            if step in ("cashout_otc", "cashout_gold")
        }
        if truth.count("transfers")
        else set()
    )
    for eid, hop, kind, rid, amount in zip(
        paths.get("episode_id", []),
        paths.get("hop", []),
        paths.get("record_kind", []),
        paths.get("record_id", []),
        paths.get("amount_fen", []),
        strict=True,
    ):
        if hop == 0:
            hop0[eid] = hop0.get(eid, 0) + amount
        if kind == "withdrawal" or rid in cash_ids:
            moved_out[eid] = moved_out.get(eid, 0) + amount
    held: dict[Any, int] = {}
    held_rows: dict[str, list[Any]] = truth.data.get("held", {})
    for eid, amount in zip(held_rows.get("episode_id", []), held_rows.get("amount_fen", []), strict=True):
        held[eid] = held.get(eid, 0) + amount
    for ep in episodes:
        if not hop0.get(ep.eid, 0) == ep.loss == moved_out.get(ep.eid, 0) + held.get(ep.eid, 0):
            raise StateError(
                f"simulator bug: money of episode {ep.eid} does not balance (loss {ep.loss} fen)"
            )


def check_out(out: Path) -> None:
    """Raise :class:`ConfigError` when ``out`` cannot take a simulator output (nothing changed):
    a file, a folder holding something else, or a place where the folder cannot be created."""
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--out {out} is a file; give a folder")
        if any(out.iterdir()) and not (out / "manifest.json").exists():
            raise ConfigError(
                f"--out {out} exists and is not a simulator output (no manifest.json); "
                "choose a new folder or empty it first"
            )
        return
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    reason = (
        "Not a directory"
        if not parent.is_dir()
        else "Permission denied"
        if not os.access(parent, os.W_OK | os.X_OK)
        else None
    )
    if reason:
        raise ConfigError(f"--out {out}: cannot create the folder ({reason}); choose a writable place")


def _prepare_out(out: Path) -> None:
    """Replace a previous simulator output, but never delete anything else."""
    check_out(out)
    if out.exists():
        shutil.rmtree(out)
    try:
        out.mkdir(parents=True)
    except OSError as exc:
        raise ConfigError(
            f"--out {out}: cannot create the folder ({exc.strerror}); choose a writable place"
        ) from None


def _time_col(kind: str) -> str:
    from fanzha.records.contracts import SPECS

    return SPECS[kind].time_field or SPECS[kind].key[0]


def _write_registrations(
    config: SimConfig, pop: Population, counter: ids.Counter, start_s: int, output: Output, frozen: set[int]
) -> None:
    for i, (lo, hi) in enumerate(static.slices(pop.n, config.people_chunk)):
        rng = _rng(config.seed, 10, i)
        output.write("people", people_table(pop, lo, hi))
        output.write("phone_cards", static.phone_cards(rng, pop, start_s, lo, hi))
        output.write("devices", static.devices(rng, pop, start_s, lo, hi))
        output.write("accounts", static.personal_accounts(rng, pop, start_s, lo, hi, frozen))
        output.write("app_accounts", static.app_accounts(rng, pop, counter, start_s, lo, hi))
    output.write("accounts", static.organisation_accounts(_rng(config.seed, 11), pop, start_s))
    output.write("urls", static.popular_urls(start_s))


def _freeze_status(rows: Rows, frozen: set[int]) -> None:
    """Accounts frozen by a case report before the end show status ``frozen``."""
    acc = rows.data.get("accounts")
    if not acc:
        return
    names = {str(a) for a in frozen}
    acc["status"] = [
        "frozen" if a in names else s for a, s in zip(acc["account_no"], acc["status"], strict=True)
    ]


def _day_index(table: pa.Table, col: str, start_s: int) -> np.ndarray:
    secs = pc.cast(table[col], pa.int64()).to_numpy(zero_copy_only=False) // 1_000_000
    return (secs - start_s) // DAY


def _write_days(
    config: SimConfig,
    pop: Population,
    traffic: Traffic,
    sweep: Sweep,
    fraud_rows: Rows,
    truth: Rows,
    start_s: int,
    sweep_volume: float,
    output: Output,
    tick: Callable[[str, int, int], None],
) -> None:
    from fanzha.records.contracts import SPECS

    f_calls = fraud_rows.table("calls", pop, extra=TRUTH_COLS)
    f_sms = fraud_rows.table("sms", pop, extra=TRUTH_COLS)
    t_tr = truth.table("transfers", pop, truth=True)
    f_tr = fraud_rows.table("transfers", pop)
    f_tr = f_tr.append_column("is_fraud", t_tr["is_fraud"]).append_column("episode_id", t_tr["episode_id"])
    f_tr = f_tr.append_column("gang_id", t_tr["gang_id"]).append_column("step", t_tr["step"])
    t_wd = truth.table("withdrawals", pop, truth=True)
    f_wd = fraud_rows.table("withdrawals", pop)
    for name in ("is_fraud", "episode_id", "gang_id"):
        f_wd = f_wd.append_column(name, t_wd[name])
    day_of = {
        "calls": _day_index(f_calls, "start_at", start_s),
        "sms": _day_index(f_sms, "sent_at", start_s),
        "transfers": _day_index(f_tr, "at", start_s),
        "withdrawals": _day_index(f_wd, "at", start_s),
    }
    fraud = {"calls": f_calls, "sms": f_sms, "transfers": f_tr, "withdrawals": f_wd}
    for d in range(config.days):
        day_start = start_s + d * DAY
        local = config.start + timedelta(days=d)
        rng = _rng(config.seed, 20, d)
        s_calls, s_sms = sweep.day(_rng(config.seed, 21, d), day_start, sweep_volume)
        calls = _merge(
            [
                _truthless(traffic.calls(rng, day_start, weekend=local.weekday() >= 5), TRUTH_COLS),
                s_calls,
                fraud["calls"].filter(day_of["calls"] == d),
            ],
            "start_at",
            SPECS["calls"].key,
        )
        sms = _merge(
            [
                _truthless(traffic.sms(rng, day_start), TRUTH_COLS),
                s_sms,
                fraud["sms"].filter(day_of["sms"] == d),
            ],
            "sent_at",
            SPECS["sms"].key,
        )
        tr = _with_ids(traffic.transfers(rng, day_start, local.day), local, "transfer_id", "TX")
        tr = _merge(
            [
                _truthless(tr, pa.schema(list(TRUTH_COLS) + list(STEP_COL))),
                fraud["transfers"].filter(day_of["transfers"] == d),
            ],
            "at",
        )
        wd = _with_ids(traffic.withdrawals(rng, day_start), local, "withdrawal_id", "WD")
        wd = _merge(
            [_truthless(wd, TRUTH_COLS), fraud["withdrawals"].filter(day_of["withdrawals"] == d)], "at"
        )
        output.write("calls", calls)
        output.write_truth("calls", calls)
        output.write("sms", sms)
        output.write_truth("sms", sms)
        output.write("transfers", tr)
        output.write_truth("transfers", tr)
        output.write("withdrawals", wd)
        output.write_truth("withdrawals", wd)
        cards = _rng(config.seed, 22, d)
        output.write(
            "topups", _with_ids(traffic.topups(cards, day_start, local.day), local, "topup_id", "TU")
        )
        output.write("data_usage", traffic.data_usage(cards, day_start))
        output.write("logins", traffic.logins(_rng(config.seed, 23, d), day_start))
        tick("days", d + 1, config.days)


def _truthless(table: pa.Table, cols: pa.Schema) -> pa.Table:
    """Ordinary rows: is_fraud false, no episode or gang, step ``legit``."""
    n = table.num_rows
    for f in cols:
        if f.name == "is_fraud":
            arr = pa.array(np.zeros(n, bool))
        elif f.name == "step":
            arr = pa.array(np.full(n, "legit"))
        else:
            arr = pa.nulls(n, f.type)
        table = table.append_column(f.name, arr)
    return table


def _merge(tables: list[pa.Table], time_col: str, key: tuple[str, ...] = ()) -> pa.Table:
    """One day's rows of a kind in time order; ``key`` (the record contract's natural key, which
    holds ``time_col``): a row whose key another row already has moves on by one second."""
    schema = tables[0].schema
    parts = [t.select(schema.names).cast(schema) for t in tables if t.num_rows]
    if not parts:
        return tables[0]
    merged = pa.concat_tables(parts).sort_by([(time_col, "ascending")])
    return _unique_keys(merged, time_col, key) if key else merged


def _unique_keys(table: pa.Table, time_col: str, key: tuple[str, ...]) -> pa.Table:
    """Rows sorted by ``time_col``: two rows with one key share a second, so only rows next to a row
    of the same second are compared; a repeat moves on by one second until its key is new (two
    calls of one pair in one second, two texts of a service number to one phone in one second)."""
    while True:
        at = pc.cast(table[time_col], pa.int64()).to_numpy()
        same = at[1:] == at[:-1]
        near = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
        if not len(near):
            return table
        repeat = near[table.select(list(key)).take(near).to_pandas().duplicated().to_numpy()]
        if not len(repeat):
            return table
        kind = table.schema.field(time_col).type
        at = at.copy()
        at[repeat] += {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[kind.unit]
        i = table.schema.get_field_index(time_col)
        moved = pa.array(at).cast(kind)
        table = table.set_column(i, time_col, moved).sort_by([(time_col, "ascending")])


def _with_ids(table: pa.Table, local: date, column: str, prefix: str) -> pa.Table:
    """Record ids of one day's rows, e.g. ``TX2026090100000042``: prefix, local date, row number."""
    seq = pc.utf8_lpad(ids.to_str(np.arange(table.num_rows)), 9, "0")
    return table.add_column(
        0, column, pc.binary_join_element_wise(pa.scalar(f"{prefix}{local:%Y%m%d}0"), seq, "")
    )
