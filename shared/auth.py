"""Office authentication: API keys stored as SHA-256 hashes in the `offices` collection.

Who an office is (role, kecamatan) is shared by every service; what each role may do is
decided in each service's own http module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict
from pymongo.asynchronous.collection import AsyncCollection

from shared.contracts.envelope import Actor, Role
from shared.http import WriteRateLimit

OFFICES_COLLECTION = "offices"
API_KEY_HEADER = APIKeyHeader(
    name="X-API-Key", auto_error=False,
    description="Kunci API kantor (dibuat dengan `python -m shared.offices office create`)",
)


class Office(BaseModel):
    """An authenticated office."""

    model_config = ConfigDict(frozen=True)

    office_id: str
    name: str
    role: Role
    kecamatan_code: str | None = None


class OfficeEntry(Office):
    """An office as the directory lists it."""

    revoked: bool


def hash_key(key: str) -> str:
    """Keys are 256-bit random tokens, so a plain SHA-256 is enough to store them safely."""
    return hashlib.sha256(key.encode()).hexdigest()


class OfficeDirectory:
    """Creates, revokes and authenticates office keys."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]]) -> None:
        self.collection = collection

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("key_hash", unique=True)

    async def create(
        self, *, office_id: str, name: str, role: Role, kecamatan_code: str | None,
        now: dt.datetime,
    ) -> str:
        """Create (or rotate) an office's key; returns the key, which is shown only once."""
        key = "ektp_" + secrets.token_urlsafe(32)
        await self.collection.update_one(
            {"_id": office_id},
            {"$set": {"name": name, "role": role.value, "kecamatan_code": kecamatan_code,
                      "key_hash": hash_key(key), "revoked_at": None, "created_at": now}},
            upsert=True,
        )
        return key

    async def revoke(self, office_id: str, *, now: dt.datetime) -> bool:
        result = await self.collection.update_one(
            {"_id": office_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        return result.modified_count == 1

    async def list(self) -> list[OfficeEntry]:
        """Every office, revoked ones too, by id (never a key or its hash)."""
        return [OfficeEntry(office_id=doc["_id"], name=doc["name"], role=Role(doc["role"]),
                            kecamatan_code=doc.get("kecamatan_code"), revoked=doc.get("revoked_at") is not None)
                async for doc in self.collection.find({}, {"key_hash": 0}).sort("_id", 1)]

    async def authenticate(self, key: str) -> Office | None:
        doc = await self.collection.find_one({"key_hash": hash_key(key), "revoked_at": None})
        if doc is None:
            return None
        return Office(
            office_id=doc["_id"], name=doc["name"], role=Role(doc["role"]),
            kecamatan_code=doc.get("kecamatan_code"),
        )


def office_dependency(
    directory: Callable[[Request], OfficeDirectory], *, write_limit: WriteRateLimit,
) -> Callable[..., Awaitable[Office]]:
    """A FastAPI dependency that answers 401 without a valid key, 429 when the office sent too many
    writes, else the office."""

    async def current_office(request: Request, key: str | None = Security(API_KEY_HEADER)) -> Office:
        if not key:
            raise HTTPException(401, "Kunci API belum dikirim: isi header X-API-Key.")
        office = await directory(request).authenticate(key)
        if office is None:
            raise HTTPException(401, "Kunci API tidak dikenal atau sudah dicabut.")
        request.state.office_id = office.office_id
        write_limit.check(request, office.office_id)
        return office

    return current_office


async def current_office(request: Request, key: str | None = Security(API_KEY_HEADER)) -> Office:
    """The FastAPI dependency of every route: 401 without a valid key, 429 past the office's write
    rate, else the office. Reads the app's `directory` and `write_limit` (set by `assemble_app`)."""
    if not key:
        raise HTTPException(401, "Kunci API belum dikirim: isi header X-API-Key.")
    office = await request.app.state.directory.authenticate(key)
    if office is None:
        raise HTTPException(401, "Kunci API tidak dikenal atau sudah dicabut.")
    request.state.office_id = office.office_id
    request.app.state.write_limit.check(request, office.office_id)
    return office


def actor_of(office: Office) -> Actor:
    """The actor an office's command is recorded under (the office is its own operator)."""
    return Actor(office_id=office.office_id, role=office.role, operator=office.office_id)
