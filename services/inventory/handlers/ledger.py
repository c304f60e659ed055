"""Use cases of the inventory consumers: applying the stock topic to the ledger, answering
reservations, and turning printed and spoiled cards into ledger events."""

from __future__ import annotations

import uuid

from services.inventory.domain import Outcome
from services.inventory.handlers.deps import InventoryDeps
from shared.contracts import Actor, PrintEvent, Role, StockEvent
from shared.contracts.printing import CardPrinted, JobQueued, PrintSpoiled
from shared.contracts.stock import (
    BlankConsumed,
    BlankReserved,
    BlankSpoiled,
    ConsumedPayload,
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
    """Apply one stock-topic event; answer a reservation request once its outcome is written."""
    if isinstance(event, BlankReserved | ReservationRefused):
        return "ignored"
    if isinstance(event, ReplenishmentRequested):
        return "applied" if await deps.store.record_request(event) else "duplicate"
    outcome = await deps.store.apply(event, position=position)
    if isinstance(event, StockReceived) and event.payload.request_id and not outcome.refused:
        await deps.store.record_receipt(event.payload.request_id, str(event.event_id), event.payload.quantity)
    if isinstance(event, ReservationRequested):
        await _answer(event, outcome, deps)
    return outcome.kind


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
