"""Helpers for the dashboard's tests: an HTTP client that keeps the dashboard's cookies by
hand (they are Secure, and the test server is plain http on 127.0.0.1), logging in, and a
records store seeded with calls of every kind."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import aiohttp
import pytest

from agent.records.store import CallEnded, CallStarted, ExtractionRecord, TurnRecord

TOKEN = "dashboard-admin-token-0123456789"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LONG = "Our basic plan costs twenty dollars a month and includes unlimited calls."
HEARD = "Our basic plan costs twenty dollars"


class Client:
    """GET/POST against the dashboard, cookies kept as a browser would (no redirects
    followed, so each answer can be checked)."""

    def __init__(self, http: aiohttp.ClientSession, base: str):
        self.http = http
        self.base = base
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[SimpleCookie] = []

    async def request(self, method: str, path: str, **kwargs) -> tuple[int, dict, str]:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        async with self.http.request(
            method, self.base + path, headers=headers, allow_redirects=False, **kwargs
        ) as response:
            for raw in response.headers.getall("Set-Cookie", []):
                cookie = SimpleCookie(raw)
                self.set_cookies.append(cookie)
                for name, morsel in cookie.items():
                    if morsel["max-age"] == "0" or not morsel.value:
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, dict(response.headers), await response.text()

    async def get(self, path: str, **kwargs):
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs):
        return await self.request("POST", path, **kwargs)

    async def login(self, token: str = TOKEN) -> tuple[int, dict, str]:
        _, _, page = await self.get("/dashboard/login")
        return await self.post("/dashboard/login", data={"token": token, "csrf": csrf_of(page)})


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "no CSRF token in the page"
    return found.group(1)


@pytest.fixture
async def client_for():
    sessions: list[aiohttp.ClientSession] = []

    def make(server) -> Client:
        http = aiohttp.ClientSession()
        sessions.append(http)
        return Client(http, server.base_url)

    yield make
    for http in sessions:
        await http.close()


def seeded_events(now: datetime = T0) -> list:
    """Three calls: one with a barge-in, a route, a fallback after an LLM failure and an
    extraction; one about another number; one still going. Personal data includes HTML."""
    a, b, c = "CAaaaa0001", "CAbbbb0002", "CAcccc0003"
    at = lambda s: now + timedelta(seconds=s)  # noqa: E731
    return [
        CallStarted(a, "MZa", "AC1", "+15550001111", "+15550002222", "receptionist", now),
        TurnRecord(
            a,
            0,
            "agent",
            "Thanks for calling.",
            "Thanks for calling.",
            False,
            "call",
            None,
            at(0),
            at(2),
            None,
        ),
        TurnRecord(
            a,
            1,
            "caller",
            "<script>alert(1)</script> what does it cost",
            None,
            False,
            "caller",
            None,
            at(3),
            at(5),
            None,
        ),
        TurnRecord(a, 2, "agent", LONG, HEARD, True, "llm", None, at(6), at(9), 640.0),
        TurnRecord(
            a, 3, "caller", "who are you", None, False, "caller", None, at(10), at(11), None
        ),
        TurnRecord(
            a,
            4,
            "agent",
            "I am the receptionist.",
            "I am the receptionist.",
            False,
            "route",
            "who_are_you",
            at(11.3),
            at(13),
            310.0,
        ),
        TurnRecord(
            a,
            5,
            "agent",
            "Sorry, say that again?",
            "Sorry, say that again?",
            False,
            "fallback",
            None,
            at(14),
            at(15),
            1200.0,
            failure="llm:timeout",
        ),
        ExtractionRecord(
            a, 1, 4, at(13), "lead", {"name": "Ada Lovelace", "intent": "pricing"}, None, 1
        ),
        CallEnded(a, at(16), "caller_hung_up", 16.0),
        CallStarted(
            b,
            "MZb",
            "AC1",
            "+15559998888",
            "+15550002222",
            "receptionist",
            now - timedelta(hours=2),
        ),
        TurnRecord(
            b,
            0,
            "agent",
            "Hello.",
            "Hello.",
            False,
            "call",
            None,
            now - timedelta(hours=2),
            now - timedelta(hours=2),
            None,
        ),
        CallEnded(b, now - timedelta(hours=2) + timedelta(seconds=5), "agent_hung_up", 5.0),
        CallStarted(
            c,
            "MZc",
            "AC1",
            "=HYPERLINK(1)",
            "+15550002222",
            "receptionist",
            now + timedelta(minutes=1),
        ),
    ]
