from tests.sync.server.video.conftest import kiosk_loop, kiosks, loopback_ice, media_browser, staff_page  # noqa: F401
