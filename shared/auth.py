"""Office authentication: API keys stored as SHA-256 hashes in the `offices` collection.

Who an office is (role, kecamatan) is shared by every service; what each role may do is
decided in each service's own http module.

The web app for people (services/web) holds one key of its own, marked `on_behalf`: with it a
request names the office of the signed-in person (X-Atas-Nama-Kantor) and the person
(X-Petugas), and is answered as that office, with the person recorded as the operator of every
event and read. The key alone, without those headers, is refused.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import re
import secrets
from typing import Any

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict
from pymongo.asynchronous.collection import AsyncCollection

from shared.coalescing import Coalescer
from shared.contracts.envelope import Actor, Role

OFFICES_COLLECTION = "offices"
ON_BEHALF_OFFICE_HEADER = "X-Atas-Nama-Kantor"
ON_BEHALF_OPERATOR_HEADER = "X-Petugas"
OPERATOR_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
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
    operator: str | None = None
    """The person acting for the office (a web app user), when the web app sent the request."""
    on_behalf: bool = False
    """The web app's own key: it acts only for an office it names."""


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
        self._by_key_hash: Coalescer[str, dict[str, Any] | None] = Coalescer(max_items=1_000)
        self._by_id: Coalescer[str, dict[str, Any] | None] = Coalescer(max_items=1_000)

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("key_hash", unique=True)

    async def create(
        self, *, office_id: str, name: str, role: Role, kecamatan_code: str | None,
        now: dt.datetime, on_behalf: bool = False, key: str | None = None,
    ) -> str:
        """Create (or rotate) an office's key; returns the key, which is shown only once. An
        `on_behalf` key is the web app's: it acts only for the office each request names. `key`
        registers a key made elsewhere (a deployment's secret file) instead of a new one."""
        key = key or "ektp_" + secrets.token_urlsafe(32)
        await self.collection.update_one(
            {"_id": office_id},
            {"$set": {"name": name, "role": role.value, "kecamatan_code": kecamatan_code, "on_behalf": on_behalf,
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
                            kecamatan_code=doc.get("kecamatan_code"), on_behalf=bool(doc.get("on_behalf")),
                            revoked=doc.get("revoked_at") is not None)
                async for doc in self.collection.find({}, {"key_hash": 0}).sort("_id", 1)]

    async def authenticate(self, key: str) -> Office | None:
        """The office whose key this is, while it is not revoked. Lookups arriving while one is in flight
        are made together in one query after it: every request still reads the directory after it came."""
        doc = await self._by_key_hash.submit(hash_key(key), self._unrevoked_by_key_hash)
        return None if doc is None else _office(doc)

    async def active(self, office_id: str) -> Office | None:
        """The office with this id while its key is not revoked."""
        doc = await self._by_id.submit(office_id, self._unrevoked_by_id)
        return None if doc is None else _office(doc)

    async def _unrevoked_by_key_hash(self, hashes: builtins.list[str]
                                    ) -> builtins.list[dict[str, Any] | None | BaseException]:
        found = {doc["key_hash"]: doc async for doc in self.collection.find(
            {"key_hash": {"$in": sorted(set(hashes))}, "revoked_at": None})}
        return [found.get(key_hash) for key_hash in hashes]

    async def _unrevoked_by_id(self, office_ids: builtins.list[str]
                               ) -> builtins.list[dict[str, Any] | None | BaseException]:
        found = {doc["_id"]: doc async for doc in self.collection.find(
            {"_id": {"$in": sorted(set(office_ids))}, "revoked_at": None})}
        return [found.get(office_id) for office_id in office_ids]


def _office(doc: dict[str, Any]) -> Office:
    return Office(office_id=doc["_id"], name=doc["name"], role=Role(doc["role"]),
                  kecamatan_code=doc.get("kecamatan_code"), on_behalf=bool(doc.get("on_behalf")))


async def acting_office(request: Request, directory: OfficeDirectory, key: str | None) -> Office:
    """The office a request acts as: the key's own office, or, for the web app's key, the office and
    person its headers name. 401 without a valid key, 403 when the named office cannot be acted for."""
    if not key:
        raise HTTPException(401, "Kunci API belum dikirim: isi header X-API-Key.")
    office = await directory.authenticate(key)
    if office is None:
        raise HTTPException(401, "Kunci API tidak dikenal atau sudah dicabut.")
    if not office.on_behalf:
        return office
    office_id = request.headers.get(ON_BEHALF_OFFICE_HEADER, "")
    operator = request.headers.get(ON_BEHALF_OPERATOR_HEADER, "")
    if not office_id or not OPERATOR_PATTERN.fullmatch(operator):
        raise HTTPException(401, f"Kunci aplikasi web hanya berlaku bersama header {ON_BEHALF_OFFICE_HEADER} "
                                 f"(kantor) dan {ON_BEHALF_OPERATOR_HEADER} (nama pengguna petugas).")
    acted_for = await directory.active(office_id)
    if acted_for is None or acted_for.on_behalf:
        raise HTTPException(403, "Kantor yang disebut di X-Atas-Nama-Kantor tidak ada atau kuncinya sudah dicabut.")
    return acted_for.model_copy(update={"operator": operator})


async def current_office(request: Request, key: str | None = Security(API_KEY_HEADER)) -> Office:
    """The FastAPI dependency of every route: 401 without a valid key, 429 past the office's write
    rate, else the office. Reads the app's `directory` and `write_limit` (set by `assemble_app`)."""
    office = await acting_office(request, request.app.state.directory, key)
    request.state.office_id = office.office_id
    await request.app.state.write_limit.admit(request, office.office_id)
    return office


def actor_of(office: Office) -> Actor:
    """The actor an office's command is recorded under: the person the web app named, else the office
    itself as its own operator."""
    return Actor(office_id=office.office_id, role=office.role, operator=office.operator or office.office_id)
