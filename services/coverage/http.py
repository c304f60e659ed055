"""HTTP routes of the coverage service: coverage per area, series, backlog, stock, lists and the planner.

Aggregate figures (counts per area) are open to any office: Dukcapil publishes them. Lists of
residents carry personal data: only dinas roles and the office of the resident's own kecamatan
see them, and every read is written to the audit log.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from services.coverage import planner, queries
from services.coverage.store import CoverageStore
from shared.areas import REGENCY_CODE, load_areas
from shared.auth import Office
from shared.clock import WIB, Clock
from shared.contracts.envelope import Role
from shared.http_types import VALIDATION_ANSWER, Date

DINAS_ROLES = {Role.DINAS_ADMIN, Role.SYSTEM}
LIST_LIMIT = 5000


class AreaCoverage(BaseModel):
    """Counts of one area."""

    kode: str = Field(description="area code")
    nama: str = Field(description="area name")
    terdaftar: int = Field(description="residents in the roster")
    wajib_ktp: int = Field(description="residents who are wajib KTP on the given date")
    direkam: int = Field(0, description="residents in the roster whose biometrics were recorded (perekaman)")
    prr: int = Field(0, description="recorded residents whose record is print-ready (PRR)")
    belum_rekam: int = Field(0, description="residents in the roster not yet recorded")
    dicetak: int = Field(0, description="residents whose card was printed")
    diserahkan: int = Field(0, description="residents who received their card")
    duplikat: int = Field(0, description="duplicate records not yet resolved")
    gagal: int = Field(0, description="failed recordings not yet recorded again")
    antre_cetak: int = Field(0, description="residents whose card waits in a print queue")


class CoverageAnswer(BaseModel):
    tanggal: dt.date = Field(description="the date the wajib KTP counts refer to")
    kabupaten: AreaCoverage
    kecamatan: list[AreaCoverage]


def as_csv(rows: list[dict[str, Any]], filename: str) -> Response:
    """A table as CSV (`;`-separated, UTF-8 with BOM so spreadsheet programs read it as such)."""
    flat = [_flatten(row) for row in rows]
    columns: list[str] = []
    for row in flat:
        columns += [c for c in row if c not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(flat)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})


def _flatten(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}_"))
        else:
            flat[name] = "" if value is None else value
    return flat


def table(rows: list[dict[str, Any]], fmt: str, filename: str, body: Any) -> Any:
    return as_csv(rows, filename) if fmt == "csv" else body


FORMAT = Query("json", pattern="^(json|csv)$", description="json, or csv to download the table")
CSV_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "JSON, or with format=csv a `;`-separated table",
          "content": {"text/csv": {"schema": {"type": "string"}}}},
}


def may_read_people(office: Office, kecamatan_code: str) -> bool:
    return office.role in DINAS_ROLES or (
        office.role in (Role.KECAMATAN_OFFICE, Role.FIELD_TEAM) and office.kecamatan_code == kecamatan_code)


def build_router(current_office: Callable[..., Awaitable[Office]]) -> APIRouter:
    router = APIRouter(tags=["cakupan"], responses=VALIDATION_ANSWER)

    def store_of(request: Request) -> CoverageStore:
        return request.app.state.store  # type: ignore[no-any-return]

    def today(request: Request) -> dt.date:
        clock: Clock = request.app.state.clock
        return clock().astimezone(WIB).date()

    @router.get("/coverage", response_model=CoverageAnswer,
                summary="Cakupan wajib KTP per kecamatan (dan kabupaten)")
    async def coverage(
        request: Request,
        tanggal: Date | None = Query(None, description="date for 'wajib KTP on'; default today"),
    ) -> Any:
        answer = await queries.coverage_table(store_of(request), level="kecamatan", parent=None,
                                              day=tanggal or today(request))
        return CoverageAnswer(tanggal=answer["tanggal"], kabupaten=AreaCoverage(**answer["kabupaten"]),
                              kecamatan=[AreaCoverage(**row) for row in answer["baris"]])

    @router.get("/coverage/areas", responses=CSV_ANSWER,
                summary="Cakupan per wilayah: kecamatan, desa dari satu kecamatan, atau sekolah")
    async def coverage_by_area(
        request: Request,
        tingkat: str = Query("kecamatan", pattern="^(kecamatan|desa|sekolah)$",
                             description="kecamatan, desa or sekolah"),
        kecamatan: str | None = Query(None, pattern=r"^\d{2}\.\d{2}\.\d{2}$",
                                      description="for desa and sekolah: only this kecamatan"),
        tanggal: Date | None = Query(None, description="date for 'wajib KTP on'; default today"),
        akan_wajib_sampai: Date | None = Query(
            None, description="also count who becomes wajib KTP (turns 17) after tanggal and by this date"),
        format: str = FORMAT,
    ) -> Any:
        if kecamatan and kecamatan not in load_areas().kecamatan:
            raise HTTPException(404, f"Kecamatan {kecamatan} tidak ada di Rejang Lebong.")
        day = tanggal or today(request)
        if akan_wajib_sampai and akan_wajib_sampai < day:
            raise HTTPException(422, "akan_wajib_sampai harus sama dengan atau sesudah tanggal.")
        answer = await queries.coverage_table(store_of(request), level=tingkat, parent=kecamatan, day=day,
                                              cohort_until=akan_wajib_sampai)
        return table(answer["baris"], format, f"cakupan-{tingkat}-{day}", answer)

    @router.get("/coverage/series", responses=CSV_ANSWER, summary="Deret mingguan (kumulatif) satu wilayah")
    async def series(
        request: Request,
        kode: str = Query(REGENCY_CODE, description="17.02 (kabupaten), a kecamatan, a desa, or a school NPSN"),
        minggu: int = Query(12, ge=1, le=260, description="how many weeks back from this week"),
        format: str = FORMAT,
    ) -> Any:
        area_id = _area_id(kode)
        last = today(request)
        first = last - dt.timedelta(weeks=minggu - 1)
        rows = await queries.weekly_series(store_of(request), area_id=area_id, first=first, last=last)
        return table(rows, format, f"deret-{kode}", {"kode": kode, "minggu": rows})

    @router.get("/backlog", responses=CSV_ANSWER, summary="Antrean cetak per kecamatan dan umur antrean tertua")
    async def print_backlog(request: Request, format: str = FORMAT) -> Any:
        answer = await queries.backlog(store_of(request), now=request.app.state.clock())
        return table(answer["baris"], format, "antrean-cetak", answer)

    @router.get("/stock", responses=CSV_ANSWER, summary="Stok blangko per lokasi dan hari stok")
    async def stock(request: Request, format: str = FORMAT) -> Any:
        answer = await queries.stock(store_of(request), today=today(request))
        return table(answer["baris"], format, "stok-blangko", answer)

    @router.get("/unrecorded", responses=CSV_ANSWER,
                summary="Daftar penduduk belum rekam satu desa atau sekolah (data pribadi, tercatat di log audit)")
    async def unrecorded(
        request: Request,
        desa: str | None = Query(None, pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$", description="desa/kelurahan code"),
        sekolah: str | None = Query(None, pattern=r"^\d{8}$", description="NPSN of a school"),
        kecamatan: str | None = Query(None, pattern=r"^\d{2}\.\d{2}\.\d{2}$",
                                      description="with sekolah: the kecamatan whose students are listed"),
        format: str = FORMAT,
        office: Office = Depends(current_office),
    ) -> Any:
        if bool(desa) == bool(sekolah):
            raise HTTPException(422, "Isi salah satu: desa (kode desa) atau sekolah (NPSN).")
        if desa:
            village = load_areas().villages.get(desa)
            if village is None:
                raise HTTPException(404, f"Desa {desa} tidak ada di Rejang Lebong.")
            scope_kecamatan = village.kecamatan_code
        else:
            scope_kecamatan = kecamatan or office.kecamatan_code or ""
        if not may_read_people(office, scope_kecamatan) or (sekolah and office.role not in DINAS_ROLES
                                                              and not scope_kecamatan):
            raise HTTPException(403, "Daftar penduduk hanya untuk kantor kecamatan yang bersangkutan dan dinas.")
        store = store_of(request)
        docs = await store.unrecorded(desa_code=desa, school_npsn=sekolah, limit=LIST_LIMIT)
        if sekolah and office.role not in DINAS_ROLES:
            docs = [d for d in docs if d["view"]["kecamatan_code"] == scope_kecamatan]
        rows = [_person_row(doc) for doc in docs]
        await store.record_read(office_id=office.office_id, action="baca_belum_rekam",
                                scope=f"desa:{desa}" if desa else f"sekolah:{sekolah}", count=len(rows),
                                now=request.app.state.clock())
        return table(rows, format, "belum-rekam", {"jumlah": len(rows), "penduduk": rows})

    @router.get("/planner/visits", responses=CSV_ANSWER, summary="Usulan jadwal jemput bola minggu-minggu berikutnya")
    async def plan(
        request: Request,
        minggu: int = Query(4, description="how many weeks to plan"),
        per_minggu: int = Query(3, description="visits per week"),
        minimal: int = Query(30, description="fewest residents per visit"),
        maksimal: int = Query(50, description="most residents per visit"),
        mulai: Date | None = Query(None, description="plan from the Monday on or after this date"),
        format: str = FORMAT,
    ) -> Any:
        settings = planner.PlannerSettings(per_minggu, minimal, maksimal, minggu)
        problems = settings.check()
        if problems:
            raise HTTPException(422, "; ".join(problems))
        day = today(request)
        if mulai and abs(mulai - day) > dt.timedelta(days=366):
            raise HTTPException(422, "mulai paling jauh satu tahun sebelum atau sesudah hari ini.")
        ranked = planner.rank(await queries.planner_places(store_of(request)), day)
        visits = planner.propose(ranked, start=mulai or day, settings=settings)
        rows = [{"tanggal": v.date.isoformat(), "kecamatan": v.kecamatan_code,
                 "kecamatan_nama": load_areas().kecamatan[v.kecamatan_code].name, "jumlah_penduduk": v.residents,
                 "tempat": ", ".join(f"{p.name} ({n})" for p, n in v.places),
                 "jenis": sorted({p.kind for p, _ in v.places})} for v in visits]
        ranking = [{"jenis": r.place.kind, "kode": r.place.code, "nama": r.place.name,
                    "kecamatan": r.place.kecamatan_code, "belum_rekam": r.place.outstanding,
                    "kunjungan": r.place.visits, "terakhir": r.place.last_visit.isoformat()
                    if r.place.last_visit else None, "skor": round(r.score, 1), "alasan": r.reason}
                   for r in ranked[:50]]
        return table(rows, format, "usulan-kunjungan",
                     {"pengaturan": settings.__dict__, "kunjungan": rows, "peringkat": ranking})

    @router.get("/planner/home-visits", responses=CSV_ANSWER,
                summary="Daftar kunjungan rumah: lansia dan penyandang disabilitas belum rekam "
                        "(data pribadi, tercatat di log audit)")
    async def home_visits(
        request: Request,
        kecamatan: str | None = Query(None, pattern=r"^\d{2}\.\d{2}\.\d{2}$"),
        format: str = FORMAT,
        office: Office = Depends(current_office),
    ) -> Any:
        scope = kecamatan or office.kecamatan_code
        if office.role not in DINAS_ROLES and (scope is None or not may_read_people(office, scope)):
            raise HTTPException(403, "Daftar kunjungan rumah hanya untuk kantor kecamatan yang bersangkutan dan dinas.")
        store = store_of(request)
        docs = await store.home_visit_candidates(born_until=today(request).year - 60, limit=LIST_LIMIT)
        if scope:
            docs = [d for d in docs if d["view"]["kecamatan_code"] == scope]
        rows = [{**_person_row(doc), "lansia": bool(doc["view"].get("birth_year")
                                                     and doc["view"]["birth_year"] <= today(request).year - 60),
                 "disabilitas": bool(doc["view"].get("disabilitas"))} for doc in docs]
        await store.record_read(office_id=office.office_id, action="baca_kunjungan_rumah",
                                scope=f"kec:{scope}" if scope else "kab", count=len(rows),
                                now=request.app.state.clock())
        return table(rows, format, "kunjungan-rumah", {"jumlah": len(rows), "penduduk": rows})

    return router


def _area_id(code: str) -> str:
    areas = load_areas()
    if code == REGENCY_CODE:
        return f"kab:{code}"
    if code in areas.kecamatan:
        return f"kec:{code}"
    if code in areas.villages:
        return f"desa:{code}"
    if code.isdigit() and len(code) == 8:
        return f"sekolah:{code}"
    raise HTTPException(404, f"Wilayah {code} tidak dikenal: pakai 17.02, kode kecamatan, kode desa atau NPSN.")


def _person_row(doc: dict[str, Any]) -> dict[str, Any]:
    person = doc.get("person") or {}
    view = doc["view"]
    village = load_areas().villages.get(view["desa_code"])
    return {"resident_id": doc["_id"], "nik": person.get("nik"), "nama": person.get("nama"),
            "jenis_kelamin": person.get("jenis_kelamin"), "tanggal_lahir": person.get("tanggal_lahir"),
            "telepon": person.get("telepon"), "desa": view["desa_code"],
            "desa_nama": village.name if village else None, "sekolah": view.get("school_npsn"),
            "wajib_ktp_sejak": view.get("wajib_ktp_from"), "gagal_rekam": bool(view.get("last_failure_at"))}
