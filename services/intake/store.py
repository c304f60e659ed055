"""Intake's collections: answers to requests already served, for idempotent retries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

REQUESTS = "intake_requests"


class RequestLog:
    """The first answer given to each idempotency key, so a retry gets the same answer."""

    def __init__(self, db: AsyncDatabase[dict[str, Any]]) -> None:
        self.collection = db[REQUESTS]

    async def find(self, request_id: str) -> dict[str, Any] | None:
        return await self.collection.find_one({"_id": request_id})

    async def remember(
        self, request_id: str, *, fingerprint: str, status: int, body: dict[str, Any],
        now: dt.datetime,
    ) -> None:
        try:
            await self.collection.insert_one(
                {"_id": request_id, "fingerprint": fingerprint, "status": status,
                 "body": body, "at": now}
            )
        except DuplicateKeyError:
            pass
