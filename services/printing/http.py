"""HTTP routes of the printing service: station queues, reprints, school deliveries and hand-over."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from pydantic import BaseModel, Field

from services.printing.handlers import PrintingDeps, derived_id, queued_event
from services.printing.store import PRINTED_STATUSES, JobStatus
from shared.auth import Office
from shared.contracts import Actor, Role
from shared.contracts.envelope import Envelope
from shared.contracts.printing import (
    CardHandedOver,
    HandedOverPayload,
    PrintReason,
    SchoolAcknowledgedPayload,
    SchoolDeliveryAcknowledged,
    SchoolDeliveryPayload,
    SchoolDeliverySent,
)
from shared.http import kafka_unavailable
from shared.http_types import VALIDATION_ANSWER
from shared.topics import PRINT

REPRINT_REASONS = (PrintReason.HILANG, PrintReason.RUSAK, PrintReason.PERUBAHAN_DATA)
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", description="UUID; a repeated request with it has one effect")
]


class ReprintIn(BaseModel):
    resident_id: str = Field(pattern=r"^r[0-9a-f]{32}$", description="pseudonim penduduk")
    reason: PrintReason = Field(description="hilang, rusak atau perubahan_data (tanpa perekaman ulang)")


class SchoolDeliveryIn(BaseModel):
    school_npsn: str = Field(pattern=r"^\d{8}$", description="NPSN sekolah")
    job_ids: list[str] = Field(min_length=1, max_length=2000, description="kartu yang dibawa ke sekolah")


class AcknowledgeIn(BaseModel):
    received_by: str = Field(min_length=2, max_length=120, description="jabatan penerima di sekolah (mis. Kepala Sekolah)")


def _public(job: dict[str, Any]) -> dict[str, Any]:
    """A job as staff see it: no personal data beyond the resident's pseudonym and area."""
    return {
        "job_id": job["_id"],
        "stasiun": job["station_id"],
        "status": job["status"],
        "alasan": job["reason"],
        "kelas_prioritas": job["priority_class"],
        "urutan_kelas": job.get("rank"),
        "resident_id": job["resident_id"],
        "kecamatan": job["kecamatan_code"],
        "desa": job["desa_code"],
        "percobaan": job.get("attempt"),
        "masuk_antrean": job.get("queued_at"),
        "dicetak": job.get("printed_at"),
        "diserahkan": job.get("handed_over_at"),
        "rusak": [s["reason"] for s in job.get("spoiled", [])],
    }


def build_router(current_office: Callable[..., Awaitable[Office]]) -> APIRouter:
    router = APIRouter(tags=["pencetakan"], responses=VALIDATION_ANSWER)

    def deps_of(request: Request) -> PrintingDeps:
        deps: PrintingDeps = request.app.state.deps
        return deps

    def event_id(key: str | None) -> uuid.UUID:
        if key is None:
            return uuid.uuid4()
        try:
            return uuid.UUID(key)
        except ValueError:
            raise HTTPException(422, "Idempotency-Key harus berupa UUID.") from None

    def actor(office: Office) -> Actor:
        return Actor(office_id=office.office_id, role=office.role, operator=office.office_id)

    def may_see(office: Office, job: dict[str, Any]) -> bool:
        if office.role == Role.DINAS_ADMIN:
            return True
        if office.role == Role.PRINT_STATION:
            return office.office_id == job["station_id"]
        return office.role == Role.KECAMATAN_OFFICE and office.kecamatan_code == job["kecamatan_code"]

    async def job_for(request: Request, office: Office, job_id: str) -> dict[str, Any]:
        job = await deps_of(request).store.job(job_id)
        if job is None or not may_see(office, job):
            raise HTTPException(404, f"Pekerjaan cetak {job_id!r} tidak ditemukan.")
        return job

    async def publish(request: Request, event: Envelope, key: str) -> None:
        try:
            await deps_of(request).publisher.publish(event, topic=PRINT, key=key)
        except KafkaError:
            raise kafka_unavailable() from None

    @router.get("/stations", summary="Stasiun cetak: antrean, blangko yang ditunggu")
    async def stations(request: Request, office: Office = Depends(current_office)) -> list[dict[str, Any]]:
        deps = deps_of(request)
        depths = await deps.store.queue_depths()
        answer = []
        for station in deps.stations.stations.values():
            state = await deps.store.station(station.station_id)
            depth = depths.get(station.station_id, {})
            answer.append({
                "stasiun": station.station_id, "nama": station.name, "cadangan": station.fallback,
                "kecamatan": sorted(station.kecamatan_codes),
                "menunggu_blangko": depth.get(JobStatus.MENUNGGU_BLANGKO.value, 0),
                "siap_cetak": depth.get(JobStatus.SIAP_CETAK.value, 0),
                "menunggu_kiriman_stok": bool(state.get("waiting_for_stock")),
                "permintaan_blangko": (state.get("pending") or {}).get("job_id"),
            })
        return answer

    @router.get("/stations/{station_id}/queue", summary="Antrean cetak satu stasiun, dalam urutan prioritas")
    async def queue(
        station_id: str,
        request: Request,
        office: Office = Depends(current_office),
        status: Annotated[JobStatus | None, Query(description="kosong: yang belum dicetak")] = None,
        limit: Annotated[int, Query(ge=1, le=2000)] = 200,
    ) -> list[dict[str, Any]]:
        deps = deps_of(request)
        if station_id not in deps.stations.stations:
            raise HTTPException(404, f"Stasiun {station_id!r} tidak dikenal.")
        jobs = await deps.store.queue(station_id, status=status.value if status else None, limit=limit)
        return [_public(job) for job in jobs if may_see(office, job)]

    @router.get("/jobs/{job_id}", summary="Status satu pekerjaan cetak")
    async def one_job(job_id: str, request: Request, office: Office = Depends(current_office)) -> dict[str, Any]:
        return _public(await job_for(request, office, job_id))

    @router.post("/reprints", status_code=201, summary="Cetak ulang (hilang, rusak, perubahan data) tanpa perekaman ulang")
    async def reprint(
        body: ReprintIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> dict[str, Any]:
        if office.role not in (Role.DINAS_ADMIN, Role.KECAMATAN_OFFICE):
            raise HTTPException(403, "Cetak ulang diajukan oleh kantor kecamatan atau admin dinas.")
        if body.reason not in REPRINT_REASONS:
            raise HTTPException(422, "Alasan cetak ulang: hilang, rusak atau perubahan_data.")
        deps = deps_of(request)
        source = event_id(key)
        job_id = "job-" + derived_id(source, "reprint").hex[:24]
        existing = await deps.store.job(job_id)
        if existing is not None:
            return {"job_id": job_id, "stasiun": existing["station_id"], "status": existing["status"]}
        history = [job for job in await deps.store.jobs_of_resident(body.resident_id) if may_see(office, job)]
        printed = [job for job in history if job["status"] in PRINTED_STATUSES]
        if not printed:
            raise HTTPException(
                409,
                "Penduduk ini belum pernah dicetak KTP-el-nya di sini: cetak pertama datang dari "
                "status PRR perekaman, bukan dari cetak ulang.",
            )
        if any(job["status"] in (JobStatus.MENUNGGU_BLANGKO, JobStatus.SIAP_CETAK) for job in history):
            raise HTTPException(409, "Kartu penduduk ini masih dalam antrean cetak.")
        last = printed[-1]
        now = deps.clock()
        queued = queued_event(
            job_id=job_id,
            source_event_id=str(source),
            resident_id=body.resident_id,
            kecamatan_code=last["kecamatan_code"],
            desa_code=last["desa_code"],
            reason=body.reason,
            wajib_ktp_from=None,
            lansia=bool(last.get("lansia")),
            disabilitas=bool(last.get("disabilitas")),
            occurred_at=now,
            actor=actor(office),
            deps=deps,
        )
        await publish(request, queued, queued.payload.station_id)
        return {
            "job_id": job_id,
            "stasiun": queued.payload.station_id,
            "status": JobStatus.MENUNGGU_BLANGKO.value,
            "event_id": str(queued.event_id),
        }

    @router.post("/jobs/{job_id}/handover", status_code=201, summary="Serahkan kartu kepada penduduk")
    async def hand_over(
        job_id: str, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> dict[str, Any]:
        job = await job_for(request, office, job_id)
        if job["status"] == JobStatus.DISERAHKAN:
            return {"job_id": job_id, "status": job["status"]}
        if job["status"] == JobStatus.DIKIRIM_KE_SEKOLAH:
            raise HTTPException(409, "Kartu sudah dikirim ke sekolah: catat dulu tanda terima sekolah.")
        if job["status"] not in (JobStatus.DICETAK, JobStatus.DITERIMA_SEKOLAH):
            raise HTTPException(409, f"Kartu belum dicetak (status {job['status']}).")
        now = deps_of(request).clock()
        via = "sekolah" if job["status"] == JobStatus.DITERIMA_SEKOLAH else "langsung"
        event = CardHandedOver(
            event_id=event_id(key),
            occurred_at=now,
            recorded_at=now,
            actor=actor(office),
            payload=HandedOverPayload(
                job_id=job_id,
                station_id=job["station_id"],
                resident_id=job["resident_id"],
                kecamatan_code=job["kecamatan_code"],
                desa_code=job["desa_code"],
                via=via,
                delivery_id=job.get("delivery_id"),
            ),
        )
        await publish(request, event, job["station_id"])
        return {"job_id": job_id, "status": JobStatus.DISERAHKAN.value, "event_id": str(event.event_id)}

    @router.post("/school-deliveries", status_code=201, summary="Kirim kartu siswa ke sekolah dalam satu berkas")
    async def deliver(
        body: SchoolDeliveryIn, request: Request, office: Office = Depends(current_office), key: IdempotencyKey = None
    ) -> dict[str, Any]:
        if office.role not in (Role.DINAS_ADMIN, Role.PRINT_STATION):
            raise HTTPException(403, "Pengiriman ke sekolah dicatat oleh stasiun cetak atau admin dinas.")
        jobs = [await job_for(request, office, job_id) for job_id in dict.fromkeys(body.job_ids)]
        not_ready = [job["_id"] for job in jobs if job["status"] != JobStatus.DICETAK]
        if not_ready:
            raise HTTPException(
                409, f"{len(not_ready)} kartu belum dicetak atau sudah dikirim/diserahkan: {', '.join(not_ready[:10])}"
            )
        stations = {job["station_id"] for job in jobs}
        if len(stations) != 1:
            raise HTTPException(409, "Satu pengiriman berisi kartu dari satu stasiun cetak.")
        now = deps_of(request).clock()
        source = event_id(key)
        event = SchoolDeliverySent(
            event_id=source,
            occurred_at=now,
            recorded_at=now,
            actor=actor(office),
            payload=SchoolDeliveryPayload(
                delivery_id=f"kirim-{source.hex[:12]}",
                station_id=stations.pop(),
                school_npsn=body.school_npsn,
                kecamatan_code=jobs[0]["kecamatan_code"],
                job_ids=[job["_id"] for job in jobs],
            ),
        )
        await publish(request, event, event.payload.station_id)
        return {"delivery_id": event.payload.delivery_id, "jumlah": len(jobs), "event_id": str(event.event_id)}

    @router.post(
        "/school-deliveries/{delivery_id}/acknowledge",
        status_code=201,
        summary="Tanda terima sekolah untuk satu pengiriman kartu",
    )
    async def acknowledge(
        delivery_id: str,
        body: AcknowledgeIn,
        request: Request,
        office: Office = Depends(current_office),
        key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        delivery = await deps_of(request).store.delivery(delivery_id)
        if delivery is None or not may_see(office, {"station_id": delivery["station_id"],
                                                    "kecamatan_code": delivery["kecamatan_code"]}):
            raise HTTPException(404, f"Pengiriman {delivery_id!r} tidak ditemukan.")
        if delivery.get("acknowledged_at") is not None:
            return {"delivery_id": delivery_id, "status": "sudah_diterima"}
        now = deps_of(request).clock()
        event = SchoolDeliveryAcknowledged(
            event_id=event_id(key),
            occurred_at=now,
            recorded_at=now,
            actor=actor(office),
            payload=SchoolAcknowledgedPayload(
                delivery_id=delivery_id,
                station_id=delivery["station_id"],
                school_npsn=delivery["school_npsn"],
                received_by=body.received_by,
                count=len(delivery["job_ids"]),
            ),
        )
        await publish(request, event, delivery["station_id"])
        return {"delivery_id": delivery_id, "status": "diterima", "event_id": str(event.event_id)}

    return router
