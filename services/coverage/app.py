"""Composition root of the coverage service: the projector and the query API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.coverage.config import CoverageSettings
from services.coverage.consumers import register_consumers
from services.coverage.http import build_router
from services.coverage.store import CoverageStore
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, install_error_handlers
from shared.metrics import observability_router
from shared.runtime import ServiceRuntime

SERVICE = "coverage"


def create_app(
    settings: CoverageSettings | None = None,
    *,
    clock: Clock = system_clock,
) -> FastAPI:
    """The coverage API and its projector. Nothing connects until the app starts."""
    settings = settings or CoverageSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    store = CoverageStore(runtime.db, settings.collection_prefix)
    if settings.consume:
        register_consumers(runtime.broker, store=store, metrics=runtime.metrics, group=settings.consumer_group)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await store.ensure_indexes()
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

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
        observability_router(runtime.registry, service=SERVICE, checks=runtime.checks())
    )
    app.add_middleware(BodySizeLimit, max_bytes=64 * 1024)
    return app
