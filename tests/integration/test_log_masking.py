"""Personal data stays out of log lines even when an exception carries it (real FerretDB errors)."""

from __future__ import annotations

import io
import logging
import uuid
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from pymongo.errors import BulkWriteError, DuplicateKeyError

from shared.logs import MaskNik

pytestmark = pytest.mark.infra

NIK = "1702064101080003"
NAME = "Siti Aminah Rahmawati"
BIRTH_DATE = "2008-01-01"


def _log_exception(message: str, *args: Any) -> str:
    """What one `log.exception(...)` inside an except block writes, through the product's mask."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskNik())
    log = logging.getLogger(f"ektp.test.masking.{uuid.uuid4().hex[:6]}")
    log.propagate = False
    log.addHandler(handler)
    log.exception(message, *args)
    return out.getvalue()


def _assert_no_personal_data(written: str) -> None:
    assert NIK not in written and NAME not in written and BIRTH_DATE not in written, written


async def test_a_logged_bulk_write_error_shows_codes_not_the_documents(mongo_db: Any) -> None:
    collection = mongo_db[f"masking_{uuid.uuid4().hex[:6]}"]
    resident = {"_id": NIK, "name": NAME, "birth_date": BIRTH_DATE}
    await collection.insert_one(dict(resident))
    try:
        await collection.insert_many([dict(resident)])
    except BulkWriteError:
        written = _log_exception("roster write failed")
    else:
        pytest.fail("FerretDB accepted a duplicate _id")
    _assert_no_personal_data(written)
    assert "BulkWriteError" in written and "11000" in written and "documents left out" in written


async def test_a_logged_duplicate_key_error_and_validation_error_leave_values_out(mongo_db: Any) -> None:
    collection = mongo_db[f"masking_{uuid.uuid4().hex[:6]}"]
    await collection.insert_one({"_id": NIK, "name": NAME})
    try:
        await collection.insert_one({"_id": NIK, "name": NAME, "birth_date": BIRTH_DATE})
    except DuplicateKeyError:
        written = _log_exception("insert of %s failed", NIK)
    _assert_no_personal_data(written)
    assert "[NIK]" in written and "code 11000" in written

    class Resident(BaseModel):
        model_config = ConfigDict(extra="forbid")
        age: int

    try:
        Resident.model_validate({"age": NAME, NIK: BIRTH_DATE})
    except ValueError:
        written = _log_exception("event refused")
    _assert_no_personal_data(written)
    assert "validation errors" in written and "int_parsing" in written
