"""Stock gauges of the inventory service, recomputed from the ledger on a timer."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.inventory import handlers
from services.inventory.handlers import InventoryDeps


def refusal_counter(registry: CollectorRegistry) -> Counter:
    """Ledger events refused, by event type."""
    return Counter("ektp_blangko_refused_total", "Ledger events refused (e.g. no blank on hand), by event type",
                   ["event_type"], registry=registry)


class StockGauges:
    """Free and reserved blanks, days of stock and low-stock flags per location; ledger balance; print backlog."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.on_hand = Gauge("ektp_blangko_on_hand", "Free blanks at a location", ["location"], registry=registry)
        self.reserved = Gauge("ektp_blangko_reserved", "Blanks reserved for print jobs", ["location"],
                              registry=registry)
        self.days = Gauge("ektp_blangko_days_of_stock", "Days the free stock lasts at recent use (+Inf when unused)",
                          ["location"], registry=registry)
        self.low = Gauge("ektp_blangko_low_stock", "1 when a location has fewer days of stock than the threshold",
                         ["location"], registry=registry)
        self.balanced = Gauge("ektp_blangko_ledger_balanced", "1 when every ledger equation holds", registry=registry)
        self.backlog = Gauge("ektp_print_backlog", "Cards queued and not yet printed, regency-wide", registry=registry)

    async def refresh(self, deps: InventoryDeps) -> None:
        """Set every gauge from the ledger as it is now."""
        for view in await handlers.list_locations(deps=deps):
            self.on_hand.labels(view.location_id).set(view.balance.on_hand)
            self.reserved.labels(view.location_id).set(view.balance.reserved)
            self.days.labels(view.location_id).set(float("inf") if view.days is None else view.days)
            self.low.labels(view.location_id).set(1 if view.low_stock else 0)
        self.balanced.set(1 if (await handlers.check_ledger(deps=deps)).balanced else 0)
        self.backlog.set(await deps.store.backlog_total())
