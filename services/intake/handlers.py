"""Use cases of the intake service: register, correct, mark left, read, cohort, reviews, imports."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from services.intake import domain
from services.intake.dapodik import DapodikParse, parse_dapodik
from services.intake.imports import error_page, in_scope, job_id_for, run_import, stopped_message, without_departed
from services.intake.ports import (
    CLAIM_STALE_AFTER,
    DONE,
    FAILED,
    RUNNING,
    ImportJob,
    IntakeDeps,
    PersonFacts,
    ResidentRecord,
    ReviewItem,
    RowProblem,
)
from services.intake.requests import RequestKey, once
from shared.contracts import Actor, ResidentEnrolled, ResidentLeft, ResidentUpdated, Role
from shared.contracts.resident import (
    LeaveReason,
    ResidentData,
    ResidentLeftPayload,
    ResidentUpdatedPayload,
    Sex,
)
from shared.idempotency import Answer, Outcome
from shared.pseudonym import resident_pseudonym
from shared.topics import RESIDENT

today_in_wib = domain.today_in_wib


class AlreadyRegistered(Exception):
    """The NIK is in the roster already: one NIK is one resident (or a deceased one).

    `resident_id` is None when the resident lives outside the office's kecamatan: the office learns
    that the NIK is taken, not whose pseudonym it is.
    """

    def __init__(self, resident_id: str | None, *, deceased: bool = False) -> None:
        super().__init__("deceased" if deceased else "registered")
        self.resident_id = resident_id
        self.deceased = deceased


class BeingRegistered(Exception):
    """Another request (a clerk or an import) is registering this NIK at this moment."""


class NotInRoster(Exception):
    """The resident id names nobody in the roster (or somebody who left)."""


class ImportNotFound(Exception):
    """No import job with this id that the office may see."""


ROLE_NAMES = {Role.KECAMATAN_OFFICE: "kantor kecamatan", Role.FIELD_TEAM: "tim lapangan (jemput bola)",
              Role.PRINT_STATION: "stasiun cetak", Role.DINAS_ADMIN: "admin dinas", Role.SYSTEM: "sistem"}


class Forbidden(Exception):
    """The office may not do this; the message says why to the clerk: its role, or another kecamatan."""

    def __init__(self, office: Office, kecamatan_code: str | None) -> None:
        role = office.actor.role
        if role not in (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN):
            reason = (f"Kunci kantor {office.actor.office_id} berperan {ROLE_NAMES.get(role, role.value)}: data "
                      "penduduk di daftar ini hanya dikelola dan dibaca oleh kantor kecamatan dan admin dinas.")
        else:
            reason = (f"Kantor {office.actor.office_id} hanya berwenang untuk kecamatan "
                      f"{office.kecamatan_code or '-'}, bukan kecamatan {kecamatan_code or 'lain'}: minta kantor "
                      "kecamatan itu atau admin dinas.")
        super().__init__(reason)


class DateRefused(ValueError):
    """A date a clerk asked for cannot be answered; the message says why."""


@dataclass(frozen=True)
class Office:
    """Who sends a command: the actor it is recorded under and the office's own kecamatan."""

    actor: Actor
    kecamatan_code: str | None = None


@dataclass(frozen=True)
class RegisterResident:
    """A kecamatan office registers a resident in the roster."""

    office: Office
    data: ResidentData
    request: RequestKey
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class CorrectResident:
    """An office corrects a resident's data (the NIK itself cannot change)."""

    office: Office
    resident_id: str
    data: ResidentData
    reason: str
    request: RequestKey
    occurred_at: dt.datetime | None = None
    age_confirmed: bool = False
    """A person checked an implausible age (e.g. over 100) and it is right: it no longer waits for review."""


@dataclass(frozen=True)
class MarkResidentLeft:
    """A resident moved out of the regency (pindah) or died (meninggal)."""

    office: Office
    resident_id: str
    reason: LeaveReason
    effective_date: dt.date
    request: RequestKey


@dataclass(frozen=True)
class ReadResident:
    """An office reads one resident's personal data (written to the audit log)."""

    office: Office
    resident_id: str


@dataclass(frozen=True)
class ReadCohort:
    """Who becomes wajib KTP between today and a target date (written to the audit log)."""

    office: Office
    target: dt.date
    kecamatan_code: str | None = None


@dataclass(frozen=True)
class ListReviews:
    """Possible duplicates waiting for review, in the office's own scope."""

    office: Office


@dataclass(frozen=True)
class SettleDuplicates:
    """A clerk decides that a resident's possible duplicates are other people; `note` says how it was checked."""

    office: Office
    resident_id: str
    note: str


@dataclass(frozen=True)
class StartImport:
    """An office uploads a Dapodik or roster CSV."""

    office: Office
    content: bytes


@dataclass(frozen=True)
class ErrorsPage:
    """Which page of an import's row errors to show: number (from 1) and size."""

    number: int = 1
    size: int = 100


@dataclass(frozen=True)
class ReadImport:
    """An office asks for the state of an import job, with one page of its row errors."""

    office: Office
    job_id: str
    page: ErrorsPage = ErrorsPage()


@dataclass(frozen=True)
class Cohort:
    """Counts of wajib KTP today and on the target day, and who becomes wajib KTP in between."""

    target: dt.date
    kecamatan_code: str | None
    wajib_today: int
    wajib_on_target: int
    newly: list[ResidentRecord] = field(default_factory=list)


@dataclass(frozen=True)
class ImportView:
    """An import job with one page of its kept row errors, and whether another page follows."""

    job: ImportJob
    errors: tuple[RowProblem, ...]
    page: ErrorsPage
    more: bool


def import_view(job: ImportJob, page: ErrorsPage = ErrorsPage()) -> ImportView:
    errors, more = error_page(job, number=page.number, size=page.size)
    return ImportView(job, errors, page, more)


@dataclass(frozen=True)
class ImportStarted:
    """An import job (first page of its errors), and whether the same file was imported (or is importing) already."""

    view: ImportView
    replay: bool = False

    @property
    def job(self) -> ImportJob:
        return self.view.job


def accepted(event_id: UUID, resident_id: str, *, wajib_ktp_from: dt.date | None = None,
             nik_from_other_regency: bool | None = None, possible_duplicates: list[str] | None = None,
             age_doubt: str | None = None) -> Mapping[str, Any]:
    """The answer to an accepted command, as JSON-ready data."""
    return {"event_id": str(event_id), "resident_id": resident_id, "status": "diterima",
            "wajib_ktp_from": wajib_ktp_from.isoformat() if wajib_ktp_from else None,
            "nik_from_other_regency": nik_from_other_regency, "perlu_tinjauan": possible_duplicates or [],
            "tinjauan_umur": age_doubt}


def _require_write(office: Office, kecamatan_code: str) -> None:
    if not domain.may_write(office.actor.role, office.kecamatan_code, kecamatan_code):
        raise Forbidden(office, kecamatan_code)


async def _active(resident_id: str, deps: IntakeDeps) -> ResidentRecord:
    current = await deps.roster.get(resident_id)
    if current is None or not current.active:
        raise NotInRoster(resident_id)
    return current


async def register_resident(command: RegisterResident, *, deps: IntakeDeps) -> Outcome:
    """Validate, refuse a NIK already registered, publish resident.enrolled, update the roster."""
    _require_write(command.office, command.data.kecamatan_code)

    async def act(event_id: UUID) -> Answer:
        event, others, doubt = await _enroll(command, event_id, deps)
        p = event.payload
        return Answer(201, accepted(event_id, p.resident_id, wajib_ktp_from=p.wajib_ktp_from,
                                    nik_from_other_regency=p.nik_from_other_regency, possible_duplicates=others,
                                    age_doubt=doubt))

    return await once(command.request, act, claims=deps.requests, clock=deps.clock)


async def _enroll(command: RegisterResident, event_id: UUID, deps: IntakeDeps
                  ) -> tuple[ResidentEnrolled, list[str], str | None]:
    now = deps.clock()
    today = domain.today_in_wib(deps.clock)
    data = command.data
    facts = domain.validate_resident(data, today=today, areas=deps.areas)
    doubt = domain.age_doubt(data.birth_date, today=today, school_npsn=data.school_npsn)
    payload = domain.enrolled_payload(data, facts=facts, key=deps.pseudonym_key, today=today,
                                      age_under_review=doubt is not None)
    domain.check_occurred_at(command.occurred_at, now=now)
    event = ResidentEnrolled(event_id=event_id, occurred_at=command.occurred_at or now, recorded_at=now,
                             actor=command.office.actor, payload=payload)
    others = await deps.registrations.submit((command.office, event), lambda batch: _register_together(batch, deps))
    if others or doubt:
        await deps.reviews.flag(resident_id=payload.resident_id, others=others,
                                kecamatan_code=payload.kecamatan_code, now=now, age_reason=doubt)
    return event, others, doubt


async def _register_together(batch: list[tuple[Office, ResidentEnrolled]], deps: IntakeDeps
                             ) -> list[list[str] | BaseException]:
    """Registrations posted at the same moment, written as one: their claims in one write, one roster read,
    one batch of events, the new residents in one bulk write, one look for possible duplicates. Each gets
    what it would alone: the residents it may be a duplicate of, or why it was refused. A NIK named twice
    in one batch, or already in the roster, goes the one-by-one way."""
    outcomes: dict[int, list[str] | BaseException] = {}
    firsts: dict[str, int] = {}
    for n, (_, event) in enumerate(batch):
        firsts.setdefault(event.payload.resident_id, n)
    claims = {resident_id: str(batch[n][1].event_id) for resident_id, n in firsts.items()}
    held = await deps.roster.claim_registrations(claims, now=deps.clock(), stale_after=CLAIM_STALE_AFTER)
    fresh: list[ResidentEnrolled] = []
    try:
        existing = await deps.roster.existing_ids(sorted(held))
        for resident_id, n in firsts.items():
            if resident_id not in held:
                outcomes[n] = BeingRegistered(resident_id)
            elif resident_id not in existing:
                fresh.append(batch[n][1])
        try:
            if fresh:
                async with deps.roster.writing(fresh):
                    await deps.publisher.publish_many([(event, RESIDENT, event.payload.resident_id)
                                                       for event in fresh])
                    for event in await deps.roster.insert_new(fresh):
                        await deps.roster.apply(event)
        except Exception as exc:  # noqa: BLE001 - the answer of every new registration of the batch
            outcomes.update((firsts[event.payload.resident_id], exc) for event in fresh)
            fresh = []
    finally:
        await deps.roster.release_registrations({resident_id: claims[resident_id] for resident_id in held})
    matches = await deps.roster.same_people_elsewhere([
        PersonFacts(e.payload.resident_id, e.payload.name, e.payload.birth_date, e.payload.desa_code) for e in fresh])
    for event in fresh:
        outcomes[firsts[event.payload.resident_id]] = matches.get(event.payload.resident_id, [])
    for n, (office, event) in enumerate(batch):
        if n not in outcomes:  # in the roster already, or a second registration of one NIK in this batch
            try:
                await _publish_claimed(office, event, deps)
                outcomes[n] = await deps.roster.same_person_elsewhere(
                    resident_id=event.payload.resident_id, name=event.payload.name,
                    birth_date=event.payload.birth_date, desa_code=event.payload.desa_code)
            except Exception as exc:  # noqa: BLE001 - this registration's own answer
                outcomes[n] = exc
    return [outcomes[n] for n in range(len(batch))]


async def _publish_claimed(office: Office, event: ResidentEnrolled, deps: IntakeDeps) -> None:
    """Publish and record a registration under the resident's claim: of two registrations of one NIK at the
    same moment one holds the claim, and the other is refused (by the claim, or by the roster after it)."""
    resident_id, event_id = event.payload.resident_id, str(event.event_id)
    if not await deps.roster.claim_registration(resident_id, event_id, now=deps.clock(),
                                                stale_after=CLAIM_STALE_AFTER):
        raise BeingRegistered(resident_id)
    try:
        await _refuse_registered(office, resident_id, event.event_id, deps)
        await _publish_and_record(event, deps)
    finally:
        await deps.roster.release_registration(resident_id, event_id)


async def _publish_and_record(event: ResidentEnrolled | ResidentUpdated | ResidentLeft, deps: IntakeDeps) -> None:
    """Publish one resident event, then apply it to the roster (intake's own consumer waits for this write
    rather than writing the resident too)."""
    async with deps.roster.writing([event]):
        await deps.publisher.publish(event, topic=RESIDENT, key=event.payload.resident_id)
        await deps.roster.apply(event)


async def _refuse_registered(office: Office, resident_id: str, event_id: UUID, deps: IntakeDeps) -> None:
    """Refuse a NIK already in the roster (alive, or deceased); its pseudonym only to offices that may see it."""
    existing = await deps.roster.get(resident_id)
    if existing is None or not domain.blocks_registration(existing.left_reason, active=existing.active):
        return
    if await deps.roster.has_applied(resident_id, str(event_id)):
        return
    visible = domain.may_read_personal(office.actor.role, office.kecamatan_code, existing.kecamatan_code)
    raise AlreadyRegistered(resident_id if visible else None, deceased=not existing.active)


async def correct_resident(command: CorrectResident, *, deps: IntakeDeps) -> Outcome:
    """Publish the corrected record as resident.updated; the NIK must stay the same."""
    current = await deps.roster.get(command.resident_id)
    if current is not None:
        _require_write(command.office, current.kecamatan_code)
        _require_write(command.office, command.data.kecamatan_code)

    async def act(event_id: UUID) -> Answer:
        event, doubt = await _correct(command, event_id, deps)
        return Answer(200, accepted(event_id, command.resident_id, wajib_ktp_from=event.payload.wajib_ktp_from,
                                    nik_from_other_regency=event.payload.nik_from_other_regency, age_doubt=doubt))

    return await once(command.request, act, claims=deps.requests, clock=deps.clock)


async def _correct(command: CorrectResident, event_id: UUID, deps: IntakeDeps) -> tuple[ResidentUpdated, str | None]:
    """Publish the corrected record; its age waits for review unless plausible or confirmed by the office."""
    now = deps.clock()
    today = domain.today_in_wib(deps.clock)
    await _active(command.resident_id, deps)
    if resident_pseudonym(command.data.nik, key=deps.pseudonym_key) != command.resident_id:
        raise domain.RosterRuleError(
            "nik", "nik_changed",
            "NIK tidak dapat diubah lewat koreksi: daftarkan NIK baru dan tandai data lama keluar",
        )
    data = command.data
    facts = domain.validate_resident(data, today=today, areas=deps.areas)
    domain.check_occurred_at(command.occurred_at, now=now)
    doubt = None if command.age_confirmed else domain.age_doubt(data.birth_date, today=today,
                                                                  school_npsn=data.school_npsn)
    base = domain.enrolled_payload(data, facts=facts, key=deps.pseudonym_key, today=today,
                                   age_under_review=doubt is not None)
    event = ResidentUpdated(
        event_id=event_id, occurred_at=command.occurred_at or now, recorded_at=now,
        actor=command.office.actor, payload=ResidentUpdatedPayload(**base.model_dump(), reason=command.reason),
    )
    await _publish_and_record(event, deps)
    if doubt:
        await deps.reviews.flag(resident_id=command.resident_id, others=[], kecamatan_code=data.kecamatan_code,
                                now=now, age_reason=doubt)
    else:
        await deps.reviews.clear_age(resident_id=command.resident_id, now=now)
    return event, doubt


async def mark_resident_left(command: MarkResidentLeft, *, deps: IntakeDeps) -> Outcome:
    """Publish resident.left for a resident who moved out or died."""
    current = await deps.roster.get(command.resident_id)
    if current is not None:
        _require_write(command.office, current.kecamatan_code)

    async def act(event_id: UUID) -> Answer:
        now = deps.clock()
        resident = await _active(command.resident_id, deps)
        if command.effective_date > domain.today_in_wib(deps.clock):
            raise domain.RosterRuleError("effective_date", "future_date", "tanggal keluar tidak boleh di masa depan")
        event = ResidentLeft(event_id=event_id, occurred_at=now, recorded_at=now, actor=command.office.actor,
                             payload=ResidentLeftPayload(
                                 resident_id=command.resident_id, kecamatan_code=resident.kecamatan_code,
                                 desa_code=resident.desa_code, reason=command.reason,
                                 effective_date=command.effective_date))
        await _publish_and_record(event, deps)
        return Answer(200, accepted(event_id, command.resident_id))

    return await once(command.request, act, claims=deps.requests, clock=deps.clock)


@dataclass(frozen=True)
class CheckNik:
    """A NIK as a clerk is typing it, with the birth date and sex when the form has them."""

    typed: str
    birth_date: dt.date | None = None
    sex: Sex | None = None


def check_nik(command: CheckNik, *, deps: IntakeDeps) -> domain.NikFacts:
    """The registration's NIK rules on what the form holds so far; nothing is read or stored."""
    return domain.check_nik_as_typed(command.typed, birth_date=command.birth_date, sex=command.sex,
                                     today=domain.today_in_wib(deps.clock))


async def read_resident(command: ReadResident, *, deps: IntakeDeps) -> ResidentRecord:
    """One resident's data for an office allowed to see it; the read goes to the audit log."""
    resident = await deps.roster.get(command.resident_id)
    if resident is None:
        raise NotInRoster(command.resident_id)
    office = command.office
    if not domain.may_read_personal(office.actor.role, office.kecamatan_code, resident.kecamatan_code):
        raise Forbidden(office, resident.kecamatan_code)
    await deps.audit.record(office_id=office.actor.office_id, operator=office.actor.operator, action="baca_penduduk",
                            scope=resident.kecamatan_code, resident_ids=[resident.resident_id], now=deps.clock())
    return resident


async def read_cohort(command: ReadCohort, *, deps: IntakeDeps) -> Cohort:
    """Who becomes wajib KTP by the target date; the read goes to the audit log."""
    office = command.office
    if not domain.may_read_personal(office.actor.role, office.kecamatan_code, command.kecamatan_code):
        raise Forbidden(office, command.kecamatan_code)
    today = domain.today_in_wib(deps.clock)
    if command.target < today:
        raise DateRefused("tanggal harus hari ini atau sesudahnya")
    scope = command.kecamatan_code
    newly = await deps.roster.cohort(kecamatan_code=scope, after=today, until=command.target)
    await deps.audit.record(office_id=office.actor.office_id, operator=office.actor.operator, action="baca_kohort", scope=scope,
                            resident_ids=[r.resident_id for r in newly], now=deps.clock())
    return Cohort(target=command.target, kecamatan_code=scope,
                  wajib_today=await deps.roster.count_wajib(kecamatan_code=scope, on=today),
                  wajib_on_target=await deps.roster.count_wajib(kecamatan_code=scope, on=command.target),
                  newly=newly)


async def open_reviews(command: ListReviews, *, deps: IntakeDeps) -> list[ReviewItem]:
    """Review flags in the office's scope (all of them for a dinas admin)."""
    office = command.office
    if not domain.may_import_or_review(office.actor.role):
        raise Forbidden(office, None)
    return await deps.reviews.open(domain.own_scope(office.actor.role, office.kecamatan_code))


class NoDuplicatesToSettle(Exception):
    """The resident has no possible duplicates waiting for a decision."""


async def settle_possible_duplicates(command: SettleDuplicates, *, deps: IntakeDeps) -> ReviewItem:
    """A clerk checked the residents flagged as possibly the same person and found them to be other
    people: the flag is closed for them (an age still to review keeps it open), with who decided and
    why. A second request after the first answers the same settled review."""
    office = command.office
    if not domain.may_import_or_review(office.actor.role):
        raise Forbidden(office, None)
    review = await deps.reviews.get(command.resident_id)
    if review is None or not (review.possible_duplicates or review.settled_duplicates):
        raise NoDuplicatesToSettle(command.resident_id)
    _require_write(office, review.kecamatan_code)
    if review.possible_duplicates:
        await deps.reviews.settle_duplicates(resident_id=command.resident_id, office_id=office.actor.office_id,
                                             note=command.note, now=deps.clock())
    return await deps.reviews.get(command.resident_id) or review


async def start_import(command: StartImport, *, deps: IntakeDeps) -> ImportStarted:
    """Parse the file, record the job with its row errors and import the valid rows in the background.

    A file with too many refused rows is read no further and nothing of it is imported."""
    office = command.office
    if not domain.may_import_or_review(office.actor.role):
        raise Forbidden(office, office.kecamatan_code)
    job_id = job_id_for(office.actor.office_id, command.content)
    earlier = await deps.jobs.get(job_id)
    if earlier is not None:
        earlier = earlier.as_seen(deps.clock(), deps.import_limits.lease)
    if earlier is not None and earlier.status in (RUNNING, DONE):
        return ImportStarted(import_view(earlier), replay=True)
    today = domain.today_in_wib(deps.clock)
    limits = deps.import_limits
    parsed = await asyncio.to_thread(parse_dapodik, command.content, areas=deps.areas, today=today,
                                     stop_after_refused=limits.stop_after_refused)
    parsed = await _without_departed(parsed, deps)
    scope = domain.own_scope(office.actor.role, office.kecamatan_code)
    rows, report = in_scope(parsed, scope, keep=limits.errors_kept)
    await deps.jobs.create(job_id, office_id=office.actor.office_id, kecamatan_code=scope,
                           total_rows=parsed.total_rows, valid_rows=len(rows), errors=report, now=deps.clock())
    if report.stopped_at_line is not None:
        await deps.jobs.finish(job_id, FAILED, deps.clock(), stopped_message(report, limit=limits.stop_after_refused))
    else:
        deps.background.start(run_import(job_id, rows, today=today, actor=office.actor, deps=deps, jobs=deps.jobs))
    job = await deps.jobs.get(job_id)
    if job is None:
        raise ImportNotFound(job_id)
    return ImportStarted(import_view(job))


async def _without_departed(parsed: DapodikParse, deps: IntakeDeps) -> DapodikParse:
    """The file with the rows of residents who left the roster refused (each with its line and what to do)."""
    ids = [resident_pseudonym(row.data.nik, key=deps.pseudonym_key) for row in parsed.rows]
    return without_departed(parsed, await deps.roster.departed(ids), key=deps.pseudonym_key)


async def read_import(command: ReadImport, *, deps: IntakeDeps) -> ImportView:
    """An import job with one page of its row errors, for the office that uploaded it or a dinas admin."""
    job = await deps.jobs.get(command.job_id)
    actor = command.office.actor
    if job is None or (actor.role != Role.DINAS_ADMIN and job.office_id != actor.office_id):
        raise ImportNotFound(command.job_id)
    return import_view(job.as_seen(deps.clock(), deps.import_limits.lease), command.page)
