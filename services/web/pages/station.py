"""Print-station operators (and the dinas): the station's queue in priority order, cards printed today
with their hand-over, blangko on hand and days of stock, and a spoiled blank with its reason."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from services.web.accounts import Account
from services.web.context import CheckedForm, Refused, SignedIn, Visitor, WebParts, only, page, refusal_of
from services.web.formatting import WIB
from services.web.gateway import Gateway
from shared.contracts import Role
from shared.contracts.printing import PriorityClass
from shared.stations import STATION_ID, load_stations

router = APIRouter()
OPERATES = (Role.PRINT_STATION, Role.DINAS_ADMIN)
SPOIL_REASONS = {"blangko_rusak": "Blangko rusak", "laminasi_terkelupas": "Laminasi terkelupas",
                 "salah_cetak": "Salah cetak", "printer_gagal": "Printer gagal"}
PRIORITY_NAMES = {PriorityClass.LANSIA_DISABILITAS.value: "Lansia / disabilitas",
                  PriorityClass.PEMILIH_PEMULA.value: "Pemilih pemula",
                  PriorityClass.PERTAMA_LAINNYA.value: "Cetak pertama lainnya", PriorityClass.CETAK_ULANG.value: "Cetak ulang"}


def _station_of(visitor: Visitor, station_id: str) -> None:
    only(visitor, OPERATES, "stasiun cetak")
    if not STATION_ID.fullmatch(station_id):
        raise Refused(404, "Stasiun cetak ini tidak dikenal.")
    if visitor.account.role == Role.PRINT_STATION and visitor.account.office_id != station_id:
        raise Refused(403, "Operator hanya melihat stasiun cetaknya sendiri.")


@router.get("/stasiun", include_in_schema=False)
async def stations(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, OPERATES, "stasiun cetak")
    if visitor.account.role == Role.PRINT_STATION:
        return RedirectResponse(f"/stasiun/{visitor.account.office_id}", status_code=303)
    answer = await web.gateway.call("printing", "GET", "/stations", person=visitor.account)
    if not answer.ok:
        raise refusal_of(answer)
    return page(request, "stations.html", visitor, stations=answer.body)


async def _read(gateway: Gateway, person: Account, station_id: str) -> dict[str, Any]:
    queue = await gateway.call("printing", "GET", f"/stations/{station_id}/queue", person=person)
    if not queue.ok:
        raise refusal_of(queue)
    printed = await gateway.call("printing", "GET", f"/stations/{station_id}/queue", person=person,
                                 params={"status": "dicetak", "limit": "500"})
    stock = await gateway.call("inventory", "GET", f"/locations/{station_id}", person=person)
    return {"queue": queue.body, "printed": printed.body if printed.ok else [],
            "stock": stock.body if stock.ok else None}


def _printed_today(jobs: list[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    return [job for job in jobs if job.get("dicetak")
            and dt.datetime.fromisoformat(job["dicetak"]).astimezone(WIB).date() == today]


@router.get("/stasiun/{station_id}", include_in_schema=False)
async def station(request: Request, station_id: str, visitor: SignedIn, web: WebParts) -> Any:
    _station_of(visitor, station_id)
    found = await _read(web.gateway, visitor.account, station_id)
    today = web.clock().astimezone(WIB).date()
    printed = _printed_today(found["printed"], today)
    schools: dict[str, list[str]] = {}
    for job in found["printed"]:
        if job.get("sekolah"):
            schools.setdefault(job["sekolah"], []).append(job["job_id"])
    known = load_stations().stations.get(station_id)
    return page(request, "station.html", visitor, station_id=station_id, queue=found["queue"], schools=schools,
                station_name=known.name if known else station_id,
                printed=printed, stock=found["stock"], reasons=SPOIL_REASONS,
                priorities=PRIORITY_NAMES, message=request.query_params.get("pesan"), form_key=uuid.uuid4().hex)


@router.post("/stasiun/{station_id}/serahkan", include_in_schema=False)
async def hand_over(request: Request, station_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    _station_of(visitor, station_id)
    job_id = str(form.get("job_id", ""))
    answer = await web.gateway.call("printing", "POST", f"/jobs/{job_id}/handover", person=visitor.account,
                                    headers={"Idempotency-Key": f"web-serah-{job_id}"[:100]})
    await web.record(visitor.account, "serahkan_kartu", job_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse(f"/stasiun/{station_id}?pesan=diserahkan", status_code=303)


@router.post("/stasiun/{station_id}/rusak", include_in_schema=False)
async def spoil(request: Request, station_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    _station_of(visitor, station_id)
    reason = str(form.get("reason", ""))
    if reason not in SPOIL_REASONS:
        raise Refused(422, "Pilih alasan blangko rusak dari daftar.")
    quantity = str(form.get("quantity", "1")).strip() or "1"
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1000:
        raise Refused(422, "Jumlah blangko rusak harus angka 1 sampai 1000.")
    answer = await web.gateway.call("inventory", "POST", "/spoilage", person=visitor.account, json={
        "location_id": station_id, "quantity": int(quantity), "reason": reason},
        headers={"Idempotency-Key": f"web-rusak-{form.get('formulir') or uuid.uuid4().hex}"[:100]})
    await web.record(visitor.account, "blangko_rusak", station_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse(f"/stasiun/{station_id}?pesan=rusak", status_code=303)


@router.post("/stasiun/{station_id}/kirim-sekolah", include_in_schema=False)
async def send_to_school(station_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    """Every printed card of one school's students, taken there together (the school signs for them)."""
    _station_of(visitor, station_id)
    school = str(form.get("sekolah", ""))
    found = await _read(web.gateway, visitor.account, station_id)
    job_ids = [job["job_id"] for job in found["printed"] if job.get("sekolah") == school]
    if not job_ids:
        raise Refused(404, "Tidak ada kartu tercetak untuk sekolah ini.")
    answer = await web.gateway.call("printing", "POST", "/school-deliveries", person=visitor.account,
                                    json={"school_npsn": school, "job_ids": job_ids},
                                    headers={"Idempotency-Key": f"web-sekolah-{form.get('formulir') or uuid.uuid4().hex}"[:100]})
    await web.record(visitor.account, "kirim_kartu_sekolah", school, f"{answer.status}: {len(job_ids)} kartu")
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse(f"/stasiun/{station_id}?pesan=sekolah", status_code=303)


@router.get("/serah-sekolah", include_in_schema=False)
async def school_receipts(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    """Kecamatan clerks (and the dinas): cards sent to a school, waiting for the school's signature."""
    only(visitor, (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN), "tanda terima sekolah")
    params = {"kecamatan_code": visitor.account.kecamatan_code} if visitor.account.kecamatan_code else {}
    answer = await web.gateway.call("printing", "GET", "/school-deliveries", person=visitor.account, params=params)
    if not answer.ok:
        raise refusal_of(answer)
    return page(request, "school_receipts.html", visitor, deliveries=answer.body,
                message=request.query_params.get("pesan"))


@router.post("/serah-sekolah/{delivery_id}", include_in_schema=False)
async def acknowledge(delivery_id: str, visitor: SignedIn, form: CheckedForm, web: WebParts) -> Any:
    only(visitor, (Role.KECAMATAN_OFFICE, Role.DINAS_ADMIN), "tanda terima sekolah")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,63}", delivery_id):
        raise Refused(404, "Kiriman ini tidak dikenal.")
    answer = await web.gateway.call("printing", "POST", f"/school-deliveries/{delivery_id}/acknowledge",
                                    person=visitor.account, json={"received_by": str(form.get("received_by", "")).strip()},
                                    headers={"Idempotency-Key": f"web-terima-{delivery_id}"[:100]})
    await web.record(visitor.account, "tanda_terima_sekolah", delivery_id, str(answer.status))
    if not answer.ok:
        raise refusal_of(answer)
    return RedirectResponse("/serah-sekolah?pesan=diterima", status_code=303)
