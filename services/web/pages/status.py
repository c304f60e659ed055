"""Residents: the public "cek status KTP-el" page. NIK and birth date answer the stage and where a printed
card is collected; no name is shown, lookups are limited per address, and coverage audits each one."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from fastapi import APIRouter, Request

from services.web.context import page

router = APIRouter()
NIK = re.compile(r"^\d{16}$")
BURST = 5
"""Lookups one visitor address may make at once, before the per-minute limit applies."""
STAGE_TITLES = {"tidak_ditemukan": "Tidak ditemukan", "belum_rekam": "Belum rekam", "sudah_rekam": "Sudah rekam",
                "siap_cetak": "Siap cetak", "dicetak": "Dicetak", "diserahkan": "Sudah diserahkan"}


def visitor_address(request: Request, *, behind_proxy: bool) -> str:
    """Who is looking up: the connecting address, or behind a trusted proxy the last address it appended
    to X-Forwarded-For (earlier entries come from the visitor and can be made up)."""
    if behind_proxy:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",") if part.strip()]
        if forwarded:
            return forwarded[-1]
    return request.client.host if request.client else "-"


def _problem(nik: str, birth: str) -> str | None:
    if not NIK.fullmatch(nik):
        return "NIK harus 16 angka (tanpa titik atau spasi)."
    try:
        dt.date.fromisoformat(birth)
    except ValueError:
        return "Isi tanggal lahir (hari, bulan, tahun)."
    return None


@router.get("/cek-status", include_in_schema=False)
async def status_form(request: Request) -> Any:
    return page(request, "status.html", None, answer=None)


@router.post("/cek-status", include_in_schema=False)
async def status(request: Request) -> Any:
    web = request.app.state.web
    form = await request.form()
    nik = "".join(ch for ch in str(form.get("nik", "")) if not (ch.isspace() or ch in ".-"))
    birth = str(form.get("tanggal_lahir", ""))
    problem = _problem(nik, birth)
    if problem is not None:
        return page(request, "status.html", None, status=422, answer=None, message=problem)
    wait = request.app.state.status_limit.take(visitor_address(request, behind_proxy=web.settings.behind_proxy))
    if wait > 0:
        return page(request, "status.html", None, status=429, answer=None,
                    message=f"Terlalu banyak pencarian. Coba lagi dalam {max(1, int(wait + 0.999))} detik.")
    answer = await web.gateway.call("coverage", "POST", "/status-ktp", person=None, as_itself=True,
                                    json={"nik": nik, "tanggal_lahir": birth})
    if not answer.ok:
        return page(request, "status.html", None, status=503 if answer.status >= 500 else answer.status, answer=None,
                    message=answer.detail)
    web.status_lookups.labels(answer.body["tahap"]).inc()
    return page(request, "status.html", None, answer=answer.body, title_of=STAGE_TITLES)
