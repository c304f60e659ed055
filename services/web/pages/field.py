"""Jemput bola field teams: an installable page that works offline. Before leaving the team downloads a
visit (its targets: pseudonym, name and desa only) and the visit is opened; in the field outcomes are
kept on the device with ids made there; back online they are sent once and each gets its answer."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from services.web.accounts import Account
from services.web.context import CSRF_HEADER, Refused, SignedIn, Visitor, WebParts, only, page
from services.web.gateway import Answer, Gateway
from services.web.sessions import same_token
from shared.contracts import Role

router = APIRouter()
FIELD = (Role.FIELD_TEAM, Role.KECAMATAN_OFFICE)
VISIT_ID = re.compile(r"^[A-Za-z0-9._-]{3,64}$")
STATIC = Path(__file__).resolve().parents[1] / "static"
MAX_EVENTS = 500
WIPE_AFTER_DAYS = 7
TARGET_FIELDS = ("resident_id", "nama", "desa_nama")


def _field_visitor(visitor: Visitor) -> Account:
    only(visitor, FIELD, "jemput bola")
    if not visitor.account.kecamatan_code:
        raise Refused(403, "Akun jemput bola harus milik kantor satu kecamatan.")
    return visitor.account


def _csrf(request: Request, visitor: Visitor) -> None:
    if not same_token(request.headers.get(CSRF_HEADER), visitor.csrf):
        raise Refused(403, "Token keamanan tidak cocok; muat ulang halaman jemput bola saat daring.")


def _passed_on(answer: Answer) -> JSONResponse:
    return JSONResponse(answer.body, status_code=answer.status)


@router.get("/lapangan/", include_in_schema=False)
async def field_app(request: Request, visitor: SignedIn) -> Any:
    account = _field_visitor(visitor)
    kecamatan = request.app.state.areas.kecamatan[account.kecamatan_code]
    villages = {v.code: v.name for v in kecamatan.villages}
    return page(request, "field.html", visitor, villages=villages, wipe_days=WIPE_AFTER_DAYS)


@router.get("/lapangan/sw.js", include_in_schema=False)
async def service_worker() -> FileResponse:
    """The service worker, served under /lapangan/ so that it controls the field pages."""
    return FileResponse(STATIC / "lapangan-sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.get("/lapangan/manifest.webmanifest", include_in_schema=False)
async def manifest() -> FileResponse:
    return FileResponse(STATIC / "lapangan.webmanifest", media_type="application/manifest+json")


@router.get("/lapangan/api/sesi", include_in_schema=False)
async def session(visitor: SignedIn) -> Any:
    """A fresh CSRF token for syncing after a long time offline (the cached page's may be stale)."""
    account = _field_visitor(visitor)
    return {"csrf": visitor.csrf, "pengguna": account.username, "kecamatan": account.kecamatan_code}


@router.get("/lapangan/api/kunjungan", include_in_schema=False)
async def visits(visitor: SignedIn, web: WebParts) -> Any:
    account = _field_visitor(visitor)
    answer = await web.gateway.call("recording", "GET", "/visits", person=account,
                                    params={"kecamatan_code": account.kecamatan_code or ""})
    return _passed_on(answer)


async def _targets(gateway: Gateway, account: Account, visit: dict[str, Any]) -> list[dict[str, Any]]:
    """The visit's targets with the name and desa a team needs to call them, nothing more."""
    wanted = [*visit["targets"], *visit.get("carried_over", [])]
    place = {"sekolah": "sekolah", "desa": "desa", "rumah": "desa"}.get(visit["kind"])
    names: dict[str, dict[str, Any]] = {}
    if place is not None:
        params = {place: visit["place_code"], "per_halaman": "5000"}
        if place == "sekolah":
            params["kecamatan"] = visit["kecamatan_code"]
        listed = await gateway.call("coverage", "GET", "/unrecorded", person=account, params=params)
        if listed.ok:
            names = {person["resident_id"]: person for person in listed.body["penduduk"]}
    return [{key: (names.get(rid) or {}).get(key) for key in TARGET_FIELDS} | {"resident_id": rid} for rid in wanted]


@router.get("/lapangan/api/kunjungan/{visit_id}", include_in_schema=False)
async def download(request: Request, visit_id: str, visitor: SignedIn, web: WebParts) -> Any:
    """A visit for the device, opened if it was only scheduled."""
    account = _field_visitor(visitor)
    if not VISIT_ID.fullmatch(visit_id):
        return JSONResponse({"detail": "Kunjungan tidak dikenal."}, status_code=404)
    found = await web.gateway.call("recording", "GET", f"/visits/{visit_id}", person=account)
    if not found.ok:
        return _passed_on(found)
    visit = found.body
    if visit["state"] == "dijadwalkan":
        opened = await web.gateway.call("recording", "POST", f"/visits/{visit_id}/buka", person=account,
                                        headers={"Idempotency-Key": f"web-buka-{visit_id}"})
        if not opened.ok:
            return _passed_on(opened)
        visit["state"] = "dibuka"
    visit["target_rinci"] = await _targets(web.gateway, account, visit)
    await web.record(account, "unduh_kunjungan", visit_id, f"{len(visit['target_rinci'])} target")
    return visit


class Upload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_id: str = Field(min_length=1, max_length=64)
    events: list[dict[str, Any]] = Field(max_length=MAX_EVENTS)


@router.post("/lapangan/api/kirim", include_in_schema=False)
async def upload(request: Request, body: Upload, visitor: SignedIn, web: WebParts) -> Any:
    """The device's waiting events, answered per event by recording (diterima, duplikat, walk_in, ditolak)."""
    account = _field_visitor(visitor)
    _csrf(request, visitor)
    events = [{**event, "operator": account.username, "device_id": body.device_id} for event in body.events]
    answer = await web.gateway.call("recording", "POST", "/batches", person=account,
                                    json={"device_id": body.device_id, "events": events})
    await web.record(account, "kirim_data_lapangan", body.device_id, f"{answer.status}: {len(events)} kejadian")
    return _passed_on(answer)


@router.post("/lapangan/api/kunjungan/{visit_id}/tutup", include_in_schema=False)
async def close(request: Request, visit_id: str, visitor: SignedIn, web: WebParts) -> Any:
    account = _field_visitor(visitor)
    _csrf(request, visitor)
    if not VISIT_ID.fullmatch(visit_id):
        return JSONResponse({"detail": "Kunjungan tidak dikenal."}, status_code=404)
    answer = await web.gateway.call("recording", "POST", f"/visits/{visit_id}/tutup", person=account,
                                    headers={"Idempotency-Key": f"web-tutup-{visit_id}"})
    await web.record(account, "tutup_kunjungan", visit_id, str(answer.status))
    return _passed_on(answer)
