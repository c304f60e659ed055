"""Composition root of the recording service: state consumers and the field API."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from prometheus_client import Counter, Gauge

from services.recording.config import RecordingSettings
from services.recording.consumers import register_consumers
from services.recording.handlers import RecordingDeps
from services.recording.http import router
from services.recording.store import STUCK_STAGES, RecordingStore
from shared.areas import load_areas
from shared.clock import Clock, system_clock
from shared.runtime import ServiceRuntime
from shared.service_app import assemble_app

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
    for kecamatan in load_areas().kecamatan:  # every series from the start: none recorded yet reads 0, not absent
        for result in ("direkam", "gagal"):
            recordings.labels(kecamatan, result)
    stuck = Gauge("ektp_residents_stuck",
                  f"Residents in one stage longer than {settings.stuck_days} days, entered within "
                  f"{settings.stuck_window_days} days (stage rekam = SFE, waiting for PRR)",
                  ["stage", "kecamatan"], registry=runtime.registry)
    store = RecordingStore(runtime.db)
    deps = RecordingDeps(publisher=runtime.publisher, store=store, clock=clock,
                         visit_size=settings.visit_size, max_batch_events=settings.max_batch_events,
                         visit_days_back=settings.visit_days_back, visit_days_ahead=settings.visit_days_ahead,
                         pseudonym_key=settings.infra.pseudonym_key.get_secret_value())
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

    async def ensure_indexes(_: FastAPI) -> None:
        await store.ensure_indexes()

    return assemble_app(
        runtime=runtime, clock=clock, title="Dukcapil Rejang Lebong: Perekaman dan Jemput Bola (recording)",
        description="Kunjungan jemput bola, kejadian perekaman dari lapangan, dan status SIAK.",
        routers=[router], rate_limit=settings.rate_limit, max_body_bytes=settings.max_body_bytes,
        state={"deps": deps}, before_start=[ensure_indexes], audit=store.audit,
    )
