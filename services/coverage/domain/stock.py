"""Stock counters of each location, mirrored from the outcomes the blangko ledger publishes.

Coverage counts what the ledger applied, never the commands themselves: a command the ledger
refused (a second receipt of one transfer, a spoilage of more than is free) changes nothing here,
and a stock-opname count moves the figures by what the ledger actually changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.coverage.domain.counters import Delta
from shared import blangko
from shared.clock import WIB
from shared.contracts.stock import LedgerOutcome
from shared.stations import WAREHOUSE

# The ledger's counts and the names coverage's stock counters give them.
MIRRORED = {"on_hand": "stok", "reserved": "dipesan", "received": "diterima", "consumed": "terpakai",
            "spoiled": "rusak", "returned": "dikembalikan", "transferred_in": "masuk_transfer",
            "transferred_out": "dikirim"}


def stock_delta(event: Any, current: Mapping[str, Any]) -> Delta:
    """What a ledger outcome changes in the stock counters of its location(s) ("lokasi:<id>").

    Only an applied outcome counts, by the change the ledger made (`current`, the counters projected
    so far, is not needed: the outcome carries the change). Blanks in transit are counted at the
    receiving location from the sending until the receipt; the day's use comes with the outcome.
    """
    if not isinstance(event, LedgerOutcome) or event.payload.outcome != "applied":
        return {}
    p = event.payload
    changes = p.changes.model_dump()
    fields = {name: changes[ledger] for ledger, name in MIRRORED.items() if changes[ledger]}
    if p.changes.transferred_in:
        fields["dalam_perjalanan"] = -p.changes.transferred_in
    if p.used and p.used_on is not None:
        fields[f"terpakai_hari.d{p.used_on:%Y%m%d}"] = p.used
    if p.changes.on_hand:
        fields[f"stok_hari.d{event.occurred_at.astimezone(WIB):%Y%m%d}"] = p.changes.on_hand
    delta: Delta = {f"lokasi:{p.location_id}": fields} if fields else {}
    if p.in_transit_to and p.changes.transferred_out:
        delta[f"lokasi:{p.in_transit_to}"] = {"dalam_perjalanan": p.changes.transferred_out}
    return delta


def used_by_day(buckets: Mapping[str, int]) -> dict[dt.date, int]:
    """The daily use counters ("terpakai_hari": "d20260301" -> blanks) by day; also the daily changes of
    the stock on hand ("stok_hari", by the day in WIB of the ledger's outcome)."""
    return {dt.datetime.strptime(key, "d%Y%m%d").date(): int(n) for key, n in buckets.items()}


def stock_by_day(on_hand: int, changes: Mapping[dt.date, int], days: list[dt.date]) -> list[int]:
    """The stock on hand at the end of each of `days` (oldest first, the last one today): today's stock less
    the changes of the days after each."""
    levels = []
    for day in days:
        levels.append(on_hand - sum(n for changed, n in changes.items() if changed > day))
    return levels


def stock_covers(free: Mapping[str, int], used: Mapping[str, Mapping[dt.date, int]],
                 today: dt.date) -> dict[str, blangko.StockCover]:
    """Use per day and days of stock of each location, shown as rounded, by the one rule in shared.blangko
    (the warehouse against the regency's use), exactly as the inventory shows them."""
    covers = blangko.location_covers(free, used, today=today, warehouse=WAREHOUSE)
    return {location: cover.rounded() for location, cover in covers.items()}
