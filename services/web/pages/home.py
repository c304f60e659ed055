"""The first page after signing in: what this person's role does here."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from services.web.context import SignedIn, page
from services.web.sessions import SESSION_COOKIE

router = APIRouter()


@router.get("/", include_in_schema=False)
async def root(request: Request) -> Any:
    return RedirectResponse("/beranda" if request.cookies.get(SESSION_COOKIE) else "/masuk", status_code=303)


@router.get("/beranda", include_in_schema=False)
async def home(request: Request, visitor: SignedIn) -> Any:
    return page(request, "home.html", visitor)
