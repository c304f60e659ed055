"""The lifecycle of one resident as coverage sees it: a view evolved by each event, whatever their order.

Roster facts keep the newest by `occurred_at`, first-time facts keep the earliest date, "latest"
facts the latest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any

from services.coverage.domain.dates import iso_utc
from shared.contracts import ResidentEnrolled, ResidentLeft, ResidentUpdated
from shared.contracts.printing import CardHandedOver, CardPrinted, JobQueued
from shared.contracts.recording import RecordingCaptured, RecordingFailed, SiakStatus, SiakStatusReported

FAILURES = frozenset({
    SiakStatus.ENROLL_FAILURE_AT_CENTRAL, SiakStatus.ENROLL_FAILURE_AT_REGIONAL,
    SiakStatus.SEARCH_FAILURE_AT_CENTRAL,
})


def _earliest(current: str | None, new: str) -> str:
    return new if current is None or new < current else current


def _latest(current: str | None, new: str) -> str:
    return new if current is None or new > current else current


@dataclass(frozen=True)
class ResidentView:
    """The facts about one resident that the counters depend on (no personal data)."""

    kecamatan_code: str
    desa_code: str
    school_npsn: str | None = None
    school_name: str | None = None
    wajib_ktp_from: dt.date | None = None
    birth_year: int | None = None
    """None while intake's review of an implausible age is open: no lansia list or count uses it until then."""
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
        school_name=_school_name(base, p.school_npsn, p.school_name),
        wajib_ktp_from=p.wajib_ktp_from, birth_year=None if p.age_under_review else p.birth_date.year,
        disabilitas=p.disabilitas,
        enrolled=True, active=active, roster_at=at,
    )


def _school_name(base: ResidentView, npsn: str | None, name: str | None) -> str | None:
    """The school's name: the event's, else the one known for the same school (a correction may omit it)."""
    if npsn is None:
        return None
    return name or (base.school_name if base.school_npsn == npsn else None)


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
