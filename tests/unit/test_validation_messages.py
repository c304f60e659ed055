"""A refused request is answered in Indonesian, in one shape, naming the field as the clerk knows it
and never repeating the value that was sent (issue 21, item 16)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.http import install_error_handlers
from shared.messages_id import field_errors, field_path, in_one_line, reason


class Walk(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nik: str = Field(pattern=r"^\d{16}$")


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_id: uuid.UUID
    sex: Literal["L", "P"]
    kecamatan_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}$")
    desa_code: str = Field(pattern=r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")
    at: AwareDatetime
    born: dt.date
    count: int = Field(ge=1, le=10)
    name: str = Field(max_length=5)
    flags: list[str] = Field(max_length=2)
    ok: bool
    walk: Walk | None = None
    note: str = ""

    @field_validator("note")
    @classmethod
    def _indonesian(cls, value: str) -> str:
        if value == "salah":
            raise ValueError("catatan tidak boleh 'salah'")
        return value


class Batch(BaseModel):
    events: list[Annotated[Item | dict[str, Any], Field(union_mode="left_to_right")]]


GOOD: dict[str, Any] = {"event_id": str(uuid.uuid4()), "sex": "L", "kecamatan_code": "17.02.06",
                        "desa_code": "17.02.06.2001", "at": "2024-05-01T09:30:00+07:00", "born": "2008-01-31",
                        "count": 2, "name": "Ani", "flags": [], "ok": True}
ENGLISH = ("Input should", "Field required", "String should", "should have", "Extra inputs", "Value error",
           "a valid", "JSON decode", "Not Found", "Method Not Allowed", "There was an error")


def _errors(**changes: Any) -> dict[str, str]:
    data = {k: v for k, v in {**GOOD, **changes}.items() if v is not ...}
    with pytest.raises(ValidationError) as refused:
        Item.model_validate(data)
    return {e["field"]: e["reason"] for e in field_errors(refused.value.errors())}


def test_each_kind_of_refusal_is_said_in_indonesian_with_its_limit_or_example() -> None:
    reasons = _errors(sex="X", kecamatan_code="1702", desa_code="17.02.06", at="2024-05-01T09:30:00", born="31-01-2008",
                      count=11, name="Panjang sekali", flags=["a", "b", "c"], ok="barangkali",
                      extra=1, walk={"nik": "123"}, note="salah", **{"event_id": ...})
    assert reasons == {
        "event_id": "wajib diisi",
        "sex": "harus salah satu dari: L, P",
        "kecamatan_code": "format tidak sesuai: kode kecamatan, mis. 17.02.06",
        "desa_code": "format tidak sesuai: kode desa, mis. 17.02.06.2001",
        "at": "sertakan zona waktu, mis. +07:00",
        "born": "harus tanggal berformat YYYY-MM-DD, mis. 2024-05-01",
        "count": "paling besar 10",
        "name": "paling banyak 5 karakter",
        "flags": "paling banyak 2 butir",
        "ok": "harus true atau false",
        "extra": "kolom ini tidak dikenal",
        "walk.nik": "format tidak sesuai: NIK 16 angka tanpa spasi atau titik",
        "note": "catatan tidak boleh 'salah'",
    }


def test_numbers_uuids_and_lists_are_explained() -> None:
    reasons = _errors(count="dua", event_id="bukan-uuid", flags="a")
    assert reasons == {"count": "harus bilangan bulat", "event_id": "harus UUID, mis. 123e4567-e89b-12d3-a456-426614174000",
                       "flags": "harus berupa daftar"}
    assert _errors(count=0) == {"count": "paling kecil 1"}


def test_the_value_sent_is_never_repeated() -> None:
    nik = "3201011501080001"
    reasons = _errors(sex=nik, name=nik, walk={"nik": nik + "9"}, born=nik, kecamatan_code=nik)
    assert all(nik not in text for text in reasons.values())


def test_union_tags_are_dropped_from_the_field_path() -> None:
    with pytest.raises(ValidationError) as refused:
        Batch.model_validate({"events": [GOOD, "bukan objek", 5]})
    answers = field_errors(refused.value.errors())
    assert answers == [{"field": "events.1", "reason": "harus berupa objek JSON"},
                       {"field": "events.2", "reason": "harus berupa objek JSON"}]
    assert field_path(("body", "events", 13, "FieldEventIn", "kind")) == "events.13.kind"
    assert field_path(("body", "events", 0, "dict[str,any]")) == "events.0"
    assert field_path(("header", "Idempotency-Key")) == "header.Idempotency-Key"
    assert field_path(("body",)) == "(body)"
    assert field_path(("body", "date")) == "date" and field_path(("body", "count", "int")) == "count"


def test_messages_the_project_wrote_are_kept() -> None:
    assert reason({"type": "value_error", "msg": "Value error, NIK tidak cocok dengan tanggal lahir"}) == \
        "NIK tidak cocok dengan tanggal lahir"
    assert reason({"type": "value_error", "msg": "tanggal kunjungan di luar jendela"}) == \
        "tanggal kunjungan di luar jendela"
    assert reason({"type": "too_long", "msg": "paling banyak 3 butir (terkirim 4): sebut sekali"}) == \
        "paling banyak 3 butir (terkirim 4): sebut sekali"
    assert reason({"type": "extra_forbidden", "msg": "parameter ini tidak dikenal oleh rute ini"}) == \
        "parameter ini tidak dikenal oleh rute ini"


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/items")
    async def post_item(body: Item) -> dict[str, str]:
        return {"ok": "ya"}

    @app.get("/items/{item_id}")
    async def get_item(item_id: int) -> dict[str, str]:
        raise HTTPException(404, "Barang tidak ditemukan.")

    @app.post("/rules")
    async def post_rule() -> None:
        raise HTTPException(422, {"message": "Data penduduk ditolak.",
                                  "errors": [{"field": "nik", "reason": "NIK tidak cocok", "rule": "nik"}]})

    return app


def test_every_422_has_one_shape_with_a_sentence_and_fields() -> None:
    client = TestClient(_app())
    answers = [
        client.post("/items", json={**GOOD, "sex": "X"}),
        client.post("/items", content=b'{"sex": "L",, }', headers={"Content-Type": "application/json"}),
        client.post("/items", data={"sex": "L"}),
        client.post("/items", json=[GOOD]),
        client.get("/items/satu"),
        client.post("/rules"),
    ]
    for answer in answers:
        body = answer.json()
        assert answer.status_code == 422 and set(body) == {"detail", "errors"}, answer.text
        assert isinstance(body["detail"], str) and body["errors"], answer.text
        assert all({"field", "reason"} <= set(e) for e in body["errors"])
        assert not any(word in answer.text for word in ENGLISH), answer.text
    assert answers[1].json()["errors"] == [
        {"field": "(body)", "reason": "isi permintaan bukan JSON yang sah (periksa tanda koma dan kutip); "
                                      "kesalahan di sekitar karakter ke-13"}]
    assert answers[2].json()["errors"] == [
        {"field": "(body)", "reason": "harus berupa objek JSON; kirim dengan Content-Type: application/json"}]
    assert answers[4].json()["errors"] == [{"field": "path.item_id", "reason": "harus bilangan bulat"}]
    assert answers[5].json() == {"detail": "Data penduduk ditolak.",
                                 "errors": [{"field": "nik", "reason": "NIK tidak cocok", "rule": "nik"}]}


def test_unknown_addresses_and_methods_are_answered_in_indonesian() -> None:
    client = TestClient(_app())
    unknown = client.get("/barang")
    assert unknown.status_code == 404 and unknown.json()["detail"].startswith("Alamat tidak ditemukan")
    wrong = client.delete("/items")
    assert wrong.status_code == 405 and wrong.json()["detail"].startswith("Metode tidak diizinkan untuk alamat ini")
    assert wrong.headers["allow"] == "POST"
    unreadable = client.post("/items", content=b'{"sex": "\xff"}', headers={"Content-Type": "application/json"})
    assert unreadable.status_code in (400, 422) and not any(word in unreadable.text for word in ENGLISH)


def test_a_routes_own_refusal_keeps_its_words() -> None:
    assert TestClient(_app()).get("/items/3").json() == {"detail": "Barang tidak ditemukan."}


def test_an_items_refusal_fits_on_one_line() -> None:
    with pytest.raises(ValidationError) as refused:
        Item.model_validate({**GOOD, "sex": "X", "count": "dua"})
    assert in_one_line(refused.value.errors()) == "sex: harus salah satu dari: L, P; count: harus bilangan bulat"
