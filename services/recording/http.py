"""HTTP routes of the recording service: visits, offline field uploads, SIAK statuses, stuck residents.

Each route turns the request into a command, calls one use case, and answers its errors with a
status code and the use case's Indonesian message.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.recording.domain import Stage, VisitState, WaitingWalkIn
from services.recording.handlers import (
    VISITS_LISTED,
    Conflict,
    FieldRefused,
    FindStuck,
    Forbidden,
    ImportSiakFile,
    ListVisits,
    ListWalkIns,
    NotDelivered,
    NotFound,
    RecordingDeps,
    RecordingError,
    ReportStatuses,
    ResidentStatus,
    ScheduleVisit,
    TooLarge,
    Unreadable,
    UploadBatch,
    VisitCommand,
    close_visit,
    get_visit,
    import_siak_file,
    list_visits,
    list_walk_ins,
    open_visit,
    report_siak_statuses,
    resident_status,
    schedule_visit,
    stuck_residents,
    upload_batch,
)
from services.recording.inputs import (
    RESIDENT_ID,
    FieldEventIn,
    Name64,
    StatusIn,
    at_most_chars,
    at_most_items,
    chars,
)
from shared.auth import Office, current_office
from shared.contracts.recording import MAX_VISIT_TARGETS, VisitKind, VisitScheduledPayload
from shared.http import kafka_unavailable
from shared.http_types import Date, Problem, ValidationProblem
from shared.idempotency import IdempotencyKey, answer_once

KECAMATAN = r"^\d{2}\.\d{2}\.\d{2}$"
VISIT_ID = r"^[A-Za-z0-9._-]{3,64}$"
# A SIAK file: its header, then at least one row. The reader also takes other letter cases, another
# column order, a BOM and blank lines first.
SIAK_FILE = r"^(NIK;STATUS;TANGGAL|NIK,STATUS,TANGGAL)\r?\n\s*\S"
# The default of EKTP_RECORDING_MAX_BATCH_EVENTS; a longer list is answered 413, not 422.
MAX_ITEMS = 5000
VisitIdPath = Annotated[str, Path(pattern=VISIT_ID, description="id chosen by the office")]
ResidentIdPath = Annotated[str, Path(pattern=RESIDENT_ID, description="resident pseudonym (never the NIK)")]
T = TypeVar("T")



ANSWERS: dict[int, dict[str, Any]] = {
    400: {"model": Problem, "description": "isi permintaan bukan JSON / multipart yang terbaca"},
    401: {"model": Problem, "description": "kunci API belum dikirim, tidak dikenal, atau sudah dicabut"},
    403: {"model": Problem, "description": "peran atau kecamatan kantor ini tidak berwenang"},
    404: {"model": Problem, "description": "tidak ditemukan (atau di luar kecamatan kantor ini)"},
    409: {"model": Problem, "description": "tidak sesuai keadaan kunjungan, atau Idempotency-Key dipakai untuk data lain"},
    413: {"model": Problem, "description": "isi permintaan atau jumlah butir terlalu besar"},
    422: {"model": ValidationProblem, "description": "data tidak valid"},
    429: {"model": Problem, "description": "terlalu banyak penulisan dari kantor ini; lihat Retry-After"},
    503: {"model": Problem, "description": "Kafka atau basis data tidak tersedia; kirim ulang (Retry-After)"},
}
STATUS_OF: dict[type[RecordingError], int] = {NotFound: 404, Conflict: 409, Forbidden: 403, TooLarge: 413,
                                              Unreadable: 422, FieldRefused: 422}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The documented refusals of a route."""
    return {code: ANSWERS[code] for code in codes}


READ = answers(401, 404, 422, 503)
WRITES = (400, 401, 403, 409, 413, 422, 429, 503)
WRITE = answers(*WRITES)
router = APIRouter(tags=["perekaman"])


def deps_of(request: Request) -> RecordingDeps:
    """The use cases' dependencies, set on the app by app.py."""
    return request.app.state.deps  # type: ignore[no-any-return]


async def run(use_case: Callable[..., Awaitable[T]], command: Any, deps: RecordingDeps) -> T:
    """Call one use case; its refusals become HTTP answers."""
    try:
        return await use_case(command, deps=deps)
    except NotDelivered as exc:
        raise kafka_unavailable(str(exc.detail)) from exc
    except FieldRefused as exc:
        # The same 422 as a field pydantic refuses: the field named, the reason in Indonesian.
        raise RequestValidationError([{"loc": ("body", exc.field), "type": "value_error", "msg": exc.reason}]
                                     ) from exc
    except RecordingError as exc:
        raise HTTPException(STATUS_OF[type(exc)], exc.detail) from exc


class Answer(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class VisitIn(BaseModel):
    visit_id: str = Field(pattern=VISIT_ID, description="id chosen by the office")
    date: Date = Field(description="tanggal kunjungan: at most 365 days before or after today in WIB by default "
                                   "(EKTP_RECORDING_VISIT_DAYS_BACK / _AHEAD); outside: 422 naming `date`")
    kind: VisitKind
    place_code: Annotated[str, at_most_chars(20, 1), chars(20, 1)] = Field(
        description="NPSN, desa code or kecamatan code")
    kecamatan_code: str = Field(pattern=KECAMATAN)
    team: Annotated[str, at_most_chars(64, 1), chars(64, 1)]
    targets: Annotated[list[Annotated[str, Field(pattern=RESIDENT_ID)]],
                       at_most_items(MAX_VISIT_TARGETS, "bagi menjadi beberapa kunjungan")] | None = Field(
        None, description=f"resident ids; omitted: drawn from the roster. At most {MAX_VISIT_TARGETS} together with "
                          "the residents carried over from the last visit at the place (the most one event may "
                          "carry); more: 422 naming `targets`", json_schema_extra={"maxItems": MAX_VISIT_TARGETS})


class VisitStep(Answer):
    """A visit opened or closed."""

    visit_id: str
    event_id: uuid.UUID
    kecamatan_code: str
    no_shows: list[str] | None = Field(None, description="on closing: targets carried over to the next visit")


class VisitOut(Answer):
    """A visit and its targets (resident ids only)."""

    visit_id: str
    date: dt.date
    kind: str
    place_code: str
    kecamatan_code: str
    team: str
    targets: list[str]
    carried_over: list[str]
    state: VisitState
    no_shows: list[str] | None = None


FieldItem = Annotated[FieldEventIn | dict[str, Any], Field(union_mode="left_to_right")]
StatusItem = Annotated[StatusIn | dict[str, Any], Field(union_mode="left_to_right")]


class BatchIn(BaseModel):
    device_id: Name64
    events: list[FieldItem] = Field(
        description="field events; each is checked on its own, and an item that is not a valid field event is "
                    f"answered 'ditolak' with the reason. More than {MAX_ITEMS} items: 413.",
        json_schema_extra={"maxItems": MAX_ITEMS})


class ItemOut(Answer):
    event_id: str | None = Field(description="the item's event_id, when it had one")
    hasil: Literal["diterima", "duplikat", "walk_in", "ditolak"]
    alasan: str | None = Field(description="why an item was refused, a duplicate or kept as a walk-in")


class Summary(BaseModel):
    diterima: int
    duplikat: int
    walk_in: int
    ditolak: int


class BatchOut(Answer):
    """Counts per outcome and the answer for each item, in upload order."""

    ringkasan: Summary
    hasil: list[ItemOut]


class StatusBatchIn(BaseModel):
    updates: list[StatusItem] = Field(
        description="SIAK statuses; each is checked on its own, and a row that is not a valid status is answered "
                    f"'ditolak' with the reason. More than {MAX_ITEMS} rows: 413.",
        json_schema_extra={"maxItems": MAX_ITEMS})


class RowOut(Answer):
    resident_id: str | None
    hasil: Literal["diterima", "diabaikan", "ditolak"] = Field(
        description="diterima: applied; diabaikan: not applied, the resident is already at this stage or further "
                    "(a status never goes backwards); ditolak: refused, see alasan")
    alasan: str | None


class StatusOut(Answer):
    """How many statuses were taken and how many not applied, and the answer for each row."""

    diterima: int
    diabaikan: int = Field(description="statuses not applied: the resident is already at that stage or further")
    hasil: list[RowOut]


class FileRowOut(RowOut):
    baris: int = Field(description="line in the file (the header is line 1)")


class FileOut(Answer):
    """How many statuses were taken and how many not applied, and the answer for each line of the file."""

    diterima: int
    diabaikan: int = Field(description="statuses not applied: the resident is already at that stage or further")
    hasil: list[FileRowOut]


class ResidentOut(BaseModel):
    """Where a resident is in the recording lifecycle (no personal data)."""

    resident_id: str
    stage: Stage
    since: dt.datetime | None = Field(description="when the stage was reached; null before any recording")
    stale_reports: int = Field(description="reports ignored because the resident was already further along")
    in_roster: bool


class StuckRow(Answer):
    resident_id: str
    stage: Stage
    since: dt.datetime
    kecamatan_code: str | None
    desa_code: str | None


class StuckOut(BaseModel):
    hari: int
    jumlah: int
    penduduk: list[StuckRow]


async def once(request: Request, office: Office, key: str | None, body: BaseModel | None,
               command: Callable[[], Awaitable[BaseModel]], status_code: int = 200) -> JSONResponse:
    """A write under the idempotency convention (shared.idempotency): a retry with the same key and
    body gets the first answer. The visit id and the device's event ids keep their own guarantees."""

    async def action(_: uuid.UUID) -> BaseModel:
        return await command()

    return await answer_once(request, office_id=office.office_id, key=key, body=body, command=action,
                             status_code=status_code)


@router.post("/visits", status_code=201, response_model=VisitScheduledPayload, responses=answers(*WRITES),
             summary="Jadwalkan kunjungan jemput bola (target dari daftar penduduk)")
async def post_visit(body: VisitIn, request: Request, key: IdempotencyKey = None,
                     office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of)) -> JSONResponse:
    async def command() -> BaseModel:
        return (await run(schedule_visit, ScheduleVisit(office=office, **body.model_dump()), deps)).payload

    return await once(request, office, key, body, command, status_code=201)


@router.post("/visits/{visit_id}/buka", response_model=VisitStep, responses=answers(*WRITES, 404),
             summary="Buka kunjungan (mulai perekaman)")
async def post_open(visit_id: VisitIdPath, request: Request, key: IdempotencyKey = None,
                    office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of)) -> JSONResponse:
    async def command() -> BaseModel:
        event = await run(open_visit, VisitCommand(office=office, visit_id=visit_id), deps)
        return VisitStep(visit_id=visit_id, event_id=event.event_id, kecamatan_code=event.payload.kecamatan_code)

    return await once(request, office, key, None, command)


@router.post("/visits/{visit_id}/tutup", response_model=VisitStep, responses=answers(*WRITES, 404),
             summary="Tutup kunjungan; yang belum direkam pindah ke kunjungan berikutnya")
async def post_close(visit_id: VisitIdPath, request: Request, key: IdempotencyKey = None,
                     office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of)) -> JSONResponse:
    async def command() -> BaseModel:
        event = await run(close_visit, VisitCommand(office=office, visit_id=visit_id), deps)
        return VisitStep(visit_id=visit_id, event_id=event.event_id, kecamatan_code=event.payload.kecamatan_code,
                         no_shows=event.payload.no_shows)

    return await once(request, office, key, None, command)


class VisitsOut(BaseModel):
    kunjungan: list[VisitOut] = Field(description=f"by date, at most {VISITS_LISTED}")


@router.get("/visits", response_model=VisitsOut, responses=answers(401, 403, 422, 503),
            summary="Kunjungan satu kecamatan yang belum ditutup (untuk kantor dan tim jemput bola)")
async def get_visits_route(
    kecamatan_code: Annotated[str, Query(pattern=KECAMATAN, description="kecamatan, e.g. 17.02.06")],
    office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of),
    termasuk_ditutup: Annotated[bool, Query(description="true: closed visits too")] = False,
) -> VisitsOut:
    states = tuple(VisitState) if termasuk_ditutup else (VisitState.DIJADWALKAN, VisitState.DIBUKA)
    visits = await run(list_visits, ListVisits(office=office, kecamatan_code=kecamatan_code, states=states), deps)
    return VisitsOut(kunjungan=[VisitOut.model_validate(v) for v in visits])


@router.get("/visits/{visit_id}", response_model=VisitOut, responses=READ,
            summary="Kunjungan dan daftar targetnya (id penduduk saja)")
async def get_visit_route(visit_id: VisitIdPath, office: Office = Depends(current_office),
                          deps: RecordingDeps = Depends(deps_of)) -> VisitOut:
    return VisitOut.model_validate(await run(get_visit, VisitCommand(office=office, visit_id=visit_id), deps))


@router.post("/batches", response_model=BatchOut, responses=WRITE,
             summary="Unggah kejadian lapangan (offline) sekaligus; hasil per kejadian")
async def post_batch(body: BatchIn, request: Request, key: IdempotencyKey = None,
                     office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of)) -> JSONResponse:
    async def command() -> BaseModel:
        upload = UploadBatch(office=office, device_id=body.device_id, events=list(body.events))
        return BatchOut.model_validate(await run(upload_batch, upload, deps))

    return await once(request, office, key, body, command)


@router.post("/siak/status", response_model=StatusOut, responses=WRITE,
             summary="Status SIAK dari pusat (PRR, SFE, DUPLICATE_RECORD, ...); hasil per baris")
async def post_status(body: StatusBatchIn, request: Request, key: IdempotencyKey = None,
                      office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of)) -> JSONResponse:
    async def command() -> BaseModel:
        report = ReportStatuses(office=office, updates=list(body.updates))
        return StatusOut.model_validate(await run(report_siak_statuses, report, deps))

    return await once(request, office, key, body, command)


@router.post("/siak/import", response_model=FileOut, responses=WRITE,
             summary="Impor file status SIAK (CSV: NIK;STATUS;TANGGAL); hasil per baris")
async def post_status_file(
    file: Annotated[UploadFile, File(description="CSV dari SIAK, UTF-8, dengan baris judul NIK;STATUS;TANGGAL "
                                                 "(atau dipisah koma) lalu minimal satu baris status; TANGGAL dd/mm/yyyy "
                                                 "atau yyyy-mm-dd (jam boleh menyusul, tanpa zona waktu berarti WIB). "
                                                 "Setiap baris data dijawab: baris yang tidak terbaca (tanda kutip "
                                                 "tidak ditutup, sel berlebih, tanggal salah) ditolak dengan "
                                                 "nomor baris dan alasannya",
                                     json_schema_extra={"pattern": SIAK_FILE, "minLength": 20})],
    office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of),
) -> FileOut:
    command = ImportSiakFile(office=office, data=await file.read())
    return FileOut.model_validate(await run(import_siak_file, command, deps))


@router.get("/residents/{resident_id}/status", response_model=ResidentOut, responses=READ,
            summary="Tahap perekaman seorang penduduk (tanpa data pribadi)")
async def get_status(resident_id: ResidentIdPath, office: Office = Depends(current_office),
                     deps: RecordingDeps = Depends(deps_of)) -> ResidentOut:
    record = await run(resident_status, ResidentStatus(office=office, resident_id=resident_id), deps)
    return ResidentOut(resident_id=record.resident_id, stage=record.stage, since=record.since,
                       stale_reports=record.stale_reports, in_roster=record.in_roster)


@router.get("/stuck", response_model=StuckOut, responses=answers(401, 403, 422, 503),
            summary="Penduduk yang tertahan terlalu lama di satu status (mis. SFE)")
async def get_stuck(
    days: Annotated[int, Query(ge=1, le=3650)] = 14,
    stage: Annotated[Stage | None, Query()] = None,
    kecamatan_code: Annotated[str | None, Query(pattern=KECAMATAN)] = None,
    office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of),
) -> StuckOut:
    command = FindStuck(office=office, days=days, stage=stage, kecamatan_code=kecamatan_code)
    rows = await run(stuck_residents, command, deps)
    return StuckOut(hari=days, jumlah=len(rows), penduduk=[StuckRow.model_validate(r) for r in rows])


class WalkInOut(BaseModel):
    """A field event of someone not in the roster yet, waiting until the office registers them."""

    event_id: str
    kind: str = Field(description="captured, failed or absent")
    nik: str | None = Field(description="NIK as the field team typed it (null when only a resident_id was sent)")
    name: str | None
    desa_code: str | None
    resident_id: str = Field(description="the pseudonym the resident will have once registered")
    visit_id: str | None
    device_time: dt.datetime
    kantor: str = Field(description="the office whose device uploaded it")
    diunggah: dt.datetime


class WalkInsOut(BaseModel):
    jumlah: int
    walk_in: list[WalkInOut] = Field(description="oldest first; once intake registers the NIK, the capture is "
                                                 "counted and the walk-in leaves this list")


def walk_in_out(w: WaitingWalkIn) -> WalkInOut:
    """A waiting walk-in as the office sees it."""
    data = w.item.get("walk_in") or {}
    return WalkInOut(event_id=w.event_id, kind=w.item.get("kind", ""), nik=data.get("nik"), name=data.get("name"),
                     desa_code=data.get("desa_code"), resident_id=w.resident_id, visit_id=w.item.get("visit_id"),
                     device_time=w.item["device_time"], kantor=w.office_id, diunggah=w.at)


@router.get("/walk-ins", response_model=WalkInsOut, responses=answers(401, 403, 422, 503),
            summary="Walk-in yang menunggu pendaftaran di kecamatan (data pribadi: tercatat di log audit)")
async def get_walk_ins(
    kecamatan_code: Annotated[str | None, Query(pattern=KECAMATAN, description="kosong: kecamatan kantor ini; "
                                                                                "admin dinas: semua")] = None,
    office: Office = Depends(current_office), deps: RecordingDeps = Depends(deps_of),
) -> WalkInsOut:
    waiting = await run(list_walk_ins, ListWalkIns(office=office, kecamatan_code=kecamatan_code), deps)
    return WalkInsOut(jumlah=len(waiting), walk_in=[walk_in_out(w) for w in waiting])
