"""Runs a service's FastAPI app with uvicorn on its configured host and port."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.logs import MaskNik
from shared.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings, *, name: str) -> None:
    """Serve until SIGINT/SIGTERM; the app's lifespan stops consumers and closes clients.

    EKTP_ACCESS_LOG=1 logs every request line (the tests set it); a NIK a client put in a URL is
    masked there as in every other log line.
    """
    access_log = os.environ.get("EKTP_ACCESS_LOG", "") in ("1", "true")
    for logger in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(logger).addFilter(MaskNik())
    print(f"{name}: http://{settings.host}:{settings.port}  (docs /docs, metrics /metrics)", flush=True)
    uvicorn.run(
        create_app(),
        host=settings.host,
        port=settings.port,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
