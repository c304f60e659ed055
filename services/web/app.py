"""The web app: pages for people, its own static files, metrics and health."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.web.accounts import ACCOUNTS_COLLECTION, Accounts
from services.web.audit import WEB_AUDIT_COLLECTION, WebAudit
from services.web.config import WebSettings
from services.web.context import Refused, SignInNeeded, Web, page
from services.web.gateway import Gateway, ServiceUnreachable
from services.web.pages import (
    areas,
    blangko,
    dashboard,
    dinas,
    field,
    home,
    imports,
    residents,
    roster,
    siak,
    sign_in,
    station,
    status,
    visits,
)
from services.web.sessions import SESSION_COOKIE, SESSIONS_COLLECTION, Sessions
from shared.areas import load_areas
from shared.clock import Clock, system_clock
from shared.http import TokenBuckets
from shared.logs import configure_logging
from shared.messages_id import field_errors
from shared.metrics import observability_router
from shared.mongo import make_client

STATIC = Path(__file__).parent / "static"
PAGES = (sign_in, status, home, dashboard, residents, roster, imports, visits, field, areas, dinas, blangko, siak, station)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; "
                               "base-uri 'self'; form-action 'self'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
}
JSON_PATHS = ("/lapangan/api/", "/penduduk/periksa-nik")
PAGE_ANSWERS = {404: "Halaman tidak ditemukan: periksa alamatnya, atau kembali ke beranda.",
                405: "Alamat ini tidak menerima cara kirim tersebut."}


def create_app(settings: WebSettings | None = None, *, clock: Clock = system_clock) -> FastAPI:
    settings = settings or WebSettings()
    configure_logging(settings.infra.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    mongo = make_client(settings.infra, app_name="web")
    db = mongo[settings.infra.mongo_database]
    registry = CollectorRegistry()
    web = Web(
        settings=settings,
        accounts=Accounts(db[ACCOUNTS_COLLECTION], lockout_after=settings.lockout_after,
                          lockout=dt.timedelta(minutes=settings.lockout_minutes)),
        sessions=Sessions(db[SESSIONS_COLLECTION], idle=dt.timedelta(minutes=settings.idle_minutes)),
        audit=WebAudit(db[WEB_AUDIT_COLLECTION]),
        gateway=Gateway(settings.service_urls, key=settings.service_key.get_secret_value()),
        clock=clock, registry=registry,
        sign_ins=Counter("ektp_web_sign_ins_total", "Sign-in attempts by outcome", ["outcome"], registry=registry),
        status_lookups=Counter("ektp_web_status_lookups_total", "Public KTP-el status lookups by stage answered",
                               ["stage"], registry=registry),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await web.sessions.ensure_indexes()
        await web.audit.ensure_indexes()
        try:
            yield
        finally:
            await web.gateway.close()
            await mongo.close()

    app = FastAPI(title="KTP-el jemput bola: aplikasi web", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.web = web
    app.state.areas = load_areas()
    app.state.status_limit = TokenBuckets(per_minute=settings.status_lookups_per_minute, burst=status.BURST)
    for module in PAGES:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    async def mongo_ok() -> bool:
        await mongo.admin.command("ping")
        return True

    app.include_router(observability_router(registry, service="web", checks={"mongo": mongo_ok}))
    _install_answers(app)
    return app


def _install_answers(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": "Sesi berakhir atau belum masuk: masuk lagi."}, status_code=401)
        response = RedirectResponse("/masuk?habis=1" if exc.idle else "/masuk", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=exc.status)
        return await _refusal_page(request, exc.status, exc.message)

    @app.exception_handler(ServiceUnreachable)
    async def _unreachable(request: Request, exc: ServiceUnreachable) -> Response:
        if _wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=503)
        return await _refusal_page(request, 503, exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return await _refusal_page(request, exc.status_code, PAGE_ANSWERS.get(exc.status_code, str(exc.detail)))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"detail": "Data tidak valid: periksa kolom yang disebut.",
                             "errors": field_errors(exc.errors())}, status_code=422)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _wants_json(request: Request) -> bool:
    """The pages' scripts call these addresses and read JSON answers, refusals included."""
    path = request.url.path
    return path.startswith(JSON_PATHS) or path.endswith("/kemajuan")


async def _refusal_page(request: Request, status: int, message: str) -> Any:
    from services.web.context import signed_in

    try:
        visitor = await signed_in(request)
    except SignInNeeded:
        visitor = None
    return page(request, "refused.html", visitor, status=status, message=message)
