"""The dinas: a SIAK status file from the centre (NIK;STATUS;TANGGAL) uploaded, answered line by line."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import UploadFile

from services.web.context import CheckedForm, SignedIn, WebParts, only, page, refusal_of
from shared.contracts import Role

router = APIRouter()


@router.get("/dinas/siak", include_in_schema=False)
async def siak_form(request: Request, visitor: SignedIn) -> Any:
    only(visitor, (Role.DINAS_ADMIN,), "status SIAK")
    return page(request, "siak.html", visitor, result=None)


@router.post("/dinas/siak", include_in_schema=False)
async def siak_upload(request: Request, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, (Role.DINAS_ADMIN,), "status SIAK")
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return page(request, "siak.html", visitor, status=422, result=None, message="Pilih file status SIAK (CSV).")
    answer = await web.gateway.call("recording", "POST", "/siak/import", person=visitor.account,
                                    files={"file": (file.filename, await file.read(), "text/csv")})
    await web.record(visitor.account, "impor_status_siak", None, str(answer.status))
    if not answer.ok:
        refused = refusal_of(answer)
        return page(request, "siak.html", visitor, status=refused.status, result=None, message=refused.message)
    return page(request, "siak.html", visitor, result=answer.body)
