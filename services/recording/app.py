"""Composition root of the recording service: state consumers and the field API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter

from services.recording.config import RecordingSettings
from services.recording.consumers import register_consumers
from services.recording.handlers import RecordingDeps
from services.recording.http import build_router
from services.recording.store import RecordingStore
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.broker import make_broker
from shared.clock import Clock, system_clock
from shared.dead_letter import DeadLetterPolicy
from shared.http import BodySizeLimit, install_error_handlers
from shared.logs import configure_logging
from shared.metrics import ConsumerMetrics, dependency_checks, observability_router
from shared.mongo import make_client
from shared.publishing import KafkaEventPublisher

SERVICE = "recording"


def create_app(settings: RecordingSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The recording API and its consumers. Nothing connects until the app starts."""
    settings = settings or RecordingSettings()
    configure_logging(settings.infra.log_level)
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, SERVICE)
    stale = Counter("ektp_recording_stale_reports_total",
                    "Reports ignored because the resident's status was already further along",
                    ["event_type"], registry=registry)
    dead_letters = DeadLetterPolicy(service=SERVICE, metrics=metrics)
    broker = make_broker(settings.infra, service=SERVICE, registry=registry, middlewares=[dead_letters])
    dead_letters.bind(broker.publish)
    mongo = make_client(settings.infra, app_name=SERVICE)
    db = mongo[settings.infra.mongo_database]
    store = RecordingStore(db)
    deps = RecordingDeps(publisher=KafkaEventPublisher(broker), store=store, clock=clock,
                         visit_size=settings.visit_size)
    register_consumers(broker, deps=deps, metrics=metrics, stale=stale)
    directory = OfficeDirectory(db[OFFICES_COLLECTION])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.ensure_indexes()
        await broker.start()
        try:
            yield
        finally:
            dead_letters.stopping.set()
            await broker.stop()
            await mongo.close()

    app = FastAPI(title="Dukcapil Rejang Lebong: Perekaman dan Jemput Bola (recording)",
                  description="Kunjungan jemput bola, kejadian perekaman dari lapangan, dan status SIAK.",
                  version="1", lifespan=lifespan)
    app.state.deps = deps
    app.state.pseudonym_key = settings.infra.pseudonym_key.get_secret_value()
    app.state.directory = directory

    install_error_handlers(app)
    current_office = office_dependency(lambda request: request.app.state.directory)
    app.include_router(build_router(current_office, max_batch_events=settings.max_batch_events))
    app.include_router(observability_router(registry, service=SERVICE,
                                            checks=dependency_checks(broker, mongo)))
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
