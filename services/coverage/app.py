"""Composition root of the coverage service: the projector, the query API and the dashboard."""

from __future__ import annotations

import logging

from fastapi import FastAPI

from services.coverage.config import CoverageSettings
from services.coverage.consumers import ProjectionFeed
from services.coverage.dashboard import router as dashboard
from services.coverage.http import PUBLIC_BURST, router
from services.coverage.ports import CoverageDeps, ProjectionHolder
from services.coverage.store import AUDIT, CoverageStore, Meta
from shared.audit import AuditTrail
from shared.clock import Clock, system_clock
from shared.http import TokenBuckets
from shared.runtime import LAG_SECONDS, ServiceRuntime
from shared.service_app import assemble_app

SERVICE = "coverage"
log = logging.getLogger("ektp.coverage")


class Projection:
    """The projection in use and its feed: opened at start, swapped when a rebuild finishes, closed at stop."""

    def __init__(self, settings: CoverageSettings, runtime: ServiceRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.meta = Meta(runtime.db, settings.collection_prefix)
        self.feed = ProjectionFeed(settings.infra, metrics=runtime.metrics, dead_letters=runtime.dead_letters,
                                   registry=runtime.registry)
        self.holder = ProjectionHolder()
        self.store: CoverageStore | None = None

    async def _active_store(self) -> tuple[CoverageStore, str]:
        prefix, group = await self.meta.active(self.settings.collection_prefix, self.settings.consumer_group)
        store = self.store if self.store is not None and self.store.prefix == prefix else \
            CoverageStore(self.runtime.db, prefix)
        return store, group

    async def open(self, _: FastAPI) -> None:
        """Read the projection a rebuild may have swapped in and attach the feed to it."""
        store, group = await self._active_store()
        await store.ensure_indexes()
        self.store = self.holder.current = store
        self.runtime.every(self.settings.swap_check_seconds, self.follow_swaps)
        self.runtime.every(LAG_SECONDS, self.feed.measure_lag)
        if self.settings.consume:
            self.feed.attach(store, group)

    async def start(self, _: FastAPI) -> None:
        """Start reading once the broker that parks dead letters is connected."""
        if self.settings.consume:
            await self.feed.start()

    async def follow_swaps(self) -> None:
        """Switch to a projection a rebuild swapped in (its collections and consumer group)."""
        store, group = await self._active_store()
        if store is self.store:
            return
        await store.ensure_indexes()
        self.store = self.holder.current = store
        if self.settings.consume:
            await self.feed.replace(store, group)
        log.info("coverage now reads projection %s", store.prefix)

    async def close(self, _: FastAPI) -> None:
        """Finish the batch in hand and leave the consumer group."""
        if self.settings.consume:
            await self.feed.close()


def create_app(settings: CoverageSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The coverage API and its projector. Nothing connects until the app starts."""
    settings = settings or CoverageSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    projection = Projection(settings, runtime)
    app = assemble_app(
        runtime=runtime, clock=clock,
        title="Dukcapil Rejang Lebong: Cakupan KTP-el (coverage)",
        description="Cakupan wajib KTP, perekaman dan pencetakan per wilayah, dari semua event; "
                    "dasbor di /dasbor, usulan jemput bola di /planner/visits.",
        routers=[router, dashboard], rate_limit=settings.rate_limit, max_body_bytes=64 * 1024,
        state={"deps": CoverageDeps(projection=projection.holder, clock=clock,
                                    pseudonym_key=settings.infra.pseudonym_key.get_secret_value()),
               "status_limit": TokenBuckets(per_minute=settings.status_lookups_per_minute, burst=PUBLIC_BURST)},
        before_start=[projection.open], after_start=[projection.start], before_stop=[projection.close],
        audit=AuditTrail(runtime.db[AUDIT], service=SERVICE),
    )
    return app
