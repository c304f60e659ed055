"""Composition root of the coverage service: the projector and the query API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.coverage.config import CoverageSettings
from services.coverage.consumers import register_consumers
from services.coverage.http import build_router
from services.coverage.store import CoverageStore
from shared.broker import make_broker
from shared.clock import Clock, system_clock
from shared.dead_letter import DeadLetterPolicy
from shared.http import BodySizeLimit, install_error_handlers
from shared.logs import configure_logging
from shared.metrics import ConsumerMetrics, dependency_checks, observability_router
from shared.mongo import make_client

SERVICE = "coverage"


def create_app(
    settings: CoverageSettings | None = None,
    *,
    clock: Clock = system_clock,
) -> FastAPI:
    """The coverage API and its projector. Nothing connects until the app starts."""
    settings = settings or CoverageSettings()
    configure_logging(settings.infra.log_level)
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, SERVICE)
    dead_letters = DeadLetterPolicy(service=SERVICE, metrics=metrics)
    broker = make_broker(settings.infra, service=SERVICE, registry=registry,
                         middlewares=[dead_letters])
    dead_letters.bind(broker.publish)
    mongo = make_client(settings.infra, app_name=SERVICE)
    store = CoverageStore(mongo[settings.infra.mongo_database], settings.collection_prefix)
    if settings.consume:
        register_consumers(broker, store=store, metrics=metrics, group=settings.consumer_group)

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

    app = FastAPI(
        title="Dukcapil Rejang Lebong: Cakupan e-KTP (coverage)",
        description="Cakupan wajib KTP, perekaman dan pencetakan per wilayah, dari semua event.",
        version="1",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.clock = clock

    install_error_handlers(app)
    app.include_router(build_router())
    app.include_router(
        observability_router(registry, service=SERVICE, checks=dependency_checks(broker, mongo))
    )
    app.add_middleware(BodySizeLimit, max_bytes=64 * 1024)
    return app
