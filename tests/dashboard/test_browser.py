"""The dashboard in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium;
Playwright's own browser download is never used) against the server in this process, with
one emulated call through the Twilio emulator and the provider fakes.

One browser, one call, one test (it is a real-time call: ~20 s). It logs in; watches the
call appear on Live as it starts and its transcript grow; ends it from Live (the REST
hang-up reaches the Twilio fake, the outcome is ended_by_operator); opens it from History;
checks the heard and cut words render differently, the answers' sources and the latency
bars, and that the recording plays from its authenticated route; looks at Health; logs
out. Every page is also loaded at phone width (390x844) and must not scroll sideways.
Screenshots of each page go to the test's output folder; with SWITCHBOARD_SCREENSHOTS=1
they are also copied to docs/screenshots/ (the README shows them).

Without Chromium (or Playwright) the test skips, unless SWITCHBOARD_REQUIRE_CHROMIUM=1 (set
by .ci/run, which installs Chromium): then it fails, so CI cannot pass by skipping it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from agent.sim.script import BargeIn, Pause, Say, WaitForAgentAudio, WaitForAgentSilence
from tests.conftest import ROOT, caller_audio
from tests.dashboard.conftest import TOKEN
from tests.e2e.conftest import rest_hangups
from tests.e2e.test_conversation import LONG_ANSWER, QUESTION, STOPPED

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"


def chromium_or_skip() -> None:
    missing = []
    if not os.access(CHROMIUM, os.X_OK):
        missing.append(f"Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("Playwright for Python (pip install -e '.[dev]')")
    if not missing:
        return
    message = "browser tests need " + " and ".join(missing)
    if os.environ.get("SWITCHBOARD_REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"SWITCHBOARD_REQUIRE_CHROMIUM=1 but {message}")
    pytest.skip(message)


class Shots:
    """Screenshots at desktop and phone width; the phone one must not overflow sideways."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.taken: list[Path] = []

    async def take(self, page, name: str) -> None:
        await page.screenshot(path=self.folder / f"{name}.png", full_page=True)
        await page.set_viewport_size(PHONE)
        overflow = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: {overflow}px wider than a phone"
        await page.screenshot(path=self.folder / f"{name}-phone.png")
        await page.set_viewport_size(DESKTOP)
        self.taken += [self.folder / f"{name}.png", self.folder / f"{name}-phone.png"]

    def publish(self) -> None:
        if os.environ.get("SWITCHBOARD_SCREENSHOTS") == "1":
            DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for path in self.taken:
                shutil.copy(path, DOCS_SCREENSHOTS / path.name)


async def _finished_record(server, call_sid: str, timeout: float = 10.0) -> dict:
    """The call's record once its end and its recording are written."""
    records = server.services.records
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        await records.writer.flush()
        call = await records.store.get_call(call_sid)
        if call and call["outcome"] and call["recording"] and call["recording"]["duration_s"]:
            return call
        assert loop.time() < deadline, f"no finished record: {call}"
        await asyncio.sleep(0.05)


async def test_the_dashboard_in_a_browser_follows_a_call_from_live_to_history(
    fakes, start_server, tmp_path
):
    chromium_or_skip()
    from playwright.async_api import async_playwright, expect

    server = await start_server(
        ADMIN_TOKEN=TOKEN, RECORD_CALLS="true", RECORDINGS_DIR=str(tmp_path / "recordings")
    )
    fakes.deepgram.set_script([QUESTION, "wait stop"])
    fakes.groq.replies = [("hours", LONG_ANSWER), ("wait", STOPPED)]
    script = [
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.2, timeout=15),  # the recording notice, then the greeting
        Say(caller_audio("what_are_your_opening_hours"), QUESTION),
        BargeIn(after_ms=2500, audio=caller_audio("wait_stop"), text="wait stop"),
        WaitForAgentAudio(timeout=10),
        WaitForAgentSilence(pause=0.2, timeout=10),
        Pause(30),  # the caller stays on the line: the operator ends the call
    ]
    shots = Shots(tmp_path / "screenshots")
    base = server.base_url
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport=DESKTOP)
            expect.set_options(timeout=15_000)

            # Logged out, the dashboard is the login page.
            await page.goto(f"{base}/dashboard")
            assert page.url == f"{base}/dashboard/login"
            await shots.take(page, "login")
            await page.fill("#token", TOKEN)
            await page.click("form[action='/dashboard/login'] button")
            await page.wait_for_url(f"{base}/dashboard/live")
            cookie = next(c for c in await page.context.cookies() if c["name"] == "sb_session")
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
            await expect(page.locator("#live")).to_have_attribute("data-connected", "yes")

            # A call starts: it appears on Live, then its transcript grows turn by turn.
            call = asyncio.create_task(server.emulator().place_call(script, max_duration=45))
            card = page.locator("article.call")
            await expect(card).to_have_count(1, timeout=5_000)
            turns = card.locator(".transcript li")
            # It appeared before its first turn ended (the notice and greeting take ~3 s).
            assert await turns.count() == 0
            await expect(card.locator(".graph")).to_have_text("receptionist")
            await expect(card.locator("header a")).to_have_text("+15550001111 → +15550002222")
            await expect(turns).not_to_have_count(0)
            first_seen = await turns.count()
            await expect(turns.last).to_contain_text(STOPPED)
            assert await turns.count() > first_seen >= 1
            await expect(card.locator(".turn.agent.interrupted del.unheard")).to_have_count(1)
            await shots.take(page, "live")

            # The operator ends it: the goodbye, then Twilio's REST hang-up.
            await card.locator("button.danger").click()
            await expect(card.locator(".duration")).to_have_text("ended: ended_by_operator")
            result = await call
            call_sid = result.call_sid
            await rest_hangups(fakes)
            assert fakes.twilio.hung_up(call_sid)  # Status=completed through the REST API
            assert result.closed_by == "server"
            record = await _finished_record(server, call_sid)
            assert record["outcome"] == "ended_by_operator"

            # History lists it; its page shows what the caller heard and what was cut.
            await page.click("nav a[href='/dashboard/history']")
            await expect(page.locator("table.calls tbody tr")).to_have_count(1)
            await shots.take(page, "history")
            await page.click(f"a[href='/dashboard/calls/{call_sid}']")
            await page.wait_for_url(f"{base}/dashboard/calls/{call_sid}")
            cut = page.locator("li.turn.agent.interrupted").first
            heard = (await cut.locator(".words .heard").inner_text()).strip()
            unheard = (await cut.locator(".words del.unheard").inner_text()).strip()
            # The reply as far as it was spoken: the heard words, then the cut ones.
            assert heard and unheard and LONG_ANSWER.startswith(f"{heard} {unheard}")
            styles = await cut.evaluate(
                """li => [li.querySelector('.heard'), li.querySelector('del.unheard')].map(
                    e => [getComputedStyle(e).textDecorationLine, getComputedStyle(e).color])"""
            )
            assert styles[0] != styles[1] and "line-through" in styles[1][0]
            await expect(cut.locator(".src.llm")).to_have_count(1)
            bars = page.locator("rect.latency-bar")
            assert await bars.count() >= 2  # the long answer and "Okay, I will stop."
            for i in range(await bars.count()):
                box = await bars.nth(i).bounding_box()
                assert box and box["width"] > 0
            audio = page.locator("audio")
            src = await audio.get_attribute("src")
            assert src == f"/dashboard/calls/{call_sid}/recording"
            response = await page.request.get(base + src)  # the browser's session cookie
            assert response.status == 200 and response.headers["content-type"] == "audio/wav"
            await shots.take(page, "call")

            await page.click("nav a[href='/dashboard/health']")
            await expect(page.locator("svg.chart")).to_have_count(2)  # + failures: none
            await shots.take(page, "health")

            # Logging out ends the session: Live is the login page again.
            await page.click("form.logout button")
            await page.wait_for_url(f"{base}/dashboard/login")
            await page.goto(f"{base}/dashboard/live")
            assert page.url == f"{base}/dashboard/login"
        finally:
            await browser.close()
    shots.publish()
