"""HTTP routes of the intake service: kecamatan offices keep the roster of wajib KTP residents."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, File, Header, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.intake.dapodik import DapodikFileError, parse_dapodik
from services.intake.domain import RosterRuleError
from services.intake.handlers import (
    AlreadyRegistered,
    CorrectResident,
    IntakeDeps,
    MarkResidentLeft,
    NotInRoster,
    RegisterResident,
    correct_resident,
    mark_resident_left,
    register_resident,
    today_in_wib,
)
from services.intake.imports import DONE, RUNNING, ImportJobs, in_scope, job_id_for, run_import
from services.intake.store import AuditLog, RequestLog
from shared.auth import Office
from shared.contracts import Actor, Role
from shared.contracts.resident import LeaveReason, ResidentData
from shared.http import kafka_unavailable
from shared.http_types import VALIDATION_ANSWER, Date, DateTime

REQUEST_NAMESPACE = uuid.UUID("6f1c2b8e-3a55-4c8e-9d0b-7a1e2f3c4d5e")
RESIDENT_ID = r"^r[0-9a-f]{32}$"
ResidentIdPath = Annotated[str, Path(pattern=RESIDENT_ID, description="resident pseudonym (never the NIK)")]
IdempotencyKey = Annotated[
    str | None,
    Header(max_length=100, description="repeat a request with the same key: same answer, no second effect"),
]


class ResidentIn(ResidentData):
    """A resident as a kecamatan office submits them."""

    birth_date: Date = Field(description="tanggal lahir")
    occurred_at: DateTime | None = Field(None, description="when the data was taken; defaults to now")


class CorrectionIn(ResidentIn):
    reason: str = Field(description="why the data is corrected", min_length=3, max_length=200)


class LeaveIn(BaseModel):
    reason: LeaveReason = Field(description="pindah (moved out of the regency) or meninggal (deceased)")
    effective_date: Date = Field(description="date of moving out or of death")


class Accepted(BaseModel):
    """The answer to an accepted command."""

    event_id: uuid.UUID = Field(description="id of the event; the same for a repeated request")
    resident_id: str = Field(description="pseudonym of the resident")
    status: str = Field("diterima", description="diterima: the event is durable in Kafka")
    wajib_ktp_from: dt.date | None = Field(None, description="the day the resident is or becomes wajib KTP")
    nik_from_other_regency: bool | None = Field(None, description="NIK issued outside Rejang Lebong")
    perlu_tinjauan: list[str] = Field(
        default_factory=list,
        description="residents with the same name, birth date and desa under another NIK (flagged for review)",
    )


def may_write(office: Office, kecamatan_code: str) -> bool:
    """Dinas admins write anywhere; a kecamatan office only in its own kecamatan."""
    if office.role == Role.DINAS_ADMIN:
        return True
    return office.role == Role.KECAMATAN_OFFICE and office.kecamatan_code == kecamatan_code


def may_read_personal(office: Office, kecamatan_code: str | None) -> bool:
    """Personal data: dinas admins everywhere, a kecamatan office for its own kecamatan only."""
    if office.role == Role.DINAS_ADMIN:
        return True
    return office.role == Role.KECAMATAN_OFFICE and kecamatan_code == office.kecamatan_code


def _forbidden(office: Office, kecamatan_code: str | None) -> HTTPException:
    return HTTPException(403, f"Kantor {office.office_id} ({office.role.value}) tidak berwenang "
                              f"untuk kecamatan {kecamatan_code or 'semua'}.")


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def _actor(office: Office) -> Actor:
    return Actor(office_id=office.office_id, role=office.role, operator=office.office_id)


async def idempotent(
    request: Request, office: Office, key: str | None, body: dict[str, Any],
    action: Callable[[uuid.UUID], Awaitable[tuple[int, dict[str, Any]]]],
) -> JSONResponse:
    """Run a command once per (office, route, Idempotency-Key); a retry gets the first answer."""
    log: RequestLog = request.app.state.requests
    fingerprint = _fingerprint(body)
    if key:
        event_id = uuid.uuid5(REQUEST_NAMESPACE, f"{office.office_id}:{request.url.path}:{key}")
        earlier = await log.find(str(event_id))
        if earlier is not None:
            if earlier["fingerprint"] != fingerprint:
                raise HTTPException(409, "Idempotency-Key ini sudah dipakai untuk data lain; "
                                         "gunakan kunci baru untuk data baru.")
            return JSONResponse(earlier["body"], status_code=earlier["status"],
                                headers={"Idempotent-Replay": "true"})
    else:
        event_id = uuid.uuid4()
    try:
        status, answer = await action(event_id)
    except RosterRuleError as exc:
        raise HTTPException(422, {"message": "Data penduduk ditolak.",
                                  "errors": [{"field": exc.field, "reason": exc.reason, "rule": exc.problem}]}
                            ) from exc
    except AlreadyRegistered as exc:
        raise HTTPException(409, {"message": "NIK ini sudah terdaftar sebagai satu penduduk; untuk mengubah "
                                             "datanya kirim koreksi (PUT /residents/{resident_id}).",
                                  "resident_id": exc.resident_id}) from exc
    except NotInRoster as exc:
        raise HTTPException(404, "Penduduk tidak ada di daftar (atau sudah keluar).") from exc
    except (KafkaError, TimeoutError) as exc:
        raise kafka_unavailable() from exc
    if key:
        await log.remember(str(event_id), fingerprint=fingerprint, status=status, body=answer,
                           now=request.app.state.deps.clock())
    return JSONResponse(answer, status_code=status)


def build_router(current_office: Callable[..., Awaitable[Office]]) -> APIRouter:
    router = APIRouter(tags=["penduduk"], responses=VALIDATION_ANSWER)
    errors: dict[int | str, dict[str, Any]] = {
        401: {"description": "kunci API salah"}, 403: {"description": "kecamatan lain"},
        409: {"description": "sudah terdaftar / kunci dipakai ulang"}, 413: {"description": "terlalu besar"},
        **VALIDATION_ANSWER, 503: {"description": "Kafka tidak tersedia"},
    }

    @router.post("/residents", status_code=201, response_model=Accepted, responses=errors,
                 summary="Daftarkan penduduk (wajib KTP atau akan wajib KTP)")
    async def post_resident(
        body: ResidentIn, request: Request, office: Office = Depends(current_office),
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        if not may_write(office, body.kecamatan_code):
            raise _forbidden(office, body.kecamatan_code)
        deps: IntakeDeps = request.app.state.deps

        async def action(event_id: uuid.UUID) -> tuple[int, dict[str, Any]]:
            done = await register_resident(RegisterResident(
                event_id=event_id, data=ResidentData(**body.model_dump(exclude={"occurred_at"})),
                actor=_actor(office), occurred_at=body.occurred_at), deps=deps)
            p = done.event.payload
            return 201, Accepted(event_id=done.event.event_id, resident_id=p.resident_id,
                                 wajib_ktp_from=p.wajib_ktp_from, nik_from_other_regency=p.nik_from_other_regency,
                                 perlu_tinjauan=done.possible_duplicates).model_dump(mode="json")

        return await idempotent(request, office, idempotency_key, body.model_dump(mode="json"), action)

    @router.put("/residents/{resident_id}", response_model=Accepted, responses={**errors, 404: {}},
                summary="Koreksi data penduduk (NIK tidak dapat diubah)")
    async def put_resident(
        resident_id: ResidentIdPath,
        body: CorrectionIn, request: Request, office: Office = Depends(current_office),
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        deps: IntakeDeps = request.app.state.deps
        current = await deps.roster.get(resident_id)
        if current is not None and not (may_write(office, current["kecamatan_code"])
                                        and may_write(office, body.kecamatan_code)):
            raise _forbidden(office, current["kecamatan_code"])

        async def action(event_id: uuid.UUID) -> tuple[int, dict[str, Any]]:
            event = await correct_resident(CorrectResident(
                event_id=event_id, resident_id=resident_id,
                data=ResidentData(**body.model_dump(exclude={"occurred_at", "reason"})), reason=body.reason,
                actor=_actor(office), occurred_at=body.occurred_at), deps=deps)
            return 200, Accepted(event_id=event.event_id, resident_id=resident_id,
                                 wajib_ktp_from=event.payload.wajib_ktp_from,
                                 nik_from_other_regency=event.payload.nik_from_other_regency).model_dump(mode="json")

        return await idempotent(request, office, idempotency_key, body.model_dump(mode="json"), action)

    @router.post("/residents/{resident_id}/keluar", response_model=Accepted, responses={**errors, 404: {}},
                 summary="Tandai penduduk pindah keluar atau meninggal")
    async def post_left(
        resident_id: ResidentIdPath, body: LeaveIn, request: Request, office: Office = Depends(current_office),
        idempotency_key: IdempotencyKey = None,
    ) -> JSONResponse:
        deps: IntakeDeps = request.app.state.deps
        current = await deps.roster.get(resident_id)
        if current is not None and not may_write(office, current["kecamatan_code"]):
            raise _forbidden(office, current["kecamatan_code"])

        async def action(event_id: uuid.UUID) -> tuple[int, dict[str, Any]]:
            event = await mark_resident_left(MarkResidentLeft(
                event_id=event_id, resident_id=resident_id, reason=body.reason,
                effective_date=body.effective_date, actor=_actor(office)), deps=deps)
            return 200, Accepted(event_id=event.event_id, resident_id=resident_id).model_dump(mode="json")

        return await idempotent(request, office, idempotency_key, body.model_dump(mode="json"), action)

    @router.get("/residents/{resident_id}", summary="Data satu penduduk (data pribadi: tercatat di log audit)")
    async def get_resident(
        resident_id: ResidentIdPath, request: Request, office: Office = Depends(current_office)
    ) -> Any:
        deps: IntakeDeps = request.app.state.deps
        doc = await deps.roster.get(resident_id)
        if doc is None:
            raise HTTPException(404, "Penduduk tidak ada di daftar.")
        if not may_read_personal(office, doc["kecamatan_code"]):
            raise _forbidden(office, doc["kecamatan_code"])
        audit: AuditLog = request.app.state.audit
        await audit.record(office_id=office.office_id, action="baca_penduduk",
                           kecamatan_code=doc["kecamatan_code"], residents=1, now=deps.clock())
        return {"resident_id": doc["_id"], **{k: v for k, v in doc.items()
                                              if k not in ("_id", "applied_events", "name_key")}}

    @router.get("/cohort", summary="Siapa yang akan berusia 17 tahun (wajib KTP) pada tanggal tertentu")
    async def cohort(
        request: Request,
        tanggal: Annotated[Date, Query(description="target date, e.g. an election day")],
        kecamatan_code: Annotated[str | None, Query(pattern=r"^\d{2}\.\d{2}\.\d{2}$")] = None,
        office: Office = Depends(current_office),
    ) -> Any:
        if not may_read_personal(office, kecamatan_code):
            raise _forbidden(office, kecamatan_code)
        deps: IntakeDeps = request.app.state.deps
        today = today_in_wib(deps.clock)
        if tanggal < today:
            raise HTTPException(422, "tanggal harus hari ini atau sesudahnya")
        newly = await deps.roster.cohort(kecamatan_code=kecamatan_code, after=today, until=tanggal)
        audit: AuditLog = request.app.state.audit
        await audit.record(office_id=office.office_id, action="baca_kohort", kecamatan_code=kecamatan_code,
                           residents=len(newly), now=deps.clock())
        return {
            "tanggal": tanggal, "kecamatan_code": kecamatan_code,
            "wajib_ktp_hari_ini": await deps.roster.count_wajib(kecamatan_code=kecamatan_code, on=today),
            "wajib_ktp_pada_tanggal": await deps.roster.count_wajib(kecamatan_code=kecamatan_code, on=tanggal),
            "baru_wajib_ktp": [
                {"resident_id": d["_id"], "name": d["name"], "birth_date": d["birth_date"],
                 "wajib_ktp_from": d["wajib_ktp_from"], "desa_code": d["desa_code"],
                 "school_npsn": d.get("school_npsn")}
                for d in newly
            ],
        }

    @router.get("/reviews", summary="Kemungkinan orang yang sama dengan dua NIK, menunggu tinjauan")
    async def reviews(request: Request, office: Office = Depends(current_office)) -> Any:
        if office.role not in (Role.DINAS_ADMIN, Role.KECAMATAN_OFFICE):
            raise _forbidden(office, None)
        scope = None if office.role == Role.DINAS_ADMIN else office.kecamatan_code
        items = await request.app.state.deps.reviews.open(scope)
        return [{"resident_id": i["_id"], "kecamatan_code": i["kecamatan_code"],
                 "possible_duplicates": i.get("possible_duplicates", []), "flagged_at": i["flagged_at"]}
                for i in items]

    async def start_import(request: Request, file: UploadFile, office: Office) -> JSONResponse:
        if office.role not in (Role.DINAS_ADMIN, Role.KECAMATAN_OFFICE):
            raise _forbidden(office, office.kecamatan_code)
        deps: IntakeDeps = request.app.state.deps
        jobs: ImportJobs = request.app.state.imports
        content = await file.read()
        job_id = job_id_for(office.office_id, content)
        earlier = await jobs.get(job_id)
        if earlier is not None and earlier["status"] in (RUNNING, DONE):
            return JSONResponse(_job_view(earlier), status_code=200, headers={"Idempotent-Replay": "true"})
        try:
            parsed = await asyncio.to_thread(parse_dapodik, content, areas=deps.areas, today=today_in_wib(deps.clock))
        except DapodikFileError as exc:
            raise HTTPException(422, {"message": exc.reason, "missing_columns": exc.missing_columns}) from exc
        scope = None if office.role == Role.DINAS_ADMIN else office.kecamatan_code
        rows, row_errors = in_scope(parsed, scope)
        await jobs.create(job_id, office_id=office.office_id, kecamatan_code=scope, total_rows=parsed.total_rows,
                          valid_rows=len(rows), errors=row_errors, now=deps.clock())
        task = asyncio.create_task(run_import(job_id, rows, actor=_actor(office), deps=deps, jobs=jobs))
        tasks: set[asyncio.Task[None]] = request.app.state.import_tasks
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return JSONResponse(_job_view(await jobs.get(job_id) or {}), status_code=202)

    replay = {**errors, 200: {"description": "file ini sudah diimpor: jawaban pekerjaan yang sama"}}

    @router.post("/imports/dapodik", status_code=202, responses=replay,
                 summary="Impor CSV Dapodik (siswa yang akan wajib KTP); kemajuan di /imports/{job_id}")
    async def post_import(
        request: Request, file: Annotated[UploadFile, File(description="CSV ekspor Dapodik (UTF-8, , atau ;)")],
        office: Office = Depends(current_office),
    ) -> JSONResponse:
        return await start_import(request, file, office)

    @router.post("/imports/penduduk", status_code=202, responses=replay,
                 summary="Impor daftar penduduk (CSV dari data kependudukan/SIAK); kemajuan di /imports/{job_id}",
                 description="Kolom wajib: NIK, Nama, Jenis Kelamin, Tanggal Lahir (atau Tempat/Tanggal Lahir), "
                             "Kecamatan, Desa/Kelurahan. Pilihan: Status Perkawinan (kosong = Belum Kawin), "
                             "Disabilitas (Ya/Tidak), NPSN. Baris yang salah dilaporkan per baris; baris lain tetap "
                             "masuk. File yang sama diunggah lagi tidak menambah apa pun.")
    async def post_roster_import(
        request: Request, file: Annotated[UploadFile, File(description="CSV daftar penduduk (UTF-8, , atau ;)")],
        office: Office = Depends(current_office),
    ) -> JSONResponse:
        return await start_import(request, file, office)

    @router.get("/imports/{job_id}", summary="Status dan kemajuan impor (Dapodik, daftar penduduk) dan kesalahan per baris")
    async def get_import(job_id: str, request: Request, office: Office = Depends(current_office)) -> Any:
        job = await request.app.state.imports.get(job_id)
        if job is None or (office.role != Role.DINAS_ADMIN and job["office_id"] != office.office_id):
            raise HTTPException(404, "Pekerjaan impor tidak ditemukan.")
        return _job_view(job)

    return router


def _job_view(job: dict[str, Any]) -> dict[str, Any]:
    """A job as the clerk sees it: status, progress in percent, counts and row errors."""
    valid = job.get("valid_rows", 0)
    processed = job.get("processed", 0)
    view = {k: v for k, v in job.items() if k != "_id"}
    view["job_id"] = job.get("_id")
    view["progress_percent"] = 100.0 if valid == 0 else round(100.0 * processed / valid, 1)
    view["status_url"] = f"/imports/{job.get('_id')}"
    for key in ("started_at", "finished_at"):
        if isinstance(view.get(key), dt.datetime):
            view[key] = view[key].isoformat()
    return view
