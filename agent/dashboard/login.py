"""Logging in and out of the dashboard, and what it says when ADMIN_TOKEN is unset.

GET  /dashboard/login    the form (with its CSRF token, bound to a pre-login cookie)
POST /dashboard/login    token + csrf; 303 to Live, 401 wrong token, 403 bad CSRF,
                         429 (Retry-After) after too many failures from one client
POST /dashboard/logout   csrf; clears the session cookie, 303 to the login page
"""

from __future__ import annotations

import math

from aiohttp import web
from loguru import logger

from agent.dashboard.auth import (
    LIMITER,
    LOGIN_COOKIE,
    LOGIN_FORM_S,
    SESSION_COOKIE,
    SESSION_S,
    client_of,
    require_action,
    same,
    secure_cookies,
    session_of,
    signer_of,
)
from agent.dashboard.render import render


def disabled(request: web.Request) -> web.Response:
    """Every dashboard route while ADMIN_TOKEN is unset: how to turn it on, and no data."""
    return render(request, "disabled.html", {}, status=404)


def _set_cookie(request, response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request),
    )


async def login_form(request: web.Request, *, error: str = "", status: int = 200):
    signer = signer_of(request)
    if signer is None:
        return disabled(request)
    if not error and session_of(request) is not None:
        raise web.HTTPSeeOther("/dashboard/live")
    pre = signer.read(request.cookies.get(LOGIN_COOKIE), LOGIN_FORM_S, kind="login")
    cookie = None
    if pre is None:
        cookie = signer.new_cookie("login")
        pre = signer.read(cookie, LOGIN_FORM_S, kind="login")
    response = render(request, "login.html", {"error": error, "login_csrf": pre.csrf}, status)
    if cookie is not None:
        _set_cookie(request, response, LOGIN_COOKIE, cookie, LOGIN_FORM_S)
    return response


async def login(request: web.Request) -> web.Response:
    signer = signer_of(request)
    if signer is None:
        return disabled(request)
    limiter = request.app[LIMITER]
    client = client_of(request)
    if wait := limiter.retry_after(client):
        raise web.HTTPTooManyRequests(
            text=f"too many failed logins; try again in {math.ceil(wait)} s",
            headers={"Retry-After": str(math.ceil(wait))},
        )
    form = await request.post()
    pre = signer.read(request.cookies.get(LOGIN_COOKIE), LOGIN_FORM_S, kind="login")
    given_csrf = form.get("csrf")
    if pre is None or not isinstance(given_csrf, str):
        raise web.HTTPForbidden(text="missing CSRF token; reload the login page")
    if not same(given_csrf, pre.csrf):
        raise web.HTTPForbidden(text="wrong CSRF token; reload the login page")
    token = form.get("token")
    if not isinstance(token, str) or not signer.token_matches(token):
        limiter.failed(client)
        logger.warning("dashboard: a failed login")
        return await login_form(request, error="That is not the admin token.", status=401)
    limiter.succeeded(client)
    response = web.HTTPSeeOther("/dashboard/live")
    _set_cookie(request, response, SESSION_COOKIE, signer.new_cookie(), SESSION_S)
    response.del_cookie(LOGIN_COOKIE, path="/dashboard")
    raise response


async def logout(request: web.Request) -> web.Response:
    if signer_of(request) is None:
        return disabled(request)
    await require_action(request)
    response = web.HTTPSeeOther("/dashboard/login")
    response.del_cookie(SESSION_COOKIE, path="/dashboard")
    raise response
