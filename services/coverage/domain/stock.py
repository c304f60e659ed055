"""Stock counters of each location, mirrored from the blangko ledger's events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from services.coverage.domain.counters import Delta
from shared import blangko
from shared.contracts.stock import (
    BlankConsumed,
    BlankReserved,
    BlankSpoiled,
    CountCorrected,
    SpoiledReturned,
    StockReceived,
    TransferReceived,
    TransferSent,
)


def stock_delta(event: Any, current: Mapping[str, Any]) -> Delta:
    """What a ledger event changes in the stock counters of its location(s) ("lokasi:<id>").

    The events are the ledger's facts, mirrored as they come. `current` holds the counters as
    projected so far: a stock-opname correction sets the good blanks on hand to the counted
    figure, so its change depends on what arrived before it (as it does in the ledger).
    """
    p = event.payload
    day = event.occurred_at.astimezone(dt.UTC).date()
    used_today = f"terpakai_hari.d{day:%Y%m%d}"
    if isinstance(event, StockReceived):
        return {f"lokasi:{p.location_id}": {"diterima": p.quantity, "stok": p.quantity}}
    if isinstance(event, TransferSent):
        return {f"lokasi:{p.from_location}": {"stok": -p.quantity, "dikirim": p.quantity},
                f"lokasi:{p.to_location}": {"dalam_perjalanan": p.quantity}}
    if isinstance(event, TransferReceived):
        return {f"lokasi:{p.to_location}": {"dalam_perjalanan": -p.quantity, "stok": p.quantity,
                                            "masuk_transfer": p.quantity}}
    if isinstance(event, BlankReserved):
        return {f"lokasi:{p.location_id}": {"stok": -1, "dipesan": 1}}
    if isinstance(event, BlankConsumed):
        return {f"lokasi:{p.location_id}": {"dipesan": -1, "terpakai": 1, used_today: 1}}
    if isinstance(event, BlankSpoiled):
        fields = {"rusak": p.quantity, used_today: p.quantity}
        fields.update({"dipesan": -p.quantity} if p.reservation_id else {"stok": -p.quantity})
        return {f"lokasi:{p.location_id}": fields}
    if isinstance(event, CountCorrected):
        location = current.get(f"lokasi:{p.location_id}", {})
        change = p.counted - int(location.get("dipesan", 0)) - int(location.get("stok", 0))
        return {f"lokasi:{p.location_id}": {"stok": change, "koreksi_opname": change}} if change else {}
    if isinstance(event, SpoiledReturned):
        return {f"lokasi:{p.location_id}": {"dikembalikan": p.quantity}}
    return {}


def used_by_day(buckets: Mapping[str, int]) -> dict[dt.date, int]:
    """The daily use counters ("terpakai_hari": "d20260301" -> blanks) by day."""
    return {dt.datetime.strptime(key, "d%Y%m%d").date(): int(n) for key, n in buckets.items()}


def stock_cover(on_hand: int, used: Mapping[dt.date, int], today: dt.date) -> blangko.StockCover:
    """Use per day and days of stock, shown as rounded, by the one rule in shared.blangko."""
    return blangko.stock_cover(on_hand, used, today=today).rounded()


def days_of_stock(location: Mapping[str, Any], today: dt.date) -> blangko.StockCover:
    """Use per day and days of stock of a projected location, shown as rounded, by the one rule in shared.blangko."""
    return stock_cover(int(location.get("stok", 0)), used_by_day(location.get("terpakai_hari") or {}), today)
