"""Video consultation: tap "call" → the staff browser rings; answer → both sides show video; kiosk CPU in a 640×480 call.

A real server process (SQLite in a temp dir) for signaling, headless Chromium with a
fake camera and microphone as the staff console (signed in through the login page),
the kiosk's own CallSession (aiortc) with 640×480 synthetic camera frames at 15 fps
and a tone, all on loopback (aioice gathers on 127.0.0.1 only, as in the tests).

- *ring*: from ``CallSession.start()`` (the resident taps "call") to the moment the
  console's page marks the call ringing (a MutationObserver's ``Date.now()``), over
  ``CALLS`` calls; baseline: one ``/api/v1/health`` round trip.
- *answer → video*: from the staff's click on 接听 to the later of the console's first
  decoded remote frame (``requestVideoFrameCallback``) and the kiosk's first remote
  frame; baseline: two bare aiortc peers in one process, offer to first frame.
- *kiosk CPU*: user+system CPU of this process over ``CPU_WINDOW_S`` s of a call
  (the kiosk's asyncio loop and aiortc's encoder threads; Playwright's client is
  idle meanwhile), in cores; baseline: a bare aiortc peer (two peers in one process
  exchanging the same tracks, halved).
"""
from __future__ import annotations

import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.figures import Figure, p50

CALLS = 5
CPU_WINDOW_S = 10.0
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        "--allow-loopback-in-peer-connection", "--autoplay-policy=no-user-gesture-required"]
PASSWORD = "bench-pass-2026"
WATCH = """() => {
  window.benchRing = null; window.benchVideo = null;
  new MutationObserver(() => { if (!window.benchRing && document.querySelector('#queue li.ringing'))
    window.benchRing = Date.now(); }).observe(document.getElementById('queue'), {childList: true, subtree: true});
  const v = document.getElementById('remote');
  const watch = () => v.requestVideoFrameCallback(() => { if (!window.benchVideo) window.benchVideo = Date.now(); });
  v.addEventListener('loadstart', watch); watch();
}"""


def _loopback_only() -> None:
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


class _Loop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


def _wait(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)
    return value


def _server(folder: Path):
    from appliance.keys import DeviceKey, encode_public_key
    from appliance.processes import Child
    from sync.server import db, migrations
    from sync.server.accounts import create_account
    from sync.server.devices import create_code
    from sync.server.video import departments

    url = f"sqlite:///{folder / 'server.db'}"
    engine = db.create(url)
    key = DeviceKey.generate("bench-kiosk")
    try:
        migrations.upgrade(engine)
        with engine.begin() as conn:
            departments.add_demo(conn)
            create_account(conn, username="bench", password=PASSWORD, name="测试员", role="staff",
                           department="civil_affairs")
            code = create_code(conn, "示范社区", key.device_id)
    finally:
        engine.dispose()
    server = Child("sync.server", "--port", "0", "--database", url, "--log-level", "WARNING", header_lines=1)
    server.start(60)
    base = server.header[0].split()[-1]
    _wait(lambda: requests.get(f"{base}/api/v1/health", timeout=5).ok, 30, "server health")
    answer = requests.post(f"{base}/api/v1/enrol", json={"code": code, "device_id": key.device_id,
                                                          "public_key": encode_public_key(key.public_key)}, timeout=10)
    answer.raise_for_status()
    return server, base, key


async def _bare_peers(seconds: float) -> tuple[float, float]:
    """Two aiortc peers in one process: (offer → first frame s, CPU cores per peer)."""
    from aiortc import RTCPeerConnection

    from kiosk.call.media import SyntheticVideoTrack, ToneAudioTrack

    a, b = RTCPeerConnection(), RTCPeerConnection()
    for pc in (a, b):
        pc.addTrack(SyntheticVideoTrack(640, 480, 15))
        pc.addTrack(ToneAudioTrack())
    first = asyncio.get_running_loop().create_future()
    tasks = []

    def consume(track) -> None:
        async def run() -> None:
            while True:
                await track.recv()
                if track.kind == "video" and not first.done():
                    first.set_result(time.monotonic())
        tasks.append(asyncio.ensure_future(run()))
    a.on("track", consume)
    b.on("track", consume)
    started = time.monotonic()
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    connect_s = await asyncio.wait_for(first, 10) - started
    await asyncio.sleep(2)
    cpu0, wall0 = sum(os.times()[:2]), time.monotonic()
    await asyncio.sleep(seconds)
    cores = (sum(os.times()[:2]) - cpu0) / (time.monotonic() - wall0) / 2
    for task in tasks:
        task.cancel()
    await a.close()
    await b.close()
    return connect_s, cores


def run() -> list[Figure]:
    from playwright.sync_api import sync_playwright

    from kiosk.call import CallSession, CallState
    from kiosk.call.api import VideoApi
    from kiosk.call.media import SyntheticVideoTrack, ToneAudioTrack

    if not os.path.exists(CHROMIUM):
        return [Figure("video bench", float("nan"), "", note=f"{CHROMIUM} not found: install chromium")]
    _loopback_only()
    kiosk = _Loop()
    folder = Path(tempfile.mkdtemp(prefix="bench-video-"))
    server, base, key = _server(folder)
    rings, answers, health = [], [], []
    try:
        bare_connect, bare_cores = kiosk.run(_bare_peers(CPU_WINDOW_S / 2), 60)
        for _ in range(5):
            t0 = time.perf_counter()
            requests.get(f"{base}/api/v1/health", timeout=5)
            health.append(time.perf_counter() - t0)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
            context.grant_permissions(["camera", "microphone"])
            page = context.new_page()
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "bench")
            page.fill("input[name=password]", PASSWORD)
            with page.expect_navigation():
                page.click("form[action='/login'] button[type=submit]")
            page.goto(f"{base}/staff")
            page.wait_for_function("document.getElementById('link').classList.contains('ok')")
            api = VideoApi(base, key)
            session = None
            for n in range(CALLS + 1):
                page.evaluate(WATCH)
                session = CallSession(api, SyntheticVideoTrack(640, 480, 15), ToneAudioTrack())
                tapped = time.time()
                kiosk.run(session.start("civil_affairs", {"name": "张三"}))
                ring_ms = _wait(lambda: page.evaluate("window.benchRing"), 10, "ringing")
                clicked = page.evaluate("() => { const b = document.querySelector('#queue li.ringing "
                                        "[data-action=take]'); const t = Date.now(); b.click(); return t; }")
                kiosk_first = _wait(lambda: session.first_video_at, 10, "kiosk video")
                browser_first = _wait(lambda: page.evaluate("window.benchVideo"), 10, "browser video")
                if n:  # the first call warms the browser's media stack
                    rings.append(ring_ms / 1000 - tapped)
                    answers.append(max(kiosk_first, browser_first / 1000) - clicked / 1000)
                if n < CALLS:
                    kiosk.run(session.hang_up())
                    page.locator("#after").wait_for()
            _wait(lambda: session.state == CallState.IN_CALL, 10, "in call")
            time.sleep(2)
            cpu0, wall0 = sum(os.times()[:2]), time.monotonic()
            time.sleep(CPU_WINDOW_S)
            kiosk_cores = (sum(os.times()[:2]) - cpu0) / (time.monotonic() - wall0)
            frames = dict(session.frames)
            kiosk.run(session.hang_up())
            kiosk.run(api.close())
            browser.close()
    finally:
        server.stop()
        kiosk.stop()
    ring_p50, answer_p50 = p50(rings), p50(answers)
    return [
        Figure("tap call → staff browser rings (p50)", ring_p50 * 1000, "ms", "<= 1000 ms", ring_p50 <= 1.0,
               baseline=p50(health) * 1000, note=f"max {max(rings) * 1000:.0f} ms over {len(rings)} calls; "
                                                  "baseline: one /api/v1/health round trip"),
        Figure("answer → both sides show video (p50)", answer_p50 * 1000, "ms", "<= 2000 ms", answer_p50 <= 2.0,
               baseline=bare_connect * 1000, note=f"max {max(answers) * 1000:.0f} ms; baseline: two bare aiortc "
                                                  "peers, offer to first frame"),
        Figure("kiosk CPU in a 640×480 call", kiosk_cores, "cores", "<= 1 core", kiosk_cores <= 1.0,
               baseline=bare_cores, note=f"15 fps, {frames['video']} video / {frames['audio']} audio frames "
                                         f"received; baseline: one bare aiortc peer"),
    ]


if __name__ == "__main__":
    for figure in run():
        print(figure.line())
