"""The one way a service's FastAPI app is assembled: lifespan, office keys, error answers, limits, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi_swagger import patch_fastapi

from shared.audit import AuditTrail
from shared.audit_http import router as audit_router
from shared.auth import OFFICES_COLLECTION, OfficeDirectory
from shared.clock import Clock, system_clock
from shared.http import BodySizeLimit, WriteRateLimit, install_error_handlers, reject_unknown_query_parameters
from shared.metrics import observability_router
from shared.mongo import MongoRequestClaims
from shared.runtime import ServiceRuntime
from shared.settings import RateLimitSettings

DOCS_URL = "/docs"
"""The API page of a service (Swagger UI), its scripts and style under it."""

Hook = Callable[[FastAPI], Awaitable[None]]


def assemble_app(
    *,
    runtime: ServiceRuntime,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    rate_limit: RateLimitSettings,
    max_body_bytes: int,
    body_overrides: dict[str, int] | None = None,
    state: dict[str, Any] | None = None,
    before_start: Sequence[Hook] = (),
    after_start: Sequence[Hook] = (),
    before_stop: Sequence[Hook] = (),
    clock: Clock = system_clock,
    audit: AuditTrail | None = None,
) -> FastAPI:
    """A service's app. `before_start` hooks (indexes, recovery) run before the runtime starts,
    `after_start` hooks (work that may publish) once Kafka is connected, and `before_stop` hooks
    (cancel background work) before it stops. `state` goes on `app.state` next to the office
    `directory` and `write_limit` that `shared.auth.current_office` reads, and the
    `request_claims` and `clock` that `shared.idempotency.answer_once` uses. A service that shows
    personal data passes its `audit` trail: the dinas then asks it who read a resident."""
    directory = OfficeDirectory(runtime.db[OFFICES_COLLECTION])
    claims = MongoRequestClaims(runtime.db[f"{runtime.service}_idempotency"])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await directory.ensure_indexes()
        if audit is not None:
            await audit.ensure_indexes()
        for hook in before_start:
            await hook(app)
        await runtime.start()
        for hook in after_start:
            await hook(app)
        try:
            yield
        finally:
            for hook in before_stop:
                await hook(app)
            await runtime.stop()

    app = _api_app(title, description, lifespan)
    for name, value in (state or {}).items():
        setattr(app.state, name, value)
    app.state.directory = directory
    app.state.request_claims = claims
    app.state.clock = clock
    app.state.write_limit = WriteRateLimit.from_settings(rate_limit, registry=runtime.registry,
                                                         service=runtime.service, db=runtime.db)
    install_error_handlers(app)
    for router in routers:
        app.include_router(router)
    if audit is not None:
        app.state.audit_trail = audit
        app.include_router(audit_router)
    app.include_router(observability_router(runtime.registry, service=runtime.service, checks=runtime.checks()))
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes, overrides=body_overrides)
    return app


def _api_app(title: str, description: str, lifespan: Callable[[FastAPI], Any]) -> FastAPI:
    """The FastAPI app, refusing unknown query parameters, with its API page (/docs) served from the
    Swagger UI files the app carries itself: an office network without the internet still shows it
    (FastAPI's own page loads its scripts from a CDN)."""
    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan,
                  docs_url=None, redoc_url=None, swagger_ui_oauth2_redirect_url=None,
                  dependencies=[Depends(reject_unknown_query_parameters)])
    patch_fastapi(app, docs_url=DOCS_URL, redirect_from_root_to_docs=False, title=f"{app.title}: API",
                  swagger_js_url=f"{DOCS_URL}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_URL}/swagger-ui.css",
                  swagger_favicon_url=f"{DOCS_URL}/favicon-32x32.png")
    return app
