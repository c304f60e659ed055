"""Read-side answers built from the projection: coverage per area, weekly series, backlog, stock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.coverage import domain, planner
from services.coverage.ports import ProjectionReads
from services.coverage.views import AreaCounters, StockLocation
from shared import blangko
from shared.areas import REGENCY_CODE, REGENCY_NAME, load_areas


def ratio(part: int, whole: int) -> dict[str, Any]:
    """A figure with its denominator, as the office reports them."""
    return {"jumlah": part, "dari": whole, "persen": domain.percent(part, whole)}


def area_row(code: str, name: str, area: AreaCounters, *, day: dt.date, turning: int,
             cohort_until: dt.date | None = None, turning_until: int = 0) -> dict[str, Any]:
    """One area's figures on `day`: each count with the wajib KTP (or recorded) total it is out of."""
    weeks = area.weeks("wajib_ktp")
    wajib = domain.wajib_ktp_on(weeks, day, turning)
    recorded = area.direkam
    row = {
        "kode": code, "nama": name, "terdaftar": area.terdaftar, "wajib_ktp": wajib,
        "direkam": recorded, "belum_rekam": area.belum_rekam,
        "wajib_ktp_belum_rekam": max(0, wajib - recorded),
        "prr": area.prr, "dicetak": area.dicetak,
        "diserahkan": area.diserahkan, "duplikat": area.duplikat,
        "gagal": area.gagal, "antre_cetak": area.antre_cetak,
        "lansia_belum_rekam": domain.lansia_among(area.belum_rekam_per_tahun_lahir, day),
        "disabilitas_belum_rekam": area.disabilitas_belum_rekam,
        "cakupan_rekam": ratio(min(recorded, wajib) if wajib else recorded, wajib),
        "cakupan_cetak": ratio(area.dicetak, recorded),
        "cakupan_serah": ratio(area.diserahkan, recorded),
    }
    if cohort_until is not None:
        later = domain.wajib_ktp_on(weeks, cohort_until, turning_until)
        row["akan_wajib_ktp"] = max(0, later - wajib)
        row["akan_wajib_ktp_sampai"] = cohort_until.isoformat()
    return row


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _turning(area: AreaCounters, day: dt.date | None) -> int:
    """Residents of an area turning wajib KTP in `day`'s week up to `day` (read from the day buckets)."""
    if day is None or day < domain.WEEKLY_FROM:
        return 0
    return domain.sum_of_days(area.wajib_ktp_per_hari, _monday(day), day)


def _by_code(areas: list[AreaCounters]) -> dict[str, AreaCounters]:
    return {area.code: area for area in areas}


async def coverage_table(store: ProjectionReads, *, level: str, parent: str | None, day: dt.date,
                         cohort_until: dt.date | None = None,
                         kecamatan: list[AreaCounters] | None = None) -> dict[str, Any]:
    """Rows of one level (kecamatan of the regency, desa of a kecamatan, schools of a kecamatan); the
    kecamatan level from `kecamatan`'s counters when the caller has read them already."""
    areas = load_areas()
    kab = await store.counters(f"kab:{REGENCY_CODE}")
    total = area_row(REGENCY_CODE, REGENCY_NAME, kab, day=day, turning=_turning(kab, day),
                     cohort_until=cohort_until, turning_until=_turning(kab, cohort_until))
    rows: list[dict[str, Any]] = []
    if level == "kecamatan":
        counted = _by_code(kecamatan if kecamatan is not None else await store.counters_of("kec"))
        for code, kec in areas.kecamatan.items():
            area = counted.get(code) or AreaCounters("kec", code)
            rows.append(area_row(code, kec.name, area, day=day, turning=_turning(area, day),
                                 cohort_until=cohort_until, turning_until=_turning(area, cohort_until)))
    elif level == "desa":
        villages = [v for v in areas.villages.values() if parent is None or v.kecamatan_code == parent]
        counted = _by_code(await store.counters_of("desa", None if parent is None else [v.code for v in villages]))
        for village in sorted(villages, key=lambda v: v.code):
            area = counted.get(village.code) or AreaCounters("desa", village.code)
            row = area_row(village.code, village.name, area, day=day, turning=_turning(area, day),
                           cohort_until=cohort_until, turning_until=_turning(area, cohort_until))
            row["kecamatan"] = village.kecamatan_code
            rows.append(row)
    elif level == "sekolah":
        # For a kecamatan, only the schools the planner's document knows a student of it in are read.
        codes = None if not parent else sorted(
            npsn for npsn, by_kec in (await store.planner_counts()).siswa_per_sekolah.items() if by_kec.get(parent))
        schools = [school for school in sorted(await store.counters_of("sekolah", codes), key=lambda a: a.code)
                   # a student of the school counted, and (for a kecamatan) one living in it
                   if school.terdaftar and (not parent or school.siswa_per_kecamatan.get(parent))]
        names = await store.school_names([school.code for school in schools])
        for school in schools:
            row = area_row(school.code, school_label(school.code, names), school, day=day,
                           turning=_turning(school, day),
                           cohort_until=cohort_until, turning_until=_turning(school, cohort_until))
            rows.append(row)
    return {"tanggal": day.isoformat(), "tingkat": level, "induk": parent, "kabupaten": total, "baris": rows}


def school_label(npsn: str, names: dict[str, str], *, unnamed: str = "") -> str:
    """A school as people know it: its name with its NPSN, or the NPSN alone when no file named it."""
    name = names.get(npsn)
    return f"{name} (NPSN {npsn})" if name else f"{unnamed}NPSN {npsn}"


async def weekly_series(store: ProjectionReads, *, area_id: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Cumulative figures at the end of each week from `first` to `last` (weeks start on Monday)."""
    area = await store.counters(area_id)
    rows = []
    for monday in domain.weeks_between(first, last):
        row: dict[str, Any] = {"minggu_mulai": monday.isoformat(),
                               "minggu_akhir": (monday + dt.timedelta(days=6)).isoformat()}
        row["wajib_ktp"] = domain.cumulative_until(area.weeks("wajib_ktp"), monday)
        for name in ("direkam", "prr", "dicetak", "diserahkan"):
            row[name] = domain.cumulative_until(area.weeks(name), monday)
            row[f"{name}_minggu_ini"] = int(area.weeks(name).get(domain.week_bucket(monday), 0))
        row["cakupan_rekam_persen"] = domain.percent(row["direkam"], row["wajib_ktp"])
        rows.append(row)
    return rows


async def backlog(store: ProjectionReads, *, now: dt.datetime,
                  kecamatan: list[AreaCounters] | None = None) -> dict[str, Any]:
    """Cards waiting to be printed per kecamatan, and how long the oldest has waited (from `kecamatan`'s
    counters when the caller has read them already)."""
    areas = load_areas()
    counted = _by_code(kecamatan if kecamatan is not None else await store.counters_of("kec"))
    waiting_per_kec = {code: area.antre_cetak for code, area in counted.items()}
    oldest = {code: since for code, area in counted.items()
              if area.antre_cetak and (since := domain.oldest_hour(area.antre_cetak_per_jam))}
    rows = []
    for code, kec in areas.kecamatan.items():
        waiting = waiting_per_kec.get(code, 0)
        since = oldest.get(code) if waiting else None
        rows.append({"kode": code, "nama": kec.name, "antre_cetak": waiting, "sejak": since,
                     "umur_hari": _age_days(since, now)})
    oldest_all = min(oldest.values(), default=None)
    return {"antre_cetak": sum(r["antre_cetak"] for r in rows), "tertua_sejak": oldest_all,
            "umur_tertua_hari": _age_days(oldest_all, now), "baris": rows}


def _age_days(since: str | None, now: dt.datetime) -> float | None:
    if since is None:
        return None
    return round((now - dt.datetime.fromisoformat(since)).total_seconds() / 86400, 1)


async def stock(store: ProjectionReads, *, today: dt.date) -> dict[str, Any]:
    """Blangko per location as projected from the ledger's events, with days of stock."""
    locations = sorted(await store.stock_locations(), key=lambda loc: loc.location_id)
    covers = domain.stock_covers({loc.location_id: loc.stok for loc in locations},
                                 {loc.location_id: loc.used_by_day for loc in locations}, today)
    rows = [_stock_row(location, covers[location.location_id]) for location in locations]
    return {"stok_total": sum(r["stok"] for r in rows), "dipesan_total": sum(r["dipesan"] for r in rows),
            "baris": rows}


async def stock_series(store: ProjectionReads, *, today: dt.date, days: int) -> dict[str, Any]:
    """The stock on hand at the end of each of the last `days` days, for the regency and each location."""
    locations = sorted(await store.stock_locations(), key=lambda loc: loc.location_id)
    dates = [today - dt.timedelta(days=back) for back in range(days - 1, -1, -1)]
    per_location = {loc.location_id: domain.stock_by_day(loc.stok, loc.stock_change_by_day, dates)
                    for loc in locations}
    totals = [sum(levels[i] for levels in per_location.values()) for i in range(len(dates))]
    rows = [{"tanggal": day.isoformat(), "stok_total": total, **{f"stok_{loc}": per_location[loc][i]
                                                                for loc in per_location}}
            for i, (day, total) in enumerate(zip(dates, totals, strict=True))]
    return {"hari": rows, "lokasi": list(per_location)}


def _stock_row(location: StockLocation, cover: blangko.StockCover) -> dict[str, Any]:
    return {
        "lokasi": location.location_id, "stok": location.stok, "dipesan": location.dipesan,
        "dalam_perjalanan": location.dalam_perjalanan, "diterima": location.diterima,
        "terpakai": location.terpakai, "rusak": location.rusak,
        "pemakaian_per_hari": cover.per_day, "hari_stok": cover.days,
    }


async def planner_places(store: ProjectionReads, today: dt.date) -> list[planner.Place]:
    """Desa and schools with their outstanding residents and the visits held there (by `today`), from the
    planner's document: one read for the whole regency."""
    areas = load_areas()
    by_place: dict[str, list[dt.date | None]] = {}
    for visit in await store.place_visits():
        by_place.setdefault(visit.place_code, []).append(visit.held_on)
    visits = {place: planner.held_days(days, today) for place, days in by_place.items()}
    counts = await store.planner_counts()
    places = []
    for code, outstanding in sorted(counts.desa_belum_rekam.items()):
        village = areas.villages.get(code)
        if village is None:
            continue
        seen = visits.get(code, [])
        places.append(planner.Place("desa", code, village.name, village.kecamatan_code,
                                    outstanding, len(seen), max(seen) if seen else None))
    schools = {npsn: by_kec for npsn, by_kec in counts.siswa_per_sekolah.items() if by_kec}
    names = await store.school_names(sorted(schools))
    for npsn, by_kec in sorted(schools.items()):
        main = max(sorted(by_kec), key=lambda k: by_kec[k])  # the kecamatan most of its students live in
        seen = visits.get(npsn, [])
        places.append(planner.Place("sekolah", npsn, school_label(npsn, names, unnamed="Sekolah "), main,
                                    counts.sekolah_belum_rekam.get(npsn, 0), len(seen), max(seen) if seen else None))
    return places
