"""In-memory RequestClaims: claimed idempotency keys and answers in a dict."""

from __future__ import annotations

import datetime as dt

from shared.idempotency import Answer, Remembered


class InMemoryRequestClaims:
    """Behaves like shared.mongo.MongoRequestClaims within one process."""

    def __init__(self) -> None:
        self.claims: dict[str, Remembered] = {}

    async def claim(self, request_id: str, *, fingerprint: str, now: dt.datetime) -> Remembered | None:
        if request_id in self.claims:
            return self.claims[request_id]
        self.claims[request_id] = Remembered(fingerprint=fingerprint, answer=None, claimed_at=now)
        return None

    async def take_over(self, request_id: str, *, older_than: dt.datetime, now: dt.datetime) -> bool:
        held = self.claims.get(request_id)
        if held is None or held.answer is not None or held.claimed_at >= older_than:
            return False
        self.claims[request_id] = Remembered(fingerprint=held.fingerprint, answer=None, claimed_at=now)
        return True

    async def answer(self, request_id: str, answer: Answer) -> None:
        held = self.claims[request_id]
        self.claims[request_id] = Remembered(fingerprint=held.fingerprint, answer=answer, claimed_at=held.claimed_at)

    async def release(self, request_id: str) -> None:
        if request_id in self.claims and self.claims[request_id].answer is None:
            del self.claims[request_id]
