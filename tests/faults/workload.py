"""The fault tests' workload: residents' journeys as a kecamatan office's events, and what they must leave.

Every resident is enrolled; most are recorded; SIAK reports SFE and then PRR or DUPLICATE_RECORD;
a few fail, move desa or leave. The services react on their own (recording asks for a print,
printing queues the job, inventory counts the backlog), so a fault anywhere in the chain shows up
as a missing or doubled effect downstream.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from shared.areas import load_areas
from shared.topics import PREFIX, RECORDING, RESIDENT, STOCK
from tests.support.events import make, moment

# Blangko at the two print stations of the default station list, fewer than the cards asked for.
STATION_STOCK = {"dinas-curup": 120, "kec-padang-ulak-tanding": 15}


@dataclass
class Workload:
    """Events to publish, in order, as (topic suffix, key, event), and the journeys' expected outcomes."""

    events: list[tuple[str, str, Any]] = field(default_factory=list)
    stage: dict[str, str] = field(default_factory=dict)
    left: set[str] = field(default_factory=set)

    @property
    def residents(self) -> list[str]:
        return sorted(self.stage)

    @property
    def prr(self) -> set[str]:
        return {rid for rid, stage in self.stage.items() if stage == "prr"}

    def event_ids_of(self, resident_id: str) -> set[str]:
        return {str(e.event_id) for _, key, e in self.events if key == resident_id}


def _make(rng: random.Random, event_type: str, **fields: Any) -> Any:
    """An event whose id comes from the seed, so the same workload has the same ids in every run."""
    return make(event_type, event_id=uuid.UUID(int=rng.getrandbits(128), version=4), **fields)


def _nik(kecamatan: str, birth: dt.date, sex: str, serial: int) -> str:
    day = birth.day + (40 if sex == "P" else 0)
    return f"{kecamatan.replace('.', '')}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def journeys(residents: int, *, tag: str, seed: int = 8, blangko: bool = True) -> Workload:
    """`residents` journeys; topics are named by their suffix (resident.events, recording.events).

    With `blangko`, the stations first receive STATION_STOCK; which jobs get a blank then depends
    on timing, so runs meant to be compared field by field go without.
    """
    rng = random.Random(seed)
    villages = sorted(load_areas().villages.values(), key=lambda v: v.code)
    work = Workload()
    resident_topic, recording_topic = RESIDENT.name.removeprefix(PREFIX), RECORDING.name.removeprefix(PREFIX)
    stock_topic = STOCK.name.removeprefix(PREFIX)
    for station, quantity in STATION_STOCK.items() if blangko else ():
        work.events.append((stock_topic, station, _make(rng, "stock.received", at=moment(1, 7), location_id=station,
                                                        quantity=quantity, request_id=None,
                                                        document_no=f"BA/{tag}/{station}")))
    for i in range(residents):
        rid = f"r-{tag}-{i:05d}"
        village = rng.choice(villages)
        sex = rng.choice("LP")
        birth = dt.date(rng.randint(1950, 2007), rng.randint(1, 12), rng.randint(1, 28))
        place = {"resident_id": rid, "kecamatan_code": village.kecamatan_code, "desa_code": village.code}
        roster = {**place, "nik": _nik(village.kecamatan_code, birth, sex, i % 9999 + 1), "name": f"Uji {tag} {i}",
                  "sex": sex, "birth_date": birth, "school_npsn": None,
                  "wajib_ktp_from": birth.replace(year=birth.year + 17)}
        work.events.append((resident_topic, rid, _make(rng, "resident.enrolled", at=moment(1, 8), **roster)))
        work.stage[rid] = "belum_rekam"
        if rng.random() < 0.1:
            moved = rng.choice([v for v in villages if v.kecamatan_code == village.kecamatan_code])
            place["desa_code"] = moved.code
            work.events.append((resident_topic, rid, _make(rng, "resident.updated", at=moment(2, 8), **{
                **roster, "desa_code": moved.code, "reason": "pindah desa"})))
        roll = rng.random()
        if roll < 0.2:
            pass
        elif roll < 0.3:
            work.events.append((recording_topic, rid, _make(rng, "recording.failed", at=moment(3, 10), **place)))
            work.stage[rid] = "gagal_rekam"
        else:
            work.events.append((recording_topic, rid, _make(rng, "recording.captured", at=moment(4, 10), **place)))
            work.events.append((recording_topic, rid, _make(rng, "recording.siak_status", at=moment(6), status="SFE",
                                                           status_at=moment(5), **place)))
            status = "DUPLICATE_RECORD" if roll < 0.4 else "PRR"
            work.events.append((recording_topic, rid, _make(rng, "recording.siak_status", at=moment(8), status=status,
                                                           status_at=moment(7), **place)))
            work.stage[rid] = "duplikat" if status == "DUPLICATE_RECORD" else "prr"
        if rng.random() < 0.03:
            work.events.append((resident_topic, rid, _make(rng, "resident.left", at=moment(20), reason="pindah",
                                                          effective_date=dt.date(2024, 3, 20), **place)))
            work.left.add(rid)
    return work


async def publish(producer: Any, prefix: str, work: Workload, *, rate: float,
                  copies: Any = None) -> dict[str, Any]:
    """Publish the workload at `rate` events per second (open loop); `copies(i)` how often event i goes out.

    Returns how many messages went out and how long it took.
    """
    began = time.monotonic()
    sent = 0
    pending = []
    for i, (topic, key, event) in enumerate(work.events):
        due = began + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        raw = event.model_dump_json().encode()
        for _ in range(copies(i) if copies else 1):
            pending.append(await producer.send(prefix + topic, raw, key=key.encode()))
            sent += 1
    await asyncio.gather(*pending)
    return {"messages": sent, "seconds": time.monotonic() - began}


def counted(values: Any) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))
