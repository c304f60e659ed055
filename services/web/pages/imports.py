"""Kecamatan clerks (and the dinas): upload a Dapodik or population file (CSV or XLSX), watch the
import's progress, then read its row errors as a table or download them as CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from services.web.context import CheckedForm, Refused, SignedIn, WebParts, only, page, refusal_of
from shared.contracts import Role

router = APIRouter()
IMPORTS = (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN)
KINDS = {"dapodik": "Dapodik (siswa)", "penduduk": "Daftar penduduk (SIAK)"}
JOB_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ERRORS_SHOWN = 100
DOWNLOAD_PAGE = 1000
UPLOAD_TYPES = {"csv": "text/csv",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/impor", include_in_schema=False)
async def upload_form(request: Request, visitor: SignedIn) -> Any:
    only(visitor, IMPORTS, "impor file")
    return page(request, "upload.html", visitor, kinds=KINDS, chosen="dapodik")


@router.post("/impor", include_in_schema=False)
async def upload(request: Request, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, IMPORTS, "impor file")
    kind = str(form.get("jenis", ""))
    file = form.get("file")
    if kind not in KINDS:
        return page(request, "upload.html", visitor, status=422, kinds=KINDS, chosen="dapodik",
                    message="Pilih jenis file: Dapodik atau daftar penduduk.")
    if not isinstance(file, UploadFile) or not file.filename:
        return page(request, "upload.html", visitor, status=422, kinds=KINDS, chosen=kind,
                    message="Pilih file CSV atau XLSX yang akan diunggah.")
    content = await file.read()
    suffix = file.filename.rsplit(".", 1)[-1].lower()
    answer = await web.gateway.call("intake", "POST", f"/imports/{kind}", person=visitor.account, files={
        "file": (file.filename, content, UPLOAD_TYPES.get(suffix, "application/octet-stream"))})
    await web.record(visitor.account, f"impor_{kind}", answer.body.get("job_id") if answer.ok else None,
                     str(answer.status))
    if not answer.ok:
        return page(request, "upload.html", visitor, status=answer.status, kinds=KINDS, chosen=kind,
                    message=answer.detail, missing=(answer.body or {}).get("missing_columns") or [])
    return RedirectResponse(f"/impor/{answer.body['job_id']}", status_code=303)


async def _job(web: Any, visitor: Any, job_id: str, page_number: int = 1, size: int = ERRORS_SHOWN) -> dict[str, Any]:
    if not JOB_ID.fullmatch(job_id):
        raise Refused(404, "Pekerjaan impor ini tidak dikenal.")
    answer = await web.gateway.call("intake", "GET", f"/imports/{job_id}", person=visitor.account,
                                    params={"halaman": str(page_number), "per_halaman": str(size)})
    if not answer.ok:
        raise refusal_of(answer)
    job: dict[str, Any] = answer.body
    return job


@router.get("/impor/{job_id}", include_in_schema=False)
async def progress(request: Request, job_id: str, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, IMPORTS, "impor file")
    number = request.query_params.get("halaman", "1")
    job = await _job(web, visitor, job_id, int(number) if number.isdigit() and int(number) > 0 else 1)
    return page(request, "import_job.html", visitor, job=job)


@router.get("/impor/{job_id}/kemajuan", include_in_schema=False)
async def progress_json(job_id: str, visitor: SignedIn, web: WebParts) -> Any:
    """What the progress page polls: status and counts, no row errors."""
    only(visitor, IMPORTS, "impor file")
    job = await _job(web, visitor, job_id, 1, 1)
    keys = ("status", "progress_percent", "total_rows", "valid_rows", "processed", "imported", "already_registered",
            "flagged_for_review", "message")
    return JSONResponse({key: job.get(key) for key in keys} | {"kesalahan": job["ringkasan"]["kesalahan"]})


@router.get("/impor/{job_id}/kesalahan.csv", include_in_schema=False)
async def errors_csv(job_id: str, visitor: SignedIn, web: WebParts) -> Response:
    """Every kept row error of the job, as a CSV the clerk opens next to the file."""
    only(visitor, IMPORTS, "impor file")
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["baris", "kolom", "alasan"])
    number = 1
    while True:
        job = await _job(web, visitor, job_id, number, DOWNLOAD_PAGE)
        for error in job["errors"]:
            writer.writerow([error["line"], error["column"], error["reason"]])
        if not job["ada_halaman_berikutnya"]:
            break
        number += 1
    await web.record(visitor.account, "unduh_kesalahan_impor", job_id, "200")
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="kesalahan-impor-{job_id[:40]}.csv"'})
