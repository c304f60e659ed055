"""What every printing use case shares: its dependencies, the ids of derived events, the queued job event.

Events that follow from another event have ids made from it, so publishing them again after a
crash is harmless: the consumers on the other side apply an event id once.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from services.printing import policy
from services.printing.ports import PrintingStorage
from services.printing.routing import station_for
from shared.clock import Clock
from shared.contracts import Actor, Role
from shared.contracts.printing import (
    JobQueued,
    JobQueuedPayload,
    PrintReason,
    PriorityClass,
)
from shared.publishing import DerivedIds, EventPublisher
from shared.stations import StationDirectory

DERIVED = uuid.UUID("9c4e2a71-0b3d-4f68-8e15-d7a9c3b5e204")
SYSTEM = Actor(office_id="printing", role=Role.SYSTEM, operator="printing")
log = logging.getLogger("ektp.printing")


derived_id = DerivedIds(DERIVED)


@dataclass(frozen=True)
class PrintingDeps:
    """What the use cases use: storage, the publisher, the clock, the stations and the queue settings."""

    store: PrintingStorage
    publisher: EventPublisher
    clock: Clock
    stations: StationDirectory
    priority_order: tuple[PriorityClass, ...] = policy.DEFAULT_ORDER
    voter_target_date: dt.date = dt.date(2029, 2, 14)
    reservation_resend_seconds: float = 30.0
    on_printed: Callable[[str, float], None] | None = field(default=None, compare=False)
    """Told the station and the seconds from print-ready (the PRR's print request) to printed, once per card."""


def queued_event(*, job_id: str, source_event_id: str, resident_id: str, kecamatan_code: str, desa_code: str,
                 reason: PrintReason, wajib_ktp_from: dt.date | None, lansia: bool, disabilitas: bool,
                 occurred_at: dt.datetime, actor: Actor, deps: PrintingDeps) -> JobQueued:
    """The job a print request becomes: routed to a station, in a priority class."""
    priority_class = policy.classify(reason=reason, wajib_ktp_from=wajib_ktp_from, lansia=lansia,
                                     disabilitas=disabilitas, voter_target_date=deps.voter_target_date)
    return JobQueued(
        event_id=derived_id(job_id, "queued"), occurred_at=occurred_at, recorded_at=deps.clock(), actor=actor,
        payload=JobQueuedPayload(
            job_id=job_id, station_id=station_for(kecamatan_code, deps.stations), resident_id=resident_id,
            kecamatan_code=kecamatan_code, desa_code=desa_code, reason=reason, priority_class=priority_class,
            wajib_ktp_from=wajib_ktp_from, lansia=lansia, disabilitas=disabilitas, source_event_id=source_event_id))
