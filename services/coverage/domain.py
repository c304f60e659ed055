"""What coverage counts about each resident, and how an event changes the area counters.

Pure functions of (event, current view): the store applies the resulting deltas once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, replace

from shared.areas import REGENCY_CODE
from shared.contracts import RecordingEvent, ResidentEnrolled, ResidentEvent, ResidentLeft, ResidentUpdated
from shared.contracts.recording import RecordingCaptured, SiakStatus, SiakStatusReported

MONTHLY_FROM = dt.date(2020, 1, 1)
BEFORE_MONTHLY = "lama"

Delta = dict[str, dict[str, int]]


@dataclass(frozen=True)
class ResidentView:
    """The facts about one resident that the counters depend on (no personal data)."""

    kecamatan_code: str
    desa_code: str
    school_npsn: str | None
    wajib_ktp_from: dt.date | None
    active: bool = True
    recorded: bool = False
    print_ready: bool = False


def wajib_bucket(wajib_from: dt.date) -> str:
    """Counter bucket of a wajib KTP date: its month from 2020 on, one bucket before that.

    Monthly buckets keep the counters small and still answer "wajib KTP by date D": whole
    months come from the counters, the month of D from the residents themselves.
    """
    if wajib_from < MONTHLY_FROM:
        return BEFORE_MONTHLY
    return f"m{wajib_from.year:04d}{wajib_from.month:02d}"


def evolve(current: ResidentView | None, event: ResidentEvent | RecordingEvent) -> ResidentView | None:
    """The resident's view after an event; the same whatever order the topics deliver in.

    Roster events set the area and whether the resident counts; recording events only ever
    raise the flags (recorded, print-ready), so their order does not matter.
    """
    recorded = current.recorded if current else False
    print_ready = current.print_ready if current else False
    if isinstance(event, ResidentEnrolled | ResidentUpdated):
        p = event.payload
        return ResidentView(p.kecamatan_code, p.desa_code, p.school_npsn, p.wajib_ktp_from, True, recorded, print_ready)
    if isinstance(event, ResidentLeft):
        if current is None:
            return ResidentView(event.payload.kecamatan_code, event.payload.desa_code, None, None, active=False)
        return replace(current, active=False)
    if isinstance(event, RecordingCaptured | SiakStatusReported):
        ready = isinstance(event, SiakStatusReported) and event.payload.status == SiakStatus.PRR
        if current is None:
            p2 = event.payload
            return ResidentView(p2.kecamatan_code, p2.desa_code, None, None, active=False, recorded=True,
                                print_ready=ready)
        return replace(current, recorded=True, print_ready=current.print_ready or ready)
    return current


def area_ids(view: ResidentView) -> list[str]:
    """Every area counter a resident counts in: kabupaten, kecamatan, desa, school."""
    ids = [f"kab:{REGENCY_CODE}", f"kec:{view.kecamatan_code}", f"desa:{view.desa_code}"]
    if view.school_npsn:
        ids.append(f"sekolah:{view.school_npsn}")
    return ids


def contributions(view: ResidentView | None) -> Delta:
    """What one resident adds to each area counter."""
    if view is None or not view.active or view.wajib_ktp_from is None:
        return {}
    fields = {"terdaftar": 1, f"wajib_ktp_from.{wajib_bucket(view.wajib_ktp_from)}": 1}
    if view.recorded:
        fields["direkam"] = 1
    if view.print_ready:
        fields["prr"] = 1
    return {area: dict(fields) for area in area_ids(view)}


def delta(old: ResidentView | None, new: ResidentView | None) -> Delta:
    """Counter changes that turn the old contributions into the new ones (zeros dropped)."""
    result: dict[str, dict[str, int]] = defaultdict(dict)
    for sign, side in ((-1, contributions(old)), (1, contributions(new))):
        for area, fields in side.items():
            for name, value in fields.items():
                result[area][name] = result[area].get(name, 0) + sign * value
    return {
        area: {k: v for k, v in fields.items() if v}
        for area, fields in result.items()
        if any(fields.values())
    }


def wajib_ktp_on(buckets: dict[str, int], day: dt.date, turning_this_month: int) -> int:
    """Residents wajib KTP on `day`: buckets of earlier months plus those of day's month so far."""
    current = wajib_bucket(day) if day >= MONTHLY_FROM else BEFORE_MONTHLY
    total = sum(n for bucket, n in buckets.items() if bucket == BEFORE_MONTHLY or bucket < current)
    if current == BEFORE_MONTHLY:
        return buckets.get(BEFORE_MONTHLY, 0)
    return total + turning_this_month
