"""People's accounts: who may sign in, as which office, and the lockout after wrong passwords.

An account belongs to one office (shared/auth.py's directory): its role and kecamatan are the
office's. Passwords are kept as argon2id hashes. Accounts are created, disabled and unlocked with
`python -m services.web.users`; the dinas sees them on its page.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.asynchronous.collection import AsyncCollection

from shared.auth import Office
from shared.contracts import Role

ACCOUNTS_COLLECTION = "web_accounts"
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 10
HASHER = PasswordHasher()
# Verified when the username is unknown, so a wrong name takes as long as a wrong password.
_UNKNOWN_USER_HASH = HASHER.hash("akun-yang-tidak-ada")


class AccountError(ValueError):
    """An account cannot be created as asked; the message says why, in Indonesian."""


@dataclass(frozen=True)
class Account:
    """A person who signs in."""

    username: str
    full_name: str
    office_id: str
    role: Role
    kecamatan_code: str | None
    disabled: bool = False
    locked_until: dt.datetime | None = None


class SignIn(StrEnum):
    OK = "ok"
    WRONG = "wrong"
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    account: Account | None = None
    locked_until: dt.datetime | None = None


def check_new_password(password: str, *, username: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Kata sandi paling sedikit {MIN_PASSWORD_LENGTH} karakter.")
    if username.lower() in password.lower():
        raise AccountError("Kata sandi tidak boleh memuat nama pengguna.")


class Accounts:
    """The accounts collection."""

    def __init__(self, collection: AsyncCollection[dict[str, Any]], *, lockout_after: int,
                 lockout: dt.timedelta) -> None:
        self.collection = collection
        self.lockout_after = lockout_after
        self.lockout = lockout

    async def create(self, *, username: str, full_name: str, password: str, office: Office,
                     now: dt.datetime) -> Account:
        """A new account of `office`, or a new password and office for an existing one."""
        if not USERNAME.fullmatch(username):
            raise AccountError("Nama pengguna: 2-64 huruf kecil, angka, titik, garis bawah atau tanda hubung.")
        if office.on_behalf:
            raise AccountError("Akun tidak bisa memakai kantor aplikasi web itu sendiri.")
        check_new_password(password, username=username)
        await self.collection.update_one({"_id": username}, {"$set": {
            "full_name": full_name, "office_id": office.office_id, "role": office.role.value,
            "kecamatan_code": office.kecamatan_code, "password_hash": HASHER.hash(password),
            "disabled": False, "failed": 0, "locked_until": None, "updated_at": now}}, upsert=True)
        found = await self.get(username)
        assert found is not None
        return found

    async def get(self, username: str) -> Account | None:
        doc = await self.collection.find_one({"_id": username})
        return None if doc is None else _account(doc)

    async def list(self) -> list[Account]:
        return [_account(doc) async for doc in self.collection.find({}, {"password_hash": 0}).sort("_id", 1)]

    async def set_disabled(self, username: str, disabled: bool, *, now: dt.datetime) -> bool:
        result = await self.collection.update_one(
            {"_id": username}, {"$set": {"disabled": disabled, "updated_at": now}})
        return result.matched_count == 1

    async def unlock(self, username: str, *, now: dt.datetime) -> bool:
        result = await self.collection.update_one(
            {"_id": username}, {"$set": {"failed": 0, "locked_until": None, "updated_at": now}})
        return result.matched_count == 1

    async def sign_in(self, username: str, password: str, *, now: dt.datetime) -> SignInResult:
        """Check a password. `lockout_after` wrong ones in a row lock the account for `lockout`; while
        locked even the right password is refused. A right one resets the count."""
        doc = await self.collection.find_one({"_id": username}) if USERNAME.fullmatch(username) else None
        if doc is None:
            _verify(_UNKNOWN_USER_HASH, password)
            return SignInResult(SignIn.WRONG)
        account = _account(doc)
        if account.locked_until is not None and account.locked_until > now:
            return SignInResult(SignIn.LOCKED, locked_until=account.locked_until)
        if not _verify(doc["password_hash"], password):
            return await self._wrong(username, now)
        if account.disabled:
            return SignInResult(SignIn.DISABLED)
        await self.collection.update_one({"_id": username}, {"$set": {"failed": 0, "locked_until": None,
                                                                      "signed_in_at": now}})
        return SignInResult(SignIn.OK, account)

    async def _wrong(self, username: str, now: dt.datetime) -> SignInResult:
        doc = await self.collection.find_one_and_update(
            {"_id": username}, {"$inc": {"failed": 1}}, return_document=True)
        if doc is not None and int(doc.get("failed", 0)) >= self.lockout_after:
            until = now + self.lockout
            await self.collection.update_one({"_id": username}, {"$set": {"locked_until": until, "failed": 0}})
            return SignInResult(SignIn.LOCKED, locked_until=until)
        return SignInResult(SignIn.WRONG)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _account(doc: dict[str, Any]) -> Account:
    locked = doc.get("locked_until")
    if locked is not None and locked.tzinfo is None:
        locked = locked.replace(tzinfo=dt.UTC)
    return Account(username=doc["_id"], full_name=doc.get("full_name", ""), office_id=doc["office_id"],
                   role=Role(doc["role"]), kecamatan_code=doc.get("kecamatan_code"),
                   disabled=bool(doc.get("disabled")), locked_until=locked)
