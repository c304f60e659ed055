"""Read use cases of the inventory service: stock per location, the ledger check, low stock, the usulan."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.inventory import domain
from services.inventory.domain import Balance, Ledger, NotFound, RegencyCheck, Usulan
from services.inventory.handlers.deps import InventoryDeps
from shared import blangko
from shared.clock import WIB
from shared.stations import WAREHOUSE

FORMULA = "antrean_cetak + pemakaian_per_hari x hari_cadangan - stok_ada_dan_dalam_perjalanan - usulan_belum_diterima"


@dataclass(frozen=True)
class LocationView:
    """A location's balance, its use per day (2 places) and days of stock (1 place, None when unused)."""

    location_id: str
    name: str
    balance: Balance
    per_day: float
    days: float | None
    low_stock: bool


@dataclass(frozen=True)
class ShowLocation:
    """Ask for one location's stock."""

    location_id: str


@dataclass(frozen=True)
class Suggestion:
    """The usulan size and the figures it comes from."""

    quantity: int
    backlog: int
    per_day: float
    cover_days: int
    available: int
    outstanding: int
    formula: str = FORMULA


def today(deps: InventoryDeps) -> dt.date:
    """Today in Bengkulu (WIB), the day consumption is counted on."""
    return deps.clock().astimezone(WIB).date()


def known(location_id: str, deps: InventoryDeps) -> None:
    """NotFound unless the location is one of the named stock locations."""
    if location_id not in deps.names:
        raise NotFound(f"Lokasi stok {location_id!r} tidak dikenal. Lokasi yang ada: {', '.join(deps.names)}.")


def location_views(ledgers: list[Ledger], deps: InventoryDeps) -> list[LocationView]:
    """Every named location's view, days of stock by the one rule (the warehouse against the regency's use)."""
    by_id = {ledger.location_id: ledger for ledger in ledgers}
    balances = {location_id: by_id.get(location_id, Ledger(Balance(location_id))).balance for location_id in deps.names}
    covers = blangko.location_covers({location_id: b.on_hand for location_id, b in balances.items()},
                                     {ledger.location_id: ledger.consumed_by_day for ledger in ledgers},
                                     today=today(deps), warehouse=WAREHOUSE, window_days=deps.consumption_window_days)
    views = []
    for location_id, name in deps.names.items():
        cover = covers[location_id]
        shown = cover.rounded()
        low = cover.days is not None and cover.days < deps.low_stock_days
        views.append(LocationView(location_id, name, balances[location_id], shown.per_day, shown.days, low))
    return views


async def list_locations(*, deps: InventoryDeps) -> list[LocationView]:
    """Stock, use per day and days of stock of every named location."""
    return location_views(await deps.store.ledgers(), deps)


async def show_location(query: ShowLocation, *, deps: InventoryDeps) -> LocationView:
    """One location's view (NotFound for an unknown location)."""
    known(query.location_id, deps)
    return next(v for v in await list_locations(deps=deps) if v.location_id == query.location_id)


async def low_stock(*, deps: InventoryDeps) -> list[LocationView]:
    """Locations whose free stock lasts fewer days than the threshold."""
    return [view for view in await list_locations(deps=deps) if view.low_stock]


async def check_ledger(*, deps: InventoryDeps) -> RegencyCheck:
    """received = on_hand + reserved + consumed + spoiled + in_transit + returned, and each location sound."""
    return domain.check_regency(ledger.balance for ledger in await deps.store.ledgers())


async def list_usulan(*, deps: InventoryDeps) -> list[Usulan]:
    """Every usulan to the province, newest first."""
    return await deps.store.all_usulan()


async def suggest_usulan(*, deps: InventoryDeps) -> Suggestion:
    """How many blanks to ask the province for, and why."""
    ledgers = await deps.store.ledgers()
    per_day = sum(v.per_day for v in location_views(ledgers, deps) if v.location_id != WAREHOUSE)
    check = domain.check_regency(ledger.balance for ledger in ledgers)
    outstanding = sum(u.missing for u in await deps.store.all_usulan())
    backlog = await deps.store.backlog_total()
    available = check.on_hand + check.in_transit
    quantity = domain.suggested_request(backlog=backlog, per_day=per_day, cover_days=deps.cover_days,
                                        available=available, outstanding=outstanding)
    return Suggestion(quantity, backlog, round(per_day, 2), deps.cover_days, available, outstanding)
