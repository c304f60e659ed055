"""Counter algebra: what one resident counts in which areas, and the change between two views."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from typing import NamedTuple

from services.coverage.domain.dates import day_bucket_from, week_bucket, week_of_day
from services.coverage.domain.residents import ResidentView
from shared.areas import REGENCY_CODE

LANSIA_AGE = 60

Delta = dict[str, dict[str, int]]
PLANNER_AREA = f"rencana:{REGENCY_CODE}"
"""One document for the planner, so it reads the regency in one go: unrecorded residents per desa (outside
schools) and per school, and each school's students per kecamatan they live in."""


SERIES_KIND = "wajib"
"""The day and week buckets of residents turning wajib KTP are kept beside each area's counters, in a
document of their own (`series_id`): they change only when a resident is enrolled, corrected or leaves,
and an area's counter document is rewritten whole on the local FerretDB at every batch that touches it."""


@lru_cache(maxsize=4096)
def series_id(area_id: str) -> str:
    """The id of an area's wajib KTP series document: kab:17.02 -> wajib:kab:17.02."""
    return f"{SERIES_KIND}:{area_id}"


def area_ids(view: ResidentView) -> tuple[str, ...]:
    """Every area counter a resident counts in: kabupaten, kecamatan, desa, school."""
    return _area_ids(view.kecamatan_code, view.desa_code, view.school_npsn)


@lru_cache(maxsize=16384)
def _area_ids(kecamatan_code: str, desa_code: str, school_npsn: str | None) -> tuple[str, ...]:
    ids = (f"kab:{REGENCY_CODE}", f"kec:{kecamatan_code}", f"desa:{desa_code}")
    return (*ids, f"sekolah:{school_npsn}") if school_npsn else ids


def _dated(names: list[str], name: str, moment: str | None) -> None:
    """Count `name` and its week; `moment` is an `iso_utc` text, so its first ten characters are the UTC day."""
    if moment:
        names.append(name)
        names.append(f"{name}_minggu.{week_of_day(moment[:10])}")


class Counted(NamedTuple):
    """What one resident counts: 1 in each of `names`, in every area of `areas`; the school (the last
    area, if any) also counts 1 in `school_field`, the kecamatan the student lives in; the planner's
    document (PLANNER_AREA) counts 1 in each of `planned`; each area's series document (`series_id`)
    counts 1 in each of `series`."""

    areas: tuple[str, ...]
    names: frozenset[str]
    school_field: str | None
    planned: frozenset[str] = frozenset()
    series: frozenset[str] = frozenset()


def counted(view: ResidentView | None) -> Counted | None:
    """What one resident counts, or None if the resident counts nowhere."""
    if view is None or not view.counted or view.wajib_ktp_from is None:
        return None
    names = ["terdaftar"]
    series = [f"wajib_ktp_minggu.{week_bucket(view.wajib_ktp_from)}"]
    wajib_day = f"{view.wajib_ktp_from:%Y%m%d}"
    if view.roster_at and wajib_day >= day_bucket_from(view.roster_at[:10]):
        # This week's residents turning wajib KTP, read without a scan (queries.turning).
        series.append(f"wajib_ktp_hari.{wajib_day}")
    if view.recorded:
        _dated(names, "direkam", view.captured_at or view.prr_at)
    else:
        names.append("belum_rekam")
        if not view.school_npsn:
            names.append("belum_rekam_umum")
        if view.birth_year is not None:
            names.append(f"belum_rekam_lahir.y{view.birth_year}")
        if view.disabilitas:
            names.append("belum_rekam_disabilitas")
    if view.print_ready:
        _dated(names, "prr", view.prr_at)
    if view.duplicate_outstanding:
        names.append("duplikat")
    if view.failure_outstanding:
        names.append("gagal")
    if view.printed_at:
        _dated(names, "dicetak", view.printed_at)
    if view.handed_over_at:
        _dated(names, "diserahkan", view.handed_over_at)
    waiting_since = view.waiting_since
    if waiting_since:
        names.append("antre_cetak")
        # Per hour the card began waiting (UTC), so the oldest wait is read without a scan.
        names.append(f"antre_cetak_jam.{waiting_since[:4]}{waiting_since[5:7]}{waiting_since[8:10]}"
                     f"{waiting_since[11:13]}")
    # Which kecamatan a school's students live in, so schools can be listed per kecamatan.
    school_field = _kecamatan_field(view.kecamatan_code) if view.school_npsn else None
    return Counted(area_ids(view), frozenset(names), school_field, _planned(view), frozenset(series))


def _planned(view: ResidentView) -> frozenset[str]:
    """What a counted resident adds to the planner's document."""
    if view.school_npsn:
        school = school_key(view.school_npsn)
        students = f"sekolah_siswa.{school}.{kecamatan_key(view.kecamatan_code)}"
        return frozenset((students,) if view.recorded else (students, f"sekolah_belum_rekam.{school}"))
    return frozenset() if view.recorded else frozenset((f"desa_belum_rekam.{desa_key(view.desa_code)}",))


def as_counters(what: Counted | None, sign: int = 1) -> Delta:
    """`what` as counter values per area (read-only: the areas other than the school share one dict)."""
    if what is None:
        return {}
    fields = dict.fromkeys(what.names, sign)
    result = dict.fromkeys(what.areas, fields)
    if what.school_field is not None:
        result[what.areas[-1]] = {**fields, what.school_field: sign}
    if what.planned:
        result[PLANNER_AREA] = dict.fromkeys(what.planned, sign)
    if what.series:
        result.update(dict.fromkeys(map(series_id, what.areas), dict.fromkeys(what.series, sign)))
    return result


def contributions(view: ResidentView | None) -> Delta:
    """What one resident adds to each area counter (read-only: areas may share one dict)."""
    return as_counters(counted(view))


def difference(new: Counted | None, old: Counted | None) -> Delta:
    """The counter changes that turn `old` into `new` (zeros dropped; read-only, areas may share one dict)."""
    if new == old:
        return {}
    if old is None:
        return as_counters(new)
    if new is None:
        return as_counters(old, -1)
    if new.areas == old.areas and new.school_field == old.school_field:
        # The resident stayed in its areas: every area changes alike, the planner's document apart.
        fields = dict.fromkeys(new.names - old.names, 1)
        fields.update(dict.fromkeys(old.names - new.names, -1))
        result = dict.fromkeys(new.areas, fields) if fields else {}
        if new.planned != old.planned:
            planned = dict.fromkeys(new.planned - old.planned, 1)
            planned.update(dict.fromkeys(old.planned - new.planned, -1))
            result[PLANNER_AREA] = planned
        if new.series != old.series:
            series = dict.fromkeys(new.series - old.series, 1)
            series.update(dict.fromkeys(old.series - new.series, -1))
            result.update(dict.fromkeys(map(series_id, new.areas), series))
        return result
    return subtract(as_counters(new), as_counters(old))


@lru_cache(maxsize=64)
def _kecamatan_field(code: str) -> str:
    return f"kecamatan.{kecamatan_key(code)}"


def kecamatan_key(code: str) -> str:
    """A kecamatan code as a field name: 17.02.06 -> k170206."""
    return "k" + code.replace(".", "")


def kecamatan_of_key(key: str) -> str:
    """The kecamatan code of a `kecamatan_key`: k170206 -> 17.02.06."""
    return f"{key[1:3]}.{key[3:5]}.{key[5:7]}"


@lru_cache(maxsize=4096)
def desa_key(code: str) -> str:
    """A desa code as a field name: 17.02.06.2001 -> d1702062001."""
    return "d" + code.replace(".", "")


def desa_of_key(key: str) -> str:
    """The desa code of a `desa_key`: d1702062001 -> 17.02.06.2001."""
    return f"{key[1:3]}.{key[3:5]}.{key[5:7]}.{key[7:11]}"


def school_key(npsn: str) -> str:
    """An NPSN as a field name (a field name of digits alone reads like an array index): 10700123 -> n10700123."""
    return "n" + npsn


def school_of_key(key: str) -> str:
    return key[1:]


def birth_year_of_key(key: str) -> int:
    """The year of a "belum_rekam_lahir" counter key: y1950 -> 1950."""
    return int(key[1:])


def delta(old: ResidentView | None, new: ResidentView | None) -> Delta:
    """Counter changes that turn the old contributions into the new ones (zeros dropped)."""
    return difference(counted(new), counted(old))


def subtract(plus: Delta, minus: Delta) -> Delta:
    """plus - minus per area and counter, zeros (and areas left empty) dropped.

    Read-only like its inputs: areas whose counters changed alike share one dict.
    """
    result: Delta = {}
    areas = plus.keys() if plus.keys() == minus.keys() else [*plus, *(a for a in minus if a not in plus)]
    differences: dict[tuple[int, int], dict[str, int]] = {}
    for area in areas:
        new, old = plus.get(area), minus.get(area)
        # Areas sharing one counters dict on both sides (see `contributions`) share one difference.
        change = differences.get((id(new), id(old)))
        if change is None:
            change = differences[(id(new), id(old))] = _difference(new, old)
        if change:
            result[area] = change
    return result


def _difference(plus: Mapping[str, int] | None, minus: Mapping[str, int] | None) -> dict[str, int]:
    if not minus:
        return {k: v for k, v in plus.items() if v} if plus else {}
    if not plus:
        return {k: -v for k, v in minus.items() if v}
    change = {k: v - minus.get(k, 0) for k, v in plus.items() if v != minus.get(k, 0)}
    for k, v in minus.items():
        if v and k not in plus:
            change[k] = -v
    return change


def lansia_not_recorded(by_birth_year: Mapping[str, int], today: dt.date) -> int:
    """Unrecorded residents who turn 60 or older this year."""
    return lansia_among({birth_year_of_key(key): n for key, n in by_birth_year.items()}, today)


def lansia_among(by_year: Mapping[int, int], today: dt.date) -> int:
    """Of residents counted per birth year, those who turn 60 or older this year."""
    limit = today.year - LANSIA_AGE
    return sum(n for year, n in by_year.items() if year <= limit)


def percent(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(100 * part / whole, 1)
