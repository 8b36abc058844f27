"""The dashboard under /dashboard: live calls, history, one call, health; behind ADMIN_TOKEN.

Server-rendered (Jinja2 through aiohttp-jinja2, autoescaped), a little plain JavaScript for
the live feed (static/live.js), every asset in this package. `add_routes(app)` registers it
from agent/app/server.py. Modules: auth (session cookie, CSRF, login limiter), login,
render (templates and security headers), live (the process's live board and its
server-sent events), pages (Live, a call, its recording), history (search, CSV), health
(charts from the records store), charts (SVG), actions (end or transfer a live call).

With ADMIN_TOKEN unset every route answers a page saying how to turn it on, and nothing else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from agent.app.services import SERVICES
from agent.dashboard import actions, health, history, live, login, pages
from agent.dashboard.auth import LIMITER, SIGNER, LoginLimiter, Signer, signer_of
from agent.records.redact import redact_text

HERE = Path(__file__).parent
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _guarded(handler: Handler) -> Handler:
    """The handler, or the "how to turn the dashboard on" page while ADMIN_TOKEN is unset."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        if signer_of(request) is None:
            return login.disabled(request)
        return await handler(request)

    return guarded


async def _close_viewers(app: web.Application) -> None:
    app[live.BOARD].close()


def add_routes(app: web.Application) -> None:
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    config = app[SERVICES].config
    # RECORDS_REDACT: live transcripts are masked as the stored ones are.
    board = live.LiveBoard(redact=redact_text if config.records_redact else None)
    app[live.BOARD] = board
    if config.admin_token:
        app[SIGNER] = Signer(config.admin_token.reveal())
        app[LIMITER] = LoginLimiter()
        app[SERVICES].watchers.append(board)
    app.on_shutdown.append(_close_viewers)
    get, post = app.router.add_get, app.router.add_post
    get("/dashboard", _guarded(pages.home))
    get("/dashboard/", _guarded(pages.home))
    get("/dashboard/login", login.login_form)
    post("/dashboard/login", login.login)
    post("/dashboard/logout", login.logout)
    get("/dashboard/live", _guarded(pages.live))
    get("/dashboard/live/events", _guarded(live.events))
    get("/dashboard/history", _guarded(history.history))
    get("/dashboard/history.csv", _guarded(history.history_csv))
    get("/dashboard/health", _guarded(health.health_page))
    get("/dashboard/calls/{call_sid}", _guarded(pages.call_page))
    get("/dashboard/calls/{call_sid}/recording", _guarded(pages.recording))
    post("/dashboard/calls/{call_sid}/end", _guarded(actions.end_call))
    post("/dashboard/calls/{call_sid}/transfer", _guarded(actions.transfer_call))
    app.router.add_static("/dashboard/static", HERE / "static", append_version=True)
