"""Applying events to recording's own state (the consumers; also right after publishing a visit command)."""

from __future__ import annotations

import datetime as dt

from services.recording import domain
from services.recording.domain import Place, Progress, ResidentRecord, RosterFacts, Stage, Visit, VisitState
from services.recording.handlers.common import RecordingDeps, derived_id
from services.recording.ports import RecordingStorage
from shared.contracts import Actor, Envelope, OutreachEvent, RecordingEvent, ResidentEvent
from shared.contracts.recording import (
    FollowUpPayload,
    FollowUpRaised,
    PrintRequested,
    PrintRequestedPayload,
    RecordingCaptured,
    RecordingFailed,
    SiakStatusReported,
    VisitOpened,
    VisitScheduled,
)
from shared.contracts.resident import ResidentLeft
from shared.topics import RECORDING

SYSTEM = Actor(office_id="recording", role="system", operator="recording")


def roster_facts(event: ResidentEvent) -> RosterFacts:
    """The roster facts recording needs (place, school, wajib KTP and lansia dates); an age waiting for
    review at intake gives no lansia date (no lansia priority) until it is reviewed."""
    if isinstance(event, ResidentLeft):
        return RosterFacts(in_roster=False)
    p = event.payload
    return RosterFacts(in_roster=True, kecamatan_code=p.kecamatan_code, desa_code=p.desa_code,
                       school_npsn=p.school_npsn, wajib_ktp_from=p.wajib_ktp_from,
                       lansia_from=None if p.age_under_review else domain.lansia_from(p.birth_date),
                       disabilitas=p.disabilitas)


async def apply_resident_event(event: ResidentEvent, *, store: RecordingStorage) -> bool:
    """Keep a resident event's roster facts once; False if it was applied before."""
    return await store.set_roster_facts(event.payload.resident_id, str(event.event_id), roster_facts(event))


async def apply_resident_events(events: list[ResidentEvent], *, store: RecordingStorage) -> list[bool]:
    """`apply_resident_event` for events of different residents (at most one each), in one bulk write."""
    written = await store.set_roster_facts_many(
        {e.payload.resident_id: (str(e.event_id), roster_facts(e)) for e in events})
    return [e.payload.resident_id in written for e in events]


async def apply_outreach_event(event: OutreachEvent, *, store: RecordingStorage) -> bool:
    """Keep a visit's state; a closed visit's no-shows carry over to the next visit at its place."""
    if isinstance(event, VisitScheduled):
        p = event.payload
        visit = Visit(visit_id=p.visit_id, date=p.date, kind=str(p.kind), place_code=p.place_code,
                      kecamatan_code=p.kecamatan_code, team=p.team, targets=tuple(p.targets),
                      carried_over=tuple(p.carried_over), state=VisitState.DIJADWALKAN)
        return await store.add_visit(visit, str(event.event_id))
    if isinstance(event, VisitOpened):
        return await store.mark_visit(event.payload.visit_id, str(event.event_id), VisitState.DIBUKA,
                                      at=event.occurred_at)
    closed = event.payload
    known = await store.visit(closed.visit_id)
    applied = await store.mark_visit(closed.visit_id, str(event.event_id), VisitState.DITUTUP, list(closed.no_shows),
                                     at=event.occurred_at)
    if applied:
        place = known.place_code if known else closed.visit_id
        await store.set_carried_over(place, await _waiting_after(store, place, known, list(closed.no_shows)))
    return applied


async def _waiting_after(store: RecordingStorage, place: str, visit: Visit | None, no_shows: list[str]) -> list[str]:
    """Who waits at a place once a visit there closed: its no-shows, then those already waiting who were
    not its targets (another kecamatan's no-shows at a school they share), so no one is dropped."""
    targets = set(visit.targets if visit else ()) | set(no_shows)
    return [*no_shows, *(r for r in await store.carried_over(place) if r not in targets)]


def stage_of(event: RecordingEvent) -> tuple[Stage | None, dt.datetime]:
    """The lifecycle stage an event reports and when it happened."""
    if isinstance(event, RecordingCaptured):
        return Stage.REKAM, event.payload.device_time
    if isinstance(event, RecordingFailed):
        return Stage.GAGAL_REKAM, event.payload.device_time
    if isinstance(event, SiakStatusReported):
        return domain.SIAK_STAGE[event.payload.status], event.payload.status_at
    return None, event.occurred_at


async def apply_recording_event(event: RecordingEvent, *, deps: RecordingDeps) -> str:
    """Move the resident's progress; publish what follows (print request, follow-up) first.

    Derived events have ids made from the source event, so publishing them again after a crash
    is harmless; the state write that records the source event id comes last.
    """
    stage, at = stage_of(event)
    if stage is None:
        return "ignored"
    p = event.payload
    record = await deps.store.resident(p.resident_id)
    if record is not None and str(event.event_id) in record.applied:
        return "duplicate"
    new = domain.advance(record.progress if record else None, stage, at)
    for follow in _consequences(event, record, new, deps.clock()):
        await deps.publisher.publish(follow, topic=RECORDING, key=p.resident_id)
    applied = await deps.store.advance(p.resident_id, str(event.event_id), Place(p.kecamatan_code, p.desa_code), new)
    if not applied:
        return "duplicate"
    return "applied" if new is not None else "stale"


async def apply_recording_events(events: list[RecordingEvent], *, deps: RecordingDeps) -> list[str]:
    """`apply_recording_event` for events of different residents (at most one each): one read of their
    progress, what follows published as one batch, then one bulk write recording every event."""
    staged = [(event, *stage_of(event)) for event in events]
    records = await deps.store.residents_by_id(sorted({e.payload.resident_id for e, stage, _ in staged if stage}))
    now = deps.clock()
    follows: list[Envelope] = []
    changes: dict[str, tuple[str, Place, Progress | None]] = {}
    outcomes: dict[str, str] = {}
    for event, stage, at in staged:
        p = event.payload
        record = records.get(p.resident_id)
        if stage is None or (record is not None and str(event.event_id) in record.applied):
            outcomes[str(event.event_id)] = "ignored" if stage is None else "duplicate"
            continue
        new = domain.advance(record.progress if record else None, stage, at)
        follows += _consequences(event, record, new, now)
        changes[p.resident_id] = (str(event.event_id), Place(p.kecamatan_code, p.desa_code), new)
        outcomes[str(event.event_id)] = "applied" if new is not None else "stale"
    await deps.publisher.publish_many([(f, RECORDING, f.payload.resident_id) for f in follows])  # type: ignore[attr-defined]
    written = await deps.store.advance_many(changes)

    def outcome(event: RecordingEvent) -> str:
        decided = outcomes[str(event.event_id)]
        in_effect = decided in ("ignored", "duplicate") or event.payload.resident_id in written
        return decided if in_effect else "duplicate"  # recorded by another delivery between read and write

    return [outcome(event) for event in events]


def _consequences(event: RecordingEvent, record: ResidentRecord | None, new: Progress | None,
                  now: dt.datetime) -> list[Envelope]:
    """What a stage change publishes before its state is written: a print request at PRR, a follow-up
    for a SIAK status that needs a remedy. Ids come from the source event, so publishing again is harmless."""
    current = record.progress if record else None
    if new is None or new.stage == (current or Progress(Stage.BELUM_REKAM, new.since)).stage:
        return []
    stage = new.stage
    p = event.payload
    place = {"resident_id": p.resident_id, "kecamatan_code": p.kecamatan_code, "desa_code": p.desa_code}
    follows: list[Envelope] = []
    if stage == Stage.PRR:
        lansia_from = record.lansia_from if record else None
        request = PrintRequested(
            event_id=derived_id(event.event_id, "print"), occurred_at=event.occurred_at, recorded_at=now,
            actor=SYSTEM, payload=PrintRequestedPayload(
                **place, reason="pertama", wajib_ktp_from=record.wajib_ktp_from if record else None,
                lansia=lansia_from is not None and lansia_from <= event.occurred_at.date(),
                disabilitas=bool(record and record.disabilitas)),
        )
        follows.append(request)
    remedy = domain.remedy_for(stage)
    if remedy is not None and isinstance(event, SiakStatusReported):
        follows.append(FollowUpRaised(
            event_id=derived_id(event.event_id, "follow_up"), occurred_at=event.occurred_at, recorded_at=now,
            actor=SYSTEM, payload=FollowUpPayload(**place, status=event.payload.status, remedy=remedy),  # type: ignore[arg-type]
        ))
    return follows
