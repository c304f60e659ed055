"""HTTP routes of the printing service: station queues, reprints, school deliveries and hand-over.

Each route turns the request into a command, calls one use case in `handlers`, and answers its
result; the rules' refusals become 403, 404, 409 or 422 with the clerk's message.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.printing import handlers
from services.printing.domain import Conflict, Forbidden, Invalid, JobStatus, NotFound, PrintingError, PrintJob
from services.printing.handlers import (
    AcknowledgeDelivery,
    HandOver,
    JobAccepted,
    PrintingDeps,
    RequestReprint,
    SendToSchool,
    ShowJob,
    ShowQueue,
    StationView,
)
from shared.auth import Office, current_office
from shared.contracts.printing import PrintReason, PriorityClass
from shared.http_types import Problem, ValidationProblem
from shared.idempotency import IdempotencyKey, answer_once

# Job and delivery ids as this service makes them (job-<hex>, kirim-<hex>), at most 64 characters
# like the event contracts, so a full delivery of 2000 ids stays far below the body limit.
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
JobId = Annotated[str, Path(pattern=ID_PATTERN, description="id pekerjaan cetak")]
STATUS_OF: dict[type[PrintingError], int] = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}



def _answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "isi permintaan tidak bisa dibaca (bukan JSON UTF-8)",
            401: "kunci API tidak ada atau tidak dikenal", 403: "peran kantor tidak boleh melakukan ini",
            404: "tidak ditemukan (atau bukan wilayah kantor ini)", 409: "status kartu tidak memungkinkan ini, atau "
                                                                        "Idempotency-Key sudah dipakai untuk data lain",
            413: "isi permintaan terlalu besar", 429: "terlalu banyak permintaan; lihat Retry-After",
            503: "Kafka atau basis data tidak tersedia; kirim ulang nanti"}
    answers: dict[int | str, dict[str, Any]] = {
        status: {"model": Problem, "description": text[status]} for status in (401, *statuses, 503)}
    answers[422] = {"model": ValidationProblem, "description": "data tidak valid"}
    return answers


READ = _answers()
router = APIRouter(tags=["pencetakan"])


class ReprintIn(BaseModel):
    resident_id: str = Field(pattern=r"^r[0-9a-f]{32}$", description="pseudonim penduduk")
    reason: Literal[PrintReason.HILANG, PrintReason.RUSAK, PrintReason.PERUBAHAN_DATA] = Field(
        description="hilang, rusak atau perubahan_data (tanpa perekaman ulang)")


class SchoolDeliveryIn(BaseModel):
    school_npsn: str = Field(pattern=r"^\d{8}$", description="NPSN sekolah")
    job_ids: list[Annotated[str, Field(pattern=ID_PATTERN)]] = Field(
        min_length=1, max_length=2000, description="kartu yang dibawa ke sekolah")


class WaitingDeliveryOut(BaseModel):
    delivery_id: str
    stasiun: str
    sekolah: str = Field(description="NPSN sekolah")
    kecamatan: str
    jumlah: int
    dikirim: dt.datetime | None


class AcknowledgeIn(BaseModel):
    received_by: str = Field(min_length=2, max_length=120, description="jabatan penerima di sekolah (mis. Kepala Sekolah)")


class StationOut(BaseModel):
    stasiun: str
    nama: str
    cadangan: bool = Field(description="stasiun cadangan untuk kecamatan tanpa stasiun sendiri")
    kecamatan: list[str]
    menunggu_blangko: int
    siap_cetak: int
    menunggu_kiriman_stok: bool
    permintaan_blangko: str | None = Field(description="pekerjaan yang sedang menunggu jawaban blangko")


class JobOut(BaseModel):
    job_id: str
    stasiun: str
    status: JobStatus
    alasan: PrintReason
    kelas_prioritas: PriorityClass
    urutan_kelas: int | None
    resident_id: str
    kecamatan: str
    desa: str
    sekolah: str | None = Field(None, description="NPSN of the resident's school (students' cards go there together)")
    percobaan: int
    masuk_antrean: dt.datetime | None
    dicetak: dt.datetime | None
    diserahkan: dt.datetime | None
    rusak: list[str] = Field(description="alasan setiap percobaan yang rusak")


class CardOut(BaseModel):
    job_id: str
    alasan: PrintReason = Field(description="pertama, atau alasan cetak ulang")
    status: JobStatus
    berlaku: bool = Field(description="kartu tercetak yang belum diganti cetak ulang")
    posisi: str = Field(description="di mana kartu ini: dicetak kapan dan di mana, dikirim, diserahkan, diganti")
    stasiun: str
    masuk_antrean: dt.datetime | None
    dicetak: dt.datetime | None
    blangko_rusak: int = Field(description="percobaan cetak yang merusak blangko")
    pengiriman_sekolah: str | None
    sekolah_npsn: str | None
    dikirim_ke_sekolah: dt.datetime | None
    diterima_sekolah: dt.datetime | None
    diserahkan: dt.datetime | None
    diserahkan_melalui: str | None
    diganti_oleh: str | None = Field(description="pekerjaan cetak ulang yang menggantikan kartu ini")
    diganti_pada: dt.datetime | None


class ResidentCardsOut(BaseModel):
    resident_id: str
    kecamatan: str
    kartu_berlaku: str | None = Field(description="job_id kartu yang berlaku; kosong bila belum ada yang tercetak")
    kartu: list[CardOut] = Field(description="setiap kartu penduduk ini, terbaru dahulu")


class JobAcceptedOut(BaseModel):
    job_id: str
    stasiun: str
    status: JobStatus
    event_id: str | None = Field(None, description="kosong bila permintaan yang sama sudah dicatat")


class DeliveryOut(BaseModel):
    delivery_id: str
    jumlah: int
    event_id: str


class AcknowledgedOut(BaseModel):
    delivery_id: str
    status: Literal["diterima", "sudah_diterima"]
    event_id: str | None = None


def _deps(request: Request) -> PrintingDeps:
    deps: PrintingDeps = request.app.state.deps
    return deps


def _refusal(error: PrintingError) -> HTTPException:
    return HTTPException(STATUS_OF.get(type(error), 409), str(error))


def _station(view: StationView) -> StationOut:
    return StationOut(stasiun=view.station_id, nama=view.name, cadangan=view.fallback,
                      kecamatan=list(view.kecamatan_codes), menunggu_blangko=view.waiting_for_blanks,
                      siap_cetak=view.ready_to_print, menunggu_kiriman_stok=view.waiting_for_stock,
                      permintaan_blangko=view.pending_job_id)


def _job(job: PrintJob, school: str | None = None) -> JobOut:
    """A job as staff see it: no personal data beyond the resident's pseudonym, area and school."""
    return JobOut(job_id=job.job_id, stasiun=job.station_id, status=job.status, alasan=job.reason, sekolah=school,
                  kelas_prioritas=job.priority_class, urutan_kelas=job.rank, resident_id=job.resident_id,
                  kecamatan=job.kecamatan_code, desa=job.desa_code, percobaan=job.attempt,
                  masuk_antrean=job.queued_at, dicetak=job.printed_at, diserahkan=job.handed_over_at,
                  rusak=[s.reason for s in job.spoiled])


def _card(card: handlers.CardView) -> CardOut:
    job, delivery = card.job, card.delivery
    return CardOut(job_id=job.job_id, alasan=job.reason, status=job.status, berlaku=card.valid, posisi=card.where,
                   stasiun=job.station_id, masuk_antrean=job.queued_at, dicetak=job.printed_at,
                   blangko_rusak=len(job.spoiled), pengiriman_sekolah=job.delivery_id,
                   sekolah_npsn=delivery.school_npsn if delivery else None,
                   dikirim_ke_sekolah=delivery.sent_at if delivery else None,
                   diterima_sekolah=delivery.acknowledged_at if delivery else None,
                   diserahkan=job.handed_over_at, diserahkan_melalui=job.handed_over_via,
                   diganti_oleh=job.replaced_by, diganti_pada=job.replaced_at)


def _accepted(result: JobAccepted) -> JobAcceptedOut:
    return JobAcceptedOut(job_id=result.job_id, stasiun=result.station_id, status=result.status,
                          event_id=str(result.event_id) if result.event_id else None)


@router.get("/stations", summary="Stasiun cetak: antrean, blangko yang ditunggu", responses=READ)
async def stations(request: Request, office: Office = Depends(current_office)) -> list[StationOut]:
    return [_station(view) for view in await handlers.list_stations(deps=_deps(request))]


@router.get("/stations/{station_id}/queue", summary="Antrean cetak satu stasiun, dalam urutan prioritas",
            responses=_answers(404))
async def queue(
    request: Request,
    station_id: Annotated[str, Path(max_length=64, description="id stasiun cetak")],
    office: Office = Depends(current_office),
    status: Annotated[JobStatus | None, Query(description="kosong: yang belum dicetak")] = None,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
) -> list[JobOut]:
    try:
        jobs = await handlers.show_queue(ShowQueue(office, station_id, status, limit), deps=_deps(request))
    except PrintingError as error:
        raise _refusal(error) from None
    schools = await handlers.schools_of_jobs(jobs, deps=_deps(request))
    return [_job(job, schools.get(job.job_id)) for job in jobs]


@router.get("/jobs/{job_id}", summary="Status satu pekerjaan cetak", responses=_answers(404))
async def one_job(job_id: JobId, request: Request, office: Office = Depends(current_office)) -> JobOut:
    try:
        return _job(await handlers.show_job(ShowJob(office, job_id), deps=_deps(request)))
    except PrintingError as error:
        raise _refusal(error) from None


@router.get("/residents/{resident_id}/cards", response_model=ResidentCardsOut, responses=_answers(403, 404),
            summary="Di mana kartu KTP-el seorang penduduk: dicetak, dikirim, diserahkan, diganti "
                    "(data penduduk: tercatat di log audit)")
async def resident_cards(
    resident_id: Annotated[str, Path(pattern=r"^r[0-9a-f]{32}$", description="pseudonim penduduk")],
    request: Request, office: Office = Depends(current_office),
) -> ResidentCardsOut:
    try:
        found = await handlers.show_cards(handlers.ShowCards(office, resident_id), deps=_deps(request))
    except PrintingError as error:
        raise _refusal(error) from None
    return ResidentCardsOut(resident_id=found.resident_id, kecamatan=found.kecamatan_code,
                            kartu_berlaku=found.valid_job_id, kartu=[_card(card) for card in found.cards])


@router.post("/reprints", status_code=201, responses=_answers(400, 403, 409, 413, 429),
             response_model=JobAcceptedOut, summary="Cetak ulang (hilang, rusak, perubahan data) tanpa perekaman ulang")
async def reprint(body: ReprintIn, request: Request, key: IdempotencyKey = None,
                  office: Office = Depends(current_office)) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> JobAcceptedOut:
        reprint = RequestReprint(office, body.resident_id, PrintReason(body.reason), event_id)
        return _accepted(await handlers.request_reprint(reprint, deps=_deps(request)))

    return await _once(request, office, key, body, command)


@router.post("/jobs/{job_id}/handover", status_code=201, summary="Serahkan kartu kepada penduduk",
             response_model=JobAcceptedOut, responses=_answers(404, 409, 413, 429))
async def hand_over(job_id: JobId, request: Request, key: IdempotencyKey = None,
                    office: Office = Depends(current_office)) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> JobAcceptedOut:
        return _accepted(await handlers.hand_over(HandOver(office, job_id, event_id), deps=_deps(request)))

    return await _once(request, office, key, None, command)


@router.post("/school-deliveries", status_code=201, responses=_answers(400, 403, 404, 409, 413, 429),
             response_model=DeliveryOut, summary="Kirim kartu siswa ke sekolah dalam satu berkas")
async def deliver(body: SchoolDeliveryIn, request: Request, key: IdempotencyKey = None,
                  office: Office = Depends(current_office)) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> DeliveryOut:
        delivery = SendToSchool(office, body.school_npsn, tuple(body.job_ids), event_id)
        result = await handlers.send_to_school(delivery, deps=_deps(request))
        return DeliveryOut(delivery_id=result.delivery_id, jumlah=result.count, event_id=str(result.event_id))

    return await _once(request, office, key, body, command)


@router.get("/school-deliveries", response_model=list[WaitingDeliveryOut], responses=READ,
            summary="Kiriman kartu ke sekolah yang belum ditandatangani sekolah")
async def deliveries(request: Request, office: Office = Depends(current_office),
                     kecamatan_code: Annotated[str | None, Query(pattern=r"^\d{2}\.\d{2}\.\d{2}$")] = None,
                     ) -> list[WaitingDeliveryOut]:
    found = await handlers.waiting_deliveries(handlers.ListDeliveries(office, kecamatan_code), deps=_deps(request))
    return [WaitingDeliveryOut(delivery_id=d.delivery_id, stasiun=d.station_id, sekolah=d.school_npsn,
                               kecamatan=d.kecamatan_code, jumlah=len(d.job_ids), dikirim=d.sent_at) for d in found]


@router.post("/school-deliveries/{delivery_id}/acknowledge", status_code=201,
             responses=_answers(400, 403, 404, 409, 413, 429),
             summary="Tanda terima sekolah untuk satu pengiriman kartu")
async def acknowledge(
    delivery_id: Annotated[str, Path(pattern=ID_PATTERN, description="id pengiriman ke sekolah")],
    body: AcknowledgeIn,
    request: Request,
    key: IdempotencyKey = None,
    office: Office = Depends(current_office),
) -> JSONResponse:
    async def command(event_id: uuid.UUID) -> AcknowledgedOut:
        receipt = AcknowledgeDelivery(office, delivery_id, body.received_by, event_id)
        result = await handlers.acknowledge_delivery(receipt, deps=_deps(request))
        return AcknowledgedOut(delivery_id=result.delivery_id, event_id=str(result.event_id) if result.event_id else None,
                               status="sudah_diterima" if result.already else "diterima")

    return await _once(request, office, key, body, command)


async def _once(request: Request, office: Office, key: str | None, body: BaseModel | None,
                command: Callable[[uuid.UUID], Awaitable[BaseModel]]) -> JSONResponse:
    """The write under the idempotency convention; the rules' refusals become their status codes."""
    try:
        return await answer_once(request, office_id=office.office_id, key=key, body=body, command=command)
    except PrintingError as error:
        raise _refusal(error) from None
