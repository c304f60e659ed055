"""Kecamatan clerks (and the dinas): the planner's proposal of jemput bola visits, each place scheduled
as a visit in recording with one click."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from services.web.context import CheckedForm, Refused, SignedIn, WebParts, in_own_kecamatan, only, page, refusal_of
from shared.contracts import Role

router = APIRouter()
SCHEDULERS = (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN)
PLACE = re.compile(r"^(\d{2}\.\d{2}\.\d{2}\.\d{4}|\d{8})$")
KINDS = ("desa", "sekolah")
TEAM = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")


@router.get("/jadwal", include_in_schema=False)
async def proposal(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, SCHEDULERS, "jadwal jemput bola")
    answer = await web.gateway.call("coverage", "GET", "/planner/visits", person=None)
    if not answer.ok:
        raise refusal_of(answer)
    own = visitor.account.kecamatan_code
    proposed = [v for v in answer.body["kunjungan"] if visitor.account.role == Role.DINAS_ADMIN or v["kecamatan"] == own]
    return page(request, "planner.html", visitor, visits=proposed, message=request.query_params.get("pesan"),
                team=f"tim-{own or 'dinas'}")


@router.post("/jadwal", include_in_schema=False)
async def schedule(request: Request, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, SCHEDULERS, "jadwal jemput bola")
    kind, place, kecamatan = str(form.get("jenis", "")), str(form.get("kode", "")), str(form.get("kecamatan", ""))
    team = str(form.get("tim", "")).strip()
    try:
        day = dt.date.fromisoformat(str(form.get("tanggal", "")))
    except ValueError:
        raise Refused(422, "Tanggal kunjungan tidak terbaca.") from None
    if kind not in KINDS or not PLACE.fullmatch(place):
        raise Refused(422, "Tempat kunjungan tidak dikenal: pilih dari usulan.")
    if not TEAM.fullmatch(team):
        raise Refused(422, "Nama tim: 1-64 huruf, angka, spasi, titik, garis bawah atau tanda hubung.")
    in_own_kecamatan(visitor, kecamatan)
    visit_id = f"{kind}-{place.replace('.', '')}-{day:%Y%m%d}"
    answer = await web.gateway.call("recording", "POST", "/visits", person=visitor.account, json={
        "visit_id": visit_id, "date": day.isoformat(), "kind": kind, "place_code": place, "kecamatan_code": kecamatan,
        "team": team}, headers={"Idempotency-Key": f"web-jadwal-{visit_id}"})
    await web.record(visitor.account, "jadwalkan_kunjungan", visit_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse(f"/jadwal?pesan={visit_id}", status_code=303)
