"""SIAK statuses from the central system: sent as JSON rows or as SIAK's CSV export; answered row by row."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import ValidationError

from services.recording import domain
from services.recording.domain import Progress
from services.recording.handlers.common import Forbidden, RecordingDeps, TooLarge, Unreadable, publish_all
from services.recording.inputs import StatusIn
from services.recording.siak_file import SiakFileError, SiakRow, read_siak_file
from shared.auth import Office, actor_of
from shared.contracts import Role
from shared.contracts.recording import SiakStatus, SiakStatusReported
from shared.messages_id import file_refusal, in_one_line
from shared.pseudonym import resident_pseudonym

SIAK_NAMESPACE = uuid.UUID("a8e2f0d4-6b1c-4e59-8f3a-1d7c9b2e4f66")


@dataclass(frozen=True)
class ReportStatuses:
    """SIAK statuses typed in by a dinas admin; an update is a checked row or anything else that was sent."""

    office: Office
    updates: list[StatusIn | dict[str, Any]]


@dataclass(frozen=True)
class ImportSiakFile:
    """A SIAK CSV export (NIK, STATUS, TANGGAL) uploaded by a dinas admin."""

    office: Office
    data: bytes


@dataclass(frozen=True)
class RowResult:
    """The answer for one status; `baris` is the line in the file, for an import."""

    resident_id: str | None
    hasil: Literal["diterima", "diabaikan", "ditolak"]
    alasan: str | None = None
    baris: int | None = None


@dataclass(frozen=True)
class StatusResult:
    """How many statuses were taken and how many not applied (the resident already further along), and the
    answer for each."""

    diterima: int
    hasil: list[RowResult]
    diabaikan: int = 0


def _admin_only(office: Office) -> None:
    if office.role != Role.DINAS_ADMIN:
        raise Forbidden("Hanya admin dinas yang memasukkan status SIAK.")


UNKNOWN_RESIDENT = "penduduk tidak dikenal di perekaman"


async def _checked(raw: StatusIn | dict[str, Any], office: Office, deps: RecordingDeps, now: dt.datetime,
                   progress: dict[str, Progress | None], date_column: str) -> SiakStatusReported | RowResult:
    """One row as the event to publish, or its answer; `progress` holds where this request has moved each
    resident so far, so a status that would move a resident backwards is answered 'diabaikan'."""
    try:
        update = raw if isinstance(raw, StatusIn) else StatusIn.model_validate(raw)
    except ValidationError as exc:
        return RowResult(None, "ditolak", in_one_line(exc.errors(include_input=False)))
    if update.status not in SiakStatus.__members__:
        return RowResult(update.resident_id, "ditolak", f"kode status {update.status!r} tidak dikenal")
    if (future := domain.status_time_problem(update.status_at, now, column=date_column)) is not None:
        return RowResult(update.resident_id, "ditolak", future)
    resident = await deps.store.resident(update.resident_id)
    if resident is None or not resident.place.kecamatan_code:
        return RowResult(update.resident_id, "ditolak", UNKNOWN_RESIDENT)
    current = progress.get(update.resident_id, resident.progress)
    stage = domain.SIAK_STAGE[SiakStatus(update.status)]
    new = domain.advance(current, stage, update.status_at)
    if new is None and current is not None:
        return RowResult(update.resident_id, "diabaikan", domain.backwards_problem(current, update.status, stage))
    progress[update.resident_id] = new
    event_id = uuid.uuid5(SIAK_NAMESPACE, f"{update.resident_id}:{update.status}:{update.status_at.isoformat()}")
    return SiakStatusReported(
        event_id=event_id, occurred_at=update.status_at, recorded_at=now, actor=actor_of(office),
        payload={"resident_id": update.resident_id, "kecamatan_code": resident.place.kecamatan_code,  # type: ignore[arg-type]
                 "desa_code": resident.place.desa_code, "status": SiakStatus(update.status),
                 "status_at": update.status_at})


async def _apply(updates: list[StatusIn | dict[str, Any]], office: Office, deps: RecordingDeps, *,
                 date_column: str = "status_at") -> StatusResult:
    """Each update checked and published; `date_column` is how the sender names the status date."""
    now = deps.clock()
    results: list[RowResult] = []
    accepted: list[SiakStatusReported] = []
    progress: dict[str, Progress | None] = {}
    for raw in updates:
        checked = await _checked(raw, office, deps, now, progress, date_column)
        if isinstance(checked, RowResult):
            results.append(checked)
        else:
            accepted.append(checked)
            results.append(RowResult(checked.payload.resident_id, "diterima"))
    await publish_all(accepted, deps=deps, what="status")
    return StatusResult(diterima=len(accepted), hasil=results,
                        diabaikan=sum(1 for r in results if r.hasil == "diabaikan"))


async def report_siak_statuses(command: ReportStatuses, *, deps: RecordingDeps) -> StatusResult:
    """Publish each known resident's status; unknown codes, residents and malformed rows are refused row by row."""
    _admin_only(command.office)
    if len(command.updates) > deps.max_batch_events:
        raise TooLarge(f"Paling banyak {deps.max_batch_events} status per kiriman.")
    return await _apply(command.updates, command.office, deps)


def _file_answer(row: SiakRow, result: RowResult) -> RowResult:
    """A row's answer with its line; an unknown resident is named by the file's NIK column."""
    if result.alasan == UNKNOWN_RESIDENT:
        result = replace(result, alasan="NIK ini belum ada di daftar penduduk perekaman: daftarkan dulu penduduknya, "
                                        "lalu kirim ulang baris ini")
    return replace(result, baris=row.line)


async def import_siak_file(command: ImportSiakFile, *, deps: RecordingDeps) -> StatusResult:
    """Read SIAK's CSV, turn each NIK into its pseudonym, and report the statuses; every data line of the
    file is answered with its line number, read or not."""
    _admin_only(command.office)
    try:
        siak = read_siak_file(command.data)
    except SiakFileError as exc:
        raise Unreadable(file_refusal(exc.reason, exc.missing_columns)) from exc
    if siak.data_lines > deps.max_batch_events:
        raise TooLarge(f"Paling banyak {deps.max_batch_events} baris per file.")
    updates: list[StatusIn | dict[str, Any]] = [
        StatusIn(resident_id=resident_pseudonym(row.nik, key=deps.pseudonym_key), status=row.status.value,
                 status_at=row.status_at) for row in siak.rows]
    answer = await _apply(updates, command.office, deps, date_column="TANGGAL")
    lines = [_file_answer(row, result) for row, result in zip(siak.rows, answer.hasil, strict=True)]
    refused = [RowResult(None, "ditolak", problem.reason, baris=problem.line) for problem in siak.problems]
    return StatusResult(diterima=answer.diterima, diabaikan=answer.diabaikan,
                        hasil=sorted([*lines, *refused], key=lambda r: r.baris or 0))
