"""Composition root of the inventory service: the blangko ledger consumer, its API and stock gauges."""

from __future__ import annotations

from fastapi import FastAPI

from services.inventory.config import InventorySettings
from services.inventory.consumers import register_consumers
from services.inventory.handlers import InventoryDeps
from services.inventory.http import router
from services.inventory.metrics import StockGauges, refusal_counter
from services.inventory.store import InventoryStore
from shared.clock import Clock, system_clock
from shared.runtime import ServiceRuntime
from shared.service_app import assemble_app
from shared.stations import load_stations

SERVICE = "inventory"


def create_app(settings: InventorySettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The inventory API and its consumers. Nothing connects until the app starts."""
    settings = settings or InventorySettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    store = InventoryStore(runtime.db)
    deps = InventoryDeps(store=store, publisher=runtime.publisher, clock=clock,
                         names=load_stations().locations, consumption_window_days=settings.consumption_window_days,
                         cover_days=settings.cover_days, low_stock_days=settings.low_stock_days,
                         answer_timeout=settings.answer_timeout_seconds)
    gauges = StockGauges(runtime.registry)

    async def refresh_gauges() -> None:
        await gauges.refresh(deps)

    async def ensure_indexes(_: FastAPI) -> None:
        await store.ensure_indexes()

    runtime.every(settings.gauge_refresh_seconds, refresh_gauges)
    register_consumers(runtime.broker, deps=deps, metrics=runtime.metrics, refusals=refusal_counter(runtime.registry))
    return assemble_app(
        runtime=runtime, clock=clock,
        title="Dukcapil Rejang Lebong: Stok Blangko KTP-el (inventory)",
        description="Buku stok blangko per lokasi: penerimaan, transfer, pemesanan untuk cetak, pemakaian, "
                    "kerusakan, stock opname, pengembalian, dan usulan ke provinsi.",
        routers=[router], rate_limit=settings.rate_limit, max_body_bytes=settings.max_body_bytes,
        state={"deps": deps}, before_start=[ensure_indexes],
    )
