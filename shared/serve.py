"""Runs a service's FastAPI app with uvicorn on its configured host and port."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings, *, name: str) -> None:
    """Serve until SIGINT/SIGTERM; the app's lifespan stops consumers and closes clients."""
    print(f"{name}: http://{settings.host}:{settings.port}  (docs /docs, metrics /metrics)", flush=True)
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
