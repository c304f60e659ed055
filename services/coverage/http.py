"""HTTP routes of the coverage service: coverage per area, as JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from services.coverage import domain
from services.coverage.store import CoverageStore
from shared.areas import REGENCY_CODE, REGENCY_NAME, load_areas
from shared.clock import WIB, Clock


class AreaCoverage(BaseModel):
    """Counts of one area."""

    kode: str = Field(description="area code")
    nama: str = Field(description="area name")
    terdaftar: int = Field(description="residents in the roster")
    wajib_ktp: int = Field(description="residents who are wajib KTP on the given date")
    direkam: int = Field(0, description="residents in the roster whose biometrics were recorded (perekaman)")
    prr: int = Field(0, description="recorded residents whose record is print-ready (PRR)")


class CoverageAnswer(BaseModel):
    tanggal: dt.date = Field(description="the date the wajib KTP counts refer to")
    kabupaten: AreaCoverage
    kecamatan: list[AreaCoverage]


def build_router() -> APIRouter:
    router = APIRouter(tags=["cakupan"])

    @router.get("/coverage", response_model=CoverageAnswer,
                summary="Cakupan wajib KTP per kecamatan (dan kabupaten)")
    async def coverage(
        request: Request,
        tanggal: dt.date | None = Query(None, description="date for 'wajib KTP on'; default today"),
    ) -> Any:
        store: CoverageStore = request.app.state.store
        clock: Clock = request.app.state.clock
        day = tanggal or clock().astimezone(WIB).date()
        month_start = day.replace(day=1)
        turning = await store.turning_between(month_start, day) if day >= domain.MONTHLY_FROM else {}
        docs = {doc["code"]: doc for doc in await store.area_docs("kec")}
        kab_doc = (await store.areas.find_one({"_id": f"kab:{REGENCY_CODE}"})) or {}
        areas = load_areas()
        rows = []
        for code, kec in areas.kecamatan.items():
            doc = docs.get(code, {})
            rows.append(AreaCoverage(
                kode=code, nama=kec.name, terdaftar=doc.get("terdaftar", 0),
                direkam=doc.get("direkam", 0), prr=doc.get("prr", 0),
                wajib_ktp=domain.wajib_ktp_on(doc.get("wajib_ktp_from", {}), day, turning.get(code, 0)),
            ))
        kabupaten = AreaCoverage(
            kode=REGENCY_CODE, nama=REGENCY_NAME, terdaftar=kab_doc.get("terdaftar", 0),
            direkam=kab_doc.get("direkam", 0), prr=kab_doc.get("prr", 0),
            wajib_ktp=domain.wajib_ktp_on(kab_doc.get("wajib_ktp_from", {}), day,
                                          sum(turning.values())),
        )
        return CoverageAnswer(tanggal=day, kabupaten=kabupaten, kecamatan=rows)

    return router
