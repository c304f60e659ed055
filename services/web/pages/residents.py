"""Kecamatan clerks (and the dinas): register a resident with the NIK checked while typing, and open
one resident's data (a personal-data read, audited with the person)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from services.web.context import CSRF_HEADER, CheckedForm, Refused, SignedIn, Visitor, Web, WebParts, only, page, refusal_of
from services.web.formatting import FIELD_LABELS
from services.web.sessions import same_token
from shared.contracts import Role

router = APIRouter()
REGISTERS = (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN)
RESIDENT_ID = re.compile(r"^r[0-9a-f]{32}$")
FORM_FIELDS = ("nik", "name", "sex", "birth_date", "marital_status", "kecamatan_code", "desa_code", "school_npsn",
               "school_name", "phone")


def _blank_form(visitor: Visitor) -> dict[str, str]:
    return {"kecamatan_code": visitor.account.kecamatan_code or "", "formulir": uuid.uuid4().hex}


@router.get("/penduduk/baru", include_in_schema=False)
async def registration_form(request: Request, visitor: SignedIn) -> Any:
    only(visitor, REGISTERS, "pendaftaran penduduk")
    return page(request, "register.html", visitor, form=_blank_form(visitor), errors={}, labels=FIELD_LABELS)


def resident_body(form: dict[str, Any], visitor: Visitor) -> dict[str, Any]:
    body: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in FORM_FIELDS}
    if visitor.account.role != Role.DINAS_ADMIN:
        body["kecamatan_code"] = visitor.account.kecamatan_code or ""
    for optional in ("school_npsn", "school_name", "phone"):
        if not body[optional]:
            body.pop(optional)
    body["disabilitas"] = form.get("disabilitas") == "ya"
    return body


@router.post("/penduduk/baru", include_in_schema=False)
async def register(request: Request, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, REGISTERS, "pendaftaran penduduk")
    body = resident_body(form, visitor)
    key = str(form.get("formulir", "")) or uuid.uuid4().hex
    answer = await web.gateway.call("intake", "POST", "/residents", person=visitor.account, json=body,
                                    headers={"Idempotency-Key": f"web-{key[:60]}"})
    if answer.ok:
        resident_id = str(answer.body["resident_id"])
        await web.record(visitor.account, "daftar_penduduk", resident_id, "diterima")
        return RedirectResponse(f"/penduduk/{resident_id}?baru=1", status_code=303)
    await web.record(visitor.account, "daftar_penduduk", None, f"ditolak {answer.status}")
    errors = {name: reason for name, reason in answer.field_errors.items()}
    kept = {**{k: str(v) for k, v in form.items() if k in FORM_FIELDS}, "formulir": uuid.uuid4().hex,
            "disabilitas": "ya" if body["disabilitas"] else ""}
    return page(request, "register.html", visitor, status=answer.status if answer.status >= 400 else 422,
                form=kept, errors=errors, labels=FIELD_LABELS, message=answer.detail)


class NikCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nik: str = Field(max_length=40)
    birth_date: str | None = Field(None, max_length=10)
    sex: str | None = Field(None, max_length=1)


@router.post("/penduduk/periksa-nik", include_in_schema=False)
async def check_nik(request: Request, visitor: SignedIn, check: NikCheck, web: WebParts) -> Any:
    """The registration form's check while typing: intake's own rules, through its API."""
    if not same_token(request.headers.get(CSRF_HEADER), visitor.csrf):
        return JSONResponse({"detail": "Token keamanan tidak cocok; muat ulang halaman."}, status_code=403)
    body = {"nik": check.nik, "birth_date": check.birth_date or None, "sex": check.sex or None}
    answer = await web.gateway.call("intake", "POST", "/residents/periksa", person=visitor.account, json=body)
    if answer.status == 422:
        return JSONResponse({"sah": False, "errors": [{"field": name, "reason": reason}
                                                      for name, reason in answer.field_errors.items()]})
    return JSONResponse(answer.body, status_code=200 if answer.ok else answer.status)


@router.get("/penduduk/{resident_id}", include_in_schema=False)
async def resident(request: Request, resident_id: str, visitor: SignedIn, web: WebParts) -> Any:
    found = await read_resident(web, visitor, resident_id)
    return page(request, "resident.html", visitor, resident=found, new=request.query_params.get("baru") == "1",
                labels=FIELD_LABELS)


async def read_resident(web: Web, visitor: Visitor, resident_id: str) -> dict[str, Any]:
    """One resident's data from intake (a personal-data read: audited there and here, with the person)."""
    if not RESIDENT_ID.fullmatch(resident_id):
        raise Refused(404, "Alamat penduduk ini tidak dikenal.")
    answer = await web.gateway.call("intake", "GET", f"/residents/{resident_id}", person=visitor.account)
    await web.record(visitor.account, "baca_penduduk", resident_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    body: dict[str, Any] = answer.body
    return body
