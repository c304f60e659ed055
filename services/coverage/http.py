"""HTTP routes of the coverage service: coverage per area, series, backlog, stock, lists and the planner.

Each route turns its query into a question for one use case in `handlers` and answers JSON or,
with format=csv, a table. Aggregates are open; lists of residents need an office key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.coverage import handlers
from services.coverage import http_models as out
from services.coverage.csv_export import table_csv
from services.coverage.planner import PlannerSettings
from services.coverage.ports import CoverageDeps
from shared.areas import REGENCY_CODE
from shared.auth import Office, current_office
from shared.http_types import VALIDATION_ANSWER, Date

KECAMATAN = r"^\d{2}\.\d{2}\.\d{2}$"
AREA_CODE = r"^(\d{2}\.\d{2}(\.\d{2}(\.\d{4})?)?|\d{8})$"


def _problem(description: str) -> dict[str, Any]:
    return {"model": out.Problem, "description": description}


COMMON: dict[int | str, dict[str, Any]] = {
    **VALIDATION_ANSWER, 503: _problem("basis data tidak tersedia"),
}
PERSONAL: dict[int | str, dict[str, Any]] = {
    401: _problem("kunci API salah atau tidak ada"), 403: _problem("kantor tidak berwenang untuk daftar ini"),
    429: _problem("terlalu banyak permintaan"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: _problem("wilayah tidak dikenal")}
Format = Annotated[Literal["json", "csv"], Query(description="json, or csv to download the table")]
CSV_TOO = {"content": {"text/csv": {"schema": {"type": "string"}}},
           "description": "JSON, or with format=csv a `;`-separated table"}

router = APIRouter(tags=["cakupan"], responses=COMMON)


def deps_of(request: Request) -> CoverageDeps:
    """The use cases' dependencies, built by app.py."""
    return request.app.state.deps  # type: ignore[no-any-return]


Deps = Annotated[CoverageDeps, Depends(deps_of)]
CurrentOffice = Annotated[Office, Depends(current_office)]


def as_csv(rows: list[dict[str, Any]], filename: str) -> Response:
    """A table as a CSV download (services/coverage/csv_export.py says how cells are written)."""
    return Response(table_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})


def _refusal(exc: Exception) -> HTTPException:
    """The answer for a use case's refusal."""
    status = {handlers.AreaNotFound: 404, handlers.QueryRefused: 422, handlers.Forbidden: 403}[type(exc)]
    return HTTPException(status, str(exc))


REFUSALS = (handlers.AreaNotFound, handlers.QueryRefused, handlers.Forbidden)


def _table(table: handlers.Table, fmt: str) -> Any:
    if fmt != "csv":
        return table.body
    answer = as_csv(table.rows, table.filename)
    if table.next_page is not None:  # the CSV cannot say it, so the answer's header does
        answer.headers["X-Halaman-Berikutnya"] = str(table.next_page)
    return answer


TANGGAL = ("date for 'wajib KTP on', today or later (default today); the recorded counts are today's, so a "
           "later date shows the coverage then if nobody more is recorded")
PageNumber = Annotated[int, Query(ge=1, le=100_000, description="halaman ke berapa (mulai 1)")]
PageSize = Annotated[int, Query(ge=1, le=handlers.LIST_LIMIT, description="orang per halaman")]


@router.get("/coverage", response_model=out.CoverageAnswer, summary="Cakupan wajib KTP per kecamatan (dan kabupaten)")
async def coverage(deps: Deps, tanggal: Annotated[Date | None, Query(description=TANGGAL)] = None
                   ) -> out.CoverageAnswer:
    try:
        answer = await handlers.coverage_summary(tanggal, deps=deps)
    except REFUSALS as exc:
        raise _refusal(exc) from exc
    return out.CoverageAnswer(tanggal=answer["tanggal"], kabupaten=out.AreaCoverage(**answer["kabupaten"]),
                              kecamatan=[out.AreaCoverage(**row) for row in answer["baris"]])


@router.get("/coverage/areas", response_model=out.AreaTable, responses={200: CSV_TOO, **NOT_FOUND},
            summary="Cakupan per wilayah: kecamatan, desa dari satu kecamatan, atau sekolah")
async def coverage_by_area(
    deps: Deps,
    tingkat: Annotated[Literal["kecamatan", "desa", "sekolah"], Query(description="kecamatan, desa or sekolah")]
    = "kecamatan",
    kecamatan: Annotated[str | None, Query(pattern=KECAMATAN, description="for desa and sekolah: only this kecamatan")]
    = None,
    tanggal: Annotated[Date | None, Query(description=TANGGAL)] = None,
    akan_wajib_sampai: Annotated[Date | None, Query(
        description="also count who becomes wajib KTP after tanggal and by this date (not before tanggal)")] = None,
    format: Format = "json",
) -> Any:
    query = handlers.AreaQuery(level=tingkat, kecamatan=kecamatan, day=tanggal, cohort_until=akan_wajib_sampai)
    try:
        return _table(await handlers.coverage_by_area(query, deps=deps), format)
    except REFUSALS as exc:
        raise _refusal(exc) from exc


@router.get("/coverage/series", response_model=out.Series, responses={200: CSV_TOO, **NOT_FOUND},
            summary="Deret mingguan (kumulatif) satu wilayah")
async def series(
    deps: Deps,
    kode: Annotated[str, Query(pattern=AREA_CODE, description="17.02 (kabupaten), a kecamatan, a desa, or a school "
                                                              "NPSN")] = REGENCY_CODE,
    minggu: Annotated[int, Query(ge=1, le=260, description="how many weeks back from this week")] = 12,
    format: Format = "json",
) -> Any:
    try:
        return _table(await handlers.weekly_series(handlers.SeriesQuery(kode, minggu), deps=deps), format)
    except REFUSALS as exc:
        raise _refusal(exc) from exc


@router.get("/backlog", response_model=out.Backlog, responses={200: CSV_TOO},
            summary="Antrean cetak per kecamatan dan umur antrean tertua")
async def print_backlog(deps: Deps, format: Format = "json") -> Any:
    return _table(await handlers.print_backlog(deps=deps), format)


@router.get("/stock", response_model=out.Stock, responses={200: CSV_TOO}, summary="Stok blangko per lokasi dan hari stok")
async def stock(deps: Deps, format: Format = "json") -> Any:
    return _table(await handlers.blank_stock(deps=deps), format)


@router.get("/stock/series", response_model=out.StockSeries, responses={200: CSV_TOO},
            summary="Stok blangko harian (akhir hari) seluruh kabupaten dan per lokasi")
async def stock_series(deps: Deps, hari: Annotated[int, Query(ge=1, le=366, description="how many days back")] = 60,
                       format: Format = "json") -> Any:
    return _table(await handlers.blank_stock_series(hari, deps=deps), format)


def _reader(office: Office) -> handlers.Reader:
    return handlers.Reader(office.office_id, office.role, office.kecamatan_code, office.operator)


@router.get("/unrecorded", response_model=out.People, responses={200: CSV_TOO, **PERSONAL, **NOT_FOUND},
            summary="Daftar penduduk belum rekam satu desa atau sekolah (data pribadi, tercatat di log audit)",
            description="Isi tepat satu dari desa atau sekolah.")
async def unrecorded(
    deps: Deps, office: CurrentOffice,
    desa: Annotated[str | None, Query(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$", description="desa/kelurahan code")]
    = None,
    sekolah: Annotated[str | None, Query(pattern=r"^\d{8}$", description="NPSN of a school")] = None,
    kecamatan: Annotated[str | None, Query(pattern=KECAMATAN, description="with sekolah: the kecamatan whose "
                                                                          "students are listed")] = None,
    format: Format = "json", halaman: PageNumber = 1, per_halaman: PageSize = handlers.LIST_LIMIT,
) -> Any:
    query = handlers.UnrecordedQuery(_reader(office), desa=desa, sekolah=sekolah, kecamatan=kecamatan,
                                     page=handlers.Page(halaman, per_halaman))
    try:
        return _table(await handlers.unrecorded(query, deps=deps), format)
    except REFUSALS as exc:
        raise _refusal(exc) from exc


@router.get("/planner/visits", response_model=out.Plan, responses={200: CSV_TOO},
            summary="Usulan jadwal jemput bola minggu-minggu berikutnya")
async def plan(
    deps: Deps,
    minggu: Annotated[int, Query(ge=1, le=26, description="how many weeks to plan")] = 4,
    per_minggu: Annotated[int, Query(ge=1, le=5, description="visits per week (working days)")] = 3,
    minimal: Annotated[int, Query(ge=1, le=500, description="fewest residents per visit (at most maksimal)")] = 30,
    maksimal: Annotated[int, Query(ge=1, le=500, description="most residents per visit")] = 50,
    mulai: Annotated[Date | None, Query(description="plan from the Monday on or after this date "
                                                    "(at most a year from today)")] = None,
    format: Format = "json",
) -> Any:
    query = handlers.PlanQuery(PlannerSettings(per_minggu, minimal, maksimal, minggu), start=mulai)
    try:
        return _table(await handlers.plan_visits(query, deps=deps), format)
    except REFUSALS as exc:
        raise _refusal(exc) from exc


@router.get("/planner/home-visits", response_model=out.People, responses={200: CSV_TOO, **PERSONAL},
            summary="Daftar kunjungan rumah: lansia dan penyandang disabilitas belum rekam "
                    "(data pribadi, tercatat di log audit)")
async def home_visits(
    deps: Deps, office: CurrentOffice,
    kecamatan: Annotated[str | None, Query(pattern=KECAMATAN)] = None, format: Format = "json",
    halaman: PageNumber = 1, per_halaman: PageSize = handlers.LIST_LIMIT,
) -> Any:
    query = handlers.HomeVisitQuery(_reader(office), kecamatan, handlers.Page(halaman, per_halaman))
    try:
        return _table(await handlers.home_visits(query, deps=deps), format)
    except REFUSALS as exc:
        raise _refusal(exc) from exc


PUBLIC_BURST = 5
"""Status lookups one client address may make at once, before `status_lookups_per_minute` applies."""


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik: str = Field(pattern=r"^\d{16}$", description="NIK, 16 digits")
    tanggal_lahir: Date = Field(description="birth date as in the roster, e.g. 2007-07-05")


class StatusOut(BaseModel):
    tahap: Literal["tidak_ditemukan", "belum_rekam", "sudah_rekam", "siap_cetak", "dicetak", "diserahkan"]
    keterangan: str = Field(description="what it means and what to do, in Indonesian")
    ambil_di: str | None = Field(None, description="where a printed card is collected")


async def _limited(request: Request) -> str:
    """Who asks, as the audit names the channel: the web app ("web", which limits each visitor's address
    itself), an office with its key ("api", within its write budget) or anyone ("api", five lookups at
    once and `status_lookups_per_minute` a minute per client address)."""
    key = request.headers.get("X-API-Key")
    office = await request.app.state.directory.authenticate(key) if key else None
    if office is not None:
        if not office.on_behalf:
            await request.app.state.write_limit.admit(request, office.office_id)
        return "web" if office.on_behalf else "api"
    wait = request.app.state.status_limit.take(request.client.host if request.client else "-")
    if wait > 0:
        seconds = max(1, int(wait + 0.999))
        raise HTTPException(429, f"Terlalu banyak pencarian dari alamat ini. Coba lagi dalam {seconds} detik.",
                            headers={"Retry-After": str(seconds)})
    return "api"


@router.post("/status-ktp", response_model=StatusOut,
             responses={400: _problem("isi permintaan tidak dapat dibaca (bukan JSON UTF-8)"),
                        429: _problem("terlalu banyak pencarian dari alamat ini, atau dari kantor ini; lihat Retry-After")},
             summary="Cek status KTP-el (publik): NIK dan tanggal lahir; tanpa nama, tercatat di log audit")
async def status_ktp(body: StatusIn, deps: Deps, channel: Annotated[str, Depends(_limited)]) -> StatusOut:
    found = await handlers.look_up_status(handlers.StatusLookup(body.nik, body.tanggal_lahir, channel), deps=deps)
    return StatusOut(tahap=found.stage, keterangan=found.explanation, ambil_di=found.collect_at)
