"""Composition root of the intake service: builds clients, routes and the broker."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.intake.config import IntakeSettings
from services.intake.consumers import register_consumers
from services.intake.handlers import IntakeDeps
from services.intake.http import build_router
from services.intake.imports import ImportJobs
from services.intake.store import AuditLog, RequestLog, Reviews, Roster
from shared.areas import load_areas
from shared.auth import OFFICES_COLLECTION, OfficeDirectory, office_dependency
from shared.broker import make_broker
from shared.clock import Clock, system_clock
from shared.dead_letter import DeadLetterPolicy
from shared.http import BodySizeLimit, install_error_handlers
from shared.logs import configure_logging
from shared.metrics import ConsumerMetrics, dependency_checks, observability_router
from shared.mongo import make_client
from shared.publishing import KafkaEventPublisher

SERVICE = "intake"


def create_app(settings: IntakeSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    """The intake API. Nothing connects until the app starts."""
    settings = settings or IntakeSettings()
    configure_logging(settings.infra.log_level)
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, SERVICE)
    dead_letters = DeadLetterPolicy(service=SERVICE, metrics=metrics)
    broker = make_broker(settings.infra, service=SERVICE, registry=registry, middlewares=[dead_letters])
    dead_letters.bind(broker.publish)
    mongo = make_client(settings.infra, app_name=SERVICE)
    db = mongo[settings.infra.mongo_database]
    directory = OfficeDirectory(db[OFFICES_COLLECTION])
    roster = Roster(db)
    imports = ImportJobs(db)
    register_consumers(broker, roster=roster, metrics=metrics)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await directory.ensure_indexes()
        await roster.ensure_indexes()
        await imports.mark_interrupted()
        await broker.start()
        try:
            yield
        finally:
            for task in list(app.state.import_tasks):
                task.cancel()
            if app.state.import_tasks:
                await asyncio.wait(app.state.import_tasks, timeout=10)
            dead_letters.stopping.set()
            await broker.stop()
            await mongo.close()

    app = FastAPI(
        title="Dukcapil Rejang Lebong: Pendaftaran Penduduk (intake)",
        description="Daftar penduduk wajib KTP per kecamatan; setiap perintah menjadi event Kafka.",
        version="1",
        lifespan=lifespan,
    )
    app.state.deps = IntakeDeps(
        publisher=KafkaEventPublisher(broker), clock=clock, areas=load_areas(),
        pseudonym_key=settings.infra.pseudonym_key.get_secret_value(), roster=roster, reviews=Reviews(db),
    )
    app.state.requests = RequestLog(db)
    app.state.audit = AuditLog(db)
    app.state.imports = imports
    app.state.import_tasks = set()
    app.state.directory = directory

    install_error_handlers(app)
    current_office = office_dependency(lambda request: request.app.state.directory)
    app.include_router(build_router(current_office))
    app.include_router(
        observability_router(registry, service=SERVICE, checks=dependency_checks(broker, mongo))
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes,
                       overrides={"/imports": settings.max_upload_bytes})
    return app


