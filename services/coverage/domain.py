"""What coverage counts about each resident and stock location, and how an event changes the counters.

Pure functions of (event, current view): the projector applies the resulting deltas once. Every
view is built so that the order in which events arrive does not change it: roster facts keep the
newest by `occurred_at`, first-time facts keep the earliest date, "latest" facts the latest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from typing import Any, NamedTuple

from shared import blangko
from shared.areas import REGENCY_CODE
from shared.contracts import (
    ResidentEnrolled,
    ResidentLeft,
    ResidentUpdated,
)
from shared.contracts.printing import CardHandedOver, CardPrinted, JobQueued
from shared.contracts.recording import RecordingCaptured, RecordingFailed, SiakStatus, SiakStatusReported
from shared.contracts.stock import (
    BlankConsumed,
    BlankReserved,
    BlankSpoiled,
    CountCorrected,
    SpoiledReturned,
    StockReceived,
    TransferReceived,
    TransferSent,
)

WEEKLY_FROM = dt.date(2020, 1, 6)  # a Monday; earlier dates share one bucket
BEFORE_WEEKLY = "lama"
FAILURES = frozenset({
    SiakStatus.ENROLL_FAILURE_AT_CENTRAL, SiakStatus.ENROLL_FAILURE_AT_REGIONAL,
    SiakStatus.SEARCH_FAILURE_AT_CENTRAL,
})
LANSIA_AGE = 60

Delta = dict[str, dict[str, int]]


@lru_cache(maxsize=8192)
def week_bucket(day: dt.date) -> str:
    """Counter bucket of a date: the Monday of its week from 2020 on ("w20240108"), one bucket before."""
    if day < WEEKLY_FROM:
        return BEFORE_WEEKLY
    monday = day - dt.timedelta(days=day.weekday())
    return f"w{monday:%Y%m%d}"



@lru_cache(maxsize=8192)
def _week_of_day(day_text: str) -> str:
    return week_bucket(dt.date.fromisoformat(day_text))


def _earliest(current: str | None, new: str) -> str:
    return new if current is None or new < current else current


def _latest(current: str | None, new: str) -> str:
    return new if current is None or new > current else current


_NO_OFFSET = dt.timedelta(0)


def iso_utc(moment: dt.datetime) -> str:
    """The moment in UTC as ISO text ("+00:00"); the projector's dates, compared as text."""
    if moment.utcoffset() == _NO_OFFSET:
        return moment.isoformat()
    return moment.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class ResidentView:
    """The facts about one resident that the counters depend on (no personal data)."""

    kecamatan_code: str
    desa_code: str
    school_npsn: str | None = None
    wajib_ktp_from: dt.date | None = None
    birth_year: int | None = None
    disabilitas: bool = False
    enrolled: bool = False
    active: bool = False
    roster_at: str | None = None
    left_at: str | None = None
    captured_at: str | None = None
    last_capture_at: str | None = None
    last_failure_at: str | None = None
    siak_status: str | None = None
    siak_status_at: str | None = None
    prr_at: str | None = None
    printed_at: str | None = None
    handed_over_at: str | None = None
    jobs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def counted(self) -> bool:
        return self.enrolled and self.active and self.wajib_ktp_from is not None

    @property
    def recorded(self) -> bool:
        return self.captured_at is not None or self.prr_at is not None

    @property
    def print_ready(self) -> bool:
        return self.prr_at is not None

    @property
    def duplicate_outstanding(self) -> bool:
        return not self.print_ready and self.siak_status == SiakStatus.DUPLICATE_RECORD

    @property
    def failure_outstanding(self) -> bool:
        if self.print_ready:
            return False
        if self.siak_status in FAILURES:
            return True
        return self.last_failure_at is not None and (
            self.last_capture_at is None or self.last_failure_at > self.last_capture_at)

    @property
    def waiting_since(self) -> str | None:
        """When the oldest of the resident's print jobs not yet printed was queued."""
        waiting = [job["q"] for job in self.jobs.values() if "q" in job and "p" not in job]
        return min(waiting) if waiting else None


_VIEW_FIELDS = frozenset(f.name for f in fields(ResidentView))
_VIEW_DEFAULTS = {f.name: f.default for f in fields(ResidentView) if f.default is not MISSING}
_VIEW_REQUIRED = frozenset(f.name for f in fields(ResidentView)
                           if f.default is MISSING and f.default_factory is MISSING)


def restore_view(stored: Mapping[str, Any], **changes: Any) -> ResidentView:
    """A view from its stored fields (others ignored, missing ones at their defaults), then `changes`."""
    missing = _VIEW_REQUIRED - stored.keys()
    if missing:
        raise TypeError(f"stored view lacks {sorted(missing)}")
    view = object.__new__(ResidentView)
    state = view.__dict__
    state.update(_VIEW_DEFAULTS)
    state["jobs"] = {}
    for name, value in stored.items():
        if name in _VIEW_FIELDS:
            state[name] = value
    state.update(changes)
    return view


def replace(view: ResidentView, **changes: Any) -> ResidentView:
    """`dataclasses.replace` for the view without running `__init__` again (the projector's hot path)."""
    unknown = changes.keys() - _VIEW_FIELDS
    if unknown:
        raise TypeError(f"ResidentView has no field(s) {sorted(unknown)}")
    new = object.__new__(ResidentView)
    state = new.__dict__
    state.update(view.__dict__)
    state.update(changes)
    return new


def _roster(current: ResidentView | None, event: ResidentEnrolled | ResidentUpdated, _: str | None) -> ResidentView:
    at = iso_utc(event.occurred_at)
    p = event.payload
    base = current or ResidentView(p.kecamatan_code, p.desa_code)
    if base.roster_at is not None and at < base.roster_at:
        return base
    active = base.left_at is None or at > base.left_at
    return replace(
        base, kecamatan_code=p.kecamatan_code, desa_code=p.desa_code, school_npsn=p.school_npsn,
        wajib_ktp_from=p.wajib_ktp_from, birth_year=p.birth_date.year, disabilitas=p.disabilitas,
        enrolled=True, active=active, roster_at=at,
    )


def _left(current: ResidentView | None, event: ResidentLeft, _: str | None) -> ResidentView:
    base = current or ResidentView(event.payload.kecamatan_code, event.payload.desa_code)
    left_at = _latest(base.left_at, iso_utc(event.occurred_at))
    active = base.active and not (base.roster_at is None or left_at >= base.roster_at)
    return replace(base, left_at=left_at, active=active)


def _place(current: ResidentView | None, kecamatan_code: str, desa_code: str) -> ResidentView:
    return current or ResidentView(kecamatan_code, desa_code)


def _captured(current: ResidentView | None, event: RecordingCaptured, _: str | None) -> ResidentView:
    at = iso_utc(event.occurred_at)
    base = _place(current, event.payload.kecamatan_code, event.payload.desa_code)
    return replace(base, captured_at=_earliest(base.captured_at, at), last_capture_at=_latest(base.last_capture_at, at))


def _failed(current: ResidentView | None, event: RecordingFailed, _: str | None) -> ResidentView:
    base = _place(current, event.payload.kecamatan_code, event.payload.desa_code)
    return replace(base, last_failure_at=_latest(base.last_failure_at, iso_utc(event.occurred_at)))


def _siak_status(current: ResidentView | None, event: SiakStatusReported, _: str | None) -> ResidentView:
    base = _place(current, event.payload.kecamatan_code, event.payload.desa_code)
    status_at = iso_utc(event.payload.status_at)
    changes: dict[str, Any] = {}
    if base.siak_status_at is None or status_at >= base.siak_status_at:
        changes.update(siak_status=event.payload.status.value, siak_status_at=status_at)
    if event.payload.status == SiakStatus.PRR:
        changes["prr_at"] = _earliest(base.prr_at, status_at)
    return replace(base, **changes)


def _queued(current: ResidentView | None, event: JobQueued, _: str | None) -> ResidentView:
    base = _place(current, event.payload.kecamatan_code, event.payload.desa_code)
    job = dict(base.jobs.get(event.payload.job_id, {}))
    job["q"] = _earliest(job.get("q"), iso_utc(event.occurred_at))
    return replace(base, jobs={**base.jobs, event.payload.job_id: job})


def _printed(current: ResidentView | None, event: CardPrinted, job_id: str | None) -> ResidentView | None:
    if current is None or job_id is None:
        return current
    at = iso_utc(event.occurred_at)
    job = dict(current.jobs.get(job_id, {}))
    job["p"] = _earliest(job.get("p"), at)
    return replace(current, jobs={**current.jobs, job_id: job}, printed_at=_earliest(current.printed_at, at))


def _handed_over(current: ResidentView | None, event: CardHandedOver, _: str | None) -> ResidentView:
    base = _place(current, event.payload.kecamatan_code, event.payload.desa_code)
    return replace(base, handed_over_at=_earliest(base.handed_over_at, iso_utc(event.occurred_at)))


_EVOLVE: dict[type, Callable[[ResidentView | None, Any, str | None], ResidentView | None]] = {
    ResidentEnrolled: _roster, ResidentUpdated: _roster, ResidentLeft: _left, RecordingCaptured: _captured,
    RecordingFailed: _failed, SiakStatusReported: _siak_status, JobQueued: _queued, CardPrinted: _printed,
    CardHandedOver: _handed_over,
}


def evolve(current: ResidentView | None, event: Any, *, job_id: str | None = None) -> ResidentView | None:
    """The resident's view after an event; the same whatever order the events arrive in.

    An event that says nothing about residents (or a print for an unknown job) returns `current`.
    """
    step = _EVOLVE.get(type(event))
    if step is None:
        step = next((f for kind, f in _EVOLVE.items() if isinstance(event, kind)), None)
        if step is None:
            return current
    return step(current, event, job_id)


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
        names.append(f"{name}_minggu.{_week_of_day(moment[:10])}")


class Counted(NamedTuple):
    """What one resident counts: 1 in each of `names`, in every area of `areas`; the school (the last
    area, if any) also counts 1 in `school_field`, the kecamatan the student lives in."""

    areas: tuple[str, ...]
    names: frozenset[str]
    school_field: str | None


def counted(view: ResidentView | None) -> Counted | None:
    """What one resident counts, or None if the resident counts nowhere."""
    if view is None or not view.counted or view.wajib_ktp_from is None:
        return None
    names = ["terdaftar", f"wajib_ktp_minggu.{week_bucket(view.wajib_ktp_from)}"]
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
    if view.waiting_since:
        names.append("antre_cetak")
    # Which kecamatan a school's students live in, so schools can be listed per kecamatan.
    school_field = _kecamatan_field(view.kecamatan_code) if view.school_npsn else None
    return Counted(area_ids(view), frozenset(names), school_field)


def as_counters(what: Counted | None, sign: int = 1) -> Delta:
    """`what` as counter values per area (read-only: the areas other than the school share one dict)."""
    if what is None:
        return {}
    fields = dict.fromkeys(what.names, sign)
    result = dict.fromkeys(what.areas, fields)
    if what.school_field is not None:
        result[what.areas[-1]] = {**fields, what.school_field: sign}
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
        # The resident stayed in its areas: every area changes alike.
        fields = dict.fromkeys(new.names - old.names, 1)
        fields.update(dict.fromkeys(old.names - new.names, -1))
        return dict.fromkeys(new.areas, fields) if fields else {}
    return subtract(as_counters(new), as_counters(old))


@lru_cache(maxsize=64)
def _kecamatan_field(code: str) -> str:
    return f"kecamatan.{kecamatan_key(code)}"


def kecamatan_key(code: str) -> str:
    """A kecamatan code as a field name: 17.02.06 -> k170206."""
    return "k" + code.replace(".", "")


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



def stock_delta(event: Any, current: Mapping[str, Any]) -> Delta:
    """What a ledger event changes in the stock counters of its location(s) ("lokasi:<id>").

    The events are the ledger's facts, mirrored as they come. `current` holds the counters as
    projected so far: a stock-opname correction sets the good blanks on hand to the counted
    figure, so its change depends on what arrived before it (as it does in the ledger).
    """
    p = event.payload
    day = event.occurred_at.astimezone(dt.UTC).date()
    used_today = f"terpakai_hari.d{day:%Y%m%d}"
    if isinstance(event, StockReceived):
        return {f"lokasi:{p.location_id}": {"diterima": p.quantity, "stok": p.quantity}}
    if isinstance(event, TransferSent):
        return {f"lokasi:{p.from_location}": {"stok": -p.quantity, "dikirim": p.quantity},
                f"lokasi:{p.to_location}": {"dalam_perjalanan": p.quantity}}
    if isinstance(event, TransferReceived):
        return {f"lokasi:{p.to_location}": {"dalam_perjalanan": -p.quantity, "stok": p.quantity,
                                            "masuk_transfer": p.quantity}}
    if isinstance(event, BlankReserved):
        return {f"lokasi:{p.location_id}": {"stok": -1, "dipesan": 1}}
    if isinstance(event, BlankConsumed):
        return {f"lokasi:{p.location_id}": {"dipesan": -1, "terpakai": 1, used_today: 1}}
    if isinstance(event, BlankSpoiled):
        fields = {"rusak": p.quantity, used_today: p.quantity}
        fields.update({"dipesan": -p.quantity} if p.reservation_id else {"stok": -p.quantity})
        return {f"lokasi:{p.location_id}": fields}
    if isinstance(event, CountCorrected):
        location = current.get(f"lokasi:{p.location_id}", {})
        change = p.counted - int(location.get("dipesan", 0)) - int(location.get("stok", 0))
        return {f"lokasi:{p.location_id}": {"stok": change, "koreksi_opname": change}} if change else {}
    if isinstance(event, SpoiledReturned):
        return {f"lokasi:{p.location_id}": {"dikembalikan": p.quantity}}
    return {}


def daily_use(location: Mapping[str, Any], today: dt.date, days: int = 14) -> float:
    """Average blanks used per day (printed or spoiled) over the last `days` days."""
    used = location.get("terpakai_hari") or {}
    first = today - dt.timedelta(days=days - 1)
    total = sum(n for key, n in used.items() if f"d{first:%Y%m%d}" <= key <= f"d{today:%Y%m%d}")
    return total / days


def days_of_stock(location: Mapping[str, Any], today: dt.date) -> blangko.StockCover:
    """Use per day and days of stock of a projected location, shown as rounded, by the one rule in shared.blangko."""
    used = {dt.datetime.strptime(key, "d%Y%m%d").date(): int(n)
            for key, n in (location.get("terpakai_hari") or {}).items()}
    return blangko.stock_cover(int(location.get("stok", 0)), used, today=today).rounded()


def cumulative_until(buckets: Mapping[str, int], monday: dt.date) -> int:
    """Sum of the weekly buckets up to and including the week starting `monday`."""
    last = f"w{monday:%Y%m%d}"
    return sum(n for key, n in buckets.items() if key == BEFORE_WEEKLY or key <= last)


def wajib_ktp_on(buckets: Mapping[str, int], day: dt.date, turning_this_week: int) -> int:
    """Residents wajib KTP on `day`: buckets of earlier weeks plus those of day's week so far."""
    if day < WEEKLY_FROM:
        return buckets.get(BEFORE_WEEKLY, 0)
    monday = day - dt.timedelta(days=day.weekday())
    return cumulative_until(buckets, monday - dt.timedelta(days=7)) + turning_this_week


def lansia_not_recorded(by_birth_year: Mapping[str, int], today: dt.date) -> int:
    """Unrecorded residents who turn 60 or older this year."""
    limit = today.year - LANSIA_AGE
    return sum(n for key, n in by_birth_year.items() if int(key[1:]) <= limit)


def percent(part: int, whole: int) -> float | None:
    return None if whole <= 0 else round(100 * part / whole, 1)


def weeks_between(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    monday = first - dt.timedelta(days=first.weekday())
    while monday <= last:
        yield monday
        monday += dt.timedelta(days=7)
