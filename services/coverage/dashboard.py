"""The dashboard: server-rendered pages with inline styles and SVG, nothing loaded from the internet."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from services.coverage import planner, queries
from shared.areas import load_areas
from shared.clock import WIB

# A schematic layout of the 15 kecamatan (column, row), west to east and north to south; not to scale.
TILES: dict[str, tuple[int, int]] = {
    "17.02.23": (0, 0), "17.02.21": (1, 0), "17.02.22": (2, 0), "17.02.24": (4, 0),
    "17.02.08": (1, 1), "17.02.16": (2, 1), "17.02.10": (3, 1), "17.02.17": (4, 1),
    "17.02.06": (0, 2), "17.02.09": (2, 2), "17.02.19": (3, 2), "17.02.18": (4, 2),
    "17.02.07": (0, 3), "17.02.20": (1, 3), "17.02.11": (3, 3),
}

STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;background:#f4f6f8}
header{background:#0b4f6c;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:4px 0 0;font-size:13px;opacity:.85}main{padding:16px 24px;max-width:1280px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:10px;margin-bottom:16px}
.card{background:#fff;border-radius:6px;padding:10px 12px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card b{display:block;font-size:22px}.card span{font-size:12px;color:#56606b}
section{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:16px;margin:4px 0 10px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:4px 6px;border-bottom:1px solid #e3e7eb;text-align:right}th{background:#eef2f5}
td.l,th.l{text-align:left}.bar{background:#e3e7eb;height:10px;width:160px;display:inline-block;vertical-align:middle}
.bar i{display:block;height:10px;background:#1b9e77}.grid{display:grid;grid-template-columns:1fr 1fr;gap:16px}
a{color:#0b4f6c}.note{font-size:12px;color:#56606b}
"""


def _num(n: Any) -> str:
    return "–" if n is None else f"{n:,}".replace(",", ".")


def _pct(p: float | None) -> str:
    return "–" if p is None else f"{p:.1f}%".replace(".", ",")


def _bar(p: float | None) -> str:
    width = max(0.0, min(100.0, p or 0.0))
    return f'<span class="bar"><i style="width:{width:.1f}%"></i></span> {_pct(p)}'


def _color(p: float | None) -> str:
    """Choropleth shade: light for low coverage, dark green for complete."""
    if p is None:
        return "#d9dee3"
    steps = [(99.5, "#00441b"), (97, "#1b7837"), (94, "#5aae61"), (90, "#a6dba0"), (80, "#d9f0d3")]
    return next((c for limit, c in steps if p >= limit), "#f7e1d7")


def _page(title: str, subtitle: str, body: str) -> HTMLResponse:
    html = (f'<!doctype html><html lang="id"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{STYLE}</style></head>'
            f'<body><header><h1>{escape(title)}</h1><p>{escape(subtitle)}</p></header><main>{body}</main></body></html>')
    return HTMLResponse(html)


def map_svg(rows: list[dict[str, Any]]) -> str:
    """Tile map of the kecamatan shaded by recording coverage, with a legend."""
    size, gap = 118, 6
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 760 500" width="100%" role="img" '
             'aria-label="Peta cakupan perekaman per kecamatan">']
    for row in rows:
        col, line = TILES.get(row["kode"], (5, 0))
        x, y = col * (size + gap), line * (size + gap)
        p = row["cakupan_rekam"]["persen"]
        fill = _color(p)
        text = "#fff" if p is not None and p >= 94 else "#1d2733"
        parts.append(f'<a href="/dasbor/kecamatan/{row["kode"]}"><rect x="{x}" y="{y}" width="{size}" height="{size}"'
                     f' rx="6" fill="{fill}" stroke="#fff"><title>{escape(row["nama"])}: {_pct(p)}</title></rect>'
                     f'<text x="{x + size / 2}" y="{y + 48}" font-size="{12 if len(row["nama"]) < 17 else 10}" '
                     f'text-anchor="middle" fill="{text}">'
                     f'{escape(row["nama"])}</text><text x="{x + size / 2}" y="{y + 72}" font-size="18" '
                     f'font-weight="bold" text-anchor="middle" fill="{text}">{_pct(p)}</text>'
                     f'<text x="{x + size / 2}" y="{y + 92}" font-size="11" text-anchor="middle" fill="{text}">'
                     f'{_num(row["belum_rekam"])} belum rekam</text></a>')
    legend = [(99.5, "≥ 99,5%"), (97, "97–99,5%"), (94, "94–97%"), (90, "90–94%"), (80, "80–90%"), (0, "< 80%")]
    for i, (limit, label) in enumerate(legend):
        parts.append(f'<rect x="{5 * (size + gap) - 10}" y="{300 + i * 22}" width="16" height="16" fill="{_color(limit)}"/>'
                     f'<text x="{5 * (size + gap) + 12}" y="{313 + i * 22}" font-size="12">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _total(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The sum of area rows, shown as the first line of a table."""
    keys = ("wajib_ktp", "direkam", "belum_rekam", "lansia_belum_rekam", "prr", "dicetak", "diserahkan",
            "duplikat", "gagal", "antre_cetak")
    total: dict[str, Any] = {"kode": "", "nama": name, **{k: sum(int(r[k]) for r in rows) for k in keys}}
    total["cakupan_rekam"] = queries.ratio(min(total["direkam"], total["wajib_ktp"]), total["wajib_ktp"])
    return total


def _area_table(rows: list[dict[str, Any]], *, link: bool) -> str:
    head = ('<tr><th class="l">Wilayah</th><th>Wajib KTP</th><th>Direkam</th><th class="l">Cakupan rekam</th>'
            '<th>Belum rekam</th><th>Lansia belum rekam</th><th>PRR</th><th>Dicetak</th><th>Diserahkan</th>'
            '<th>Duplikat</th><th>Gagal</th><th>Antre cetak</th></tr>')
    body = []
    for r in rows:
        name = escape(r["nama"])
        if link:
            name = f'<a href="/dasbor/kecamatan/{r["kode"]}">{name}</a>'
        body.append(f'<tr><td class="l">{name}</td><td>{_num(r["wajib_ktp"])}</td><td>{_num(r["direkam"])}</td>'
                    f'<td class="l">{_bar(r["cakupan_rekam"]["persen"])}</td><td>{_num(r["belum_rekam"])}</td>'
                    f'<td>{_num(r["lansia_belum_rekam"])}</td><td>{_num(r["prr"])}</td><td>{_num(r["dicetak"])}</td>'
                    f'<td>{_num(r["diserahkan"])}</td><td>{_num(r["duplikat"])}</td><td>{_num(r["gagal"])}</td>'
                    f'<td>{_num(r["antre_cetak"])}</td></tr>')
    return f"<table>{head}{''.join(body)}</table>"


def _one_year_after(day: dt.date) -> dt.date:
    return day.replace(year=day.year + 1) if (day.month, day.day) != (2, 29) else day.replace(year=day.year + 1, day=28)


def build_dashboard() -> APIRouter:
    router = APIRouter(tags=["dasbor"], include_in_schema=False)

    @router.get("/", include_in_schema=False)
    @router.get("/dasbor", response_class=HTMLResponse)
    async def overview(request: Request) -> HTMLResponse:
        store = request.app.state.store
        now = request.app.state.clock()
        today = now.astimezone(WIB).date()
        cohort_until = _one_year_after(today)
        table = await queries.coverage_table(store, level="kecamatan", parent=None, day=today,
                                             cohort_until=cohort_until)
        kab = table["kabupaten"]
        backlog = await queries.backlog(store, now=now)
        stock = await queries.stock(store, today=today)
        ranked = planner.rank(await queries.planner_places(store), today)
        visits = planner.propose(ranked, start=today, settings=planner.PlannerSettings(weeks=2))
        cards = [
            ("Wajib KTP", _num(kab["wajib_ktp"])),
            ("Sudah rekam", f'{_num(kab["direkam"])} ({_pct(kab["cakupan_rekam"]["persen"])})'),
            ("Wajib KTP belum rekam", _num(kab["wajib_ktp_belum_rekam"])),
            ("Terdaftar belum rekam (termasuk calon wajib KTP)", _num(kab["belum_rekam"])),
            (f"Akan wajib KTP s.d. {cohort_until:%d-%m-%Y}", _num(kab.get("akan_wajib_ktp"))),
            ("Lansia belum rekam", _num(kab["lansia_belum_rekam"])),
            ("Siap cetak (PRR)", _num(kab["prr"])),
            ("Sudah dicetak", _num(kab["dicetak"])),
            ("Sudah diserahkan", _num(kab["diserahkan"])),
            ("Antrean cetak", _num(backlog["antre_cetak"])),
            ("Stok blangko", _num(stock["stok_total"])),
        ]
        cards_html = "".join(f'<div class="card"><span>{escape(label)}</span><b>{value}</b></div>' for label, value in cards)
        backlog_rows = "".join(
            f'<tr><td class="l">{escape(r["nama"])}</td><td>{_num(r["antre_cetak"])}</td>'
            f'<td>{"–" if r["umur_hari"] is None else str(r["umur_hari"]).replace(".", ",")}</td></tr>'
            for r in backlog["baris"] if r["antre_cetak"])
        stock_rows = "".join(
            f'<tr><td class="l">{escape(r["lokasi"])}</td><td>{_num(r["stok"])}</td><td>{_num(r["dipesan"])}</td>'
            f'<td>{_num(r["dalam_perjalanan"])}</td><td>{_num(r["terpakai"])}</td><td>{_num(r["rusak"])}</td>'
            f'<td>{"–" if r["hari_stok"] is None else str(r["hari_stok"]).replace(".", ",")}</td></tr>'
            for r in stock["baris"])
        visit_rows = "".join(
            f'<tr><td class="l">{v.date:%d-%m-%Y}</td>'
            f'<td class="l">{escape(load_areas().kecamatan[v.kecamatan_code].name)}</td>'
            f'<td class="l">{escape(", ".join(p.name for p, _ in v.places))}</td><td>{_num(v.residents)}</td></tr>'
            for v in visits)
        body = (
            f'<div class="cards">{cards_html}</div>'
            f'<div class="grid"><section><h2>Peta cakupan perekaman</h2>{map_svg(table["baris"])}'
            f'<p class="note">Peta skematis (bukan skala); klik kecamatan untuk daftar desa.</p></section>'
            f'<section><h2>Antrean cetak</h2><table><tr><th class="l">Kecamatan</th><th>Menunggu</th>'
            f'<th>Umur tertua (hari)</th></tr>{backlog_rows or "<tr><td class=l colspan=3>Tidak ada antrean</td></tr>"}'
            f'</table><h2 style="margin-top:16px">Stok blangko</h2><table><tr><th class="l">Lokasi</th><th>Stok</th>'
            f'<th>Dipesan</th><th>Dalam perjalanan</th><th>Terpakai</th><th>Rusak</th><th>Hari stok</th></tr>'
            f'{stock_rows or "<tr><td class=l colspan=7>Belum ada data stok</td></tr>"}</table></section></div>'
            f'<section><h2>Cakupan per kecamatan</h2>{_area_table(table["baris"], link=True)}'
            f'<p class="note">Unduh: <a href="/coverage/areas?format=csv">CSV per kecamatan</a> · '
            f'<a href="/coverage/series?format=csv">deret mingguan</a> · <a href="/stock?format=csv">stok</a> · '
            f'<a href="/backlog?format=csv">antrean</a></p></section>'
            f'<section><h2>Usulan jemput bola dua minggu ke depan</h2><table><tr><th class="l">Hari</th>'
            f'<th class="l">Kecamatan</th><th class="l">Tempat</th><th>Penduduk</th></tr>{visit_rows}</table>'
            f'<p class="note">Tiga kunjungan per minggu, 30–50 penduduk per kunjungan; ubah di '
            f'<a href="/planner/visits">/planner/visits</a>.</p></section>'
        )
        return _page("Cakupan e-KTP Kabupaten Rejang Lebong",
                     f"Dinas Dukcapil · data per {now.astimezone(WIB):%d-%m-%Y %H:%M} WIB", body)

    @router.get("/dasbor/kecamatan/{code}", response_class=HTMLResponse)
    async def kecamatan(code: str, request: Request) -> HTMLResponse:
        kec = load_areas().kecamatan.get(code)
        if kec is None:
            raise HTTPException(404, f"Kecamatan {code} tidak ada di Rejang Lebong.")
        store = request.app.state.store
        now = request.app.state.clock()
        today = now.astimezone(WIB).date()
        desa = await queries.coverage_table(store, level="desa", parent=code, day=today)
        schools = await queries.coverage_table(store, level="sekolah", parent=code, day=today)
        body = (f'<p><a href="/dasbor">← Kabupaten</a></p><section><h2>Desa/kelurahan</h2>'
                f'{_area_table([_total(desa["baris"], "Jumlah kecamatan"), *desa["baris"]], link=False)}'
                f'<p class="note"><a href="/coverage/areas?tingkat=desa&amp;'
                f'kecamatan={code}&amp;format=csv">Unduh CSV</a></p></section>'
                f'<section><h2>Sekolah</h2>{_area_table(schools["baris"], link=False)}</section>')
        return _page(f"Kecamatan {kec.name}", f"Cakupan per desa dan sekolah · {today:%d-%m-%Y}", body)

    return router
