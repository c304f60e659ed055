"""HTTP routes of the intake service: kecamatan offices register residents."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field

from services.intake.domain import RosterRuleError
from services.intake.handlers import IntakeDeps, RegisterResident, register_resident
from services.intake.store import RequestLog
from shared.auth import Office
from shared.contracts import Actor, Role
from shared.contracts.resident import ResidentData

REQUEST_NAMESPACE = uuid.UUID("6f1c2b8e-3a55-4c8e-9d0b-7a1e2f3c4d5e")
WRITERS = {Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN}


class ResidentIn(ResidentData):
    """A resident as a kecamatan office submits them."""

    occurred_at: AwareDatetime | None = Field(
        None, description="when the data was taken at the office; defaults to now"
    )


class Accepted(BaseModel):
    """The answer to an accepted command."""

    event_id: uuid.UUID = Field(description="id of the event; the same for a repeated request")
    resident_id: str = Field(description="pseudonym of the resident")
    wajib_ktp_from: dt.date = Field(description="the day the resident is or becomes wajib KTP")
    nik_from_other_regency: bool = Field(description="NIK issued outside Rejang Lebong")
    status: str = "diterima"


def may_write(office: Office, kecamatan_code: str) -> bool:
    """Dinas admins write anywhere; a kecamatan office only in its own kecamatan."""
    if office.role == Role.DINAS_ADMIN:
        return True
    return office.role == Role.KECAMATAN_OFFICE and office.kecamatan_code == kecamatan_code


def _fingerprint(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def build_router(current_office: Any) -> APIRouter:
    router = APIRouter(tags=["penduduk"])

    @router.post(
        "/residents",
        status_code=201,
        response_model=Accepted,
        summary="Daftarkan penduduk (wajib KTP atau akan wajib KTP)",
        responses={403: {"description": "kecamatan lain"}, 409: {"description": "kunci dipakai ulang"},
                   413: {"description": "terlalu besar"}, 503: {"description": "Kafka tidak tersedia"}},
    )
    async def post_resident(
        body: ResidentIn,
        request: Request,
        office: Office = Depends(current_office),
        idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
    ) -> Any:
        if not may_write(office, body.kecamatan_code):
            raise HTTPException(403, f"Kantor {office.office_id} tidak boleh menulis data "
                                     f"kecamatan {body.kecamatan_code}.")
        deps: IntakeDeps = request.app.state.deps
        log: RequestLog = request.app.state.requests
        fingerprint = _fingerprint(body.model_dump(mode="json"))
        if idempotency_key:
            event_id = uuid.uuid5(REQUEST_NAMESPACE, f"{office.office_id}:{idempotency_key}")
            earlier = await log.find(str(event_id))
            if earlier is not None:
                if earlier["fingerprint"] != fingerprint:
                    raise HTTPException(409, "Idempotency-Key ini sudah dipakai untuk data lain; "
                                             "gunakan kunci baru untuk data baru.")
                return JSONResponse(earlier["body"], status_code=earlier["status"],
                                    headers={"Idempotent-Replay": "true"})
        else:
            event_id = uuid.uuid4()
        command = RegisterResident(
            event_id=event_id,
            data=ResidentData(**body.model_dump(exclude={"occurred_at"})),
            actor=Actor(office_id=office.office_id, role=office.role, operator=office.office_id),
            occurred_at=body.occurred_at,
        )
        try:
            event = await register_resident(command, deps=deps)
        except RosterRuleError as exc:
            raise HTTPException(422, {"message": "Data penduduk ditolak.",
                                      "errors": [{"field": exc.field, "reason": exc.reason,
                                                  "rule": exc.problem}]}) from exc
        except (KafkaError, TimeoutError) as exc:
            raise HTTPException(503, "Kafka tidak tersedia: data BELUM tersimpan, kirim ulang "
                                     "dengan Idempotency-Key yang sama.") from exc
        answer = Accepted(
            event_id=event.event_id, resident_id=event.payload.resident_id,
            wajib_ktp_from=event.payload.wajib_ktp_from,
            nik_from_other_regency=event.payload.nik_from_other_regency,
        ).model_dump(mode="json")
        if idempotency_key:
            await log.remember(str(event_id), fingerprint=fingerprint, status=201, body=answer,
                               now=deps.clock())
        return JSONResponse(answer, status_code=201)

    return router
