"""Use cases of the recording service: visits, field events, SIAK statuses, and applying events."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from services.recording import domain
from services.recording.domain import Progress, Stage
from services.recording.store import RecordingStore, progress_of
from shared.clock import Clock
from shared.contracts import Actor, OutreachEvent, RecordingEvent, ResidentEvent
from shared.contracts.recording import (
    FollowUpPayload,
    FollowUpRaised,
    PrintRequested,
    PrintRequestedPayload,
    RecordingCaptured,
    RecordingFailed,
    SiakStatusReported,
    VisitClosed,
    VisitOpened,
    VisitScheduled,
)
from shared.contracts.resident import ResidentLeft
from shared.publishing import DerivedIds, EventPublisher
from shared.topics import OUTREACH, RECORDING

DERIVED = uuid.UUID("3f1d0c8a-54b2-4e7f-9a61-2c8e5b7d9f10")


class VisitProblem(Exception):
    """A command that does not fit the visit's state; `reason` is for the clerk."""

    def __init__(self, reason: str, status: int = 409) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class RecordingDeps:
    publisher: EventPublisher
    store: RecordingStore
    clock: Clock
    visit_size: int = 50


derived_id = DerivedIds(DERIVED)


# Applying events to recording's own state (the consumer; also right after publishing).

async def apply_resident_event(event: ResidentEvent, *, store: RecordingStore) -> bool:
    if isinstance(event, ResidentLeft):
        facts: dict[str, Any] = {"in_roster": False}
    else:
        p = event.payload
        facts = {"in_roster": True, "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code,
                 "school_npsn": p.school_npsn, "wajib_ktp_from": p.wajib_ktp_from.isoformat(),
                 "lansia_from": domain.lansia_from(p.birth_date).isoformat(), "disabilitas": p.disabilitas}
    return await store.set_roster_facts(event.payload.resident_id, str(event.event_id), facts)


async def apply_outreach_event(event: OutreachEvent, *, store: RecordingStore) -> bool:
    if isinstance(event, VisitScheduled):
        fields: dict[str, Any] = {**event.payload.model_dump(mode="json"), "state": "dijadwalkan"}
        return await store.save_visit(event.payload.visit_id, str(event.event_id), fields)
    if isinstance(event, VisitOpened):
        return await store.save_visit(event.payload.visit_id, str(event.event_id), {"state": "dibuka"})
    p = event.payload
    visit = await store.visit(p.visit_id) or {}
    applied = await store.save_visit(p.visit_id, str(event.event_id), {"state": "ditutup", "no_shows": p.no_shows})
    if applied:
        await store.set_carried_over(visit.get("place_code", p.visit_id), list(p.no_shows))
    return applied


def stage_of(event: RecordingEvent) -> tuple[Stage | None, dt.datetime]:
    """The lifecycle stage an event reports and when it happened."""
    if isinstance(event, RecordingCaptured):
        return Stage.REKAM, event.payload.device_time
    if isinstance(event, RecordingFailed):
        return Stage.GAGAL_REKAM, event.payload.device_time
    if isinstance(event, SiakStatusReported):
        return domain.SIAK_STAGE[event.payload.status], event.payload.status_at
    return None, event.occurred_at


async def apply_recording_event(
    event: RecordingEvent, *, deps: RecordingDeps
) -> str:
    """Move the resident's progress; publish what follows (print request, follow-up) first.

    Derived events have ids made from the source event, so publishing them again after a crash
    is harmless; the state write that records the source event id comes last.
    """
    stage, at = stage_of(event)
    if stage is None:
        return "ignored"
    store = deps.store
    p = event.payload
    doc = await store.resident(p.resident_id)
    if doc is not None and str(event.event_id) in doc.get("applied_events", []):
        return "duplicate"
    new = domain.advance(progress_of(doc), stage, at)
    if new is not None and new.stage != (progress_of(doc) or Progress(Stage.BELUM_REKAM, at)).stage:
        await _publish_consequences(event, new.stage, doc, deps)
    place = {"kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code}
    applied = await store.advance(p.resident_id, str(event.event_id), place, new)
    if not applied:
        return "duplicate"
    return "applied" if new is not None else "stale"


async def _publish_consequences(
    event: RecordingEvent, stage: Stage, doc: dict[str, Any] | None, deps: RecordingDeps
) -> None:
    p = event.payload
    now = deps.clock()
    actor = Actor(office_id="recording", role="system", operator="recording")
    place = {"resident_id": p.resident_id, "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code}
    if stage == Stage.PRR:
        wajib = (doc or {}).get("wajib_ktp_from")
        lansia_from = (doc or {}).get("lansia_from")
        request = PrintRequested(
            event_id=derived_id(event.event_id, "print"), occurred_at=event.occurred_at, recorded_at=now,
            actor=actor, payload=PrintRequestedPayload(
                **place, reason="pertama", wajib_ktp_from=dt.date.fromisoformat(wajib) if wajib else None,
                lansia=lansia_from is not None and dt.date.fromisoformat(lansia_from) <= event.occurred_at.date(),
                disabilitas=bool((doc or {}).get("disabilitas"))),
        )
        await deps.publisher.publish(request, topic=RECORDING, key=p.resident_id)
    remedy = domain.remedy_for(stage)
    if remedy is not None and isinstance(event, SiakStatusReported):
        follow_up = FollowUpRaised(
            event_id=derived_id(event.event_id, "follow_up"), occurred_at=event.occurred_at, recorded_at=now,
            actor=actor, payload=FollowUpPayload(**place, status=event.payload.status, remedy=remedy),  # type: ignore[arg-type]
        )
        await deps.publisher.publish(follow_up, topic=RECORDING, key=p.resident_id)


# Commands from people (HTTP).

async def schedule_visit(
    *, visit_id: str, date: dt.date, kind: str, place_code: str, kecamatan_code: str, team: str,
    targets: list[str] | None, actor: Actor, deps: RecordingDeps,
) -> VisitScheduled:
    """Schedule a visit; without explicit targets, draw unrecorded residents of the place."""
    if await deps.store.visit(visit_id) is not None:
        raise VisitProblem(f"kunjungan {visit_id} sudah ada")
    carried = await deps.store.carried_over(place_code)
    drawn = targets if targets is not None else await deps.store.unrecorded_at(
        kind=kind, place_code=place_code, kecamatan_code=kecamatan_code, limit=deps.visit_size)
    all_targets = list(dict.fromkeys([*carried, *drawn]))
    now = deps.clock()
    event = VisitScheduled(
        event_id=uuid.uuid5(DERIVED, f"visit:{visit_id}:scheduled"), occurred_at=now, recorded_at=now, actor=actor,
        payload={"visit_id": visit_id, "date": date, "kind": kind, "place_code": place_code,  # type: ignore[arg-type]
                 "kecamatan_code": kecamatan_code, "team": team, "targets": all_targets, "carried_over": carried},
    )
    await deps.publisher.publish(event, topic=OUTREACH, key=visit_id)
    await apply_outreach_event(event, store=deps.store)
    if carried:
        await deps.store.set_carried_over(place_code, [])
    return event


async def open_visit(visit_id: str, *, actor: Actor, deps: RecordingDeps) -> VisitOpened:
    visit = await deps.store.visit(visit_id)
    if visit is None:
        raise VisitProblem("kunjungan tidak ditemukan", 404)
    if visit["state"] == "ditutup":
        raise VisitProblem("kunjungan sudah ditutup")
    now = deps.clock()
    event = VisitOpened(event_id=uuid.uuid5(DERIVED, f"visit:{visit_id}:opened"), occurred_at=now, recorded_at=now,
                        actor=actor, payload={"visit_id": visit_id, "kecamatan_code": visit["kecamatan_code"]})  # type: ignore[arg-type]
    await deps.publisher.publish(event, topic=OUTREACH, key=visit_id)
    await apply_outreach_event(event, store=deps.store)
    return event


async def close_visit(visit_id: str, *, actor: Actor, deps: RecordingDeps) -> VisitClosed:
    """Close a visit; its targets not recorded yet carry over to the next visit at the place."""
    visit = await deps.store.visit(visit_id)
    if visit is None:
        raise VisitProblem("kunjungan tidak ditemukan", 404)
    if visit["state"] != "dibuka":
        raise VisitProblem("hanya kunjungan yang dibuka yang dapat ditutup")
    stages = {}
    for resident_id in visit["targets"]:
        doc = await deps.store.resident(resident_id)
        stages[resident_id] = Stage((doc or {}).get("stage", Stage.BELUM_REKAM.value))
    now = deps.clock()
    event = VisitClosed(
        event_id=uuid.uuid5(DERIVED, f"visit:{visit_id}:closed"), occurred_at=now, recorded_at=now, actor=actor,
        payload={"visit_id": visit_id, "kecamatan_code": visit["kecamatan_code"],  # type: ignore[arg-type]
                 "no_shows": domain.carry_over(visit["targets"], stages)},
    )
    await deps.publisher.publish(event, topic=OUTREACH, key=visit_id)
    await apply_outreach_event(event, store=deps.store)
    return event
