"""The dinas: what people did through the web app (the audit), and the accounts."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from services.web.context import SignedIn, WebParts, only, page
from shared.contracts import Role

router = APIRouter()
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


@router.get("/dinas/audit", include_in_schema=False)
async def audit(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, (Role.DINAS_ADMIN,), "log audit")
    wanted = request.query_params.get("pengguna", "").strip().lower()
    username = wanted if USERNAME.fullmatch(wanted) else None
    deeds = await web.audit.latest(username=username)
    return page(request, "audit.html", visitor, deeds=deeds, username=username or "")


@router.get("/dinas/akun", include_in_schema=False)
async def accounts(request: Request, visitor: SignedIn, web: WebParts) -> Any:
    only(visitor, (Role.DINAS_ADMIN,), "akun pengguna")
    return page(request, "accounts.html", visitor, accounts=await web.accounts.list(), now=web.clock())
