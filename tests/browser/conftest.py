"""Browser tests: Debian's Chromium driven by Playwright (never ``playwright install``) against the
session's whole stack (``tests/conftest.py``), with fake camera and microphone.

- ``browser``: one Chromium per module (launching costs ~1 s; contexts are cheap and isolated).
- ``open_page(path)``: a new context at 1366x768 in the units' time zone (Vietnam: the supervisor page
  reports "today" by the browser's clock), with camera, microphone and notifications allowed,
  the page opened at the stack's web address. Every console error and page error is collected; the
  test fails at teardown on any (``expect_console_errors`` lists the few a test provokes on purpose).
  The pages run under their Content-Security-Policy (served by the stack, never bypassed), so a
  violation is such an error; and ``wait_for_function`` takes a function (``"() => ..."``): a bare
  expression is re-evaluated as a string in the page, which the policy (no ``unsafe-eval``) refuses.
- ``loop``: an asyncio loop in a thread of its own, for the SDK's mobile client (aiortc) while the
  test drives the browser synchronously.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from vkyc.domain.settings import DEFAULT_TIMEZONE

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Chromium hides host candidates behind mDNS names by default; aiortc cannot resolve them.
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    # The ringtone (WebAudio) may start without a click, as after a reload mid-ring.
    "--autoplay-policy=no-user-gesture-required",
]
VIEWPORT = {"width": 1366, "height": 768}
# Ignored by git: a test run leaves the checkout clean. ``make screenshots`` copies the ones the README
# shows (docs/screenshots/) from here.
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".artifacts" / "screenshots"
T = TypeVar("T")

pytestmark = pytest.mark.usefixtures("stack_tables")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class ConsoleWatch:
    """Console errors and uncaught page errors of one page."""

    def __init__(self, page: Any, name: str) -> None:
        self.name = name
        self.errors: list[str] = []
        self.allowed: list[re.Pattern[str]] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} @ {message.location.get('url', '')}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]


@pytest.fixture()
def open_page(browser: Any, stack: Any) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []
    watches: list[ConsoleWatch] = []

    def opener(path: str, name: str = "") -> Any:
        context = browser.new_context(
            viewport=VIEWPORT,
            base_url=stack.http_url,
            permissions=["camera", "microphone", "notifications"],
            # Where the staff are: the supervisor page's "today" is the units' day, also from 17:00 UTC.
            timezone_id=DEFAULT_TIMEZONE,
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)  # generous: a loaded machine slows every step
        watch = ConsoleWatch(page, name or path)
        page.console_watch = watch
        watches.append(watch)
        page.goto(path)
        return page

    yield opener
    problems = [f"{w.name}: {e}" for w in watches for e in w.unexpected()]
    for context in contexts:
        context.close()
    assert not problems, "errors in the browser console:\n" + "\n".join(problems)


def expect_console_errors(page: Any, *patterns: str) -> None:
    """Console errors this test provokes on purpose (e.g. a REST 4xx the page then explains)."""
    page.console_watch.allowed.extend(re.compile(p) for p in patterns)


class LoopThread:
    """An asyncio loop in a daemon thread: ``run(coro)`` waits for a coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="browser-tests-loop", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    runner = LoopThread()
    yield runner
    runner.stop()


def screenshot(page: Any, name: str) -> None:
    """``page`` as ``.artifacts/screenshots/{name}.png`` (the README's come from here: make screenshots)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
