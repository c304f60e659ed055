"""Event contracts: versioned, frozen pydantic models, one discriminated union per topic."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, TypeAdapter

from shared.contracts.envelope import Actor, Envelope, Role
from shared.contracts.printing import (
    CardHandedOver,
    CardPrinted,
    JobDispatched,
    JobQueued,
    PrintSpoiled,
    SchoolDeliveryAcknowledged,
    SchoolDeliverySent,
)
from shared.contracts.recording import (
    FollowUpRaised,
    PrintRequested,
    RecordingAbsent,
    RecordingCaptured,
    RecordingFailed,
    SiakStatusReported,
    VisitClosed,
    VisitOpened,
    VisitScheduled,
)
from shared.contracts.resident import ResidentEnrolled, ResidentLeft, ResidentUpdated
from shared.contracts.stock import (
    BlankConsumed,
    BlankReserved,
    BlankSpoiled,
    CountCorrected,
    LedgerOutcome,
    ReplenishmentRequested,
    ReservationRefused,
    ReservationRequested,
    SpoiledReturned,
    StockReceived,
    TransferReceived,
    TransferSent,
)

ResidentEvent = Annotated[
    ResidentEnrolled | ResidentUpdated | ResidentLeft,
    Field(discriminator="event_type"),
]

RESIDENT_EVENTS: TypeAdapter[ResidentEvent] = TypeAdapter(ResidentEvent)

OutreachEvent = Annotated[VisitScheduled | VisitOpened | VisitClosed, Field(discriminator="event_type")]
OUTREACH_EVENTS: TypeAdapter[OutreachEvent] = TypeAdapter(OutreachEvent)

RecordingEvent = Annotated[
    RecordingCaptured | RecordingFailed | RecordingAbsent | SiakStatusReported | PrintRequested | FollowUpRaised,
    Field(discriminator="event_type"),
]
RECORDING_EVENTS: TypeAdapter[RecordingEvent] = TypeAdapter(RecordingEvent)

PrintEvent = Annotated[
    JobQueued | JobDispatched | CardPrinted | PrintSpoiled | SchoolDeliverySent | SchoolDeliveryAcknowledged
    | CardHandedOver,
    Field(discriminator="event_type"),
]
PRINT_EVENTS: TypeAdapter[PrintEvent] = TypeAdapter(PrintEvent)

StockEvent = Annotated[
    ReplenishmentRequested | StockReceived | TransferSent | TransferReceived | ReservationRequested
    | BlankReserved | ReservationRefused | BlankConsumed | BlankSpoiled | CountCorrected | SpoiledReturned
    | LedgerOutcome,
    Field(discriminator="event_type"),
]
STOCK_EVENTS: TypeAdapter[StockEvent] = TypeAdapter(StockEvent)

MAX_EVENT_BYTES = 64 * 1024

__all__ = [
    "MAX_EVENT_BYTES",
    "OUTREACH_EVENTS",
    "PRINT_EVENTS",
    "PrintEvent",
    "STOCK_EVENTS",
    "StockEvent",
    "RECORDING_EVENTS",
    "OutreachEvent",
    "RecordingEvent",
    "RESIDENT_EVENTS",
    "Actor",
    "Envelope",
    "ResidentEnrolled",
    "ResidentEvent",
    "ResidentLeft",
    "ResidentUpdated",
    "Role",
]
