"""Read-side answers built from the projection: coverage per area, weekly series, backlog, stock."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.coverage import domain, planner
from services.coverage.ports import ProjectionReads
from shared.areas import REGENCY_CODE, REGENCY_NAME, load_areas


def ratio(part: int, whole: int) -> dict[str, Any]:
    """A figure with its denominator, as the office reports them."""
    return {"jumlah": part, "dari": whole, "persen": domain.percent(part, whole)}


def area_row(code: str, name: str, doc: dict[str, Any], *, day: dt.date, turning: int,
             cohort_until: dt.date | None = None, turning_until: int = 0) -> dict[str, Any]:
    """One area's figures on `day`: each count with the wajib KTP (or recorded) total it is out of."""
    weeks = doc.get("wajib_ktp_minggu") or {}
    wajib = domain.wajib_ktp_on(weeks, day, turning)
    recorded = int(doc.get("direkam", 0))
    row = {
        "kode": code, "nama": name, "terdaftar": int(doc.get("terdaftar", 0)), "wajib_ktp": wajib,
        "direkam": recorded, "belum_rekam": int(doc.get("belum_rekam", 0)),
        "wajib_ktp_belum_rekam": max(0, wajib - recorded),
        "prr": int(doc.get("prr", 0)), "dicetak": int(doc.get("dicetak", 0)),
        "diserahkan": int(doc.get("diserahkan", 0)), "duplikat": int(doc.get("duplikat", 0)),
        "gagal": int(doc.get("gagal", 0)), "antre_cetak": int(doc.get("antre_cetak", 0)),
        "lansia_belum_rekam": domain.lansia_not_recorded(doc.get("belum_rekam_lahir") or {}, day),
        "disabilitas_belum_rekam": int(doc.get("belum_rekam_disabilitas", 0)),
        "cakupan_rekam": ratio(min(recorded, wajib) if wajib else recorded, wajib),
        "cakupan_cetak": ratio(int(doc.get("dicetak", 0)), recorded),
        "cakupan_serah": ratio(int(doc.get("diserahkan", 0)), recorded),
    }
    if cohort_until is not None:
        later = domain.wajib_ktp_on(weeks, cohort_until, turning_until)
        row["akan_wajib_ktp"] = max(0, later - wajib)
        row["akan_wajib_ktp_sampai"] = cohort_until.isoformat()
    return row


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


async def _turning(store: ProjectionReads, day: dt.date, field: str) -> dict[str, int]:
    if day < domain.WEEKLY_FROM:
        return {}
    return await store.turning_between(_monday(day), day, field=field)


async def coverage_table(store: ProjectionReads, *, level: str, parent: str | None, day: dt.date,
                         cohort_until: dt.date | None = None) -> dict[str, Any]:
    """Rows of one level (kecamatan of the regency, desa of a kecamatan, schools of a kecamatan)."""
    areas = load_areas()
    field = {"kecamatan": "view.kecamatan_code", "desa": "view.desa_code", "sekolah": "view.school_npsn"}.get(
        level, "view.kecamatan_code")
    turning = await _turning(store, day, field)
    turning_until = await _turning(store, cohort_until, field) if cohort_until else {}
    # The regency's share is the sum over its kecamatan; desa and school rows need their own grouping.
    kab_turning = turning if level == "kecamatan" else await _turning(store, day, "view.kecamatan_code")
    kab_until = turning_until if level == "kecamatan" or not cohort_until else await _turning(
        store, cohort_until, "view.kecamatan_code")
    kab = await store.area(f"kab:{REGENCY_CODE}")
    total = area_row(REGENCY_CODE, REGENCY_NAME, kab, day=day, turning=sum(kab_turning.values()),
                     cohort_until=cohort_until, turning_until=sum(kab_until.values()))
    rows: list[dict[str, Any]] = []
    if level == "kecamatan":
        docs = {doc["code"]: doc for doc in await store.area_docs("kec")}
        for code, kec in areas.kecamatan.items():
            rows.append(area_row(code, kec.name, docs.get(code, {}), day=day, turning=turning.get(code, 0),
                                 cohort_until=cohort_until, turning_until=turning_until.get(code, 0)))
    elif level == "desa":
        docs = {doc["code"]: doc for doc in await store.area_docs("desa")}
        villages = [v for v in areas.villages.values() if parent is None or v.kecamatan_code == parent]
        for village in sorted(villages, key=lambda v: v.code):
            row = area_row(village.code, village.name, docs.get(village.code, {}), day=day,
                           turning=turning.get(village.code, 0), cohort_until=cohort_until,
                           turning_until=turning_until.get(village.code, 0))
            row["kecamatan"] = village.kecamatan_code
            rows.append(row)
    elif level == "sekolah":
        key = domain.kecamatan_key(parent) if parent else None
        for doc in sorted(await store.area_docs("sekolah"), key=lambda d: d["code"]):
            if not doc.get("terdaftar") or (key and not (doc.get("kecamatan") or {}).get(key)):
                continue  # no student of the school counted (any more), or none from that kecamatan
            row = area_row(doc["code"], f"NPSN {doc['code']}", doc, day=day, turning=turning.get(doc["code"], 0),
                           cohort_until=cohort_until, turning_until=turning_until.get(doc["code"], 0))
            rows.append(row)
    return {"tanggal": day.isoformat(), "tingkat": level, "induk": parent, "kabupaten": total, "baris": rows}


async def weekly_series(store: ProjectionReads, *, area_id: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Cumulative figures at the end of each week from `first` to `last` (weeks start on Monday)."""
    doc = await store.area(area_id)
    rows = []
    for monday in domain.weeks_between(first, last):
        row: dict[str, Any] = {"minggu_mulai": monday.isoformat(),
                               "minggu_akhir": (monday + dt.timedelta(days=6)).isoformat()}
        row["wajib_ktp"] = domain.cumulative_until(doc.get("wajib_ktp_minggu") or {}, monday)
        for name in ("direkam", "prr", "dicetak", "diserahkan"):
            row[name] = domain.cumulative_until(doc.get(f"{name}_minggu") or {}, monday)
            row[f"{name}_minggu_ini"] = int((doc.get(f"{name}_minggu") or {}).get(domain.week_bucket(monday), 0))
        row["cakupan_rekam_persen"] = domain.percent(row["direkam"], row["wajib_ktp"])
        rows.append(row)
    return rows


async def backlog(store: ProjectionReads, *, now: dt.datetime) -> dict[str, Any]:
    """Cards waiting to be printed per kecamatan, and how long the oldest has waited."""
    areas = load_areas()
    docs = {doc["code"]: doc for doc in await store.area_docs("kec")}
    waiting_in = [code for code in areas.kecamatan if int(docs.get(code, {}).get("antre_cetak", 0))]
    oldest = await store.oldest_waiting_by_kecamatan(waiting_in)
    rows = []
    for code, kec in areas.kecamatan.items():
        waiting = int(docs.get(code, {}).get("antre_cetak", 0))
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
    rows = []
    for doc in sorted(await store.area_docs("lokasi"), key=lambda d: d["code"]):
        cover = domain.days_of_stock(doc, today)
        on_hand = int(doc.get("stok", 0))
        rows.append({
            "lokasi": doc["code"], "stok": on_hand, "dipesan": int(doc.get("dipesan", 0)),
            "dalam_perjalanan": int(doc.get("dalam_perjalanan", 0)), "diterima": int(doc.get("diterima", 0)),
            "terpakai": int(doc.get("terpakai", 0)), "rusak": int(doc.get("rusak", 0)),
            "pemakaian_per_hari": cover.per_day, "hari_stok": cover.days,
        })
    return {"stok_total": sum(r["stok"] for r in rows), "dipesan_total": sum(r["dipesan"] for r in rows),
            "baris": rows}


async def planner_places(store: ProjectionReads) -> list[planner.Place]:
    """Desa and schools with their outstanding residents and visit history."""
    areas = load_areas()
    visits: dict[str, list[dt.date]] = {}
    for visit in await store.all_visits():
        if visit.get("place_code") and visit.get("date"):
            visits.setdefault(visit["place_code"], []).append(dt.date.fromisoformat(visit["date"]))
    places = []
    for doc in await store.area_docs("desa"):
        village = areas.villages.get(doc["code"])
        if village is None:
            continue
        seen = visits.get(doc["code"], [])
        places.append(planner.Place("desa", doc["code"], village.name, village.kecamatan_code,
                                    int(doc.get("belum_rekam_umum", 0)), len(seen), max(seen) if seen else None))
    for doc in await store.area_docs("sekolah"):
        by_kec = doc.get("kecamatan") or {}
        if not by_kec:
            continue
        main = max(by_kec, key=lambda k: by_kec[k])
        kec_code = f"{main[1:3]}.{main[3:5]}.{main[5:7]}"
        seen = visits.get(doc["code"], [])
        places.append(planner.Place("sekolah", doc["code"], f"Sekolah NPSN {doc['code']}", kec_code,
                                    int(doc.get("belum_rekam", 0)), len(seen), max(seen) if seen else None))
    return places
