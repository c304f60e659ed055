"""Reading residents' progress: one resident's stage, and residents stuck in a stage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.recording import domain
from services.recording.domain import ResidentRecord, Stage, StuckResident
from services.recording.handlers.common import Forbidden, NotFound, RecordingDeps
from shared.auth import Office
from shared.contracts import Role


@dataclass(frozen=True)
class ResidentStatus:
    """Where one resident is in the recording lifecycle."""

    office: Office
    resident_id: str


@dataclass(frozen=True)
class FindStuck:
    """Residents in `stage` (or any stage that should move on) for more than `days` days."""

    office: Office
    days: int = 14
    stage: Stage | None = None
    kecamatan_code: str | None = None


async def resident_status(command: ResidentStatus, *, deps: RecordingDeps) -> ResidentRecord:
    """A resident of the office's kecamatan (any for a dinas admin); others answer as unknown."""
    record = await deps.store.resident(command.resident_id)
    office = command.office
    if record is None or not domain.in_scope(office.role, office.kecamatan_code, record.place.kecamatan_code):
        raise NotFound("Penduduk tidak dikenal di perekaman.")
    return record


async def stuck_residents(command: FindStuck, *, deps: RecordingDeps) -> list[StuckResident]:
    """A kecamatan office names its own kecamatan; a dinas admin may ask for all."""
    office = command.office
    if office.role != Role.DINAS_ADMIN and command.kecamatan_code != office.kecamatan_code:
        raise Forbidden("Sebutkan kecamatan kantor ini.")
    before = deps.clock() - dt.timedelta(days=command.days)
    return await deps.store.stuck(stage=command.stage, before=before, kecamatan_code=command.kecamatan_code)
