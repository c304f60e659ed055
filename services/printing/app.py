"""Composition root of the printing service: the print queue consumers, the dispatcher sweep and the API."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Gauge, Histogram

from services.printing import handlers
from services.printing.config import PrintingSettings
from services.printing.consumers import register_consumers
from services.printing.domain import JobStatus
from services.printing.handlers import PrintingDeps, StationView
from services.printing.http import router
from services.printing.store import PrintingStore
from shared.clock import Clock, system_clock
from shared.runtime import ServiceRuntime
from shared.service_app import assemble_app
from shared.stations import load_stations

SERVICE = "printing"
HOUR = 3600.0
READY_TO_PRINTED_BUCKETS = (HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR, 48 * HOUR, 72 * HOUR, 7 * 24 * HOUR,
                            14 * 24 * HOUR, 30 * 24 * HOUR, 60 * 24 * HOUR, float("inf"))


class StationGauges:
    """Queue depth, waiting for stock and heartbeat age per station, set after every sweep."""

    def __init__(self, registry: CollectorRegistry, clock: Clock) -> None:
        self.clock = clock
        self.depth = Gauge("ektp_print_queue_depth", "Print jobs per station and status (menunggu_blangko, siap_cetak)",
                           ["station", "status"], registry=registry)
        self.waiting = Gauge("ektp_print_station_waiting_for_stock", "1 when a station's queue waits for blanks",
                             ["station"], registry=registry)
        self.heartbeat_age = Gauge("ektp_print_station_heartbeat_age_seconds",
                                   "Seconds since a station worker last said it is alive (stations that ever ran)",
                                   ["station"], registry=registry)

    def show(self, views: list[StationView]) -> None:
        """Set the gauges from the stations as a sweep left them."""
        for view in views:
            self.depth.labels(view.station_id, JobStatus.MENUNGGU_BLANGKO.value).set(view.waiting_for_blanks)
            self.depth.labels(view.station_id, JobStatus.SIAP_CETAK.value).set(view.ready_to_print)
            self.waiting.labels(view.station_id).set(1 if view.waiting_for_stock else 0)
            if view.heartbeat_at is not None:
                age = (self.clock() - view.heartbeat_at).total_seconds()
                self.heartbeat_age.labels(view.station_id).set(max(0.0, age))


def create_app(settings: PrintingSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The printing API and its consumers. Nothing connects until the app starts."""
    settings = settings or PrintingSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    store = PrintingStore(runtime.db)
    ready_to_printed = Histogram(
        "ektp_print_ready_to_printed_seconds", "Time from print-ready (PRR, print requested) to the card printed",
        ["station"], buckets=READY_TO_PRINTED_BUCKETS, registry=runtime.registry)
    deps = PrintingDeps(store=store, publisher=runtime.publisher, clock=clock,
                        stations=load_stations(), priority_order=settings.priority_order,
                        voter_target_date=settings.voter_target_date,
                        reservation_resend_seconds=settings.reservation_resend_seconds,
                        on_printed=lambda station, seconds: ready_to_printed.labels(station).observe(seconds))
    register_consumers(runtime.broker, deps=deps, metrics=runtime.metrics, dead_letters=runtime.dead_letters)
    gauges = StationGauges(runtime.registry, clock)

    async def sweep_and_measure() -> None:
        gauges.show(await handlers.sweep(deps=deps))

    runtime.every(settings.sweep_seconds, sweep_and_measure)

    async def prepare(_: FastAPI) -> None:
        await store.ensure_indexes()
        await handlers.apply_priority_order(deps=deps)

    return assemble_app(
        runtime=runtime, clock=clock,
        title="Dukcapil Rejang Lebong: Pencetakan KTP-el (printing)",
        description="Antrean cetak per stasiun dengan prioritas, cetak ulang, pengiriman ke sekolah dan "
                    "penyerahan kartu. Pekerja stasiun: `python -m services.printing.station --station <id>`.",
        routers=[router], rate_limit=settings.rate_limit, max_body_bytes=settings.max_body_bytes,
        state={"deps": deps}, before_start=[prepare], audit=store.audit)
