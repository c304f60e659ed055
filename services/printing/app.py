"""Composition root of the printing service: the print queue consumers, the dispatcher sweep and the API."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import Gauge, Histogram

from services.printing.config import PrintingSettings
from services.printing.consumers import register_consumers
from services.printing.handlers import PrintingDeps, sweep
from services.printing.http import build_router
from services.printing.store import JobStatus, PrintingStore
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, WriteRateLimit, install_error_handlers
from shared.metrics import observability_router
from shared.publishing import KafkaEventPublisher
from shared.runtime import ServiceRuntime
from shared.stations import load_stations

SERVICE = "printing"
HOUR = 3600.0
READY_TO_PRINTED_BUCKETS = (HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 72 * HOUR, 7 * 24 * HOUR,
                            14 * 24 * HOUR, 30 * 24 * HOUR, 60 * 24 * HOUR, float("inf"))


def create_app(settings: PrintingSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The printing API and its consumers. Nothing connects until the app starts."""
    settings = settings or PrintingSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    store = PrintingStore(runtime.db)
    ready_to_printed = Histogram(
        "ektp_print_ready_to_printed_seconds", "Time from print-ready (PRR, print requested) to the card printed",
        ["station"], buckets=READY_TO_PRINTED_BUCKETS, registry=runtime.registry)
    deps = PrintingDeps(store=store, publisher=KafkaEventPublisher(runtime.broker), clock=clock,
                        stations=load_stations(), priority_order=settings.priority_order,
                        voter_target_date=settings.voter_target_date,
                        reservation_resend_seconds=settings.reservation_resend_seconds,
                        on_printed=lambda station, seconds: ready_to_printed.labels(station).observe(seconds))
    register_consumers(runtime.broker, deps=deps, metrics=runtime.metrics)
    depth = Gauge("ektp_print_queue_depth", "Print jobs per station and status (menunggu_blangko, siap_cetak)",
                  ["station", "status"], registry=runtime.registry)
    waiting = Gauge("ektp_print_station_waiting_for_stock", "1 when a station's queue waits for blanks",
                    ["station"], registry=runtime.registry)
    heartbeat_age = Gauge("ektp_print_station_heartbeat_age_seconds",
                          "Seconds since a station worker last said it is alive (stations that ever ran)",
                          ["station"], registry=runtime.registry)
    directory = OfficeDirectory(runtime.db[OFFICES_COLLECTION])

    async def sweep_and_measure() -> None:
        await sweep(deps)
        depths = await store.queue_depths()
        for station_id in deps.stations.stations:
            for status in (JobStatus.MENUNGGU_BLANGKO, JobStatus.SIAP_CETAK):
                depth.labels(station_id, status.value).set(depths.get(station_id, {}).get(status.value, 0))
            state = await store.station(station_id)
            waiting.labels(station_id).set(1 if state.get("waiting_for_stock") else 0)
            if isinstance(state.get("heartbeat_at"), dt.datetime):
                heartbeat_age.labels(station_id).set(max(0.0, (clock() - state["heartbeat_at"]).total_seconds()))

    runtime.every(settings.sweep_seconds, sweep_and_measure)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.ensure_indexes()
        await store.rerank([c.value for c in settings.priority_order])
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Dukcapil Rejang Lebong: Pencetakan KTP-el (printing)",
                  description="Antrean cetak per stasiun dengan prioritas, cetak ulang, pengiriman ke sekolah dan "
                              "penyerahan kartu. Pekerja stasiun: `python -m services.printing.station --station <id>`.",
                  version="1", lifespan=lifespan)
    app.state.deps = deps
    app.state.directory = directory
    install_error_handlers(app)
    current_office = office_dependency(
        lambda request: request.app.state.directory,
        write_limit=WriteRateLimit.from_settings(settings.rate_limit, registry=runtime.registry, service=SERVICE))
    app.include_router(build_router(current_office))
    app.include_router(observability_router(runtime.registry, service=SERVICE, checks=runtime.checks()))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
