"""SIM-farm background traffic (猫池/GOIP): many short outbound calls and spam SMS to strangers.

Per day, every SIM in its activity window calls random people of the city (most calls unanswered
or a few seconds long), sends scripted spam SMS, and rarely receives a call back. All from the farm
device's IMEI and the farm's cell, far from the city. Vectorised per day.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fanzha.simulate import ids
from fanzha.simulate.population import Population, ts_us
from fanzha.simulate.supply import Gang
from fanzha.taxonomy.typologies import Typology

SWEEP_HOURS = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 0.7, 0.8, 1, 1, 1, 1, 0.9, 0.8, 0.7, 0.3, 0, 0])
SWEEP_HOURS = SWEEP_HOURS / SWEEP_HOURS.sum()
CALLBACK_LURES = (
    "【{platform}】您的订单存在异常，退款将于今日到账，详询客服电话",
    "您的快递因地址不详被退回，请尽快联系理赔专员处理",
    "您名下有一笔业务即将扣费，如非本人办理请及时回电取消",
)
CALLBACK_LURES = (
    "【{platform}】您的订单存在异常，退款将于今日到账，详询客服电话",
    "您的快递因地址不详被退回，请尽快联系理赔专员处理",
    "您名下有一笔业务即将扣费，如非本人办理请及时回电取消",
)


class Sweep:
    def __init__(
        self, gangs: list[Gang], typs: dict[str, Typology], pop: Population, rng: np.random.Generator
    ):
        sims = [(g_i, s) for g_i, g in enumerate(gangs) for s in g.sims]
        self.pop, self.gangs = pop, gangs
        self.number = np.array([s.number for _g, s in sims], dtype=np.int64)
        self.device = np.array([s.device for _g, s in sims], dtype=np.int64)
        self.lo = np.array([s.active_from for _g, s in sims], dtype=np.int64)
        self.hi = np.array([s.active_to for _g, s in sims], dtype=np.int64)
        self.gang = np.array([g for g, _s in sims], dtype=np.int64)
        self.region = np.array([gangs[g].farm_region for g, _s in sims], dtype=np.int64)
        self.gid = pa.array([g.gid for g in gangs])
        self.phones = np.flatnonzero(pop.phone > 0)
        texts, owner = [], []
        for g_i, g in enumerate(gangs):
            sms_lines = [
                (typs[t], line)
                for t in g.types
                for s in typs[t].steps
                if s.step == "contact" and s.channel == "sms"
                for line in s.lines
            ]
            # gangs without an SMS script send a short lure that makes people call back
            lines = sms_lines or [(typs[g.types[0]], line) for line in CALLBACK_LURES]
            for _ in range(12):
                url = g.urls[int(rng.integers(len(g.urls)))]
                typ, line = lines[int(rng.integers(len(lines)))]
                texts.append(typ.render(line, rng, url=url))
                owner.append(g_i)
        self.texts = pa.array(texts)
        self.text_owner = np.array(owner, dtype=np.int64)

    def _sends(
        self, rng: np.random.Generator, live: np.ndarray, per_sim: float, day_start: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(SIM index, time) of each send: Poisson per live SIM, in sweep hours, within the SIM's life."""
        sim = np.repeat(live, rng.poisson(per_sim, size=len(live)))
        at = (
            day_start
            + rng.choice(24, size=len(sim), p=SWEEP_HOURS) * 3600
            + rng.integers(0, 3600, size=len(sim))
        )
        ok = (at >= self.lo[sim]) & (at < self.hi[sim])
        return sim[ok], at[ok]

    def day(self, rng: np.random.Generator, day_start: int, volume: float) -> tuple[pa.Table, pa.Table]:
        """(calls, sms) of the day, each with truth columns is_fraud / episode_id / gang_id."""
        live = np.flatnonzero((self.lo < day_start + 86_400) & (self.hi > day_start))
        if len(live) == 0 or len(self.phones) == 0:
            return _empty_calls(), _empty_sms()
        per_sim = volume / len(live)
        sim, at = self._sends(rng, live, per_sim, day_start)
        callee = self.pop.phone[self.phones[rng.integers(len(self.phones), size=len(sim))]]
        dur = np.where(
            rng.random(len(sim)) < 0.55, 0, np.minimum(rng.lognormal(2.6, 0.8, size=len(sim)), 600)
        ).astype(np.int32)
        calls = pa.table(
            {
                "caller": ids.to_str(self.number[sim]),
                "callee": ids.to_str(callee),
                "start_at": ts_us(at),
                "duration_s": pa.array(dur, pa.int32()),
                "direction": pa.array(np.full(len(sim), "out")),
                "city": ids.to_str(self.region[sim]),
                "cell_id": pc.binary_join_element_wise(
                    ids.to_str(self.region[sim]), ids.to_str(9000 + self.device[sim] % 1000), "-"
                ),
                "imei": ids.to_str(self.device[sim]),
                "is_fraud": pa.array(np.ones(len(sim), bool)),
                "episode_id": pa.nulls(len(sim), pa.string()),
                "gang_id": self.gid.take(pa.array(self.gang[sim])),
            }
        )
        # a few recipients call back (few inbound calls is itself a signal)
        back = rng.random(len(sim)) < 0.02
        if back.any():
            who = self.phones[rng.integers(len(self.phones), size=int(back.sum()))]
            cb = pa.table(
                {
                    "caller": ids.to_str(self.pop.phone[who]),
                    "callee": ids.to_str(self.number[sim[back]]),
                    "start_at": ts_us(at[back] + rng.integers(60, 7200, size=int(back.sum()))),
                    "duration_s": pa.array(rng.integers(3, 90, size=int(back.sum())).astype(np.int32)),
                    "direction": pa.array(np.full(int(back.sum()), "out")),
                    "city": ids.to_str(self.pop.region[who]),
                    "cell_id": pa.nulls(int(back.sum()), pa.string()),
                    "imei": ids.to_str(self.pop.imei[who]),
                    "is_fraud": pa.array(np.ones(int(back.sum()), bool)),
                    "episode_id": pa.nulls(int(back.sum()), pa.string()),
                    "gang_id": self.gid.take(pa.array(self.gang[sim[back]])),
                }
            )
            calls = pa.concat_tables([calls, cb])
        s_sim, s_at = self._sends(rng, live, per_sim * 0.3, day_start)
        first = np.searchsorted(self.text_owner, self.gang[s_sim])
        count = np.searchsorted(self.text_owner, self.gang[s_sim], side="right") - first
        text_idx = first + (rng.random(len(s_sim)) * count).astype(np.int64)
        sms = pa.table(
            {
                "sender": ids.to_str(self.number[s_sim]),
                "receiver": ids.to_str(
                    self.pop.phone[self.phones[rng.integers(len(self.phones), size=len(s_sim))]]
                ),
                "sent_at": ts_us(s_at),
                "text": self.texts.take(pa.array(text_idx, pa.int64())),
                "imei": ids.to_str(self.device[s_sim]),
                "is_fraud": pa.array(np.ones(len(s_sim), bool)),
                "episode_id": pa.nulls(len(s_sim), pa.string()),
                "gang_id": self.gid.take(pa.array(self.gang[s_sim])),
            }
        )
        return calls, sms


def _empty_calls() -> pa.Table:
    from fanzha.simulate.world import CALL_TRUTH

    return CALL_TRUTH.empty_table()


def _empty_sms() -> pa.Table:
    from fanzha.simulate.world import SMS_TRUTH

    return SMS_TRUTH.empty_table()
