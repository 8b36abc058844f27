"""The dashboard's login: every route refused without a session, CSRF on every form and
action, the session cookie's flags, failed logins limited, logging out, and the page that
says how to turn the dashboard on when ADMIN_TOKEN is unset."""

from __future__ import annotations

import pytest

from agent.dashboard.auth import LoginLimiter, Signer
from processors.clock import FakeClock
from tests.dashboard.conftest import TOKEN, csrf_of

PAGES = [
    "/dashboard",
    "/dashboard/",
    "/dashboard/live",
    "/dashboard/history",
    "/dashboard/health",
    "/dashboard/calls/CAaaaa0001",
]
FEEDS = [
    "/dashboard/live/events",
    "/dashboard/history.csv",
    "/dashboard/calls/CAaaaa0001/recording",
]
ACTIONS = [
    "/dashboard/logout",
    "/dashboard/calls/CAaaaa0001/end",
    "/dashboard/calls/CAaaaa0001/transfer",
]


def test_session_cookies_are_signed_and_expire():
    now = [1_000_000.0]
    signer = Signer(TOKEN, wall=lambda: now[0])
    cookie = signer.new_cookie()
    session = signer.read(cookie)
    assert session is not None and len(session.csrf) == 64
    assert signer.read(cookie, kind="login") is None  # a session cookie is not a login one
    login = signer.new_cookie("login")
    assert signer.read(login) is None  # and the login form's cookie is no session
    assert signer.read(login, kind="login").csrf != session.csrf
    issued, nonce, signature = cookie.split(".")
    assert signer.read(f"{int(issued) + 1}.{nonce}.{signature}") is None  # tampered
    assert Signer("another-token").read(cookie) is None  # ADMIN_TOKEN changed: logged out
    assert signer.read("garbage") is None and signer.read(None) is None
    now[0] += 12 * 3600 + 1
    assert signer.read(cookie) is None  # expired
    assert not signer.token_matches("wrong") and signer.token_matches(TOKEN)
    assert signer.read(f"{issued}.{nonce}.é") is None  # not ASCII: refused, not a crash


def test_failed_logins_are_limited_per_client_on_the_injected_clock():
    clock = FakeClock()
    limiter = LoginLimiter(clock, max_failures=3, window_s=60)
    for _ in range(3):
        assert limiter.retry_after("10.0.0.1") == 0
        limiter.failed("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == pytest.approx(60)
    assert limiter.retry_after("10.0.0.2") == 0  # another client is not held back
    clock._now += 45
    assert limiter.retry_after("10.0.0.1") == pytest.approx(15)
    clock._now += 15
    assert limiter.retry_after("10.0.0.1") == 0  # the window slid past the failures
    limiter.failed("10.0.0.1")
    limiter.succeeded("10.0.0.1")
    assert limiter.retry_after("10.0.0.1") == 0


async def test_every_route_is_refused_without_a_session_every_action_without_csrf(
    start_server, client_for
):
    server = await start_server(ADMIN_TOKEN=TOKEN)
    anonymous = client_for(server)
    for path in PAGES:
        status, headers, _ = await anonymous.get(path)
        assert (status, headers.get("Location")) == (303, "/dashboard/login"), path
    for path in FEEDS:
        status, _, _ = await anonymous.get(path)
        assert status == 401, path
    for path in ACTIONS:
        status, _, _ = await anonymous.post(path, data={"csrf": "x", "destination": "d"})
        assert status == 401, path
    # The login form itself needs its CSRF token (and the cookie it is bound to).
    status, _, _ = await anonymous.post("/dashboard/login", data={"token": TOKEN})
    assert status == 403
    # The token in a URL logs nobody in.
    status, _, _ = await anonymous.get(f"/dashboard/login?token={TOKEN}")
    assert status == 200 and "sb_session" not in anonymous.cookies
    # The login form's cookie is no session cookie.
    anonymous.cookies["sb_session"] = anonymous.cookies["sb_login"]
    status, _, _ = await anonymous.get("/dashboard/live")
    assert status == 303
    del anonymous.cookies["sb_session"]

    user = client_for(server)
    status, headers, _ = await user.login()
    assert (status, headers["Location"]) == (303, "/dashboard/live")
    # PUBLIC_HOST is set (the public URL is https): the cookie is Secure too.
    [morsel] = [c["sb_session"] for c in user.set_cookies if "sb_session" in c]
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Strict"
    assert morsel["path"] == "/dashboard"
    for path in PAGES[2:5]:
        status, headers, page = await user.get(path)
        assert status == 200, path
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert headers["Cache-Control"] == "no-store"
        assert TOKEN not in page
    for path in ACTIONS:  # logged in, but no CSRF token, or a wrong one
        for data in ({}, {"csrf": "not-the-token", "destination": "front_desk"}, {"csrf": "é"}):
            status, _, body = await user.post(path, data=data)
            assert status == 403 and "CSRF" in body, (path, data)
    status, _, page = await user.get("/dashboard/live")
    status, headers, _ = await user.post(
        "/dashboard/calls/CAnone/end", data={"csrf": csrf_of(page)}
    )
    assert status == 404  # CSRF accepted; no such live call
    status, headers, _ = await user.post("/dashboard/logout", data={"csrf": csrf_of(page)})
    assert (status, headers["Location"]) == (303, "/dashboard/login")
    status, headers, _ = await user.get("/dashboard/live")
    assert (status, headers["Location"]) == (303, "/dashboard/login")

    # Wrong tokens are refused, then the client is held back, even with the right one.
    for _ in range(5):
        status, _, page = await user.login("wrong-token")
        assert status == 401 and "not the admin token" in page
    status, headers, _ = await user.login()
    assert status == 429 and int(headers["Retry-After"]) > 0
    assert "sb_session" not in user.cookies


async def test_without_admin_token_every_route_says_how_to_turn_it_on(start_server, client_for):
    server = await start_server()
    anonymous = client_for(server)
    for path in [*PAGES, *FEEDS, "/dashboard/login"]:
        status, _, page = await anonymous.get(path)
        assert status == 404 and "ADMIN_TOKEN" in page and "is not set" in page, path
    for path in [*ACTIONS, "/dashboard/login"]:
        status, _, page = await anonymous.post(path, data={"token": "x", "csrf": "x"})
        assert status == 404 and "ADMIN_TOKEN" in page, path
    assert not server.services.watchers  # and no live board listens to calls
