"""Rendering a dashboard page: the template with the session's CSRF token, and the headers
every page gets (no caching of personal data, a strict Content-Security-Policy: scripts,
styles and media only from the dashboard itself, no inline script or style)."""

from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from agent.dashboard.auth import Session

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
NAV = (("live", "Live"), ("history", "History"), ("health", "Health"))


def security_headers(response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


def render(
    request: web.Request,
    template: str,
    context: dict,
    status: int = 200,
    session: Session | None = None,
    page: str = "",
) -> web.Response:
    context = {
        **context,
        "csrf": session.csrf if session else "",
        "logged_in": session is not None,
        "nav": NAV,
        "page": page,
    }
    response = aiohttp_jinja2.render_template(template, request, context, status=status)
    security_headers(response)
    return response
