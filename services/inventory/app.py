"""Composition root of the inventory service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from services.inventory.config import InventorySettings
from shared.broker import make_broker
from shared.logs import configure_logging
from shared.metrics import dependency_checks, observability_router

SERVICE = "inventory"


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    """The inventory API: health and metrics, with its Kafka connection checked."""
    settings = settings or InventorySettings()
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

    app = FastAPI(title="Dukcapil Rejang Lebong: Persediaan Blangko (inventory)", version="1", lifespan=lifespan)

    app.include_router(observability_router(registry, service=SERVICE, checks=dependency_checks(broker)))
    return app
