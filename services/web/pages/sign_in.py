"""Signing in and out. The login form carries a CSRF token too (double-submit: cookie and field)."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from services.web import formatting
from services.web.accounts import SignIn
from services.web.context import CSRF_FIELD, Refused, WebParts, page, signed_in
from services.web.sessions import SESSION_COOKIE, same_token

router = APIRouter()
LOGIN_CSRF_COOKIE = "ektp_csrf_masuk"


def _cookie(response: Response, name: str, value: str, *, secure: bool, max_age: int | None = None) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, max_age=max_age, path="/")


def _login_page(request: Request, web: WebParts, *, status: int = 200, message: str | None = None,
                username: str = "") -> Any:
    token = secrets.token_urlsafe(32)
    response = page(request, "sign_in.html", None, status=status, login_csrf=token, message=message,
                    username=username, idle=request.query_params.get("habis") == "1",
                    lockout_after=web.settings.lockout_after)
    _cookie(response, LOGIN_CSRF_COOKIE, token, secure=web.settings.secure_cookies, max_age=3600)
    return response


@router.get("/masuk", include_in_schema=False)
async def sign_in_page(request: Request, web: WebParts) -> Any:
    return _login_page(request, web)


@router.post("/masuk", include_in_schema=False)
async def sign_in(request: Request, web: WebParts) -> Any:
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not same_token(given if isinstance(given, str) else None, request.cookies.get(LOGIN_CSRF_COOKIE, "-")):
        raise Refused(403, "Formulir masuk tidak sah atau sudah kedaluwarsa. Muat ulang halaman masuk lalu coba lagi.")
    username = str(form.get("username", "")).strip().lower()
    result = await web.accounts.sign_in(username, str(form.get("password", "")), now=web.clock())
    web.sign_ins.labels(result.outcome.value).inc()
    if result.outcome == SignIn.OK and result.account is not None:
        token = await web.sessions.start(result.account.username, now=web.clock())
        await web.record(result.account, "masuk", None, "ok")
        response = RedirectResponse("/beranda", status_code=303)
        _cookie(response, SESSION_COOKIE, token, secure=web.settings.secure_cookies)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response
    messages = {
        SignIn.WRONG: "Nama pengguna atau kata sandi salah.",
        SignIn.DISABLED: "Akun ini dinonaktifkan. Hubungi admin dinas.",
        SignIn.LOCKED: (f"Akun terkunci karena {web.settings.lockout_after} kali kata sandi salah, sampai "
                        f"{formatting.tanggal(result.locked_until)}. Tunggu, atau minta admin dinas membukanya."),
    }
    return _login_page(request, web, status=401 if result.outcome == SignIn.WRONG else 403,
                       message=messages[result.outcome], username=username)


@router.post("/keluar", include_in_schema=False)
async def sign_out(request: Request, web: WebParts) -> Any:
    visitor = await signed_in(request)
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not same_token(given if isinstance(given, str) else None, visitor.csrf):
        raise Refused(403, "Formulir keluar tidak sah. Muat ulang halaman lalu coba lagi.")
    await web.sessions.end(request.cookies.get(SESSION_COOKIE))
    await web.record(visitor.account, "keluar", None, "ok")
    response = RedirectResponse("/masuk", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
