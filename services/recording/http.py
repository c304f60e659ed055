"""HTTP routes of the recording service: visits, offline field uploads, SIAK statuses, stuck residents."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, File, HTTPException, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from services.recording import domain
from services.recording.handlers import (
    RecordingDeps,
    VisitProblem,
    close_visit,
    open_visit,
    schedule_visit,
)
from shared.auth import Office
from shared.clock import WIB
from shared.contracts import Actor, Role
from shared.contracts.recording import (
    Biometric,
    RecordingAbsent,
    RecordingCaptured,
    RecordingFailed,
    SiakStatus,
    SiakStatusReported,
    VisitKind,
)
from shared.dead_letter import describe_validation_error
from shared.http import kafka_unavailable
from shared.http_types import VALIDATION_ANSWER, Date, DateTime
from shared.pseudonym import resident_pseudonym
from shared.topics import RECORDING

FIELD_ROLES = {Role.FIELD_TEAM, Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN}
SIAK_NAMESPACE = uuid.UUID("a8e2f0d4-6b1c-4e59-8f3a-1d7c9b2e4f66")


class VisitIn(BaseModel):
    visit_id: str = Field(pattern=r"^[A-Za-z0-9._-]{3,64}$", description="id chosen by the office")
    date: Date
    kind: VisitKind
    place_code: str = Field(max_length=20, description="NPSN, desa code or kecamatan code")
    kecamatan_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$")
    team: str = Field(max_length=64)
    targets: list[str] | None = Field(None, description="resident ids; omitted: drawn from the roster", max_length=2000)


class WalkIn(BaseModel):
    """A resident met in the field who is not in the roster yet (kept for enrollment)."""

    model_config = ConfigDict(extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")
    name: str = Field(min_length=1, max_length=120)
    desa_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")


class FieldEventIn(BaseModel):
    """One event recorded on a field device; its id was made on the device."""

    model_config = ConfigDict(extra="forbid")
    event_id: uuid.UUID
    kind: Literal["captured", "failed", "absent"]
    resident_id: str | None = Field(None, pattern=r"^r[0-9a-f]{32}$")
    walk_in: WalkIn | None = None
    visit_id: str | None = Field(None, max_length=64)
    device_id: str = Field(max_length=64)
    operator: str = Field(max_length=64)
    device_time: DateTime
    biometrics: list[Biometric] = Field(default_factory=list)
    quality_flags: list[str] = Field(default_factory=list, max_length=10)
    reason: str | None = Field(None, max_length=200)


class BatchIn(BaseModel):
    device_id: str = Field(max_length=64)
    events: list[dict[str, Any]] = Field(description="field events; each is checked on its own")


class StatusIn(BaseModel):
    resident_id: str = Field(pattern=r"^r[0-9a-f]{32}$")
    status: str = Field(description="SFE, PRR, DUPLICATE_RECORD, ENROLL_FAILURE_AT_CENTRAL, ...")
    status_at: DateTime


class StatusBatchIn(BaseModel):
    updates: list[dict[str, Any]]


def _siak_time(text: str) -> str:
    """SIAK dates come as ISO date or date-time; a date alone means midnight WIB."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text
    return (moment if moment.tzinfo else moment.replace(tzinfo=WIB)).isoformat()


def _actor(office: Office) -> Actor:
    return Actor(office_id=office.office_id, role=office.role, operator=office.office_id)


def _in_scope(office: Office, kecamatan_code: str | None) -> bool:
    return office.role == Role.DINAS_ADMIN or office.kecamatan_code == kecamatan_code


def _result(event_id: Any, outcome: str, reason: str | None = None) -> dict[str, Any]:
    return {"event_id": str(event_id) if event_id else None, "hasil": outcome, "alasan": reason}


async def _check_field_event(
    raw: dict[str, Any], office: Office, deps: RecordingDeps, now: dt.datetime
) -> tuple[Any, dict[str, Any] | None]:
    """Turn one uploaded item into an event, or into its per-item answer."""
    try:
        item = FieldEventIn.model_validate(raw)
    except ValidationError as exc:
        return None, _result(raw.get("event_id") if isinstance(raw, dict) else None, "ditolak",
                             describe_validation_error(exc))
    if await deps.store.was_seen(str(item.event_id)):
        return None, _result(item.event_id, "duplikat", "sudah diterima sebelumnya")
    if (problem := domain.device_time_problem(item.device_time, now)) is not None:
        return None, _result(item.event_id, "ditolak", problem)
    if item.visit_id is not None:
        visit = await deps.store.visit(item.visit_id)
        if visit is None:
            return None, _result(item.event_id, "ditolak", f"kunjungan {item.visit_id} tidak dikenal")
        if visit["state"] != "dibuka":
            return None, _result(item.event_id, "ditolak", f"kunjungan {item.visit_id} tidak sedang dibuka "
                                                            f"({visit['state']})")
    elif item.kind == "absent":
        return None, _result(item.event_id, "ditolak", "ketidakhadiran harus menyebut visit_id")
    resident = await deps.store.resident(item.resident_id) if item.resident_id else None
    if resident is None or not resident.get("in_roster"):
        if item.walk_in is None and item.resident_id is None:
            return None, _result(item.event_id, "ditolak", "isi resident_id atau data walk_in")
        await deps.store.keep_walk_in(str(item.event_id), item.model_dump(mode="json"), office_id=office.office_id,
                                      now=now)
        await deps.store.mark_seen(str(item.event_id), now)
        return None, _result(item.event_id, "walk_in", "belum ada di daftar: disimpan sebagai permintaan pendaftaran")
    if not _in_scope(office, resident.get("kecamatan_code")):
        return None, _result(item.event_id, "ditolak", "penduduk dari kecamatan lain")
    if item.kind == "captured" and not item.biometrics:
        return None, _result(item.event_id, "ditolak", "sebutkan biometrik yang direkam")
    if item.kind == "failed" and not item.reason:
        return None, _result(item.event_id, "ditolak", "sebutkan alasan gagal rekam")
    place = {"resident_id": item.resident_id, "kecamatan_code": resident["kecamatan_code"],
             "desa_code": resident["desa_code"]}
    common = {"event_id": item.event_id, "occurred_at": item.device_time, "recorded_at": now, "actor": _actor(office)}
    event: Any
    if item.kind == "captured":
        event = RecordingCaptured(**common, payload={**place, "visit_id": item.visit_id, "biometrics": item.biometrics,
                                                     "quality_flags": item.quality_flags, "device_id": item.device_id,
                                                     "operator": item.operator, "device_time": item.device_time})
    elif item.kind == "failed":
        event = RecordingFailed(**common, payload={**place, "visit_id": item.visit_id, "reason": item.reason,
                                                   "device_id": item.device_id, "device_time": item.device_time})
    else:
        event = RecordingAbsent(**common, payload={**place, "visit_id": item.visit_id, "device_id": item.device_id,
                                                   "device_time": item.device_time})
    return event, None


def build_router(current_office: Callable[..., Awaitable[Office]], *, max_batch_events: int) -> APIRouter:
    router = APIRouter(tags=["perekaman"], responses=VALIDATION_ANSWER)

    def deps_of(request: Request) -> RecordingDeps:
        return request.app.state.deps  # type: ignore[no-any-return]

    @router.post("/visits", status_code=201, summary="Jadwalkan kunjungan jemput bola (target dari daftar penduduk)")
    async def post_visit(body: VisitIn, request: Request, office: Office = Depends(current_office)) -> Any:
        if office.role not in (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN) or not _in_scope(office, body.kecamatan_code):
            raise HTTPException(403, "Hanya kantor kecamatan sendiri atau admin dinas yang menjadwalkan kunjungan.")
        try:
            event = await schedule_visit(**body.model_dump(), actor=_actor(office), deps=deps_of(request))
        except VisitProblem as exc:
            raise HTTPException(exc.status, exc.reason) from exc
        return event.payload.model_dump(mode="json")

    async def _visit_command(visit_id: str, request: Request, office: Office, command: Any) -> Any:
        deps = deps_of(request)
        visit = await deps.store.visit(visit_id)
        if visit is not None and (office.role not in FIELD_ROLES or not _in_scope(office, visit["kecamatan_code"])):
            raise HTTPException(403, "Kunjungan ini milik kecamatan lain.")
        try:
            event = await command(visit_id, actor=_actor(office), deps=deps)
        except VisitProblem as exc:
            raise HTTPException(exc.status, exc.reason) from exc
        return {"visit_id": visit_id, "event_id": str(event.event_id), **event.payload.model_dump(mode="json")}

    @router.post("/visits/{visit_id}/buka", summary="Buka kunjungan (mulai perekaman)")
    async def post_open(visit_id: str, request: Request, office: Office = Depends(current_office)) -> Any:
        return await _visit_command(visit_id, request, office, open_visit)

    @router.post("/visits/{visit_id}/tutup", summary="Tutup kunjungan; yang belum direkam pindah ke kunjungan berikutnya")
    async def post_close(visit_id: str, request: Request, office: Office = Depends(current_office)) -> Any:
        return await _visit_command(visit_id, request, office, close_visit)

    @router.get("/visits/{visit_id}", summary="Kunjungan dan daftar targetnya (id penduduk saja)")
    async def get_visit(visit_id: str, request: Request, office: Office = Depends(current_office)) -> Any:
        visit = await deps_of(request).store.visit(visit_id)
        if visit is None or not _in_scope(office, visit["kecamatan_code"]):
            raise HTTPException(404, "Kunjungan tidak ditemukan.")
        return {k: v for k, v in visit.items() if k not in ("_id", "applied_events")}

    @router.post("/batches", summary="Unggah kejadian lapangan (offline) sekaligus; hasil per kejadian")
    async def post_batch(body: BatchIn, request: Request, office: Office = Depends(current_office)) -> Any:
        if office.role not in FIELD_ROLES:
            raise HTTPException(403, "Peran ini tidak mengunggah data lapangan.")
        if len(body.events) > max_batch_events:
            raise HTTPException(413, f"Satu unggahan paling banyak {max_batch_events} kejadian; bagi menjadi beberapa.")
        deps = deps_of(request)
        now = deps.clock()
        results: list[dict[str, Any]] = []
        accepted = []
        for raw in body.events:
            event, answer = await _check_field_event(raw if isinstance(raw, dict) else {}, office, deps, now)
            if event is None:
                results.append(answer or _result(None, "ditolak", "bukan objek JSON"))
            else:
                accepted.append(event)
                results.append(_result(event.event_id, "diterima"))
        try:
            await asyncio.gather(*(deps.publisher.publish(e, topic=RECORDING, key=e.payload.resident_id)
                                   for e in accepted))
        except (KafkaError, TimeoutError) as exc:
            raise kafka_unavailable("unggahan") from exc
        for event in accepted:
            await deps.store.mark_seen(str(event.event_id), now)
        summary = {k: sum(1 for r in results if r["hasil"] == k) for k in ("diterima", "duplikat", "walk_in", "ditolak")}
        return {"ringkasan": summary, "hasil": results}

    @router.post("/siak/status", summary="Status SIAK dari pusat (PRR, SFE, DUPLICATE_RECORD, ...); hasil per baris")
    async def post_status(body: StatusBatchIn, request: Request, office: Office = Depends(current_office)) -> Any:
        if office.role != Role.DINAS_ADMIN:
            raise HTTPException(403, "Hanya admin dinas yang memasukkan status SIAK.")
        if len(body.updates) > max_batch_events:
            raise HTTPException(413, f"Paling banyak {max_batch_events} status per kiriman.")
        return await _apply_status_updates(body.updates, request, office)

    async def _apply_status_updates(updates: list[dict[str, Any]], request: Request, office: Office) -> Any:
        deps = deps_of(request)
        now = deps.clock()
        results: list[dict[str, Any]] = []
        accepted = []
        for raw in updates:
            try:
                update = StatusIn.model_validate(raw)
            except ValidationError as exc:
                results.append({"resident_id": None, "hasil": "ditolak", "alasan": describe_validation_error(exc)})
                continue
            if update.status not in SiakStatus.__members__:
                results.append({"resident_id": update.resident_id, "hasil": "ditolak",
                                "alasan": f"kode status {update.status!r} tidak dikenal"})
                continue
            resident = await deps.store.resident(update.resident_id)
            if resident is None or not resident.get("kecamatan_code"):
                results.append({"resident_id": update.resident_id, "hasil": "ditolak",
                                "alasan": "penduduk tidak dikenal di perekaman"})
                continue
            event_id = uuid.uuid5(SIAK_NAMESPACE, f"{update.resident_id}:{update.status}:{update.status_at.isoformat()}")
            accepted.append(SiakStatusReported(
                event_id=event_id, occurred_at=update.status_at, recorded_at=now, actor=_actor(office),
                payload={"resident_id": update.resident_id, "kecamatan_code": resident["kecamatan_code"],  # type: ignore[arg-type]
                         "desa_code": resident["desa_code"], "status": SiakStatus(update.status),
                         "status_at": update.status_at}))
            results.append({"resident_id": update.resident_id, "hasil": "diterima", "alasan": None})
        try:
            await asyncio.gather(*(deps.publisher.publish(e, topic=RECORDING, key=e.payload.resident_id)
                                   for e in accepted))
        except (KafkaError, TimeoutError) as exc:
            raise kafka_unavailable("status") from exc
        return {"diterima": len(accepted), "hasil": results}

    @router.post("/siak/import", summary="Impor file status SIAK (CSV: NIK;STATUS;TANGGAL); hasil per baris")
    async def post_status_file(
        request: Request, file: Annotated[UploadFile, File(description="CSV dari SIAK: NIK, STATUS, TANGGAL (ISO)")],
        office: Office = Depends(current_office),
    ) -> Any:
        if office.role != Role.DINAS_ADMIN:
            raise HTTPException(403, "Hanya admin dinas yang memasukkan status SIAK.")
        try:
            text = (await file.read()).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise HTTPException(422, "File bukan UTF-8: simpan ulang sebagai CSV UTF-8.") from exc
        lines = [line for line in text.splitlines() if line.strip()]
        if not lines:
            raise HTTPException(422, "File kosong.")
        delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
        reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter=delimiter)
        try:
            rows = list(reader)
        except csv.Error as exc:
            raise HTTPException(422, f"File CSV rusak sekitar baris {reader.line_num + 1}: periksa tanda kutip (\") "
                                     "atau isi sel yang sangat panjang, lalu ekspor ulang.") from exc
        # A row longer than the header puts its extra cells under the key None.
        header = {h.strip().lower() for h in (rows[0].keys() if rows else lines[0].split(delimiter)) if h}
        missing = {"nik", "status", "tanggal"} - header
        if missing:
            raise HTTPException(422, {"message": "Kolom wajib tidak ada.", "missing_columns": sorted(missing)})
        if len(rows) > max_batch_events:
            raise HTTPException(413, f"Paling banyak {max_batch_events} baris per file.")
        key = request.app.state.pseudonym_key
        updates: list[dict[str, Any]] = []
        refused: dict[int, dict[str, Any]] = {}
        for line, row in enumerate(rows, start=2):
            cells = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
            nik = cells.get("nik", "")
            if not (nik.isdigit() and len(nik) == 16):
                refused[line] = {"baris": line, "resident_id": None, "hasil": "ditolak", "alasan": "NIK harus 16 digit"}
                continue
            updates.append({"resident_id": resident_pseudonym(nik, key=key), "status": cells.get("status", ""),
                            "status_at": _siak_time(cells.get("tanggal", "")), "baris": line})
        lines_of = [u.pop("baris") for u in updates]
        answer = await _apply_status_updates(updates, request, office)
        for line, result in zip(lines_of, answer["hasil"], strict=True):
            result["baris"] = line
        answer["hasil"] = sorted([*answer["hasil"], *refused.values()], key=lambda r: r["baris"])
        return answer

    @router.get("/residents/{resident_id}/status", summary="Tahap perekaman seorang penduduk (tanpa data pribadi)")
    async def get_status(resident_id: str, request: Request, office: Office = Depends(current_office)) -> Any:
        doc = await deps_of(request).store.resident(resident_id)
        if doc is None or not _in_scope(office, doc.get("kecamatan_code")):
            raise HTTPException(404, "Penduduk tidak dikenal di perekaman.")
        return {"resident_id": resident_id, "stage": doc.get("stage"), "since": doc.get("since"),
                "stale_reports": doc.get("stale_reports", 0), "in_roster": doc.get("in_roster", False)}

    @router.get("/stuck", summary="Penduduk yang tertahan terlalu lama di satu status (mis. SFE)")
    async def get_stuck(
        request: Request,
        days: Annotated[int, Query(ge=1, le=3650)] = 14,
        stage: Annotated[domain.Stage | None, Query()] = None,
        kecamatan_code: Annotated[str | None, Query(pattern=r"^\d{2}\.\d{2}\.\d{2}$")] = None,
        office: Office = Depends(current_office),
    ) -> Any:
        if office.role != Role.DINAS_ADMIN and kecamatan_code != office.kecamatan_code:
            raise HTTPException(403, "Sebutkan kecamatan kantor ini.")
        deps = deps_of(request)
        before = deps.clock() - dt.timedelta(days=days)
        rows = await deps.store.stuck(stage=stage.value if stage else None, before=before, kecamatan_code=kecamatan_code)
        return {"hari": days, "jumlah": len(rows),
                "penduduk": [{"resident_id": r["_id"], "stage": r["stage"], "since": r["since"],
                              "kecamatan_code": r.get("kecamatan_code"), "desa_code": r.get("desa_code")}
                             for r in rows]}

    return router
