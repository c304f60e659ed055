"""Use cases of the inventory service: applying the stock topic to the ledger, answering
reservations, turning printed and spoiled cards into ledger events, and the usulan arithmetic."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from services.inventory import domain
from services.inventory.store import InventoryStore, Outcome
from shared.clock import WIB, Clock
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
from shared.publishing import DerivedIds, EventPublisher
from shared.topics import STOCK

DERIVED = uuid.UUID("6b0f4c2e-1d8a-4f3b-9e57-a2c4d6e8f013")
SYSTEM = Actor(office_id="inventory", role=Role.SYSTEM, operator="inventory")


derived_id = DerivedIds(DERIVED)


@dataclass(frozen=True)
class InventoryDeps:
    store: InventoryStore
    publisher: EventPublisher
    clock: Clock
    consumption_window_days: int = 14
    cover_days: int = 30
    low_stock_days: float = 7.0


async def apply_stock_event(event: StockEvent, *, deps: InventoryDeps, position: tuple[str, int] | None) -> str:
    """Apply one stock-topic event; answer a reservation request once its outcome is written."""
    if isinstance(event, BlankReserved | ReservationRefused):
        return "ignored"
    if isinstance(event, ReplenishmentRequested):
        p = event.payload
        applied = await deps.store.record_request(p.request_id, str(event.event_id), {
            "location_id": p.location_id, "requested": p.quantity, "letter_no": p.letter_no,
            "backlog": p.backlog, "daily_consumption": p.daily_consumption, "requested_at": event.occurred_at})
        return "applied" if applied else "duplicate"
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


async def apply_print_event(event: PrintEvent, *, deps: InventoryDeps, source: str, position: int) -> str:
    """Printed and spoiled cards become ledger events of the station; queued and printed jobs move the backlog."""
    if isinstance(event, JobQueued):
        changed = await deps.store.change_backlog(event.payload.station_id, 1, event_id=str(event.event_id),
                                                  source=source, position=position)
        return "applied" if changed else "duplicate"
    if isinstance(event, CardPrinted | PrintSpoiled):
        p = event.payload
        ledger_event: BlankConsumed | BlankSpoiled
        if isinstance(event, CardPrinted):
            ledger_event = BlankConsumed(
                event_id=derived_id(event.event_id, "consumed"), occurred_at=event.occurred_at,
                recorded_at=deps.clock(), actor=event.actor,
                payload=ConsumedPayload(location_id=p.station_id, reservation_id=p.reservation_id, job_id=p.job_id,
                                        attempt=p.attempt))
        else:
            ledger_event = BlankSpoiled(
                event_id=derived_id(event.event_id, "spoiled"), occurred_at=event.occurred_at,
                recorded_at=deps.clock(), actor=event.actor,
                payload=SpoiledPayload(location_id=p.station_id, quantity=1, reason=StockSpoilReason(event.payload.reason),
                                       reservation_id=p.reservation_id, job_id=p.job_id))
        await deps.publisher.publish(ledger_event, topic=STOCK, key=p.station_id)
        if isinstance(event, CardPrinted):
            changed = await deps.store.change_backlog(p.station_id, -1, event_id=str(event.event_id),
                                                      source=source, position=position)
            return "applied" if changed else "duplicate"
        return "applied"
    return "ignored"


# Reading the ledger.

def today(clock: Clock) -> dt.date:
    return clock().astimezone(WIB).date()


def location_view(doc: dict[str, Any] | None, location_id: str, name: str, deps: InventoryDeps,
                  *, regency_per_day: float | None = None) -> dict[str, Any]:
    """A location's balance, recent use and days of stock (the warehouse is measured against the regency's use)."""
    balance = domain.Balance.from_doc(location_id, doc)
    own = domain.daily_consumption((doc or {}).get("consumed_by_day", {}), today=today(deps.clock),
                                   window_days=deps.consumption_window_days)
    per_day = regency_per_day if regency_per_day is not None else own
    days = domain.days_of_stock(balance.on_hand, per_day)
    return {
        "lokasi": location_id, "nama": name,
        "ada": balance.on_hand, "dipesan": balance.reserved, "terpakai": balance.consumed,
        "rusak": balance.spoiled, "rusak_dapat_dikembalikan": balance.returnable, "dikembalikan": balance.returned,
        "diterima": balance.received, "masuk_transfer": balance.transferred_in, "keluar_transfer": balance.transferred_out,
        "pemakaian_per_hari": round(per_day, 2),
        "hari_stok": None if days is None else round(days, 1),
        "stok_menipis": days is not None and days < deps.low_stock_days,
    }


async def all_views(deps: InventoryDeps, names: dict[str, str]) -> list[dict[str, Any]]:
    return views_of(await deps.store.all_locations(), deps, names)


def views_of(located: list[dict[str, Any]], deps: InventoryDeps, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every named location's view from the ledger documents (the warehouse measured against the regency's use)."""
    docs = {doc["_id"]: doc for doc in located}
    window = deps.consumption_window_days
    regency = sum(domain.daily_consumption(doc.get("consumed_by_day", {}), today=today(deps.clock), window_days=window)
                  for doc in docs.values())
    views = []
    for location_id, name in names.items():
        regency_rate = regency if location_id == "gudang" else None
        views.append(location_view(docs.get(location_id), location_id, name, deps, regency_per_day=regency_rate))
    return views


async def suggestion(deps: InventoryDeps, names: dict[str, str]) -> dict[str, Any]:
    """The usulan size and the figures it comes from."""
    docs = await deps.store.all_locations()
    per_day = sum(v["pemakaian_per_hari"] for v in views_of(docs, deps, names) if v["lokasi"] != "gudang")
    balances = [domain.Balance.from_doc(doc["_id"], doc) for doc in docs]
    check = domain.check_regency(balances)
    outstanding = sum(max(0, int(r.get("requested", 0)) - int(r.get("received", 0)))
                      for r in await deps.store.all_requests())
    backlog = await deps.store.backlog_total()
    available = check.on_hand + check.in_transit
    quantity = domain.suggested_request(backlog=backlog, per_day=per_day, cover_days=deps.cover_days,
                                        available=available, outstanding=outstanding)
    return {
        "jumlah_usulan": quantity,
        "antrean_cetak": backlog,
        "pemakaian_per_hari": round(per_day, 2),
        "hari_cadangan": deps.cover_days,
        "stok_ada_dan_dalam_perjalanan": available,
        "usulan_belum_diterima": outstanding,
        "rumus": "antrean_cetak + pemakaian_per_hari x hari_cadangan - stok_ada_dan_dalam_perjalanan - usulan_belum_diterima",
    }
