"""Composition root of the inventory service: the blangko ledger consumer, its API and stock gauges."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import Counter, Gauge

from services.inventory import domain
from services.inventory.config import InventorySettings
from services.inventory.consumers import register_consumers
from services.inventory.handlers import InventoryDeps, views_of
from services.inventory.http import build_router
from services.inventory.store import InventoryStore
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, WriteRateLimit, install_error_handlers
from shared.metrics import observability_router
from shared.publishing import KafkaEventPublisher
from shared.runtime import ServiceRuntime
from shared.stations import load_stations

SERVICE = "inventory"


def create_app(settings: InventorySettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The inventory API and its consumers. Nothing connects until the app starts."""
    settings = settings or InventorySettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    names = load_stations().locations
    store = InventoryStore(runtime.db)
    deps = InventoryDeps(store=store, publisher=KafkaEventPublisher(runtime.broker), clock=clock,
                         consumption_window_days=settings.consumption_window_days, cover_days=settings.cover_days,
                         low_stock_days=settings.low_stock_days)
    refused = Counter("ektp_blangko_refused_total", "Ledger events refused (e.g. no blank on hand), by event type",
                      ["event_type"], registry=runtime.registry)
    on_hand = Gauge("ektp_blangko_on_hand", "Free blanks at a location", ["location"], registry=runtime.registry)
    reserved = Gauge("ektp_blangko_reserved", "Blanks reserved for print jobs", ["location"], registry=runtime.registry)
    days = Gauge("ektp_blangko_days_of_stock", "Days the free stock lasts at recent use (+Inf when unused)",
                 ["location"], registry=runtime.registry)
    low = Gauge("ektp_blangko_low_stock", "1 when a location has fewer days of stock than the threshold",
                ["location"], registry=runtime.registry)
    balanced = Gauge("ektp_blangko_ledger_balanced", "1 when every ledger equation holds", registry=runtime.registry)
    backlog = Gauge("ektp_print_backlog", "Cards queued and not yet printed, regency-wide", registry=runtime.registry)

    async def refresh_gauges() -> None:
        docs = await store.all_locations()
        for view in views_of(docs, deps, names):
            location = view["lokasi"]
            on_hand.labels(location).set(view["ada"])
            reserved.labels(location).set(view["dipesan"])
            days.labels(location).set(float("inf") if view["hari_stok"] is None else view["hari_stok"])
            low.labels(location).set(1 if view["stok_menipis"] else 0)
        balanced.set(1 if domain.check_regency(domain.Balance.from_doc(d["_id"], d) for d in docs).balanced else 0)
        backlog.set(await store.backlog_total())

    runtime.every(settings.gauge_refresh_seconds, refresh_gauges)
    register_consumers(runtime.broker, deps=deps, metrics=runtime.metrics, refusals=refused)
    directory = OfficeDirectory(runtime.db[OFFICES_COLLECTION])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.ensure_indexes()
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Dukcapil Rejang Lebong: Stok Blangko KTP-el (inventory)",
                  description="Buku stok blangko per lokasi: penerimaan, transfer, pemesanan untuk cetak, pemakaian, "
                              "kerusakan, stock opname, pengembalian, dan usulan ke provinsi.",
                  version="1", lifespan=lifespan)
    app.state.deps = deps
    app.state.directory = directory
    install_error_handlers(app)
    current_office = office_dependency(
        lambda request: request.app.state.directory,
        write_limit=WriteRateLimit.from_settings(settings.rate_limit, registry=runtime.registry, service=SERVICE))
    app.include_router(build_router(current_office, names=names, answer_timeout=settings.answer_timeout_seconds))
    app.include_router(observability_router(runtime.registry, service=SERVICE, checks=runtime.checks()))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
