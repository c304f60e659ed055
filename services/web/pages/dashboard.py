"""The dashboard people look at: weekly cumulative coverage of the regency and each kecamatan, the print
backlog and its age, blangko stock over the last weeks, as charts; `?layar=1` for a wall screen (no
navigation, reloads every two minutes)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from fastapi import APIRouter, Request

from services.web import charts
from services.web.context import SignedIn, WebParts, page, refusal_of
from services.web.formatting import MONTHS
from services.web.gateway import Answer, Gateway
from shared.areas import REGENCY_CODE

router = APIRouter()
WEEKS = 26
DAYS = 60


def _short(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return f"{date.day} {MONTHS[date.month - 1][:3]}"


async def _public(gateway: Gateway, path: str, **params: str) -> Any:
    answer: Answer = await gateway.call("coverage", "GET", path, person=None, params=params)
    if not answer.ok:
        raise refusal_of(answer)
    return answer.body


def _coverage_chart(name: str, weeks: list[dict[str, Any]], ident: str) -> Any:
    labels = [_short(week["minggu_akhir"]) for week in weeks]
    return charts.line_chart(f"Wajib KTP dan sudah rekam (kumulatif), {name}", labels, [
        charts.Line("wajib KTP", [w["wajib_ktp"] for w in weeks]),
        charts.Line("sudah rekam", [w["direkam"] for w in weeks]),
        charts.Line("dicetak", [w["dicetak"] for w in weeks])], ident=ident)


@router.get("/dasbor", include_in_schema=False)
async def dashboard(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    gateway = web.gateway
    summary, regency, backlog, stock, stock_days = await asyncio.gather(
        _public(gateway, "/coverage"), _public(gateway, "/coverage/series", kode=REGENCY_CODE, minggu=str(WEEKS)),
        _public(gateway, "/backlog"), _public(gateway, "/stock"), _public(gateway, "/stock/series", hari=str(DAYS)))
    kecamatan = summary["kecamatan"]
    series = await asyncio.gather(*(_public(gateway, "/coverage/series", kode=row["kode"], minggu=str(WEEKS))
                                    for row in kecamatan))
    per_kecamatan = [(row, _coverage_chart(row["nama"], s["minggu"], f"grafik-{row['kode']}"))
                     for row, s in zip(kecamatan, series, strict=True)]
    backlog_chart = charts.bar_chart("Antrean cetak per kecamatan", [
        (row["nama"], row["antre_cetak"], f"(tertua {row['umur_hari']} hari)" if row["umur_hari"] is not None else "")
        for row in backlog["baris"]], ident="grafik-antrean")
    stock_chart = charts.line_chart("Stok blangko seluruh kabupaten (akhir hari)",
                                    [_short(day["tanggal"]) for day in stock_days["hari"]],
                                    [charts.Line("stok blangko", [day["stok_total"] for day in stock_days["hari"]])],
                                    ident="grafik-stok")
    stock_bars = charts.bar_chart("Stok blangko per lokasi", [
        (row["lokasi"], row["stok"], f"({row['hari_stok']} hari)" if row["hari_stok"] is not None else "")
        for row in stock["baris"]], ident="grafik-stok-lokasi")
    wall = request.query_params.get("layar") == "1"
    return page(request, "dashboard.html", None if wall else visitor, summary=summary, wall=wall,
                regency_chart=_coverage_chart("Kabupaten Rejang Lebong", regency["minggu"], "grafik-kabupaten"),
                per_kecamatan=per_kecamatan, backlog=backlog, backlog_chart=backlog_chart, stock_chart=stock_chart,
                stock_bars=stock_bars, now=web.clock())
