"""Composition root of the coverage service: the projector, the query API and the dashboard."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.coverage.config import CoverageSettings
from services.coverage.consumers import ProjectionFeed
from services.coverage.dashboard import build_dashboard
from services.coverage.http import build_router
from services.coverage.store import CoverageStore, Meta
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, WriteRateLimit, install_error_handlers
from shared.metrics import observability_router
from shared.runtime import LAG_SECONDS, ServiceRuntime

SERVICE = "coverage"
log = logging.getLogger("ektp.coverage")


def create_app(
    settings: CoverageSettings | None = None,
    *,
    clock: Clock = system_clock,
) -> FastAPI:
    """The coverage API and its projector. Nothing connects until the app starts."""
    settings = settings or CoverageSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    meta = Meta(runtime.db, settings.collection_prefix)
    feed = ProjectionFeed(settings.infra, metrics=runtime.metrics, dead_letters=runtime.dead_letters,
                          registry=runtime.registry)
    directory = OfficeDirectory(runtime.db[OFFICES_COLLECTION])

    async def follow_swaps() -> None:
        """Switch to a projection a rebuild swapped in (its collections and consumer group)."""
        prefix, group = await meta.active(settings.collection_prefix, settings.consumer_group)
        if prefix == app.state.store.prefix:
            return
        store = CoverageStore(runtime.db, prefix)
        await store.ensure_indexes()
        app.state.store = store
        if settings.consume:
            await feed.replace(store, group)
        log.info("coverage now reads projection %s", prefix)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        prefix, group = await meta.active(settings.collection_prefix, settings.consumer_group)
        store = CoverageStore(runtime.db, prefix)
        await store.ensure_indexes()
        app.state.store = store
        if settings.consume:
            feed.attach(store, group)
        runtime.every(settings.swap_check_seconds, follow_swaps)
        runtime.every(LAG_SECONDS, feed.measure_lag)
        await runtime.start()
        if settings.consume:
            await feed.start()
        try:
            yield
        finally:
            if settings.consume:
                await feed.close()
            await runtime.stop()

    app = FastAPI(
        title="Dukcapil Rejang Lebong: Cakupan e-KTP (coverage)",
        description="Cakupan wajib KTP, perekaman dan pencetakan per wilayah, dari semua event; "
                    "dasbor di /dasbor, usulan jemput bola di /planner/visits.",
        version="1",
        lifespan=lifespan,
    )
    app.state.clock = clock
    app.state.directory = directory
    current_office = office_dependency(
        lambda request: request.app.state.directory,
        write_limit=WriteRateLimit.from_settings(settings.rate_limit, registry=runtime.registry, service=SERVICE))

    install_error_handlers(app)
    app.include_router(build_router(current_office))
    app.include_router(build_dashboard())
    app.include_router(
        observability_router(runtime.registry, service=SERVICE, checks=runtime.checks())
    )
    app.add_middleware(BodySizeLimit, max_bytes=64 * 1024)
    return app
