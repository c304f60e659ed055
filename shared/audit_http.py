"""GET /audit/pembacaan: the dinas asks a service who read one resident's data."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from shared.audit import READS_SHOWN, NotDinas, who_read
from shared.auth import Office, current_office
from shared.http_types import VALIDATION_ANSWER, problem

router = APIRouter(tags=["audit"])

RESIDENT_ID = Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                    description="pseudonim penduduk (resident_id), bukan NIK")


class AuditedReadOut(BaseModel):
    layanan: str = Field(description="layanan yang menampilkan data")
    kantor: str = Field(description="kantor yang membaca")
    petugas: str | None = Field(description="pengguna yang membaca (nama pengguna aplikasi web, atau kantor itu sendiri)")
    tindakan: str = Field(description="jenis pembacaan, mis. baca_penduduk")
    cakupan: str | None = Field(description="yang diminta: kode kecamatan, desa:<kode>, sekolah:<npsn> atau kab")
    jumlah_penduduk: int = Field(description="berapa penduduk yang ditampilkan dalam pembacaan itu")
    waktu: dt.datetime


class WhoReadOut(BaseModel):
    resident_id: str
    pembacaan: list[AuditedReadOut] = Field(description=f"terbaru dulu, paling banyak {READS_SHOWN}")


@router.get("/audit/pembacaan", response_model=WhoReadOut,
            summary="Siapa saja yang membaca data satu penduduk di layanan ini (hanya dinas)",
            responses={**VALIDATION_ANSWER, 401: problem("kunci API salah atau tidak ada"),
                       403: problem("hanya dinas yang boleh melihat log audit"),
                       429: problem("terlalu banyak permintaan"), 503: problem("basis data tidak tersedia")})
async def who_read_resident(request: Request, office: Annotated[Office, Depends(current_office)],
                            resident_id: Annotated[str, RESIDENT_ID]) -> WhoReadOut:
    try:
        reads = await who_read(resident_id, office=office, trail=request.app.state.audit_trail)
    except NotDinas:
        raise HTTPException(403, "Hanya kantor dinas yang boleh melihat siapa membaca data penduduk.") from None
    return WhoReadOut(resident_id=resident_id, pembacaan=[
        AuditedReadOut(layanan=r.service, kantor=r.office_id, petugas=r.operator, tindakan=r.action, cakupan=r.scope,
                       jumlah_penduduk=r.residents, waktu=r.at) for r in reads])
