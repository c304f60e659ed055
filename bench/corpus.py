"""The benchmarks' corpus: every synthetic resident's journey as events, made before any timing.

At scale 1 that is the regency of deploy/demo/population.py (211,077 wajib KTP and 7,000
students): each resident enrolled; the recorded ones captured, SFE and PRR; for a third of those
a print job queued, printed and handed over (about 8 events for a full journey). Deterministic for
a scale.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any

CORPUS_DAY = dt.date(2026, 1, 1)


def journey_models(scale: float, today: dt.date = CORPUS_DAY) -> list[tuple[str, str, Any]]:
    """(topic, key, event) of every resident's journey, deterministic for a scale."""
    from deploy.demo.population import build
    from shared.contracts import Actor, Role
    from shared.contracts.printing import (
        CardHandedOver,
        CardPrinted,
        HandedOverPayload,
        JobQueued,
        JobQueuedPayload,
        PrintedPayload,
    )
    from shared.contracts.recording import CapturedPayload, RecordingCaptured, SiakStatusReported, StatusPayload
    from shared.contracts.resident import ResidentEnrolled, ResidentEnrolledPayload
    from shared.dates import add_years
    from shared.pseudonym import resident_pseudonym
    from shared.topics import PRINT, RECORDING, RESIDENT

    population = build(scale=scale, today=today)
    rng = random.Random(7)
    actor = Actor(office_id="dinas", role=Role.DINAS_ADMIN, operator="bench")
    key = "bench-pseudonym-key-0123456789abcdef"
    at = dt.datetime(2024, 1, 15, 9, tzinfo=dt.UTC)
    out: list[tuple[str, str, Any]] = []
    for i, person in enumerate(population.people):
        rid = resident_pseudonym(person.nik, key=key)
        place = {"resident_id": rid, "kecamatan_code": person.kecamatan_code, "desa_code": person.desa_code}
        wajib = add_years(person.birth_date, 17)

        def env(**extra: Any) -> dict[str, Any]:
            return {"event_id": uuid.UUID(int=rng.getrandbits(128)), "occurred_at": at, "recorded_at": at,
                    "actor": actor, **extra}

        events: list[tuple[str, Any]] = [(RESIDENT.name, ResidentEnrolled(**env(payload=ResidentEnrolledPayload(
            **person.resident_body(), resident_id=rid, wajib_ktp_from=wajib))))]
        if person.recorded:
            events.append((RECORDING.name, RecordingCaptured(**env(payload=CapturedPayload(
                **place, biometrics=["foto", "sidik_jari", "iris", "tanda_tangan"], device_id="tab", operator="op",
                device_time=at)))))
            for status in ("SFE", "PRR"):
                events.append((RECORDING.name, SiakStatusReported(**env(payload=StatusPayload(
                    **place, status=status, status_at=at)))))
            if i % 3 == 0:
                job = f"job-{i}"
                events.append((PRINT.name, JobQueued(**env(payload=JobQueuedPayload(
                    job_id=job, station_id="dinas-curup", **place, reason="pertama", priority_class="pertama_lainnya",
                    source_event_id=f"src-{i}")))))
                events.append((PRINT.name, CardPrinted(**env(payload=PrintedPayload(
                    job_id=job, station_id="dinas-curup", attempt=1, reservation_id=f"{job}.1.1", printer="pdf")))))
                events.append((PRINT.name, CardHandedOver(**env(payload=HandedOverPayload(
                    job_id=job, station_id="dinas-curup", via="langsung", **place)))))
        for topic, event in events:
            partition_key = "dinas-curup" if topic == PRINT.name else rid
            out.append((topic, partition_key, event))
    return out
