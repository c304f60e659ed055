"""Composition root of the recording service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.recording.config import RecordingSettings
from shared.broker import make_broker
from shared.logs import configure_logging
from shared.metrics import observability_router

SERVICE = "recording"


def create_app(settings: RecordingSettings | None = None) -> FastAPI:
    """The recording API: health and metrics, with its Kafka connection checked."""
    settings = settings or RecordingSettings()
    configure_logging(settings.infra.log_level)
    registry = CollectorRegistry()
    broker = make_broker(settings.infra, service=SERVICE, registry=registry)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()

    app = FastAPI(title="Dukcapil Rejang Lebong: Perekaman dan Jemput Bola (recording)", version="1", lifespan=lifespan)

    async def kafka_ok() -> bool:
        return await broker.ping(timeout=2.0)

    app.include_router(observability_router(registry, service=SERVICE, checks={"kafka": kafka_ok}))
    return app
