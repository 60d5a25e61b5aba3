"""The staff's console in Chromium as a process of its own (the kiosk test's thread
runs Qt and asyncio; Playwright's sync API wants a thread without a running loop, and
two Playwright instances in one process disturb each other):

    python -m tests.kiosk.call.staff_console URL USERNAME PASSWORD

prints ``ready`` once signed in, ``answered FRAMES`` once the first ringing call is
answered and its video decodes, ``after`` once the call has ended; ``error …`` on
failure."""
from __future__ import annotations

import sys
import time


def main(url: str, username: str, password: str) -> int:
    from playwright.sync_api import sync_playwright

    from tests.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.sync.server.video.support import MEDIA_ARGS

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS + MEDIA_ARGS)
            context = browser.new_context(locale="zh-CN")
            context.set_default_timeout(60_000)
            page = context.new_page()
            page.goto(f"{url}/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            with page.expect_navigation():
                page.click("form[action='/login'] button[type=submit]")
            page.goto(f"{url}/staff")
            page.wait_for_function("document.getElementById('link').classList.contains('ok')")
            print("ready", flush=True)
            page.locator("#queue li.ringing [data-action=take]").click()
            frames, deadline = 0, time.monotonic() + 60
            while frames == 0 and time.monotonic() < deadline:
                stats = page.evaluate("window.videoConsole.stats()")
                frames = stats["video_frames"] if stats else 0
                time.sleep(0.1)
            print(f"answered {frames}", flush=True)
            page.locator("#after").wait_for()
            print("after", flush=True)
            browser.close()
    except Exception as exc:
        print(f"error {exc!r}".replace("\n", " "), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
