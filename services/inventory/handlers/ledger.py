"""Use cases of the inventory consumers: applying the stock topic to the ledger, answering
reservations, and turning printed and spoiled cards into ledger events."""

from __future__ import annotations

import datetime as dt
import uuid

from services.inventory import domain
from services.inventory.domain import Applied, LedgerEvent, Outcome
from services.inventory.handlers.deps import InventoryDeps
from shared.contracts import Actor, PrintEvent, Role, StockEvent
from shared.contracts.printing import CardPrinted, JobQueued, PrintSpoiled
from shared.contracts.stock import (
    BlankConsumed,
    BlankReserved,
    BlankSpoiled,
    ConsumedPayload,
    LedgerChanges,
    LedgerOutcome,
    LedgerOutcomePayload,
    RefusalPayload,
    ReplenishmentRequested,
    ReservationPayload,
    ReservationRefused,
    ReservationRequested,
    SpoiledPayload,
    StockReceived,
    StockSpoilReason,
)
from shared.publishing import DerivedIds
from shared.topics import STOCK

DERIVED = uuid.UUID("6b0f4c2e-1d8a-4f3b-9e57-a2c4d6e8f013")
SYSTEM = Actor(office_id="inventory", role=Role.SYSTEM, operator="inventory")

derived_id = DerivedIds(DERIVED)


async def apply_stock_event(event: StockEvent, *, deps: InventoryDeps, position: tuple[str, int] | None) -> str:
    """Apply one stock-topic event, publish the ledger's outcome of it once written, and answer a
    reservation request."""
    if isinstance(event, BlankReserved | ReservationRefused | LedgerOutcome):
        return "ignored"
    if isinstance(event, ReplenishmentRequested):
        return "applied" if await deps.store.record_request(event) else "duplicate"
    outcome = await deps.store.apply(event, position=position)
    if isinstance(event, StockReceived) and event.payload.request_id and not outcome.refused:
        await deps.store.record_receipt(event.payload.request_id, str(event.event_id), event.payload.quantity)
    await _publish_outcome(event, outcome, deps)
    if isinstance(event, ReservationRequested):
        await _answer(event, outcome, deps)
    return outcome.kind


def ledger_outcome(event: LedgerEvent, outcome: Outcome, *, recorded_at: dt.datetime) -> LedgerOutcome | None:
    """The outcome event of a ledger event (its id derived from the event's); None for a duplicate whose
    change is no longer remembered (its outcome went out long ago)."""
    if not outcome.refused and outcome.applied is None:
        return None
    change = outcome.applied or Applied()
    payload = LedgerOutcomePayload(
        source_event_id=event.event_id, source_event_type=event.event_type, location_id=domain.location_of(event),
        outcome="refused" if outcome.refused else "applied", reason=outcome.reason[:500] if outcome.reason else None,
        changes=LedgerChanges(**change.changes), in_transit_to=change.in_transit_to, used=change.used,
        used_on=change.used_on)
    return LedgerOutcome(event_id=derived_id(event.event_id, "outcome"), occurred_at=event.occurred_at,
                         recorded_at=recorded_at, actor=SYSTEM, payload=payload)


async def _publish_outcome(event: LedgerEvent, outcome: Outcome, deps: InventoryDeps) -> None:
    """The ledger's outcome of `event`, keyed like it; again (same id) for a redelivery whose outcome is known."""
    published = ledger_outcome(event, outcome, recorded_at=deps.clock())
    if published is not None:
        await deps.publisher.publish(published, topic=STOCK, key=domain.partition_key(event))


async def _answer(event: ReservationRequested, outcome: Outcome, deps: InventoryDeps) -> None:
    now = deps.clock()
    p = event.payload
    answer: BlankReserved | ReservationRefused
    if outcome.refused:
        answer = ReservationRefused(event_id=derived_id(event.event_id, "answer"), occurred_at=now, recorded_at=now,
                                    actor=SYSTEM, payload=RefusalPayload(**p.model_dump(), reason=outcome.reason or ""))
    else:
        answer = BlankReserved(event_id=derived_id(event.event_id, "answer"), occurred_at=now, recorded_at=now,
                               actor=SYSTEM, payload=ReservationPayload(**p.model_dump()))
    await deps.publisher.publish(answer, topic=STOCK, key=p.location_id)


def _ledger_event(event: CardPrinted | PrintSpoiled, deps: InventoryDeps) -> BlankConsumed | BlankSpoiled:
    p = event.payload
    if isinstance(event, CardPrinted):
        return BlankConsumed(
            event_id=derived_id(event.event_id, "consumed"), occurred_at=event.occurred_at,
            recorded_at=deps.clock(), actor=event.actor,
            payload=ConsumedPayload(location_id=p.station_id, reservation_id=p.reservation_id, job_id=p.job_id,
                                    attempt=p.attempt))
    return BlankSpoiled(
        event_id=derived_id(event.event_id, "spoiled"), occurred_at=event.occurred_at,
        recorded_at=deps.clock(), actor=event.actor,
        payload=SpoiledPayload(location_id=p.station_id, quantity=1, reason=StockSpoilReason(event.payload.reason),
                               reservation_id=p.reservation_id, job_id=p.job_id))


async def apply_print_event(event: PrintEvent, *, deps: InventoryDeps, source: str, position: int) -> str:
    """Printed and spoiled cards become ledger events of the station; queued and printed jobs move the backlog."""
    if isinstance(event, JobQueued):
        changed = await deps.store.change_backlog(event.payload.station_id, 1, event_id=str(event.event_id),
                                                  source=source, position=position)
        return "applied" if changed else "duplicate"
    if not isinstance(event, CardPrinted | PrintSpoiled):
        return "ignored"
    station = event.payload.station_id
    await deps.publisher.publish(_ledger_event(event, deps), topic=STOCK, key=station)
    if isinstance(event, CardPrinted):
        changed = await deps.store.change_backlog(station, -1, event_id=str(event.event_id),
                                                  source=source, position=position)
        return "applied" if changed else "duplicate"
    return "applied"
