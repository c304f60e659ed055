"""Walk-ins: field events of people not in the roster wait for the kecamatan office to register them; once
the resident is enrolled, their capture counts."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from services.recording import domain
from services.recording.domain import WaitingWalkIn
from services.recording.handlers.common import Forbidden, RecordingDeps
from services.recording.handlers.uploads import field_event
from services.recording.inputs import FieldEventIn
from shared.auth import Office
from shared.clock import WIB
from shared.contracts import Actor, ResidentEvent, Role
from shared.contracts.resident import ResidentLeft
from shared.topics import RECORDING

WALK_INS_SHOWN = 1000
APPLIED, REFUSED = "diterapkan", "ditolak"


@dataclass(frozen=True)
class ListWalkIns:
    """The walk-ins waiting in a kecamatan (an office: its own; the dinas: any, or all)."""

    office: Office
    kecamatan_code: str | None = None


async def list_walk_ins(command: ListWalkIns, *, deps: RecordingDeps) -> list[WaitingWalkIn]:
    """Waiting walk-ins, oldest first; they carry personal data, so the read goes to the audit log."""
    office = command.office
    if office.role not in domain.SCHEDULING_ROLES:
        raise Forbidden("Hanya kantor kecamatan atau admin dinas yang melihat daftar walk-in.")
    kecamatan_code = command.kecamatan_code or (None if office.role == Role.DINAS_ADMIN else office.kecamatan_code)
    if office.role != Role.DINAS_ADMIN and kecamatan_code != office.kecamatan_code:
        raise Forbidden("Walk-in kecamatan lain dilihat oleh kantor kecamatan itu sendiri.")
    waiting = await deps.store.waiting_walk_ins(kecamatan_code=kecamatan_code, limit=WALK_INS_SHOWN)
    await deps.store.record_read(office_id=office.office_id, operator=office.operator,
                                 action="baca_walk_in", scope=kecamatan_code or "kab",
                                 resident_ids=[w.resident_id for w in waiting], now=deps.clock())
    return waiting


async def apply_waiting_walk_ins_of(events: list[ResidentEvent], *, deps: RecordingDeps) -> int:
    """`apply_waiting_walk_ins` for many resident events: one look for waiting walk-ins, then only those."""
    enrolled = [e for e in events if not isinstance(e, ResidentLeft)]
    waiting = await deps.store.walk_ins_waiting_for([e.payload.resident_id for e in enrolled])
    applied = 0
    for event in enrolled:
        if event.payload.resident_id in waiting:
            applied += await apply_waiting_walk_ins(event, deps=deps)
    return applied


async def apply_waiting_walk_ins(event: ResidentEvent, *, deps: RecordingDeps) -> int:
    """A resident on the roster: their waiting walk-ins' captures and failures are published as recording
    events under the device's event ids (a replay changes nothing), then the walk-ins are closed."""
    if isinstance(event, ResidentLeft):
        return 0
    resident_id = event.payload.resident_id
    waiting = await deps.store.walk_ins_of(resident_id)
    resident = await deps.store.resident(resident_id) if waiting else None
    if resident is None or not resident.in_roster:
        return 0
    applied = 0
    for walk_in in waiting:
        try:
            item = FieldEventIn.model_validate({**walk_in.item, "walk_in": None, "resident_id": resident_id})
        except ValidationError:
            await deps.store.close_walk_in(walk_in.event_id, REFUSED, deps.clock())
            continue
        young = domain.too_young_problem(resident.wajib_ktp_from, item.device_time.astimezone(WIB).date())
        if item.kind != "absent" and young is None:
            recorded = field_event(item, resident, Actor.model_validate(walk_in.actor), deps.clock())
            await deps.publisher.publish(recorded, topic=RECORDING, key=resident_id)
            applied += 1
        await deps.store.close_walk_in(walk_in.event_id, REFUSED if young else APPLIED, deps.clock())
    return applied
