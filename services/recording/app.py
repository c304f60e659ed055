"""Composition root of the recording service: state consumers and the field API."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import Counter, Gauge

from services.recording.config import RecordingSettings
from services.recording.consumers import register_consumers
from services.recording.handlers import RecordingDeps
from services.recording.http import build_router
from services.recording.store import STUCK_STAGES, RecordingStore
from shared.areas import load_areas
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, WriteRateLimit, install_error_handlers
from shared.metrics import observability_router
from shared.publishing import KafkaEventPublisher
from shared.runtime import ServiceRuntime

SERVICE = "recording"


def create_app(settings: RecordingSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The recording API and its consumers. Nothing connects until the app starts."""
    settings = settings or RecordingSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    stale = Counter("ektp_recording_stale_reports_total",
                    "Reports ignored because the resident's status was already further along",
                    ["event_type"], registry=runtime.registry)
    recordings = Counter("ektp_recordings_total",
                         "Recordings applied per kecamatan (hasil: direkam, gagal); lainnya = code outside the regency",
                         ["kecamatan", "hasil"], registry=runtime.registry)
    stuck = Gauge("ektp_residents_stuck",
                  f"Residents in one stage longer than {settings.stuck_days} days, entered within "
                  f"{settings.stuck_window_days} days (stage rekam = SFE, waiting for PRR)",
                  ["stage", "kecamatan"], registry=runtime.registry)
    store = RecordingStore(runtime.db)
    deps = RecordingDeps(publisher=KafkaEventPublisher(runtime.broker), store=store, clock=clock,
                         visit_size=settings.visit_size)
    register_consumers(runtime.broker, deps=deps, metrics=runtime.metrics, dead_letters=runtime.dead_letters,
                       stale=stale, recordings=recordings)

    async def count_stuck() -> None:
        now = clock()
        counts = await store.stuck_counts(before=now - dt.timedelta(days=settings.stuck_days),
                                          after=now - dt.timedelta(days=settings.stuck_window_days))
        for stage in STUCK_STAGES:
            for kecamatan in load_areas().kecamatan:
                stuck.labels(stage, kecamatan).set(counts.get((stage, kecamatan), 0))

    runtime.every(settings.stuck_metric_seconds, count_stuck)
    directory = OfficeDirectory(runtime.db[OFFICES_COLLECTION])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.ensure_indexes()
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(title="Dukcapil Rejang Lebong: Perekaman dan Jemput Bola (recording)",
                  description="Kunjungan jemput bola, kejadian perekaman dari lapangan, dan status SIAK.",
                  version="1", lifespan=lifespan)
    app.state.deps = deps
    app.state.pseudonym_key = settings.infra.pseudonym_key.get_secret_value()
    app.state.directory = directory

    install_error_handlers(app)
    current_office = office_dependency(
        lambda request: request.app.state.directory,
        write_limit=WriteRateLimit.from_settings(settings.rate_limit, registry=runtime.registry, service=SERVICE))
    app.include_router(build_router(current_office, max_batch_events=settings.max_batch_events))
    app.include_router(observability_router(runtime.registry, service=SERVICE, checks=runtime.checks()))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
