"""The dashboard: server-rendered Jinja2 pages (autoescaped, one base layout), nothing loaded from the internet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.coverage import handlers
from services.coverage.ports import CoverageDeps
from shared.clock import WIB

# A schematic layout of the 15 kecamatan (column, row), west to east and north to south; not to scale.
TILES: dict[str, tuple[int, int]] = {
    "17.02.23": (0, 0), "17.02.21": (1, 0), "17.02.22": (2, 0), "17.02.24": (4, 0),
    "17.02.08": (1, 1), "17.02.16": (2, 1), "17.02.10": (3, 1), "17.02.17": (4, 1),
    "17.02.06": (0, 2), "17.02.09": (2, 2), "17.02.19": (3, 2), "17.02.18": (4, 2),
    "17.02.07": (0, 3), "17.02.20": (1, 3), "17.02.11": (3, 3),
}
SHADES = [(99.5, "#00441b"), (97, "#1b7837"), (94, "#5aae61"), (90, "#a6dba0"), (80, "#d9f0d3")]


def num(n: Any) -> str:
    """A count with Indonesian thousands separators; a dash when unknown."""
    return "–" if n is None else f"{n:,}".replace(",", ".")


def pct(p: float | None) -> str:
    """A percentage with a decimal comma; a dash when there is no denominator."""
    return "–" if p is None else f"{p:.1f}%".replace(".", ",")


def decimal(x: float | None) -> str:
    """A number with a decimal comma; a dash when unknown."""
    return "–" if x is None else str(x).replace(".", ",")


def shade(p: float | None) -> str:
    """Choropleth shade: light for low coverage, dark green for complete."""
    if p is None:
        return "#d9dee3"
    return next((c for limit, c in SHADES if p >= limit), "#f7e1d7")


TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                        autoescape=select_autoescape(default=True, default_for_string=True),
                        undefined=StrictUndefined)
"""A figure a page names but its data lacks is an error when the page is rendered, never a blank cell."""
TEMPLATES.filters.update(num=num, pct=pct, decimal=decimal, shade=shade)

router = APIRouter(tags=["dasbor"], include_in_schema=False)


def deps_of(request: Request) -> CoverageDeps:
    """The use cases' dependencies, built by app.py."""
    return request.app.state.deps  # type: ignore[no-any-return]


Deps = Annotated[CoverageDeps, Depends(deps_of)]


def render(template: str, **context: Any) -> HTMLResponse:
    """A page from its template."""
    return HTMLResponse(TEMPLATES.get_template(template).render(**context))


@router.get("/", include_in_schema=False)
@router.get("/dasbor", response_class=HTMLResponse)
async def overview(deps: Deps) -> HTMLResponse:
    page = await handlers.overview_page(deps=deps)
    return render("overview.html", page=page, tiles=TILES, title="Cakupan KTP-el Kabupaten Rejang Lebong",
                  subtitle=f"Dinas Dukcapil · data per {page.now.astimezone(WIB):%d-%m-%Y %H:%M} WIB")


@router.get("/dasbor/kecamatan/{code}", response_class=HTMLResponse)
async def kecamatan(code: str, deps: Deps) -> HTMLResponse:
    try:
        page = await handlers.kecamatan_page(code, deps=deps)
    except handlers.AreaNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return render("kecamatan.html", page=page, title=f"Kecamatan {page.name}",
                  subtitle=f"Cakupan per desa dan sekolah · {page.today:%d-%m-%Y}")
