"""Offline field uploads: each item is checked on its own; accepted ones are published together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from services.recording import domain
from services.recording.domain import ResidentRecord, Taken, Visit, VisitState, WaitingWalkIn
from services.recording.handlers.common import Forbidden, RecordingDeps, TooLarge, publish_all
from services.recording.inputs import FieldEventIn
from shared.auth import Office, actor_of
from shared.clock import WIB
from shared.contracts import Actor, RecordingEvent
from shared.contracts.recording import RecordingAbsent, RecordingCaptured, RecordingFailed
from shared.messages_id import in_one_line
from shared.pseudonym import resident_pseudonym

Outcome = Literal["diterima", "duplikat", "walk_in", "ditolak"]
OUTCOMES: tuple[Outcome, ...] = ("diterima", "duplikat", "walk_in", "ditolak")


@dataclass(frozen=True)
class UploadBatch:
    """Field events uploaded from one device; an item is a checked event or anything else that was sent."""

    office: Office
    device_id: str
    events: list[FieldEventIn | dict[str, Any]]


@dataclass(frozen=True)
class ItemResult:
    """The answer for one uploaded item."""

    event_id: str | None
    hasil: Outcome
    alasan: str | None = None


@dataclass(frozen=True)
class BatchResult:
    """Counts per outcome and the answer for each item, in upload order."""

    ringkasan: dict[str, int]
    hasil: list[ItemResult] = field(default_factory=list)


def _refused(item: FieldEventIn, reason: str) -> ItemResult:
    return ItemResult(str(item.event_id), "ditolak", reason)


@dataclass(frozen=True)
class Known:
    """What an upload's checks read, fetched once for all its items: ids taken before, residents, visits."""

    seen: set[str]
    residents: dict[str, ResidentRecord]
    visits: dict[str, Visit]

    @classmethod
    async def of(cls, items: list[FieldEventIn], deps: RecordingDeps) -> Known:
        return cls(seen=await deps.store.seen_among([str(i.event_id) for i in items]),
                   residents=await deps.store.residents_by_id(sorted({i.resident_id for i in items if i.resident_id})),
                   visits=await deps.store.visits_by_id(sorted({i.visit_id for i in items if i.visit_id})))


def _visit_problem(item: FieldEventIn, known: Known) -> str | None:
    if item.visit_id is None:
        return "ketidakhadiran harus menyebut visit_id" if item.kind == "absent" else None
    visit = known.visits.get(item.visit_id)
    if visit is None:
        return f"kunjungan {item.visit_id} tidak dikenal"
    return domain.closed_visit_problem(visit, item.device_time, item.kind)


def _walk_in(item: FieldEventIn, office: Office, deps: RecordingDeps, now: dt.datetime) -> WaitingWalkIn:
    """A field item about someone not in the roster, kept under the pseudonym their NIK will have."""
    if item.walk_in is not None:
        resident_id = resident_pseudonym(item.walk_in.nik, key=deps.pseudonym_key)
        kecamatan_code: str | None = item.walk_in.desa_code[:8]
    else:
        resident_id, kecamatan_code = item.resident_id or "", office.kecamatan_code
    return WaitingWalkIn(event_id=str(item.event_id), resident_id=resident_id, kecamatan_code=kecamatan_code,
                         item=item.model_dump(mode="json"), office_id=office.office_id,
                         actor=actor_of(office).model_dump(mode="json"), at=now)


def _resident_problem(item: FieldEventIn, resident: ResidentRecord, office: Office) -> str | None:
    """Why this roster resident's event is refused: another kecamatan, missing details, or too young."""
    if not domain.in_scope(office.role, office.kecamatan_code, resident.place.kecamatan_code):
        return "penduduk dari kecamatan lain"
    if item.kind == "captured" and not item.biometrics:
        return "sebutkan biometrik yang direkam"
    if item.kind == "failed" and not item.reason:
        return "sebutkan alasan gagal rekam"
    if item.kind in ("captured", "failed"):
        return domain.too_young_problem(resident.wajib_ktp_from, item.device_time.astimezone(WIB).date())
    return None


def field_event(item: FieldEventIn, resident: ResidentRecord, actor: Actor, now: dt.datetime) -> RecordingEvent:
    """The recording event of one checked field item about a roster resident."""
    place = {"resident_id": resident.resident_id, "kecamatan_code": resident.place.kecamatan_code,
             "desa_code": resident.place.desa_code, "visit_id": item.visit_id, "device_id": item.device_id,
             "device_time": item.device_time}
    common: dict[str, Any] = {"event_id": item.event_id, "occurred_at": item.device_time, "recorded_at": now,
                              "actor": actor}
    if item.kind == "captured":
        return RecordingCaptured(**common, payload={**place, "biometrics": item.biometrics,
                                                    "quality_flags": item.quality_flags, "operator": item.operator})
    if item.kind == "failed":
        return RecordingFailed(**common, payload={**place, "reason": item.reason})
    return RecordingAbsent(**common, payload=place)


async def _check(item: FieldEventIn, office: Office, deps: RecordingDeps, now: dt.datetime, known: Known
                 ) -> RecordingEvent | ItemResult:
    """One uploaded item as an event to publish, or as its answer."""
    if str(item.event_id) in known.seen:
        return ItemResult(str(item.event_id), "duplikat", "sudah diterima sebelumnya")
    problem = domain.device_time_problem(item.device_time, now) or _visit_problem(item, known)
    if problem is not None:
        return _refused(item, problem)
    resident = known.residents.get(item.resident_id) if item.resident_id else None
    if resident is None or not resident.in_roster:
        if item.walk_in is None and item.resident_id is None:
            return _refused(item, "isi resident_id atau data walk_in")
        await deps.store.keep_walk_in(_walk_in(item, office, deps, now))
        await deps.store.mark_seen([Taken(str(item.event_id))], now)
        return ItemResult(str(item.event_id), "walk_in", domain.WALK_IN_KEPT)
    refusal = _resident_problem(item, resident, office)
    if refusal is not None:
        return _refused(item, refusal)
    return field_event(item, resident, actor_of(office), now)


def _parsed(raw: FieldEventIn | dict[str, Any]) -> FieldEventIn | ItemResult:
    if isinstance(raw, FieldEventIn):
        return raw
    try:
        return FieldEventIn.model_validate(raw)
    except ValidationError as exc:
        event_id = raw.get("event_id")
        return ItemResult(str(event_id) if event_id else None, "ditolak", in_one_line(exc.errors(include_input=False)))


def _repeated(item: FieldEventIn, taken: dict[str, dict[str, Any]]) -> ItemResult | None:
    """The answer for an event id already taken earlier in the same upload, or None for a first use.

    A device that retries inside one batch sends the same event twice: one effect, answered as a
    duplicate. Another event under an id already used is refused, so nothing vanishes silently.
    """
    event_id = str(item.event_id)
    first = taken.get(event_id)
    if first is None:
        return None
    if first == item.model_dump(mode="json"):
        return ItemResult(event_id, "duplikat", "event_id ini muncul lebih dari sekali dalam unggahan ini")
    return _refused(item, "event_id ini sudah dipakai kejadian lain dalam unggahan ini: buat event_id baru "
                          "untuk kejadian ini lalu kirim ulang")


async def _answer(item: FieldEventIn | ItemResult, office: Office, deps: RecordingDeps, now: dt.datetime,
                  taken: dict[str, dict[str, Any]], known: Known) -> RecordingEvent | ItemResult:
    """One item's answer, remembering the ids this upload has taken (accepted or kept as walk-ins)."""
    if isinstance(item, ItemResult):
        return item
    checked = _repeated(item, taken) or await _check(item, office, deps, now, known)
    if not isinstance(checked, ItemResult) or checked.hasil == "walk_in":
        taken.setdefault(str(item.event_id), item.model_dump(mode="json"))
    return checked


def _taken(event: RecordingEvent) -> Taken:
    captured = isinstance(event, RecordingCaptured)
    return Taken(str(event.event_id), visit_id=event.payload.visit_id,  # type: ignore[union-attr]
                 captured_resident=event.payload.resident_id if captured else None)


async def _forget_late_no_shows(accepted: list[RecordingEvent], deps: RecordingDeps, known: Known) -> None:
    """A capture made during a visit and uploaded after it closed: the resident is no longer its no-show."""
    for event in accepted:
        if not isinstance(event, RecordingCaptured) or event.payload.visit_id is None:
            continue
        visit = known.visits.get(event.payload.visit_id)
        if visit is not None and visit.state == VisitState.DITUTUP and event.payload.resident_id in (visit.no_shows or ()):
            await deps.store.forget_no_show(visit.visit_id, visit.place_code, event.payload.resident_id)


async def upload_batch(command: UploadBatch, *, deps: RecordingDeps) -> BatchResult:
    """Check each item against what was read once for the upload; publish the accepted ones as one batch,
    then remember them in one write so a second upload is a duplicate."""
    if command.office.role not in domain.FIELD_ROLES:
        raise Forbidden("Peran ini tidak mengunggah data lapangan.")
    if len(command.events) > deps.max_batch_events:
        raise TooLarge(f"Satu unggahan paling banyak {deps.max_batch_events} kejadian; bagi menjadi beberapa.")
    now = deps.clock()
    results: list[ItemResult] = []
    accepted: list[RecordingEvent] = []
    taken: dict[str, dict[str, Any]] = {}
    items = [_parsed(raw) for raw in command.events]
    known = await Known.of([i for i in items if isinstance(i, FieldEventIn)], deps)
    for item in items:
        checked = await _answer(item, command.office, deps, now, taken, known)
        if isinstance(checked, ItemResult):
            results.append(checked)
        else:
            accepted.append(checked)
            results.append(ItemResult(str(checked.event_id), "diterima"))
    await publish_all(accepted, deps=deps, what="unggahan")
    await deps.store.mark_seen([_taken(event) for event in accepted], now)
    await _forget_late_no_shows(accepted, deps, known)
    return BatchResult(ringkasan={k: sum(1 for r in results if r.hasil == k) for k in OUTCOMES}, hasil=results)
