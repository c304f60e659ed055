"""Use cases of the intake service: validate a command, publish its event, answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from uuid import UUID

from services.intake import domain
from shared.areas import Areas
from shared.clock import WIB, Clock
from shared.contracts import Actor, ResidentEnrolled
from shared.contracts.resident import ResidentData, ResidentEnrolledPayload
from shared.pseudonym import resident_pseudonym
from shared.publishing import EventPublisher
from shared.topics import RESIDENT


@dataclass(frozen=True)
class RegisterResident:
    """A kecamatan office registers a resident in the roster."""

    event_id: UUID
    data: ResidentData
    actor: Actor
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class IntakeDeps:
    publisher: EventPublisher
    clock: Clock
    areas: Areas
    pseudonym_key: str


def validate_resident(data: ResidentData, *, today: dt.date, areas: Areas) -> domain.NikFacts:
    """Every roster rule for one resident's data; raises RosterRuleError naming the field."""
    facts = domain.check_nik(data.nik, birth_date=data.birth_date, sex=data.sex, today=today)
    domain.check_area(data.kecamatan_code, data.desa_code, areas)
    return facts


async def register_resident(command: RegisterResident, *, deps: IntakeDeps) -> ResidentEnrolled:
    """Validate, then publish resident.enrolled; returns once Kafka has it durably."""
    now = deps.clock()
    today = now.astimezone(WIB).date()
    facts = validate_resident(command.data, today=today, areas=deps.areas)
    resident_id = resident_pseudonym(command.data.nik, key=deps.pseudonym_key)
    payload = ResidentEnrolledPayload(
        **command.data.model_dump(),
        resident_id=resident_id,
        wajib_ktp_from=domain.wajib_ktp_from(
            command.data.birth_date, command.data.marital_status, registered_on=today
        ),
        nik_from_other_regency=facts.from_other_regency,
    )
    event = ResidentEnrolled(
        event_id=command.event_id,
        occurred_at=command.occurred_at or now,
        recorded_at=now,
        actor=command.actor,
        payload=payload,
    )
    await deps.publisher.publish(event, topic=RESIDENT, key=resident_id)
    return event
