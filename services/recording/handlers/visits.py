"""Visits: schedule (targets drawn from the roster), open, close (no-shows carry over), read."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from services.recording import domain
from services.recording.domain import Visit, VisitState
from services.recording.handlers.common import DERIVED, Conflict, FieldRefused, Forbidden, NotFound, RecordingDeps
from services.recording.handlers.events import apply_outreach_event
from shared.auth import Office, actor_of
from shared.clock import WIB
from shared.contracts.recording import MAX_VISIT_TARGETS, VisitClosed, VisitKind, VisitOpened, VisitScheduled
from shared.topics import OUTREACH


@dataclass(frozen=True)
class ScheduleVisit:
    """Schedule a visit; without targets, the place's unrecorded residents are drawn from the roster."""

    office: Office
    visit_id: str
    date: dt.date
    kind: VisitKind
    place_code: str
    kecamatan_code: str
    team: str
    targets: list[str] | None = None


@dataclass(frozen=True)
class VisitCommand:
    """Open, close or read one visit."""

    office: Office
    visit_id: str


def _check_may_schedule(command: ScheduleVisit, deps: RecordingDeps) -> None:
    office = command.office
    if office.role not in domain.SCHEDULING_ROLES or \
            not domain.in_scope(office.role, office.kecamatan_code, command.kecamatan_code):
        raise Forbidden("Hanya kantor kecamatan sendiri atau admin dinas yang menjadwalkan kunjungan.")
    date_problem = domain.visit_date_problem(command.date, today=deps.clock().astimezone(WIB).date(),
                                             days_back=deps.visit_days_back, days_ahead=deps.visit_days_ahead)
    if date_problem is not None:
        raise FieldRefused("date", date_problem)
    place_problem = domain.place_problem(command.kind, command.place_code, command.kecamatan_code)
    if place_problem is not None:
        raise FieldRefused("place_code", place_problem)


async def _carried_over(command: ScheduleVisit, deps: RecordingDeps) -> tuple[list[str], list[str]]:
    """The residents of the visit's kecamatan waiting at the place since its last visit (as many as one
    event may carry), and those left waiting: another kecamatan's residents stay for its own visit, and
    residents who left the roster wait no more."""
    waiting = await deps.store.carried_over(command.place_code)
    records = await deps.store.residents_by_id(waiting)
    taken = domain.residents_of(command.kecamatan_code, waiting, records)[:MAX_VISIT_TARGETS]
    chosen = set(taken)
    return taken, [r for r in waiting if r not in chosen and r in records and records[r].in_roster]


async def _targets(command: ScheduleVisit, carried: list[str], deps: RecordingDeps) -> list[str]:
    """The visit's targets: carried-over residents first, then the explicit targets or those drawn from the
    roster; never more than one event may carry."""
    if command.targets is None:
        room = min(deps.visit_size, MAX_VISIT_TARGETS - len(carried))
        drawn = await deps.store.unrecorded_at(
            kind=command.kind, place_code=command.place_code, kecamatan_code=command.kecamatan_code, limit=room,
            wajib_by=domain.latest_wajib_recordable_on(command.date)) if room > 0 else []
        return list(dict.fromkeys([*carried, *drawn]))
    explicit = list(dict.fromkeys(command.targets))
    records = await deps.store.residents_by_id(explicit)
    ours = set(domain.residents_of(command.kecamatan_code, explicit, records))
    outside = domain.outside_problem(command.kecamatan_code, [r for r in explicit if r not in ours])
    young = [(r, w) for r in explicit if r in ours and (w := records[r].wajib_ktp_from) is not None
             and domain.too_young_problem(w, command.date) is not None]
    problem = outside or domain.too_young_targets_problem(command.date, young)
    if problem is not None:
        raise FieldRefused("targets", problem)
    targets = list(dict.fromkeys([*carried, *explicit]))
    problem = domain.too_many_targets(len(targets), carried=len(carried))
    if problem is not None:
        raise FieldRefused("targets", problem)
    return targets


async def schedule_visit(command: ScheduleVisit, *, deps: RecordingDeps) -> VisitScheduled:
    """Schedule a visit; carried-over residents of the place come first in its targets."""
    _check_may_schedule(command, deps)
    if await deps.store.visit(command.visit_id) is not None:
        raise Conflict(f"kunjungan {command.visit_id} sudah ada")
    carried, still_waiting = await _carried_over(command, deps)
    targets = await _targets(command, carried, deps)
    now = deps.clock()
    event = VisitScheduled(
        event_id=uuid.uuid5(DERIVED, f"visit:{command.visit_id}:scheduled"), occurred_at=now, recorded_at=now,
        actor=actor_of(command.office), payload={  # type: ignore[arg-type]
            "visit_id": command.visit_id, "date": command.date, "kind": command.kind,
            "place_code": command.place_code, "kecamatan_code": command.kecamatan_code, "team": command.team,
            "targets": targets, "carried_over": carried})
    await deps.publisher.publish(event, topic=OUTREACH, key=command.visit_id)
    await apply_outreach_event(event, store=deps.store)
    if carried:
        await deps.store.set_carried_over(command.place_code, still_waiting)
    return event


async def _field_visit(command: VisitCommand, deps: RecordingDeps) -> Visit:
    visit = await deps.store.visit(command.visit_id)
    if visit is None:
        raise NotFound("kunjungan tidak ditemukan")
    office = command.office
    if office.role not in domain.FIELD_ROLES or \
            not domain.in_scope(office.role, office.kecamatan_code, visit.kecamatan_code):
        raise Forbidden("Kunjungan ini milik kecamatan lain.")
    return visit


async def open_visit(command: VisitCommand, *, deps: RecordingDeps) -> VisitOpened:
    """Open a visit for recording; a closed visit stays closed."""
    visit = await _field_visit(command, deps)
    if visit.state == VisitState.DITUTUP:
        raise Conflict("kunjungan sudah ditutup")
    now = deps.clock()
    event = VisitOpened(event_id=uuid.uuid5(DERIVED, f"visit:{visit.visit_id}:opened"), occurred_at=now,
                        recorded_at=now, actor=actor_of(command.office),
                        payload={"visit_id": visit.visit_id, "kecamatan_code": visit.kecamatan_code})  # type: ignore[arg-type]
    await deps.publisher.publish(event, topic=OUTREACH, key=visit.visit_id)
    await apply_outreach_event(event, store=deps.store)
    return event


async def close_visit(command: VisitCommand, *, deps: RecordingDeps) -> VisitClosed:
    """Close a visit; its targets not recorded yet carry over to the next visit at the place."""
    visit = await _field_visit(command, deps)
    if visit.state != VisitState.DIBUKA:
        raise Conflict("hanya kunjungan yang dibuka yang dapat ditutup")
    records = await deps.store.residents_by_id(list(visit.targets))
    stages = {resident_id: record.stage for resident_id, record in records.items()}
    captured = await deps.store.captured_at_visit(visit.visit_id)
    now = deps.clock()
    event = VisitClosed(
        event_id=uuid.uuid5(DERIVED, f"visit:{visit.visit_id}:closed"), occurred_at=now, recorded_at=now,
        actor=actor_of(command.office), payload={  # type: ignore[arg-type]
            "visit_id": visit.visit_id, "kecamatan_code": visit.kecamatan_code,
            "no_shows": domain.carry_over(list(visit.targets), stages, captured)})
    await deps.publisher.publish(event, topic=OUTREACH, key=visit.visit_id)
    await apply_outreach_event(event, store=deps.store)
    return event


async def get_visit(command: VisitCommand, *, deps: RecordingDeps) -> Visit:
    """A visit of the office's kecamatan (any for a dinas admin); others answer as unknown."""
    visit = await deps.store.visit(command.visit_id)
    office = command.office
    if visit is None or not domain.in_scope(office.role, office.kecamatan_code, visit.kecamatan_code):
        raise NotFound("Kunjungan tidak ditemukan.")
    return visit


VISITS_LISTED = 200


@dataclass(frozen=True)
class ListVisits:
    """The visits of one kecamatan not yet closed (or in the given states), by date."""

    office: Office
    kecamatan_code: str
    states: tuple[VisitState, ...] = (VisitState.DIJADWALKAN, VisitState.DIBUKA)


async def list_visits(command: ListVisits, *, deps: RecordingDeps) -> list[Visit]:
    """What a kecamatan's office and field team pick a visit from; another kecamatan's are refused."""
    office = command.office
    if not domain.in_scope(office.role, office.kecamatan_code, command.kecamatan_code):
        raise Forbidden("Kunjungan kecamatan lain dilihat oleh kantor dan tim kecamatan itu sendiri.")
    return await deps.store.visits_in(command.kecamatan_code, states=command.states, limit=VISITS_LISTED)
