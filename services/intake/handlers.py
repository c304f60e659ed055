"""Use cases of the intake service: validate a command, publish its event, update the roster."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from uuid import UUID

from services.intake import domain
from services.intake.store import Reviews, Roster
from shared.areas import Areas
from shared.clock import WIB, Clock
from shared.contracts import Actor, ResidentEnrolled, ResidentLeft, ResidentUpdated
from shared.contracts.resident import (
    LeaveReason,
    ResidentData,
    ResidentEnrolledPayload,
    ResidentLeftPayload,
    ResidentUpdatedPayload,
)
from shared.pseudonym import resident_pseudonym
from shared.publishing import EventPublisher
from shared.topics import RESIDENT


class AlreadyRegistered(Exception):
    """The NIK is in the roster already: one NIK is one resident."""

    def __init__(self, resident_id: str) -> None:
        super().__init__(resident_id)
        self.resident_id = resident_id


class NotInRoster(Exception):
    """The resident id names nobody in the roster (or somebody who left)."""


@dataclass(frozen=True)
class IntakeDeps:
    publisher: EventPublisher
    clock: Clock
    areas: Areas
    pseudonym_key: str
    roster: Roster
    reviews: Reviews


@dataclass(frozen=True)
class RegisterResident:
    """A kecamatan office registers a resident in the roster."""

    event_id: UUID
    data: ResidentData
    actor: Actor
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class CorrectResident:
    """An office corrects a resident's data (the NIK itself cannot change)."""

    event_id: UUID
    resident_id: str
    data: ResidentData
    reason: str
    actor: Actor
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class MarkResidentLeft:
    """A resident moved out of the regency (pindah) or died (meninggal)."""

    event_id: UUID
    resident_id: str
    reason: LeaveReason
    effective_date: dt.date
    actor: Actor
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class Registered:
    event: ResidentEnrolled
    possible_duplicates: list[str] = field(default_factory=list)


def today_in_wib(clock: Clock) -> dt.date:
    return clock().astimezone(WIB).date()


def validate_resident(data: ResidentData, *, today: dt.date, areas: Areas) -> domain.NikFacts:
    """Every roster rule for one resident's data; raises RosterRuleError naming the field."""
    facts = domain.check_nik(data.nik, birth_date=data.birth_date, sex=data.sex, today=today)
    domain.check_area(data.kecamatan_code, data.desa_code, areas)
    return facts


def enrolled_payload(
    data: ResidentData, *, facts: domain.NikFacts, key: str, today: dt.date
) -> ResidentEnrolledPayload:
    return ResidentEnrolledPayload(
        **data.model_dump(),
        resident_id=resident_pseudonym(data.nik, key=key),
        wajib_ktp_from=domain.wajib_ktp_from(data.birth_date, data.marital_status, registered_on=today),
        nik_from_other_regency=facts.from_other_regency,
    )


async def register_resident(command: RegisterResident, *, deps: IntakeDeps) -> Registered:
    """Validate, refuse a NIK already registered, publish resident.enrolled, update the roster."""
    now = deps.clock()
    today = now.astimezone(WIB).date()
    facts = validate_resident(command.data, today=today, areas=deps.areas)
    payload = enrolled_payload(command.data, facts=facts, key=deps.pseudonym_key, today=today)
    existing = await deps.roster.get(payload.resident_id)
    if existing is not None and existing.get("status") == "aktif" and str(command.event_id) not in existing.get(
        "applied_events", []
    ):
        raise AlreadyRegistered(payload.resident_id)
    event = ResidentEnrolled(
        event_id=command.event_id, occurred_at=command.occurred_at or now, recorded_at=now,
        actor=command.actor, payload=payload,
    )
    await deps.publisher.publish(event, topic=RESIDENT, key=payload.resident_id)
    await deps.roster.apply(event)
    others = await deps.roster.same_person_elsewhere(
        resident_id=payload.resident_id, name=payload.name, birth_date=payload.birth_date,
        desa_code=payload.desa_code,
    )
    if others:
        await deps.reviews.flag(resident_id=payload.resident_id, others=others,
                                kecamatan_code=payload.kecamatan_code, now=now)
    return Registered(event, others)


async def correct_resident(command: CorrectResident, *, deps: IntakeDeps) -> ResidentUpdated:
    """Publish the corrected record as resident.updated; the NIK must stay the same."""
    now = deps.clock()
    today = now.astimezone(WIB).date()
    current = await deps.roster.get(command.resident_id)
    if current is None or current.get("status") != "aktif":
        raise NotInRoster(command.resident_id)
    if resident_pseudonym(command.data.nik, key=deps.pseudonym_key) != command.resident_id:
        raise domain.RosterRuleError(
            "nik", "nik_changed",
            "NIK tidak dapat diubah lewat koreksi: daftarkan NIK baru dan tandai data lama keluar",
        )
    facts = validate_resident(command.data, today=today, areas=deps.areas)
    base = enrolled_payload(command.data, facts=facts, key=deps.pseudonym_key, today=today)
    event = ResidentUpdated(
        event_id=command.event_id, occurred_at=command.occurred_at or now, recorded_at=now,
        actor=command.actor, payload=ResidentUpdatedPayload(**base.model_dump(), reason=command.reason),
    )
    await deps.publisher.publish(event, topic=RESIDENT, key=command.resident_id)
    await deps.roster.apply(event)
    return event


async def mark_resident_left(command: MarkResidentLeft, *, deps: IntakeDeps) -> ResidentLeft:
    """Publish resident.left for a resident who moved out or died."""
    now = deps.clock()
    current = await deps.roster.get(command.resident_id)
    if current is None or current.get("status") != "aktif":
        raise NotInRoster(command.resident_id)
    if command.effective_date > today_in_wib(deps.clock):
        raise domain.RosterRuleError("effective_date", "future_date", "tanggal keluar tidak boleh di masa depan")
    event = ResidentLeft(
        event_id=command.event_id, occurred_at=command.occurred_at or now, recorded_at=now,
        actor=command.actor,
        payload=ResidentLeftPayload(
            resident_id=command.resident_id, kecamatan_code=current["kecamatan_code"],
            desa_code=current["desa_code"], reason=command.reason, effective_date=command.effective_date,
        ),
    )
    await deps.publisher.publish(event, topic=RESIDENT, key=command.resident_id)
    await deps.roster.apply(event)
    return event
