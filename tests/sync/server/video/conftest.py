from __future__ import annotations

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, _context
from tests.sync.server.video.support import MEDIA_ARGS, KioskLoop


@pytest.fixture
def loopback_ice(monkeypatch):
    """aiortc gathers host candidates on 127.0.0.1 only (../shared/TESTING.md)."""
    import aioice.ice

    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda use_ipv4, use_ipv6: ["127.0.0.1"])


@pytest.fixture
def kiosk_loop(loopback_ice):
    loop = KioskLoop()
    try:
        yield loop
    finally:
        loop.close()


@pytest.fixture(scope="session")
def media_browser(_playwright):
    """Chromium with a fake camera and microphone that may connect on loopback."""
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + MEDIA_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def staff_page(media_browser):
    """``staff_page()`` -> a new desktop page in its own context (its own session)."""
    contexts = []

    def make():
        context = _context(media_browser, viewport={"width": 1280, "height": 900})
        context.grant_permissions(["camera", "microphone"])
        context.set_default_timeout(20_000)  # a machine shared by many test runs can be slow
        contexts.append(context)
        return context.new_page()
    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def kiosks(kiosk_loop):
    """``kiosks(site, key=None, **options)`` -> a CallSession with synthetic 640×480
    camera and tone microphone; every one is hung up and closed afterwards."""
    from kiosk.call import CallSession
    from kiosk.call.api import VideoApi
    from kiosk.call.media import SyntheticVideoTrack, ToneAudioTrack

    made = []

    def make(site, key=None, **options):
        session = CallSession(VideoApi(options.pop("url", site.url), key or site.key),
                              SyntheticVideoTrack(640, 480, 15), ToneAudioTrack(), **options)
        made.append(session)
        return session
    try:
        yield make
    finally:
        for session in made:
            kiosk_loop.run(session.close())
            kiosk_loop.run(session.api.close())
