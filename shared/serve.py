"""Runs a service's FastAPI app with uvicorn on its configured host and port."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from shared.logs import MaskNik, configure_logging
from shared.settings import ServiceSettings

# Objects allocated (less those freed) before a young-generation collection; CPython's default is 700.
# A projector batch allocates tens of thousands of short-lived dicts: at 700 the collector ran about
# 650 times in the 2 % drain benchmark (0.15 to 0.2 s of 1.3 s), at 50,000 twice.
GC_YOUNG_THRESHOLD = 50_000


def collect_less_often() -> None:
    """Keep what is loaded so far (modules, settings, the app) out of every later collection and
    collect the young generation less often; called once a process has built what it serves."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def serve(create_app: Callable[[], FastAPI], settings: ServiceSettings, *, name: str,
          paths: str = "docs /docs, metrics /metrics") -> None:
    """Serve until SIGINT/SIGTERM; the app's lifespan stops consumers and closes clients.

    EKTP_ACCESS_LOG=1 logs every request line (the tests set it); a NIK a client put in a URL is
    masked there as in every other log line. With JSON log lines (EKTP_LOG_FORMAT=json, the
    production default) uvicorn's own lines go through the same JSON handler as every other logger.
    """
    access_log = os.environ.get("EKTP_ACCESS_LOG", "") in ("1", "true")
    fmt = settings.infra.effective_log_format
    configure_logging(settings.infra.log_level, fmt=fmt, service=name)
    for logger in ("uvicorn.access", "uvicorn.error"):
        logging.getLogger(logger).addFilter(MaskNik())
    app = create_app()
    collect_less_often()
    listening = f"{name}: http://{settings.host}:{settings.port}  ({paths})"
    if fmt == "json":
        logging.getLogger("ektp.serve").info(listening)
    else:
        print(listening, flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="info" if access_log else "warning",
        access_log=access_log,
        # None: uvicorn installs no handlers of its own, so its lines reach the root's JSON handler.
        log_config=None if fmt == "json" else LOGGING_CONFIG,
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
