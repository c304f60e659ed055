"""A clerk's bad request to a running service is answered in Indonesian and in one shape (issue 21,
item 16): {"detail": sentence, "errors": [{"field", "reason"}]} for every 422, the field named as
the clerk knows it, the value sent never repeated; an unknown address or method in Indonesian too."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shared.contracts import Role
from tests.integration.helpers import create_office_key, synthetic_resident

pytestmark = pytest.mark.infra
KEC, DESA = "17.02.06", "17.02.06.2001"
ENGLISH = ("Field required", "Input should", "String should", "should have", "Extra inputs", "Value error",
           "JSON decode", "parsing the body", "Not Found", "Method Not Allowed", "a valid")


@pytest.fixture(scope="module")
def intake_service(start_service: Any) -> Iterator[Any]:
    service = start_service("intake")
    yield service
    service.stop()


@pytest.fixture
async def intake(intake_service: Any, mongo_db: Any) -> Any:
    key = await create_office_key(mongo_db, role=Role.KECAMATAN_OFFICE, kecamatan=KEC)
    async with httpx.AsyncClient(base_url=intake_service.url, timeout=60, headers={"X-API-Key": key}) as client:
        yield client


def _one_shape(answer: httpx.Response) -> dict[str, str]:
    """The refused fields of a 422 in the one shape, after checking it holds no English."""
    body = answer.json()
    assert answer.status_code == 422 and set(body) == {"detail", "errors"}, answer.text
    assert isinstance(body["detail"], str) and body["errors"], answer.text
    assert not any(word in answer.text for word in ENGLISH), answer.text
    return {error["field"]: error["reason"] for error in body["errors"]}


async def test_refused_fields_are_named_and_explained_in_indonesian(intake: httpx.AsyncClient) -> None:
    resident = synthetic_resident(random.Random(), kecamatan=KEC, desa=DESA)
    del resident["name"]
    wrong = {**resident, "sex": "X", "kecamatan_code": "1702", "birth_date": "05-07-2007", "warna": "biru"}
    reasons = _one_shape(await intake.post("/residents", json=wrong))
    assert reasons["name"] == "wajib diisi"
    assert reasons["sex"] == "harus salah satu dari: L, P"
    assert reasons["kecamatan_code"] == "format tidak sesuai: kode kecamatan, mis. 17.02.06"
    assert reasons["birth_date"].startswith("harus tanggal berformat YYYY-MM-DD")
    assert reasons["warna"] == "kolom ini tidak dikenal"
    assert resident["nik"] not in (await intake.post("/residents", json={**resident, "sex": resident["nik"]})).text


async def test_a_body_that_is_not_json_says_what_to_send(intake: httpx.AsyncClient) -> None:
    broken = await intake.post("/residents", content=b'{"nik": "1",, }', headers={"Content-Type": "application/json"})
    assert _one_shape(broken) == {"(body)": "isi permintaan bukan JSON yang sah (periksa tanda koma dan kutip); "
                                            "kesalahan di sekitar karakter ke-13"}
    form = await intake.post("/residents", data={"nik": "1", "sex": "L"})
    assert _one_shape(form) == {"(body)": "harus berupa objek JSON; kirim dengan Content-Type: application/json"}


async def test_a_rule_refusal_has_the_same_shape(intake: httpx.AsyncClient) -> None:
    resident = synthetic_resident(random.Random(), kecamatan=KEC, desa=DESA)
    reasons = _one_shape(await intake.post("/residents", json={**resident, "desa_code": "17.02.07.2001"}))
    assert "desa_code" in reasons


async def test_an_unknown_address_or_method_is_answered_in_indonesian(intake: httpx.AsyncClient) -> None:
    unknown = await intake.get("/penduduk-tidak-ada")
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("Alamat tidak ditemukan")
    wrong = await intake.delete("/residents")
    assert wrong.status_code == 405 and wrong.json()["detail"].startswith("Metode tidak diizinkan untuk alamat ini")
    assert "POST" in wrong.headers["allow"]
    missing = await intake.get("/residents/r" + "0" * 32)
    assert missing.status_code == 404 and not missing.json()["detail"].startswith("Alamat")
