"""Signed-in sessions: a random token in an HttpOnly cookie, its SHA-256 kept with the person, a CSRF
token per session, and an idle timeout."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

SESSIONS_COLLECTION = "web_sessions"
SESSION_COOKIE = "ektp_sesi"


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted CSRF token with the session's."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Session:
    username: str
    csrf: str
    last_seen: dt.datetime


class Sessions:
    """The sessions collection: one document per signed-in browser."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, idle: dt.timedelta) -> None:
        self.collection = collection
        self.idle = idle

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("username")

    async def start(self, username: str, *, now: dt.datetime) -> str:
        """A new session; returns the token for the cookie (kept only as its hash)."""
        token = secrets.token_urlsafe(32)
        await self.collection.insert_one({"_id": _hashed(token), "username": username,
                                          "csrf": secrets.token_urlsafe(32), "started": now, "last_seen": now})
        return token

    async def current(self, token: str | None, *, now: dt.datetime) -> Session | None:
        """The session of a cookie while it is not idle too long; an idle one is ended. Each use
        moves its idle clock."""
        if not token:
            return None
        doc = await self.collection.find_one({"_id": _hashed(token)})
        if doc is None:
            return None
        last_seen = doc["last_seen"] if doc["last_seen"].tzinfo else doc["last_seen"].replace(tzinfo=dt.UTC)
        if now - last_seen > self.idle:
            await self.collection.delete_one({"_id": doc["_id"]})
            return None
        await self.collection.update_one({"_id": doc["_id"]}, {"$set": {"last_seen": now}})
        return Session(username=doc["username"], csrf=doc["csrf"], last_seen=now)

    async def end(self, token: str | None) -> None:
        if token:
            await self.collection.delete_one({"_id": _hashed(token)})

    async def end_all_of(self, username: str) -> int:
        """Sign a person out everywhere (an account disabled or its password changed)."""
        return (await self.collection.delete_many({"username": username})).deleted_count
