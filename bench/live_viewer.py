"""A browser watching the dashboard's Live page during a benchmark: the owner's view, under load.

    async with LiveViewer(base_url, token) as viewer:   # logs in, opens Live, starts counting
        ...                                             # the calls
    viewer.result                                       # what the browser saw, its CPU

Issue 22 asks that an owner watching Live costs the call path nothing measurable. This puts
headless Debian Chromium (/usr/bin/chromium, driven by Playwright, as the browser tests do)
on Live for the whole level, so `bench.pacing --watch-live` can be alternated with a plain
run (`bench.alternate --after-args=--watch-live`). So that a browser that saw nothing cannot
pass for one that watched, the page keeps its own tally, read at the end: every call card
that appeared (by id), the most shown at once, and the transcript lines rendered. The
browser's CPU seconds (its whole process tree) are measured too: on this one machine they
compete with the server, so they are reported, not hidden.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Runs in the page: a MutationObserver counting what Live renders, read back at the end.
TALLY_SCRIPT = """
() => {
  const seen = new Set();
  const tally = { cards: 0, most: 0, lines: 0 };
  const count = () => {
    const cards = document.querySelectorAll('article.call');
    cards.forEach((c) => seen.add(c.id));
    tally.cards = seen.size;
    tally.most = Math.max(tally.most, cards.length);
    tally.lines = Math.max(tally.lines, document.querySelectorAll('article.call .transcript li').length);
  };
  new MutationObserver(count).observe(document.body, { childList: true, subtree: true });
  window.__benchTally = tally;
  count();
}
"""


@dataclass
class ViewerResult:
    """What the browser saw on Live, and what it cost."""

    cards_seen: int = 0  # distinct call cards that appeared
    most_at_once: int = 0
    transcript_lines_max: int = 0  # most transcript lines rendered at one time
    connected: bool = False  # the page's event stream was up at the end
    browser_cpu_s: float = 0.0
    wall_s: float = 0.0


class LiveViewer:
    """Headless Chromium logged in to the dashboard, on Live, until the context exits."""

    def __init__(self, base_url: str, token: str):
        self.base_url = base_url
        self._token = token
        self.result = ViewerResult()
        self._playwright = None
        self._browser = None
        self._page = None
        self._cpu_start: dict[int, float] = {}
        self._started = 0.0

    async def __aenter__(self) -> LiveViewer:
        from playwright.async_api import async_playwright

        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        page = await self._browser.new_page(viewport={"width": 1280, "height": 860})
        await page.goto(f"{self.base_url}/dashboard")
        await page.fill("#token", self._token)
        await page.click("form[action='/dashboard/login'] button")
        await page.wait_for_url(f"{self.base_url}/dashboard/live")
        await page.wait_for_selector(
            "#live[data-connected='yes']", state="attached", timeout=10_000
        )
        await page.evaluate(TALLY_SCRIPT)
        self._page = page
        self._cpu_start = _browser_cpu()
        self._started = time.monotonic()
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            if self._page is not None:
                tally = await self._page.evaluate("window.__benchTally")
                self.result.cards_seen = int(tally["cards"])
                self.result.most_at_once = int(tally["most"])
                self.result.transcript_lines_max = int(tally["lines"])
                connected = await self._page.get_attribute("#live", "data-connected")
                self.result.connected = connected == "yes"
            now = _browser_cpu()
            self.result.browser_cpu_s = sum(
                cpu - self._cpu_start.get(pid, 0.0) for pid, cpu in now.items()
            )
            self.result.wall_s = time.monotonic() - self._started
        finally:
            if self._browser is not None:
                await self._browser.close()
            if self._playwright is not None:
                await self._playwright.stop()


def _browser_cpu() -> dict[int, float]:
    """CPU seconds of every Chromium process this benchmark started, by pid.

    A renderer that ends between two readings takes its CPU with it: the count is a floor.
    """
    cpu = {}
    for proc in psutil.Process().children(recursive=True):
        try:
            if "chrom" in proc.name().lower():
                times = proc.cpu_times()
                cpu[proc.pid] = times.user + times.system
        except psutil.Error:
            continue
    return cpu
