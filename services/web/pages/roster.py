"""Kecamatan clerks' roster work beyond registering: correct a resident or mark them moved or deceased,
review possible duplicates, and the cohort "who is wajib KTP by date D" to print or download."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web.context import CheckedForm, Refused, SignedIn, Visitor, WebParts, in_own_kecamatan, only, page, refusal_of
from services.web.formatting import FIELD_LABELS, WIB
from services.web.pages.residents import RESIDENT_ID, read_resident, resident_body
from shared.contracts import Role

router = APIRouter()
CLERKS = (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN)
KECAMATAN = re.compile(r"^\d{2}\.\d{2}\.\d{2}$")
LEAVE_REASONS = {"pindah": "Pindah keluar kabupaten", "meninggal": "Meninggal dunia"}


def _resident_id(resident_id: str) -> str:
    if not RESIDENT_ID.fullmatch(resident_id):
        raise Refused(404, "Alamat penduduk ini tidak dikenal.")
    return resident_id


@router.get("/penduduk/{resident_id}/koreksi", include_in_schema=False)
async def correction_form(request: Request, resident_id: str, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, CLERKS, "koreksi data penduduk")
    resident = await read_resident(web, visitor, resident_id)
    form = {key: str(value) for key, value in resident.items() if value is not None and key != "disabilitas"}
    form["disabilitas"] = "ya" if resident.get("disabilitas") else ""
    return page(request, "correct.html", visitor, resident=resident, form=form, errors={}, labels=FIELD_LABELS,
                reasons=LEAVE_REASONS, form_key=uuid.uuid4().hex, readonly_nik=True)


@router.post("/penduduk/{resident_id}/koreksi", include_in_schema=False)
async def correct(request: Request, resident_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, CLERKS, "koreksi data penduduk")
    _resident_id(resident_id)
    body = resident_body(form, visitor) | {"reason": str(form.get("reason", "")).strip(),
                                            "umur_sudah_diperiksa": form.get("umur_sudah_diperiksa") == "ya"}
    answer = await web.gateway.call("intake", "PUT", f"/residents/{resident_id}", person=visitor.account, json=body,
                                    headers={"Idempotency-Key": f"web-koreksi-{form.get('formulir', '')}"[:100]})
    await web.record(visitor.account, "koreksi_penduduk", resident_id, str(answer.status))
    if answer.ok:
        return RedirectResponse(f"/penduduk/{resident_id}?dikoreksi=1", status_code=303)
    kept = {k: str(v) for k, v in form.items() if k != "csrf"}
    return page(request, "correct.html", visitor, status=answer.status, resident={"resident_id": resident_id, **kept},
                form=kept, errors=answer.field_errors, labels=FIELD_LABELS, reasons=LEAVE_REASONS,
                message=answer.detail, form_key=uuid.uuid4().hex, readonly_nik=True)


@router.post("/penduduk/{resident_id}/keluar", include_in_schema=False)
async def mark_left(request: Request, resident_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, CLERKS, "penduduk keluar")
    _resident_id(resident_id)
    reason = str(form.get("reason", ""))
    if reason not in LEAVE_REASONS:
        raise Refused(422, "Pilih alasan: pindah keluar kabupaten atau meninggal dunia.")
    answer = await web.gateway.call("intake", "POST", f"/residents/{resident_id}/keluar", person=visitor.account,
                                    json={"reason": reason, "effective_date": str(form.get("effective_date", ""))},
                                    headers={"Idempotency-Key": f"web-keluar-{form.get('formulir', '')}"[:100]})
    await web.record(visitor.account, f"penduduk_{reason}", resident_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse(f"/penduduk/{resident_id}?keluar=1", status_code=303)


@router.get("/tinjauan", include_in_schema=False)
async def reviews(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, CLERKS, "tinjauan duplikat")
    answer = await web.gateway.call("intake", "GET", "/reviews", person=visitor.account)
    if not answer.ok:
        raise refusal_of(answer)
    return page(request, "reviews.html", visitor, reviews=answer.body, message=request.query_params.get("pesan"))


@router.post("/tinjauan/{resident_id}/bukan-duplikat", include_in_schema=False)
async def not_duplicate(request: Request, resident_id: str, visitor: SignedIn, form: CheckedForm,
                        web: WebParts) -> Any:
    only(visitor, CLERKS, "tinjauan duplikat")
    _resident_id(resident_id)
    answer = await web.gateway.call("intake", "POST", f"/reviews/{resident_id}/bukan-duplikat", person=visitor.account,
                                    json={"catatan": str(form.get("catatan", "")).strip()})
    await web.record(visitor.account, "tinjau_duplikat", resident_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse("/tinjauan?pesan=selesai", status_code=303)


def _cohort_query(request: Request, visitor: Visitor, today: dt.date) -> tuple[dt.date, str | None]:
    typed = request.query_params.get("tanggal", "")
    try:
        target = dt.date.fromisoformat(typed) if typed else today
    except ValueError:
        raise Refused(422, "Tanggal harus berformat YYYY-MM-DD, mis. 2029-02-14.") from None
    kecamatan = visitor.account.kecamatan_code or request.query_params.get("kecamatan") or None
    if kecamatan is not None:
        if not KECAMATAN.fullmatch(kecamatan):
            raise Refused(422, "Kode kecamatan harus seperti 17.02.06.")
        in_own_kecamatan(visitor, kecamatan)
    return target, kecamatan


async def _cohort(request: Request, visitor: Visitor, web: Any) -> dict[str, Any]:
    target, kecamatan = _cohort_query(request, visitor, web.clock().astimezone(WIB).date())
    params = {"tanggal": target.isoformat(), **({"kecamatan_code": kecamatan} if kecamatan else {})}
    answer = await web.gateway.call("intake", "GET", "/cohort", person=visitor.account, params=params)
    await web.record(visitor.account, "baca_kohort", kecamatan or "kab", str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    body: dict[str, Any] = answer.body
    return body


@router.get("/kohort", include_in_schema=False)
async def cohort(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, CLERKS, "daftar wajib KTP per tanggal")
    if "tanggal" not in request.query_params:
        return page(request, "cohort.html", visitor, cohort=None)
    return page(request, "cohort.html", visitor, cohort=await _cohort(request, visitor, web))


@router.get("/kohort.csv", include_in_schema=False)
async def cohort_csv(request: Request, visitor: SignedIn, web: WebParts) -> Response:
    only(visitor, CLERKS, "daftar wajib KTP per tanggal")
    found = await _cohort(request, visitor, web)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(["nama", "tanggal_lahir", "wajib_ktp_sejak", "desa", "npsn"])
    villages = request.app.state.areas.villages
    for person in found["baru_wajib_ktp"]:
        village = villages.get(person["desa_code"])
        writer.writerow([person["name"], person["birth_date"], person["wajib_ktp_from"],
                         village.name if village else person["desa_code"], person.get("school_npsn") or ""])
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="wajib-ktp-{found["tanggal"]}.csv"'})
