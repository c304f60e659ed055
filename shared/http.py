"""HTTP helpers shared by the services: body-size limit, write rate limit (shared by replicas) and errors a clerk
can act on."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException, Request
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry, Counter
from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure, DuplicateKeyError, ExecutionTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.coalescing import Coalescer
from shared.messages_id import field_errors
from shared.settings import RateLimitSettings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodySizeLimit:
    """Answers 413 when a request body is larger than the limit, before reading it all."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    def _limit(self, path: str) -> int:
        for prefix, limit in self.overrides.items():
            if path.startswith(prefix):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit, scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _BodyTooLarge:
            await _too_large(limit, scope, receive, send)


def _too_large_message(limit: int) -> str:
    return f"Isi permintaan terlalu besar: batasnya {limit} byte. Bagi data menjadi beberapa kiriman."


class _BodyTooLarge(HTTPException):
    """Raised while the body is read; an HTTPException so FastAPI answers 413 rather than a parse error."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))
        self.limit = limit


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse({"detail": _too_large_message(limit)}, status_code=413)
    await response(scope, receive, send)


class TokenBuckets:
    """One token bucket per key (an office, a visitor's address): `burst` at once, then `per_minute` a minute."""

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """Take one token for `key`; 0 when allowed, else the seconds until a token is free."""
        now = self.clock()
        tokens, then = self.buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self.buckets[key] = (tokens - 1.0, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


class SharedTokenBuckets:
    """Token buckets kept in the database, one document per key, so every replica of a service draws on
    one budget per office.

    A bucket is stored as the moment it will be full again (`tat`, the "theoretical arrival time" of
    the generic cell rate algorithm, in Unix seconds): a write is allowed when that moment is at most
    `burst - 1` intervals ahead, and moves it one interval (60 / per_minute s) on.

    Draws of one process arriving while an earlier draw is in flight wait and are taken together, n at
    once: one update command of three statements (a bucket in use, a bucket full again, a first bucket)
    moves the bucket n intervals when all n fit, one database round trip for them all, atomic on
    MongoDB per statement and, on the local FerretDB, as a whole (docs/adr/0009). When not all fit, the
    bucket is read, and as many as it still holds are taken with a compare-and-set on the `tat` read;
    the others are refused with the seconds until their token is free (Retry-After). Replicas compare
    their own wall clocks with what the others stored: keep them in sync (NTP); a skew of a second moves
    an office's budget by a second's worth of writes.
    """

    ATTEMPTS = 10

    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, per_minute: int, burst: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.collection = collection
        self.interval = 60.0 / per_minute
        self.burst = burst
        self.tolerance = (burst - 1) * self.interval
        self.clock = clock
        self._draws: Coalescer[str, float] = Coalescer(max_items=10_000)

    async def draw(self, key: str) -> float:
        """Take one token for `key` from the shared bucket; 0 when allowed, else the seconds until a token is
        free. (Not named `take`: a write to the database, which route modules leave to use cases.)"""
        return await self._draws.submit(key, self._draw_together)

    async def _draw_together(self, keys: list[str]) -> list[float | BaseException]:
        wanted: dict[str, int] = {}
        for key in keys:
            wanted[key] = wanted.get(key, 0) + 1
        outcomes = {key: iter(await self._draw_many(key, n)) for key, n in wanted.items()}
        return [next(outcomes[key]) for key in keys]

    async def _draw_many(self, key: str, n: int) -> list[float]:
        """n draws of `key` at once, in order: 0 for each allowed, then the wait of each refused."""
        for _ in range(self.ATTEMPTS):
            now = self.clock()
            if n <= self.burst and await self._take_all(key, n, now):
                return [0.0] * n
            bucket = await self.collection.find_one({"_id": key})
            stored = None if bucket is None else float(bucket["tat"])
            base = now if stored is None else max(stored, now)
            fits = max(0, min(n, math.floor((now + self.tolerance - base) / self.interval + 1e-9) + 1))
            after = base + fits * self.interval
            if fits and stored is None:
                try:
                    await self.collection.insert_one({"_id": key, "tat": after})
                except DuplicateKeyError:
                    continue  # another replica made the bucket at the same moment: read it again
            elif fits and not (await self.collection.update_one(
                    {"_id": key, "tat": stored}, {"$set": {"tat": after}})).modified_count:
                continue  # another draw moved the bucket between the read and the write: read it again
            wait = after - self.tolerance - now
            if fits == n or wait > 0:
                return [0.0] * fits + [wait] * (n - fits)
        # The bucket kept changing under these draws (replicas racing for it): refuse them for one interval.
        return [self.interval] * n

    async def _take_all(self, key: str, n: int, now: float) -> bool:
        """Move the bucket n intervals when all n tokens fit; False when they do not (or a first bucket of
        the key was made by another replica at the same moment)."""
        ahead = now + n * self.interval
        try:
            result = await self.collection.bulk_write([
                UpdateOne({"_id": key, "tat": {"$gte": now, "$lte": now + self.tolerance - (n - 1) * self.interval}},
                          {"$inc": {"tat": n * self.interval}}),
                UpdateOne({"_id": key, "tat": {"$lt": now}}, {"$set": {"tat": ahead}}),
                UpdateOne({"_id": key}, {"$setOnInsert": {"tat": ahead}}, upsert=True),
            ], ordered=True)
        except BulkWriteError:
            return False
        return bool(result.modified_count or result.upserted_count)


class WriteRateLimit:
    """A token bucket per office for write requests: a runaway client gets 429, clerks never notice.

    Each office may make `burst` writes at once and `per_minute` writes a minute after that. Reads
    are not limited. Refusals are counted per service and route template, never per office. With
    `shared` buckets (the database's) the budget is one for every replica of the service; without,
    each process counts its own.
    """

    def __init__(
        self, *, per_minute: int, burst: int, registry: CollectorRegistry, service: str,
        clock: Callable[[], float] = time.monotonic, shared: SharedTokenBuckets | None = None,
    ) -> None:
        self.buckets = TokenBuckets(per_minute=per_minute, burst=burst, clock=clock)
        self.shared = shared
        self.service = service
        self.refused = Counter(
            "ektp_http_rate_limited_total", "Write requests refused with 429 because an office sent too many",
            ["service", "route"], registry=registry,
        )

    @classmethod
    def from_settings(cls, settings: RateLimitSettings, *, registry: CollectorRegistry, service: str,
                      db: AsyncDatabase[dict[str, Any]] | None = None) -> WriteRateLimit:
        """The limit of `service`, its buckets in `db` (`<service>_rate_limits`) when settings share them."""
        shared = SharedTokenBuckets(db[f"{service}_rate_limits"], per_minute=settings.writes_per_minute,
                                    burst=settings.burst) if settings.shared and db is not None else None
        return cls(per_minute=settings.writes_per_minute, burst=settings.burst, registry=registry, service=service,
                   shared=shared)

    def take(self, office_id: str) -> float:
        """Take one token for the office from this process's buckets; 0 when allowed, else the seconds until
        a token is free."""
        return self.buckets.take(office_id)

    def check(self, request: Request, office_id: str) -> None:
        """Answer 429 with Retry-After (whole seconds) when the office has used up this process's writes."""
        if request.method in WRITE_METHODS:
            self._refuse_after(request, self.take(office_id))

    async def admit(self, request: Request, office_id: str) -> None:
        """Answer 429 with Retry-After when the office has used up its writes: from the shared buckets when
        there are any, else this process's."""
        if request.method not in WRITE_METHODS:
            return
        wait = await self.shared.draw(office_id) if self.shared is not None else self.take(office_id)
        self._refuse_after(request, wait)

    def _refuse_after(self, request: Request, wait: float) -> None:
        if wait <= 0:
            return
        route = getattr(request.scope.get("route"), "path", "lainnya")
        self.refused.labels(self.service, route).inc()
        seconds = max(1, math.ceil(wait))
        raise HTTPException(
            429,
            f"Terlalu banyak permintaan dari kantor ini dalam waktu singkat. Coba lagi dalam {seconds} detik.",
            headers={"Retry-After": str(seconds)},
        )


def _field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    return field_errors(exc.errors())


UNAVAILABLE_RETRY_SECONDS = 10
_QUERY_NAMES: dict[int, frozenset[str]] = {}


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def _declared_query_names(route: APIRoute) -> frozenset[str]:
    names = _QUERY_NAMES.get(id(route))
    if names is None:
        names = _QUERY_NAMES[id(route)] = frozenset(_query_names(route.dependant))
    return names


async def reject_unknown_query_parameters(request: Request) -> None:
    """A query parameter the route does not take is refused (422), so a mistyped filter
    (`?kecamtan=`) is not silently ignored and answered as if there were no filter."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    unknown = sorted(set(request.query_params) - _declared_query_names(route))
    if unknown:
        raise RequestValidationError([{"loc": ("query", name), "type": "extra_forbidden",
                                       "msg": "parameter ini tidak dikenal oleh rute ini"} for name in unknown])


def kafka_unavailable(what: str = "data") -> HTTPException:
    """The 503 for a write Kafka did not confirm: nothing is stored, sending it again is safe."""
    return HTTPException(
        503, f"Kafka tidak tersedia: {what} BELUM tersimpan. Kirim ulang sebentar lagi (dengan Idempotency-Key "
             "yang sama bila ada).",
        headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
    )


VALIDATION_SUMMARY = "Data tidak valid: periksa kolom yang disebut."
# FastAPI's own English answers, by status and text; a route's own detail is never replaced.
FRAMEWORK_ANSWERS: dict[tuple[int, str], str] = {
    (404, "Not Found"): "Alamat tidak ditemukan: periksa alamat dan ejaannya (daftar alamat ada di /docs).",
    (405, "Method Not Allowed"): "Metode tidak diizinkan untuk alamat ini: lihat header Allow untuk metode yang boleh.",
    (400, "There was an error parsing the body"):
        "Isi permintaan tidak dapat dibaca: kirim JSON dalam UTF-8 dengan Content-Type: application/json.",
}


def _in_validation_shape(detail: Any) -> dict[str, Any] | None:
    """A refusal raised as {"message": ..., "errors": [...]} answers like a refused field does:
    {"detail": message, "errors": [...]}; None for any other detail."""
    if isinstance(detail, dict) and isinstance(detail.get("message"), str) and isinstance(detail.get("errors"), list):
        return {"detail": detail["message"], "errors": detail["errors"],
                **{k: v for k, v in detail.items() if k not in ("message", "errors")}}
    return None


async def _http_refusal(request: Request, exc: StarletteHTTPException) -> Response:
    """FastAPI's answer for an HTTPException, with the framework's English texts in Indonesian and a
    422 that lists fields in the one validation shape."""
    text = FRAMEWORK_ANSWERS.get((exc.status_code, exc.detail)) if isinstance(exc.detail, str) else None
    if text is not None:
        exc = StarletteHTTPException(exc.status_code, text, headers=exc.headers)
    shaped = _in_validation_shape(exc.detail) if exc.status_code == 422 else None
    if shaped is not None:
        return JSONResponse(shaped, status_code=422, headers=exc.headers)
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """422 answers name each field and the reason in Indonesian, without echoing the submitted values,
    always as {"detail": summary, "errors": [{"field", "reason"}]}. An unknown address (404), a method
    the address does not take (405) and an unreadable body (400) are answered in Indonesian too.

    When Kafka or the database cannot be reached the answer is 503 with Retry-After: nothing of
    the request is confirmed, and sending it again (with the same Idempotency-Key) is safe.
    """

    @app.exception_handler(KafkaError)
    async def _kafka_down(_: Request, exc: KafkaError) -> JSONResponse:
        answer = kafka_unavailable()
        return JSONResponse({"detail": answer.detail}, status_code=answer.status_code, headers=answer.headers)

    async def _database_down(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"detail": "Basis data tidak tersedia: permintaan BELUM selesai. Kirim ulang sebentar lagi "
                       "(dengan Idempotency-Key yang sama)."},
            status_code=503, headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)},
        )

    for unreachable in (ConnectionFailure, ExecutionTimeout):
        app.add_exception_handler(unreachable, _database_down)

    app.add_exception_handler(StarletteHTTPException, _http_refusal)  # type: ignore[arg-type]

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": VALIDATION_SUMMARY, "errors": _field_errors(exc)}, status_code=422)
