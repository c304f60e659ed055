"""The one idempotency convention of every write route: `Idempotency-Key`, per office, bound to the body.

- The key is scoped to the office and the route: two offices (or two routes) may use the same
  key without meeting. The command's event id is derived from (office, route, key), so a retry
  publishes the same event id and consumers apply it once.
- The key is bound to the request body: the same key with another body is refused (409), never
  answered with the first body's result.
- Two identical requests at the same moment have one effect: the first claims the key; the
  second waits for the first answer and gets it (marked `Idempotent-Replay: true`).
- A claim whose request died before answering is taken over after `STALE_CLAIM_SECONDS`.
- Without the header every request is new (and gets a random event id).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

from fastapi import Header, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

REQUEST_NAMESPACE = uuid.UUID("6f1c2b8e-3a55-4c8e-9d0b-7a1e2f3c4d5e")
STALE_CLAIM_SECONDS = 60.0
WAIT_FOR_FIRST_SECONDS = 15.0
POLL_SECONDS = 0.05
KEY_PATTERN = r"^[A-Za-z0-9._:\-]{1,100}$"
REUSED_MESSAGE = "Idempotency-Key ini sudah dipakai untuk data lain; gunakan kunci baru untuk data baru."
IN_PROGRESS_MESSAGE = "Permintaan dengan Idempotency-Key ini masih diproses; kirim ulang sebentar lagi."

IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=100, pattern=KEY_PATTERN,
           description="Kunci unik per permintaan (huruf, angka, . _ : -; maks. 100). Permintaan yang diulang "
                       "dengan kunci dan isi yang sama mendapat jawaban pertama tanpa efek kedua; kunci yang sama "
                       "dengan isi lain ditolak (409). Berlaku per kantor dan per rute."),
]


@dataclass(frozen=True)
class Answer:
    """What a command answered: the HTTP status and the JSON body."""

    status: int
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Remembered:
    """A claimed key as stored: its body's fingerprint, and the answer once there is one."""

    fingerprint: str
    answer: Answer | None
    claimed_at: dt.datetime


class KeyReusedForOtherData(Exception):
    """The key was used before with another body."""


class StillInProgress(Exception):
    """The first request with this key has not answered yet."""


class RequestClaims(Protocol):
    """Where claimed keys and their answers are kept (a MongoDB collection in the services)."""

    async def claim(self, request_id: str, *, fingerprint: str, now: dt.datetime) -> Remembered | None:
        """Claim the id; None when claimed now, else what is remembered for it."""

    async def take_over(self, request_id: str, *, older_than: dt.datetime, now: dt.datetime) -> bool:
        """Claim an unanswered id whose claim is older than `older_than`."""

    async def answer(self, request_id: str, answer: Answer) -> None:
        """Keep the answer of a claimed id."""

    async def release(self, request_id: str) -> None:
        """Forget an unanswered claim (the command failed: a retry may run it)."""


def fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of the request body, independent of key order."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def request_event_id(*, office_id: str, route: str, key: str) -> uuid.UUID:
    """The event id of a keyed request: the same for every retry, different per office and route."""
    return uuid.uuid5(REQUEST_NAMESPACE, f"{office_id}:{route}:{key}")


@dataclass(frozen=True)
class Outcome:
    """The answer given, and whether it repeats an earlier one."""

    answer: Answer
    replay: bool


async def run_once(
    claims: RequestClaims, *, office_id: str, route: str, key: str | None, body: Mapping[str, Any],
    action: Callable[[uuid.UUID], Awaitable[Answer]], clock: Callable[[], dt.datetime],
) -> Outcome:
    """Run `action` once per (office, route, key) and body; a retry gets the first answer."""
    if not key:
        return Outcome(await action(uuid.uuid4()), replay=False)
    event_id = request_event_id(office_id=office_id, route=route, key=key)
    request_id, digest = str(event_id), fingerprint(body)
    earlier = await _claim_or_wait(claims, request_id, digest, clock)
    if earlier is not None:
        return Outcome(earlier, replay=True)
    try:
        answer = await action(event_id)
    except BaseException:
        await claims.release(request_id)
        raise
    await claims.answer(request_id, answer)
    return Outcome(answer, replay=False)


async def _claim_or_wait(
    claims: RequestClaims, request_id: str, digest: str, clock: Callable[[], dt.datetime],
) -> Answer | None:
    """None when this request now owns the key; the first answer when another request had it."""
    deadline = time.monotonic() + WAIT_FOR_FIRST_SECONDS
    while True:
        now = clock()
        remembered = await claims.claim(request_id, fingerprint=digest, now=now)
        if remembered is None:
            return None
        if remembered.fingerprint != digest:
            raise KeyReusedForOtherData(request_id)
        if remembered.answer is not None:
            return remembered.answer
        stale_before = now - dt.timedelta(seconds=STALE_CLAIM_SECONDS)
        if await claims.take_over(request_id, older_than=stale_before, now=now):
            return None
        if time.monotonic() > deadline:
            raise StillInProgress(request_id)
        await asyncio.sleep(POLL_SECONDS)


async def answer_once(
    request: Request, *, office_id: str, key: str | None, body: BaseModel | None,
    command: Callable[[uuid.UUID], Awaitable[BaseModel | tuple[int, BaseModel]]], status_code: int = 201,
) -> JSONResponse:
    """A write route's answer under the convention: `command` runs once per (office, path, key) and
    body with the event id derived from them; a retry gets the first answer, marked Idempotent-Replay.

    `command` answers a model (sent with `status_code`) or a (status, model) pair. Refusals it raises
    are not remembered (a retry is refused again for the same reason).
    """
    claims: RequestClaims = request.app.state.request_claims

    async def action(event_id: uuid.UUID) -> Answer:
        answer = await command(event_id)
        status, model = answer if isinstance(answer, tuple) else (status_code, answer)
        return Answer(status, model.model_dump(mode="json"))

    try:
        outcome = await run_once(claims, office_id=office_id, route=request.url.path, key=key,
                                 body=body.model_dump(mode="json") if body is not None else {}, action=action,
                                 clock=request.app.state.clock)
    except KeyReusedForOtherData:
        raise HTTPException(409, REUSED_MESSAGE) from None
    except StillInProgress:
        raise HTTPException(409, IN_PROGRESS_MESSAGE, headers={"Retry-After": "2"}) from None
    headers = {"Idempotent-Replay": "true"} if outcome.replay else None
    return JSONResponse(dict(outcome.answer.body), status_code=outcome.answer.status, headers=headers)
