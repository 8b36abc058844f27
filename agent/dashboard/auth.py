"""The dashboard's login: a signed session cookie, CSRF tokens, and login attempts limited.

- The session cookie (`sb_session`) is `<issued>.<nonce>.<signature>`: HMAC-SHA256 over the
  issue time and a random nonce, keyed from ADMIN_TOKEN. Nothing is kept in the server, so
  every process of WEB_CONCURRENCY accepts it, and changing ADMIN_TOKEN logs everyone
  out. It lasts SESSION_S; HttpOnly, SameSite=Strict, Secure when the public URL is https.
- CSRF: every form and action carries a token derived from the session's nonce (HMAC with
  another key); a POST without it is refused (403). The login form itself is protected the
  same way through a short-lived pre-login cookie (`sb_login`).
- ADMIN_TOKEN is compared in constant time and only ever read from a POST body: never a
  URL. Failed logins are limited per client address (`LoginLimiter`, on an injected clock).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from agent.app.services import SERVICES
from agent.twilio.signatures import public_base
from processors.clock import LOOP_CLOCK, Clock

SESSION_COOKIE = "sb_session"
LOGIN_COOKIE = "sb_login"
SESSION_S = 12 * 3600
LOGIN_FORM_S = 3600
MAX_FAILURES = 5  # per client per FAILURE_WINDOW_S
FAILURE_WINDOW_S = 300.0


@dataclass(frozen=True)
class Session:
    nonce: str
    csrf: str


def _key(token: str, purpose: str) -> bytes:
    return hmac.new(token.encode(), f"switchboard-dashboard:{purpose}".encode(), "sha256").digest()


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class Signer:
    """Session cookies and CSRF tokens for one ADMIN_TOKEN.

    Two kinds of cookie, each signed with a key of its own: "session" (logged in) and
    "login" (the pre-login cookie the login form's CSRF token is bound to), so neither can
    stand in for the other.
    """

    KINDS = ("session", "login")

    def __init__(self, admin_token: str, wall: Callable[[], float] = time.time):
        self._keys = {kind: _key(admin_token, kind) for kind in self.KINDS}
        self._csrf_keys = {kind: _key(admin_token, f"{kind}-csrf") for kind in self.KINDS}
        self._token = admin_token.encode()
        self._wall = wall  # the wall clock: a cookie's issue time outlives the process

    def token_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._token)

    def new_cookie(self, kind: str = "session") -> str:
        value = f"{int(self._wall())}.{secrets.token_urlsafe(18)}"
        return f"{value}.{_sign(self._keys[kind], value)}"

    def read(
        self, cookie: str | None, lifetime_s: float = SESSION_S, kind: str = "session"
    ) -> Session | None:
        """The session a cookie carries, or None (missing, forged, another kind, expired)."""
        if not cookie or cookie.count(".") != 2:
            return None
        issued, nonce, signature = cookie.split(".")
        expected = _sign(self._keys[kind], f"{issued}.{nonce}")
        if not same(signature, expected):
            return None
        try:
            age = self._wall() - int(issued)
        except ValueError:
            return None
        if not 0 <= age <= lifetime_s:
            return None
        return Session(nonce, _sign(self._csrf_keys[kind], nonce))


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of any text (compare_digest refuses non-ASCII str)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())


class LoginLimiter:
    """At most MAX_FAILURES failed logins per client in FAILURE_WINDOW_S (a sliding window)."""

    def __init__(
        self,
        clock: Clock = LOOP_CLOCK,
        max_failures: int = MAX_FAILURES,
        window_s: float = FAILURE_WINDOW_S,
        max_clients: int = 10_000,
    ):
        self._clock = clock
        self._max = max_failures
        self._window = window_s
        self._max_clients = max_clients
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client, deque())
        cutoff = self._clock.now() - self._window
        while failures and failures[0] <= cutoff:
            failures.popleft()
        return failures

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again (0: now)."""
        failures = self._recent(client)
        if len(failures) < self._max:
            return 0.0
        return max(0.0, failures[0] + self._window - self._clock.now())

    def failed(self, client: str) -> None:
        if len(self._failures) >= self._max_clients and client not in self._failures:
            # Bounded memory: forget the clients whose failures have all aged out.
            for name in [c for c in self._failures if not self._recent(c)]:
                del self._failures[name]
            while len(self._failures) >= self._max_clients:  # still full: the oldest goes
                del self._failures[next(iter(self._failures))]
        failures = self._recent(client)
        failures.append(self._clock.now())
        self._failures[client] = failures

    def succeeded(self, client: str) -> None:
        self._failures.pop(client, None)


SIGNER = web.AppKey("dashboard_signer", Signer)
LIMITER = web.AppKey("dashboard_limiter", LoginLimiter)


def signer_of(request: web.Request) -> Signer | None:
    """None when ADMIN_TOKEN is unset: the dashboard is off."""
    return request.app.get(SIGNER)


def secure_cookies(request: web.Request) -> bool:
    return public_base(request, request.app[SERVICES].config).startswith("https")


def session_of(request: web.Request) -> Session | None:
    signer = signer_of(request)
    return signer.read(request.cookies.get(SESSION_COOKIE)) if signer else None


def login_url() -> str:
    return "/dashboard/login"


def require_page(request: web.Request) -> Session:
    """A page: its session, else a redirect to the login page."""
    session = session_of(request)
    if session is None:
        raise web.HTTPSeeOther(login_url())
    return session


def require_feed(request: web.Request) -> Session:
    """A feed or a download: its session, else 401."""
    session = session_of(request)
    if session is None:
        raise web.HTTPUnauthorized(text="log in to the dashboard first")
    return session


async def require_action(request: web.Request) -> tuple[Session, dict]:
    """A POST: its session (else 401) and a matching CSRF token (else 403); the form."""
    session = require_feed(request)
    form = await request.post()
    given = form.get("csrf") or request.headers.get("X-CSRF-Token") or ""
    if not isinstance(given, str) or not same(given, session.csrf):
        raise web.HTTPForbidden(text="missing or wrong CSRF token; reload the page")
    return session, dict(form)


def client_of(request: web.Request) -> str:
    """The address failed logins are counted against: the peer's (a proxy's, behind one)."""
    return request.remote or "unknown"
