"""Use cases of the coverage service: every read of the projection, with its audit record where it lists people.

Aggregate figures are open to any office (Dukcapil publishes them); lists of residents carry
personal data: only dinas roles and the office of the residents' own kecamatan see them, and each
read is recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from services.coverage import planner, queries
from services.coverage.ports import CoverageDeps
from services.coverage.views import ListedResident
from shared.areas import REGENCY_CODE, load_areas
from shared.clock import WIB
from shared.contracts.envelope import Role
from shared.dates import add_years
from shared.pseudonym import resident_pseudonym
from shared.stations import load_stations

DINAS_ROLES = frozenset({Role.DINAS_ADMIN, Role.SYSTEM})
LIST_LIMIT = 5000


@dataclass(frozen=True)
class Page:
    """Which part of a long list: page `number` (from 1) of `size` people."""

    number: int = 1
    size: int = LIST_LIMIT

    @property
    def skip(self) -> int:
        return (self.number - 1) * self.size
LANSIA_AGE = 60


class AreaNotFound(LookupError):
    """The area code names no kecamatan, desa or school of the regency; the message says so."""


class QueryRefused(ValueError):
    """The question cannot be answered as asked; the message says why."""


class Forbidden(PermissionError):
    """The office may not see these residents; the message says so."""


@dataclass(frozen=True)
class Reader:
    """The office asking: its id, role and own kecamatan."""

    office_id: str
    role: Role
    kecamatan_code: str | None = None
    operator: str | None = None

    def may_read_people(self, kecamatan_code: str) -> bool:
        """Dinas everywhere; a kecamatan office or field team only in its own kecamatan."""
        return self.role in DINAS_ROLES or (
            self.role in (Role.KECAMATAN_OFFICE, Role.FIELD_TEAM) and self.kecamatan_code == kecamatan_code)


@dataclass(frozen=True)
class Table:
    """An answer: its JSON body, the rows a CSV download holds and the CSV's file name."""

    body: dict[str, Any]
    rows: list[dict[str, Any]]
    filename: str
    next_page: int | None = None


@dataclass(frozen=True)
class AreaQuery:
    level: str = "kecamatan"
    kecamatan: str | None = None
    day: dt.date | None = None
    cohort_until: dt.date | None = None


@dataclass(frozen=True)
class SeriesQuery:
    code: str = REGENCY_CODE
    weeks: int = 12


@dataclass(frozen=True)
class UnrecordedQuery:
    reader: Reader
    desa: str | None = None
    sekolah: str | None = None
    kecamatan: str | None = None
    page: Page = field(default_factory=lambda: Page())


@dataclass(frozen=True)
class PlanQuery:
    settings: planner.PlannerSettings
    start: dt.date | None = None


@dataclass(frozen=True)
class HomeVisitQuery:
    reader: Reader
    kecamatan: str | None = None
    page: Page = field(default_factory=lambda: Page())


def today(deps: CoverageDeps) -> dt.date:
    """Today's date in Rejang Lebong."""
    return deps.clock().astimezone(WIB).date()


def asked_day(day: dt.date | None, deps: CoverageDeps) -> dt.date:
    """The day a coverage figure is asked for: today or later. The recorded counts are today's, so
    set against the wajib KTP of an earlier day they would make a coverage that never was."""
    now = today(deps)
    if day is not None and day < now:
        raise QueryRefused(f"tanggal tidak boleh sebelum hari ini ({now.isoformat()}): jumlah direkam yang ada "
                           "adalah jumlah hari ini. Riwayat per minggu ada di /coverage/series.")
    return day or now


async def coverage_summary(day: dt.date | None, *, deps: CoverageDeps) -> dict[str, Any]:
    """Coverage per kecamatan and for the regency on a day (default today): today's recorded counts
    against the wajib KTP of that day (on a later day, who will have turned 17 by then)."""
    return await queries.coverage_table(deps.projection(), level="kecamatan", parent=None,
                                        day=asked_day(day, deps))


async def coverage_by_area(query: AreaQuery, *, deps: CoverageDeps) -> Table:
    """Coverage per kecamatan, per desa of a kecamatan or per school, optionally with who turns 17 by a date."""
    if query.kecamatan and query.kecamatan not in load_areas().kecamatan:
        raise AreaNotFound(f"Kecamatan {query.kecamatan} tidak ada di Rejang Lebong.")
    day = asked_day(query.day, deps)
    if query.cohort_until and query.cohort_until < day:
        raise QueryRefused("akan_wajib_sampai harus sama dengan atau sesudah tanggal.")
    answer = await queries.coverage_table(deps.projection(), level=query.level, parent=query.kecamatan, day=day,
                                          cohort_until=query.cohort_until)
    return Table(answer, answer["baris"], f"cakupan-{query.level}-{day}")


def area_id(code: str) -> str:
    """The projection's id of an area code (regency, kecamatan, desa or school NPSN)."""
    areas = load_areas()
    if code == REGENCY_CODE:
        return f"kab:{code}"
    if code in areas.kecamatan:
        return f"kec:{code}"
    if code in areas.villages:
        return f"desa:{code}"
    if code.isdigit() and len(code) == 8:
        return f"sekolah:{code}"
    raise AreaNotFound(f"Wilayah {code} tidak dikenal: pakai 17.02, kode kecamatan, kode desa atau NPSN.")


async def weekly_series(query: SeriesQuery, *, deps: CoverageDeps) -> Table:
    """Cumulative figures of one area at the end of each of the last weeks."""
    last = today(deps)
    first = last - dt.timedelta(weeks=query.weeks - 1)
    rows = await queries.weekly_series(deps.projection(), area_id=area_id(query.code), first=first, last=last)
    return Table({"kode": query.code, "minggu": rows}, rows, f"deret-{query.code}")


async def print_backlog(*, deps: CoverageDeps) -> Table:
    """Cards waiting to be printed per kecamatan and the age of the oldest."""
    answer = await queries.backlog(deps.projection(), now=deps.clock())
    return Table(answer, answer["baris"], "antrean-cetak")


async def blank_stock(*, deps: CoverageDeps) -> Table:
    """Blangko per location with days of stock."""
    answer = await queries.stock(deps.projection(), today=today(deps))
    return Table(answer, answer["baris"], "stok-blangko")


async def blank_stock_series(days: int, *, deps: CoverageDeps) -> Table:
    """Blangko on hand at the end of each of the last `days` days, in total and per location."""
    answer = await queries.stock_series(deps.projection(), today=today(deps), days=days)
    return Table(answer, answer["hari"], "stok-blangko-harian")


def _unrecorded_scope(query: UnrecordedQuery) -> str:
    if bool(query.desa) == bool(query.sekolah):
        raise QueryRefused("Isi salah satu: desa (kode desa) atau sekolah (NPSN).")
    if query.desa:
        village = load_areas().villages.get(query.desa)
        if village is None:
            raise AreaNotFound(f"Desa {query.desa} tidak ada di Rejang Lebong.")
        return village.kecamatan_code
    return query.kecamatan or query.reader.kecamatan_code or ""


async def unrecorded(query: UnrecordedQuery, *, deps: CoverageDeps) -> Table:
    """Residents of a desa or school not yet recorded (personal data: the read is recorded)."""
    reader = query.reader
    scope = _unrecorded_scope(query)
    outside_dinas = reader.role not in DINAS_ROLES
    if not reader.may_read_people(scope) or (query.sekolah and outside_dinas and not scope):
        raise Forbidden("Daftar penduduk hanya untuk kantor kecamatan yang bersangkutan dan dinas.")
    projection = deps.projection()
    found = await projection.unrecorded(desa_code=query.desa, school_npsn=query.sekolah,
                                        kecamatan_code=scope if query.sekolah and outside_dinas else None,
                                        skip=query.page.skip, limit=query.page.size + 1)
    rows = [person_row(resident) for resident in found[:query.page.size]]
    await projection.record_read(office_id=reader.office_id, operator=reader.operator, action="baca_belum_rekam",
                                 scope=f"desa:{query.desa}" if query.desa else f"sekolah:{query.sekolah}",
                                 resident_ids=[row["resident_id"] for row in rows], now=deps.clock())
    return people_table(rows, query.page, more=len(found) > query.page.size, filename="belum-rekam")


async def plan_visits(query: PlanQuery, *, deps: CoverageDeps) -> Table:
    """Proposed outreach visits for the coming weeks and the ranking behind them."""
    problems = query.settings.check()
    if problems:
        raise QueryRefused("; ".join(problems))
    day = today(deps)
    if query.start and abs(query.start - day) > dt.timedelta(days=366):
        raise QueryRefused("mulai paling jauh satu tahun sebelum atau sesudah hari ini.")
    ranked = planner.rank(await queries.planner_places(deps.projection(), day), day)
    visits = planner.propose(ranked, start=query.start or day, settings=query.settings)
    kecamatan = load_areas().kecamatan
    rows = [{"tanggal": v.date.isoformat(), "kecamatan": v.kecamatan_code,
             "kecamatan_nama": kecamatan[v.kecamatan_code].name, "jumlah_penduduk": v.residents,
             "tempat": ", ".join(f"{p.name} ({n})" for p, n in v.places),
             "jenis": sorted({p.kind for p, _ in v.places})} for v in visits]
    ranking = [{"jenis": r.place.kind, "kode": r.place.code, "nama": r.place.name,
                "kecamatan": r.place.kecamatan_code, "belum_rekam": r.place.outstanding,
                "kunjungan": r.place.visits, "terakhir": r.place.last_visit.isoformat()
                if r.place.last_visit else None, "skor": round(r.score, 1), "alasan": r.reason}
               for r in ranked[:50]]
    places = [[{"jenis": p.kind, "kode": p.code, "nama": p.name, "jumlah": n} for p, n in v.places] for v in visits]
    body = {"pengaturan": query.settings.__dict__, "peringkat": ranking,
            "kunjungan": [{**row, "tempat_rinci": detail} for row, detail in zip(rows, places, strict=True)]}
    return Table(body, rows, "usulan-kunjungan")


async def home_visits(query: HomeVisitQuery, *, deps: CoverageDeps) -> Table:
    """Elderly and disabled residents not yet recorded, to visit at home (personal data: the read is recorded)."""
    reader = query.reader
    scope = query.kecamatan or reader.kecamatan_code
    if reader.role not in DINAS_ROLES and (scope is None or not reader.may_read_people(scope)):
        raise Forbidden("Daftar kunjungan rumah hanya untuk kantor kecamatan yang bersangkutan dan dinas.")
    elderly_until = add_years(today(deps), -LANSIA_AGE).year
    projection = deps.projection()
    found = await projection.home_visit_candidates(born_until=elderly_until, kecamatan_code=scope,
                                                   skip=query.page.skip, limit=query.page.size + 1)
    rows = [{**person_row(r), "lansia": bool(r.birth_year and r.birth_year <= elderly_until),
             "disabilitas": r.disabilitas} for r in found[:query.page.size]]
    await projection.record_read(office_id=reader.office_id, operator=reader.operator, action="baca_kunjungan_rumah",
                                 scope=f"kec:{scope}" if scope else "kab",
                                 resident_ids=[row["resident_id"] for row in rows], now=deps.clock())
    return people_table(rows, query.page, more=len(found) > query.page.size, filename="kunjungan-rumah")


def people_table(rows: list[dict[str, Any]], page: Page, *, more: bool, filename: str) -> Table:
    """A page of a list of people, saying whether more follow (a list is never cut silently)."""
    body: dict[str, Any] = {"jumlah": len(rows), "halaman": page.number, "per_halaman": page.size,
                            "ada_halaman_berikutnya": more, "penduduk": rows}
    if more:
        body["catatan"] = (f"Daftar ini belum lengkap: ambil halaman {page.number + 1} untuk "
                           f"{page.size} orang berikutnya.")
    return Table(body, rows, filename, next_page=page.number + 1 if more else None)


def person_row(resident: ListedResident) -> dict[str, Any]:
    """One listed resident as an office sees them."""
    village = load_areas().villages.get(resident.desa_code)
    return {"resident_id": resident.resident_id, "nik": resident.nik, "nama": resident.nama,
            "jenis_kelamin": resident.jenis_kelamin, "tanggal_lahir": resident.tanggal_lahir,
            "telepon": resident.telepon, "desa": resident.desa_code,
            "desa_nama": village.name if village else None, "sekolah": resident.school_npsn,
            "sekolah_nama": resident.school_name,
            "wajib_ktp_sejak": resident.wajib_ktp_from, "gagal_rekam": resident.failed_recording}


@dataclass(frozen=True)
class OverviewPage:
    """What the regency dashboard shows."""

    now: dt.datetime
    cohort_until: dt.date
    table: dict[str, Any]
    backlog: dict[str, Any]
    stock: dict[str, Any]
    visits: list[dict[str, Any]]


@dataclass(frozen=True)
class KecamatanPage:
    """What a kecamatan's dashboard page shows."""

    code: str
    name: str
    today: dt.date
    desa: list[dict[str, Any]]
    schools: list[dict[str, Any]]


async def overview_page(*, deps: CoverageDeps) -> OverviewPage:
    """The dashboard: coverage, who turns 17 within a year, backlog, stock and two weeks of proposed visits."""
    now = deps.clock()
    day = now.astimezone(WIB).date()
    cohort_until = add_years(day, 1)
    projection = deps.projection()
    counted = await projection.counters_of("kec")  # read once, for the table and the backlog
    # The page's four parts read different documents: asked for at once, the database answers them side by side.
    table, places, backlog, stock = await asyncio.gather(
        queries.coverage_table(projection, level="kecamatan", parent=None, day=day, cohort_until=cohort_until,
                               kecamatan=counted),
        queries.planner_places(projection, day),
        queries.backlog(projection, now=now, kecamatan=counted),
        queries.stock(projection, today=day))
    proposed = planner.propose(planner.rank(places, day), start=day, settings=planner.PlannerSettings(weeks=2))
    kecamatan = load_areas().kecamatan
    visits = [{"tanggal": v.date, "kecamatan": kecamatan[v.kecamatan_code].name,
               "tempat": ", ".join(p.name for p, _ in v.places), "penduduk": v.residents} for v in proposed]
    return OverviewPage(now=now, cohort_until=cohort_until, table=table, backlog=backlog, stock=stock, visits=visits)


def total_row(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The sum of area rows, shown as the first line of a table."""
    keys = ("wajib_ktp", "direkam", "belum_rekam", "wajib_ktp_belum_rekam", "lansia_belum_rekam", "prr", "dicetak", "diserahkan",
            "duplikat", "gagal", "antre_cetak")
    total: dict[str, Any] = {"kode": "", "nama": name, **{k: sum(int(r[k]) for r in rows) for k in keys}}
    total["cakupan_rekam"] = queries.ratio(min(total["direkam"], total["wajib_ktp"]), total["wajib_ktp"])
    return total


async def kecamatan_page(code: str, *, deps: CoverageDeps) -> KecamatanPage:
    """A kecamatan's coverage per desa (with the kecamatan's total) and per school."""
    kec = load_areas().kecamatan.get(code)
    if kec is None:
        raise AreaNotFound(f"Kecamatan {code} tidak ada di Rejang Lebong.")
    day = today(deps)
    projection = deps.projection()
    desa = await queries.coverage_table(projection, level="desa", parent=code, day=day)
    schools = await queries.coverage_table(projection, level="sekolah", parent=code, day=day)
    return KecamatanPage(code=code, name=kec.name, today=day,
                         desa=[total_row(desa["baris"], "Jumlah kecamatan"), *desa["baris"]],
                         schools=schools["baris"])


@dataclass(frozen=True)
class StatusLookup:
    """A resident asks where their KTP-el stands: NIK and birth date, nothing else."""

    nik: str
    birth_date: dt.date
    channel: str  # "web" (through the web app) or "api"


@dataclass(frozen=True)
class KtpStatus:
    stage: str
    explanation: str
    collect_at: str | None = None


NOT_FOUND_TEXT = ("NIK dan tanggal lahir ini tidak ada di daftar wajib KTP Kabupaten Rejang Lebong. Periksa ketikan; "
                  "bila benar, datang ke kantor kecamatan untuk didaftarkan.")
STAGE_TEXT = {
    "belum_rekam": "Terdaftar, belum rekam: datang ke kantor kecamatan atau ikuti jadwal jemput bola di desa/sekolah Anda.",
    "sudah_rekam": "Sudah rekam: data menunggu status siap cetak (PRR) dari pusat.",
    "siap_cetak": "Siap cetak: kartu dalam antrean cetak, menunggu blangko.",
    "dicetak": "Dicetak: kartu dapat diambil.",
    "diserahkan": "Kartu sudah diserahkan.",
}


def _stage(found: Any) -> str:
    if found.handed_over:
        return "diserahkan"
    if found.printed:
        return "dicetak"
    if found.print_ready:
        return "siap_cetak"
    return "sudah_rekam" if found.recorded else "belum_rekam"


def _collect_at(kecamatan_code: str) -> str:
    stations = load_stations()
    serving = next((s for s in stations.stations.values() if kecamatan_code in s.kecamatan_codes), stations.fallback)
    return serving.name


async def look_up_status(query: StatusLookup, *, deps: CoverageDeps) -> KtpStatus:
    """The stage of the resident whose roster NIK and birth date both match; any mismatch answers the same
    as an unknown NIK, so the lookup tells nothing about who is in the roster. Each lookup is audited."""
    resident_id = resident_pseudonym(query.nik, key=deps.pseudonym_key)
    projection = deps.projection()
    found = await projection.resident_stage(resident_id)
    matched = found is not None and found.enrolled and found.active and found.birth_date == query.birth_date.isoformat()
    await projection.record_read(office_id="publik", operator=query.channel, action="cek_status_ktp", scope="publik",
                                 resident_ids=[resident_id] if matched else [], now=deps.clock())
    if not matched or found is None:
        return KtpStatus("tidak_ditemukan", NOT_FOUND_TEXT)
    stage = _stage(found)
    return KtpStatus(stage, STAGE_TEXT[stage], _collect_at(found.kecamatan_code) if stage == "dicetak" else None)
