"""HTTP routes of the intake service: kecamatan offices keep the roster of wajib KTP residents.

Each route turns the request into a command, calls one use case in `handlers` and maps its
exceptions to answers a clerk can act on.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from services.intake import handlers
from services.intake.dapodik import DapodikFileError
from services.intake.domain import RosterRuleError, normalise_nik
from services.intake.ports import ImportJob, IntakeDeps, ResidentRecord, ReviewItem
from services.intake.requests import RequestKey
from shared.auth import Office, actor_of, current_office
from shared.contracts.resident import LeaveReason, ResidentData, Sex
from shared.http import kafka_unavailable
from shared.http_types import VALIDATION_ANSWER, Date, DateTime, problem
from shared.idempotency import IdempotencyKey, KeyReusedForOtherData, Outcome, StillInProgress
from shared.messages_id import file_refusal

RESIDENT_ID = r"^r[0-9a-f]{32}$"
KECAMATAN = r"^\d{2}\.\d{2}\.\d{2}$"
# A NIK as clerks type it: 16 digits, optionally with dots, spaces or dashes (normalise_nik).
NIK_AS_TYPED = r"^[\s.-]*(\d[\s.-]*){16}$"
ResidentIdPath = Annotated[str, Path(pattern=RESIDENT_ID, description="resident pseudonym (never the NIK)")]
JobIdPath = Annotated[str, Path(min_length=1, max_length=64, description="id of the import job")]




COMMON: dict[int | str, dict[str, Any]] = {
    400: problem("isi permintaan tidak dapat dibaca"), 401: problem("kunci API salah atau tidak ada"),
    413: problem("isi permintaan terlalu besar"), **VALIDATION_ANSWER,
    429: problem("terlalu banyak permintaan"), 503: problem("Kafka atau basis data tidak tersedia"),
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {403: problem("kantor tidak berwenang untuk kecamatan ini")}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: problem("penduduk tidak ada di daftar (atau sudah keluar)")}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: problem("NIK sudah terdaftar atau sedang didaftarkan, atau Idempotency-Key dipakai untuk data lain / "
                 "masih diproses")}
REPLAY_HEADERS = {"Idempotent-Replay": "true"}

router = APIRouter(tags=["penduduk"], responses=COMMON)


class ResidentIn(ResidentData):
    """A resident as a kecamatan office submits them."""

    nik: str = Field(description="Nomor Induk Kependudukan, 16 digits; dots, spaces or dashes between the digits "
                                 "(1702.0645.0707.0001) are removed",
                     json_schema_extra={"pattern": NIK_AS_TYPED, "maxLength": 40, "format": "nik"})

    @field_validator("nik", mode="before")
    @classmethod
    def _nik_digits(cls, value: Any) -> str:
        """The NIK's 16 digits, or the reason in Indonesian (never pydantic's English pattern message)."""
        if not isinstance(value, str) or len(value) > 40:
            raise PydanticCustomError("nik", "NIK harus 16 digit angka")
        try:
            return normalise_nik(value)
        except RosterRuleError as exc:
            raise PydanticCustomError("nik", exc.reason) from exc
    birth_date: Date = Field(description="tanggal lahir")
    occurred_at: DateTime | None = Field(None, description="when the data was taken; defaults to now")


class CorrectionIn(ResidentIn):
    reason: str = Field(description="why the data is corrected", min_length=3, max_length=200)
    umur_sudah_diperiksa: bool = Field(
        False, description="true: an implausible age (over 100, or a student outside school ages) was checked and "
                           "is right; it no longer waits for review")


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
    tinjauan_umur: str | None = Field(
        None, description="why the age looks wrong and was flagged for review (no lansia priority until "
                          "reviewed), and what to do; null: the age is plausible or was confirmed")


class ResidentOut(BaseModel):
    """One resident as the roster holds them (personal data)."""

    resident_id: str
    nik: str
    name: str
    sex: str
    birth_date: dt.date
    marital_status: str
    kecamatan_code: str
    desa_code: str
    school_npsn: str | None = None
    school_name: str | None = None
    phone: str | None = None
    disabilitas: bool = False
    wajib_ktp_from: dt.date
    nik_from_other_regency: bool
    status: str = Field(description="aktif, pindah or meninggal")
    left_on: dt.date | None = Field(None, description="date of moving out or of death")


class CohortPerson(BaseModel):
    resident_id: str
    name: str
    birth_date: dt.date
    wajib_ktp_from: dt.date
    desa_code: str
    school_npsn: str | None = None


class CohortOut(BaseModel):
    """Who is wajib KTP today and on the target date, and who becomes wajib KTP in between."""

    tanggal: dt.date
    kecamatan_code: str | None
    wajib_ktp_hari_ini: int
    wajib_ktp_pada_tanggal: int
    baru_wajib_ktp: list[CohortPerson]


class ReviewOut(BaseModel):
    resident_id: str
    kecamatan_code: str
    possible_duplicates: list[str]
    flagged_at: dt.datetime
    alasan_umur: str | None = Field(None, description="why the age waits for review (null: it does not)")
    dipastikan_berbeda: list[str] = Field(
        [], description="residents a clerk checked and found to be other people (they are not flagged again)")


class SettleDuplicatesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    catatan: str = Field(min_length=5, max_length=300,
                         description="how it was checked, e.g. 'KK dan foto dibandingkan: dua orang kembar'")


class RowErrorOut(BaseModel):
    line: int = Field(description="line in the file")
    column: str = Field(description="column as the file spells it")
    reason: str = Field(description="why the row was refused")


class ReasonCountOut(BaseModel):
    kolom: str = Field(description="column as the file spells it")
    alasan: str = Field(description="the reason, without a single row's particulars")
    jumlah: int = Field(description="row errors with this column and reason")


class ImportSummaryOut(BaseModel):
    """What the file held: rows read, accepted and refused, and the row errors per reason."""

    baris_dibaca: int = Field(description="non-blank data rows read")
    diterima: int = Field(description="rows without error (in the office's kecamatan)")
    ditolak: int = Field(description="rows refused for at least one error")
    kesalahan: int = Field(description="row errors found (a row may have several)")
    kesalahan_disimpan: int = Field(description="row errors kept for listing (the first ones by line)")
    per_alasan: list[ReasonCountOut] = Field(description="row errors per column and reason, most first")
    berhenti_di_baris: int | None = Field(
        None, description="the line reading stopped at because too many rows were refused (nothing was imported)")


class ImportJobOut(BaseModel):
    """An import job as the clerk sees it: status, progress, a summary and one page of row errors."""

    job_id: str
    office_id: str
    kecamatan_code: str | None
    status: str = Field(description="berjalan, selesai, terputus or gagal")
    total_rows: int
    valid_rows: int
    processed: int
    imported: int
    already_registered: int
    flagged_for_review: int
    ringkasan: ImportSummaryOut
    errors: list[RowErrorOut] = Field(description="one page of the kept row errors, by line")
    halaman: int = Field(description="page of the row errors (from 1)")
    per_halaman: int
    ada_halaman_berikutnya: bool = Field(description="true: more row errors on the next page")
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str | None = None
    progress_percent: float
    status_url: str


def deps_of(request: Request) -> IntakeDeps:
    """The use cases' dependencies, built by app.py."""
    return request.app.state.deps  # type: ignore[no-any-return]


Deps = Annotated[IntakeDeps, Depends(deps_of)]
CurrentOffice = Annotated[Office, Depends(current_office)]


def _office(office: Office) -> handlers.Office:
    return handlers.Office(actor=actor_of(office), kecamatan_code=office.kecamatan_code)


def _key(office: Office, route: str, key: str | None, body: BaseModel) -> RequestKey:
    return RequestKey(office_id=office.office_id, route=route, key=key or None, body=body.model_dump(mode="json"))


def _registered(exc: handlers.AlreadyRegistered) -> dict[str, str]:
    """The 409 for a NIK in the roster; the resident's id only when the office may see the resident."""
    if exc.deceased:
        message = ("NIK ini sudah terdaftar dan penduduknya tercatat meninggal; NIK ini tidak dapat didaftarkan "
                   "lagi. Bila data kematian keliru, hubungi Dinas Dukcapil.")
    elif exc.resident_id is None:
        message = ("NIK ini sudah terdaftar sebagai penduduk kecamatan lain; hubungi kantor kecamatan tersebut "
                   "atau Dinas Dukcapil bila penduduk pindah domisili.")
    else:
        message = ("NIK ini sudah terdaftar sebagai satu penduduk; untuk mengubah datanya kirim koreksi "
                   "(PUT /residents/{resident_id}).")
    return {"message": message} if exc.resident_id is None else {"message": message, "resident_id": exc.resident_id}


def _refusal(exc: Exception) -> HTTPException:
    """The answer for a use case's refusal."""
    match exc:
        case RosterRuleError():
            return HTTPException(422, {"message": "Data penduduk ditolak.",
                                       "errors": [{"field": exc.field, "reason": exc.reason, "rule": exc.problem}]})
        case handlers.AlreadyRegistered():
            return HTTPException(409, _registered(exc))
        case handlers.BeingRegistered():
            return HTTPException(409, "NIK ini sedang didaftarkan oleh permintaan lain (kantor lain atau impor "
                                      "file) saat ini, jadi tidak didaftarkan dua kali. Periksa sebentar lagi "
                                      "apakah NIK ini sudah terdaftar; kirim koreksi bila datanya perlu diubah.",
                                 headers={"Retry-After": "1"})
        case KeyReusedForOtherData():
            return HTTPException(409, "Idempotency-Key ini sudah dipakai untuk data lain; "
                                      "gunakan kunci baru untuk data baru.")
        case StillInProgress():
            return HTTPException(409, "Permintaan dengan Idempotency-Key ini masih diproses; ulangi sebentar lagi.",
                                 headers={"Retry-After": "1"})
        case handlers.NotInRoster():
            return HTTPException(404, "Penduduk tidak ada di daftar (atau sudah keluar).")
        case handlers.ImportNotFound():
            return HTTPException(404, "Pekerjaan impor tidak ditemukan.")
        case handlers.Forbidden() | handlers.DateRefused():
            return HTTPException(403 if isinstance(exc, handlers.Forbidden) else 422, str(exc))
        case DapodikFileError():
            return HTTPException(422, file_refusal(exc.reason, exc.missing_columns))
        case TimeoutError():
            return kafka_unavailable()
    raise exc


REFUSALS = (RosterRuleError, handlers.AlreadyRegistered, handlers.BeingRegistered, KeyReusedForOtherData, StillInProgress,
            handlers.NotInRoster, handlers.ImportNotFound,
            handlers.Forbidden, handlers.DateRefused, DapodikFileError, TimeoutError)


def _answer(outcome: Outcome) -> JSONResponse:
    return JSONResponse(dict(outcome.answer.body), status_code=outcome.answer.status,
                        headers=REPLAY_HEADERS if outcome.replay else None)


@router.post("/residents", status_code=201, response_model=Accepted, responses={**FORBIDDEN, **CONFLICT},
             summary="Daftarkan penduduk (wajib KTP atau akan wajib KTP)")
async def post_resident(body: ResidentIn, office: CurrentOffice, deps: Deps,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
    command = handlers.RegisterResident(
        office=_office(office), data=ResidentData(**body.model_dump(exclude={"occurred_at"})),
        occurred_at=body.occurred_at, request=_key(office, "/residents", idempotency_key, body))
    try:
        return _answer(await handlers.register_resident(command, deps=deps))
    except REFUSALS as exc:
        raise _refusal(exc) from exc


@router.put("/residents/{resident_id}", response_model=Accepted, responses={**FORBIDDEN, **NOT_FOUND, **CONFLICT},
            summary="Koreksi data penduduk (NIK tidak dapat diubah)")
async def put_resident(resident_id: ResidentIdPath, body: CorrectionIn, office: CurrentOffice, deps: Deps,
                       idempotency_key: IdempotencyKey = None) -> JSONResponse:
    command = handlers.CorrectResident(
        office=_office(office), resident_id=resident_id,
        data=ResidentData(**body.model_dump(exclude={"occurred_at", "reason", "umur_sudah_diperiksa"})),
        reason=body.reason, occurred_at=body.occurred_at, age_confirmed=body.umur_sudah_diperiksa,
        request=_key(office, f"/residents/{resident_id}", idempotency_key, body))
    try:
        return _answer(await handlers.correct_resident(command, deps=deps))
    except REFUSALS as exc:
        raise _refusal(exc) from exc


@router.post("/residents/{resident_id}/keluar", response_model=Accepted,
             responses={**FORBIDDEN, **NOT_FOUND, **CONFLICT}, summary="Tandai penduduk pindah keluar atau meninggal")
async def post_left(resident_id: ResidentIdPath, body: LeaveIn, office: CurrentOffice, deps: Deps,
                    idempotency_key: IdempotencyKey = None) -> JSONResponse:
    command = handlers.MarkResidentLeft(
        office=_office(office), resident_id=resident_id, reason=body.reason, effective_date=body.effective_date,
        request=_key(office, f"/residents/{resident_id}/keluar", idempotency_key, body))
    try:
        return _answer(await handlers.mark_resident_left(command, deps=deps))
    except REFUSALS as exc:
        raise _refusal(exc) from exc


def _resident_out(resident: ResidentRecord) -> ResidentOut:
    return ResidentOut(
        resident_id=resident.resident_id, nik=resident.nik, name=resident.name, sex=resident.sex,
        birth_date=resident.birth_date, marital_status=resident.marital_status,
        kecamatan_code=resident.kecamatan_code, desa_code=resident.desa_code, school_npsn=resident.school_npsn,
        school_name=resident.school_name, phone=resident.phone, disabilitas=resident.disabilitas,
        wajib_ktp_from=resident.wajib_ktp_from, nik_from_other_regency=resident.nik_from_other_regency,
        status=resident.status, left_on=resident.left_on)


class NikCheckIn(BaseModel):
    """What a registration form holds while the clerk types."""

    model_config = ConfigDict(extra="forbid")

    nik: str = Field(max_length=40, description="the NIK as typed (dots, spaces or dashes between digits allowed)")
    birth_date: Date | None = Field(None, description="tanggal lahir, once filled in")
    sex: Sex | None = Field(None, description="jenis kelamin, once chosen")


class NikProblemOut(BaseModel):
    field: str = Field(description="nik, birth_date or sex: where the form shows the reason")
    reason: str = Field(description="what is wrong, in Indonesian")
    rule: str = Field(description="which rule, e.g. birth_date_mismatch")


class NikCheckOut(BaseModel):
    sah: bool = Field(description="true: the NIK passes every rule that the filled-in fields allow to check")
    errors: list[NikProblemOut] = Field(description="the first broken rule, by the field to fix")
    wilayah_nik: str | None = Field(None, description="kecamatan and regency the NIK was issued in")
    dari_luar_kabupaten: bool | None = Field(None, description="NIK issued outside Rejang Lebong")


@router.post("/residents/periksa", response_model=NikCheckOut,
             summary="Periksa NIK saat diketik (aturan yang sama dengan pendaftaran; tidak ada yang disimpan)")
def check_nik(body: NikCheckIn, office: CurrentOffice, deps: Deps) -> NikCheckOut:
    try:
        facts = handlers.check_nik(handlers.CheckNik(body.nik, body.birth_date, body.sex), deps=deps)
    except RosterRuleError as exc:
        return NikCheckOut(sah=False, errors=[NikProblemOut(field=exc.field, reason=exc.reason, rule=exc.problem)])
    return NikCheckOut(sah=True, errors=[], wilayah_nik=facts.region_name,
                       dari_luar_kabupaten=facts.from_other_regency)


@router.get("/residents/{resident_id}", response_model=ResidentOut,
            responses={**FORBIDDEN, 404: problem("penduduk tidak ada di daftar")},
            summary="Data satu penduduk (data pribadi: tercatat di log audit)")
async def get_resident(resident_id: ResidentIdPath, office: CurrentOffice, deps: Deps) -> ResidentOut:
    try:
        resident = await handlers.read_resident(handlers.ReadResident(_office(office), resident_id), deps=deps)
    except handlers.NotInRoster as exc:
        raise HTTPException(404, "Penduduk tidak ada di daftar.") from exc
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    return _resident_out(resident)


@router.get("/cohort", response_model=CohortOut, responses=FORBIDDEN,
            summary="Siapa yang akan berusia 17 tahun (wajib KTP) pada tanggal tertentu")
async def cohort(
    office: CurrentOffice, deps: Deps,
    tanggal: Annotated[Date, Query(description="target date (today or later), e.g. an election day")],
    kecamatan_code: Annotated[str | None, Query(pattern=KECAMATAN)] = None,
) -> CohortOut:
    try:
        found = await handlers.read_cohort(handlers.ReadCohort(_office(office), tanggal, kecamatan_code), deps=deps)
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    return CohortOut(
        tanggal=found.target, kecamatan_code=found.kecamatan_code, wajib_ktp_hari_ini=found.wajib_today,
        wajib_ktp_pada_tanggal=found.wajib_on_target,
        baru_wajib_ktp=[CohortPerson(resident_id=r.resident_id, name=r.name, birth_date=r.birth_date,
                                     wajib_ktp_from=r.wajib_ktp_from, desa_code=r.desa_code,
                                     school_npsn=r.school_npsn) for r in found.newly])


@router.get("/reviews", response_model=list[ReviewOut], responses=FORBIDDEN,
            summary="Kemungkinan orang yang sama dengan dua NIK, menunggu tinjauan")
async def reviews(office: CurrentOffice, deps: Deps) -> list[ReviewOut]:
    try:
        items = await handlers.open_reviews(handlers.ListReviews(_office(office)), deps=deps)
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    return [_review_out(i) for i in items]


def _review_out(item: ReviewItem) -> ReviewOut:
    return ReviewOut(resident_id=item.resident_id, kecamatan_code=item.kecamatan_code,
                     possible_duplicates=list(item.possible_duplicates), flagged_at=item.flagged_at,
                     alasan_umur=item.age_reason, dipastikan_berbeda=list(item.settled_duplicates))


@router.post("/reviews/{resident_id}/bukan-duplikat", response_model=ReviewOut,
             responses={**FORBIDDEN, 404: problem("penduduk ini tidak punya kemungkinan duplikat yang ditinjau")},
             summary="Tutup tinjauan duplikat: penduduk yang disebut ternyata orang lain")
async def settle_duplicates(resident_id: ResidentIdPath, body: SettleDuplicatesIn, office: CurrentOffice,
                            deps: Deps) -> ReviewOut:
    """The clerk compared the residents flagged as possibly one person under two NIKs (KK, photo, birth
    certificate) and found them to be different people. The flag closes for them and they are not
    flagged again; an age still to review keeps the resident on the list. The same person under two
    NIKs is not settled here: the wrong NIK is corrected in SIAK and its record marked left."""
    command = handlers.SettleDuplicates(office=_office(office), resident_id=resident_id, note=body.catatan)
    try:
        return _review_out(await handlers.settle_possible_duplicates(command, deps=deps))
    except handlers.NoDuplicatesToSettle as exc:
        raise HTTPException(404, "Penduduk ini tidak punya kemungkinan duplikat yang menunggu tinjauan.") from exc
    except REFUSALS as exc:
        raise _refusal(exc) from exc


def _summary_out(job: ImportJob) -> ImportSummaryOut:
    return ImportSummaryOut(
        baris_dibaca=job.total_rows, diterima=job.valid_rows, ditolak=job.refused_rows, kesalahan=job.error_count,
        kesalahan_disimpan=len(job.errors), berhenti_di_baris=job.stopped_at_line,
        per_alasan=[ReasonCountOut(kolom=r.column, alasan=r.reason, jumlah=r.count) for r in job.reasons])


def _job_out(view: handlers.ImportView) -> ImportJobOut:
    job = view.job
    return ImportJobOut(
        job_id=job.job_id, office_id=job.office_id, kecamatan_code=job.kecamatan_code, status=job.status,
        total_rows=job.total_rows, valid_rows=job.valid_rows, processed=job.processed, imported=job.imported,
        already_registered=job.already_registered, flagged_for_review=job.flagged_for_review,
        ringkasan=_summary_out(job),
        errors=[RowErrorOut(line=e.line, column=e.column, reason=e.reason) for e in view.errors],
        halaman=view.page.number, per_halaman=view.page.size, ada_halaman_berikutnya=view.more,
        started_at=job.started_at, finished_at=job.finished_at, message=job.message,
        progress_percent=job.progress_percent, status_url=f"/imports/{job.job_id}")


async def _start_import(file: UploadFile, office: Office, deps: IntakeDeps) -> JSONResponse:
    command = handlers.StartImport(_office(office), await file.read())
    try:
        started = await handlers.start_import(command, deps=deps)
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    body = _job_out(started.view).model_dump(mode="json")
    if started.replay:
        return JSONResponse(body, status_code=200, headers=REPLAY_HEADERS)
    return JSONResponse(body, status_code=202)


IMPORT_ANSWERS: Mapping[int | str, dict[str, Any]] = {
    **FORBIDDEN, 200: {"model": ImportJobOut, "description": "file ini sudah diimpor: jawaban pekerjaan yang sama"},
}
UploadedFile = Annotated[UploadFile, File(description="CSV (UTF-8, dipisah , atau ;) atau Excel .xlsx (lembar pertama)",
                                          json_schema_extra={"minLength": 1})]


@router.post("/imports/dapodik", status_code=202, response_model=ImportJobOut, responses=dict(IMPORT_ANSWERS),
             summary="Impor Dapodik, CSV atau XLSX (siswa yang akan wajib KTP); kemajuan di /imports/{job_id}")
async def post_import(file: UploadedFile, office: CurrentOffice, deps: Deps) -> JSONResponse:
    return await _start_import(file, office, deps)


@router.post("/imports/penduduk", status_code=202, response_model=ImportJobOut, responses=dict(IMPORT_ANSWERS),
             summary="Impor daftar penduduk (CSV atau XLSX dari data kependudukan/SIAK); kemajuan di /imports/{job_id}",
             description="Kolom wajib: NIK, Nama, Jenis Kelamin, Tanggal Lahir (atau Tempat/Tanggal Lahir), "
                         "Kecamatan, Desa/Kelurahan. Pilihan: Status Perkawinan (kosong = Belum Kawin), "
                         "Disabilitas (Ya/Tidak), NPSN. Baris yang salah dilaporkan per baris; baris lain tetap "
                         "masuk. File yang sama diunggah lagi tidak menambah apa pun.")
async def post_roster_import(file: UploadedFile, office: CurrentOffice, deps: Deps) -> JSONResponse:
    return await _start_import(file, office, deps)


@router.get("/imports/{job_id}", response_model=ImportJobOut,
            responses={404: problem("pekerjaan impor tidak ditemukan")},
            summary="Status dan kemajuan impor (Dapodik, daftar penduduk) dan kesalahan per baris")
async def get_import(job_id: JobIdPath, office: CurrentOffice, deps: Deps,
                     halaman: Annotated[int, Query(ge=1, le=100_000, description="page of the row errors (from 1)")] = 1,
                     per_halaman: Annotated[int, Query(ge=1, le=1_000, description="row errors per page")] = 100,
                     ) -> ImportJobOut:
    command = handlers.ReadImport(_office(office), job_id, handlers.ErrorsPage(halaman, per_halaman))
    try:
        view = await handlers.read_import(command, deps=deps)
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    return _job_out(view)
