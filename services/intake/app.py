"""Composition root of the intake service: builds clients, routes and the broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.intake.config import IntakeSettings
from services.intake.consumers import register_consumers
from services.intake.handlers import IntakeDeps
from services.intake.http import build_router
from services.intake.imports import ImportJobs
from services.intake.store import AuditLog, RequestLog, Reviews, Roster
from shared.areas import load_areas
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, WriteRateLimit, install_error_handlers
from shared.metrics import observability_router
from shared.publishing import KafkaEventPublisher
from shared.runtime import ServiceRuntime

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The intake API. Nothing connects until the app starts."""
    settings = settings or IntakeSettings()
    runtime = ServiceRuntime.build(settings.infra, service=SERVICE)
    db = runtime.db
    directory = OfficeDirectory(db[OFFICES_COLLECTION])
    roster = Roster(db)
    imports = ImportJobs(db)
    register_consumers(runtime.broker, roster=roster, metrics=runtime.metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await directory.ensure_indexes()
        await roster.ensure_indexes()
        await imports.mark_interrupted()
        await runtime.start()
        try:
            yield
        finally:
            for task in list(app.state.import_tasks):
                task.cancel()
            if app.state.import_tasks:
                await asyncio.wait(app.state.import_tasks, timeout=10)
            await runtime.stop()

    app = FastAPI(
        title="Dukcapil Rejang Lebong: Pendaftaran Penduduk (intake)",
        description="Daftar penduduk wajib KTP per kecamatan; setiap perintah menjadi event Kafka.",
        version="1",
        lifespan=lifespan,
    )
    app.state.deps = IntakeDeps(
        publisher=KafkaEventPublisher(runtime.broker), clock=clock, areas=load_areas(),
        pseudonym_key=settings.infra.pseudonym_key.get_secret_value(), roster=roster, reviews=Reviews(db),
    )
    app.state.requests = RequestLog(db)
    app.state.audit = AuditLog(db)
    app.state.imports = imports
    app.state.import_tasks = set()
    app.state.directory = directory

    install_error_handlers(app)
    current_office = office_dependency(
        lambda request: request.app.state.directory,
        write_limit=WriteRateLimit.from_settings(settings.rate_limit, registry=runtime.registry, service=SERVICE))
    app.include_router(build_router(current_office))
    app.include_router(
        observability_router(runtime.registry, service=SERVICE, checks=runtime.checks())
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       overrides={"/imports": settings.max_upload_bytes})
    return app


