"""The kiosk app: cold start to home, card placed → welcome, card placed → residence
proof printed (taps counted), and memory over 100 journeys.

Everything real and offscreen: the ID card simulator as its own process on a pty,
the synthetic camera's rehearsal resident (the card's photo turning its head as
asked), the face models, a private cupsd with its PDF printer, the app's own store.

* Cold start: ``python -m kiosk``'s path (a new process: imports, the catalogues,
  every screen built, home shown), until home is on screen; baseline: a new process
  showing a bare PySide6 window.
* Card → welcome: from the card put on the reader at home to the welcome by name,
  the face check (liveness) included; baseline: the face check alone on the same
  rehearsal (no reader, no UI).
* Card → printed: card on the reader at home, then the welcome's 居住证明, a
  purpose, 打印: until the CUPS job completed; the taps are counted.
* Memory: resident set after 50 and after 100 whole journeys (card, face check,
  residence form, purpose, preview, card pulled), and the growth between, in MB
  (10^6 bytes) as the issue states it. The note splits it into anonymous memory
  (what the kiosk allocated) and file pages (the shared libraries' code, which
  other processes share). The file part depends on the page cache: right after
  ``pip install`` wrote the libraries, the kernel maps them in large folios and the
  same process shows ~40 MiB more (measured: cv2 alone 33 MiB, 17 MiB after
  ``echo 3 > /proc/sys/vm/drop_caches``).
* Screen refresh: the UI thread's CPU time to rebuild each state of every screen
  (the states ``--screenshot`` renders), best of 3; the worst state and the sum.
  Baseline: a bare body of as many labels as the worst state shows, swapped in for
  the last one on a shown window under the same style sheet. The UI-stall limit is 100 ms for everything
  the UI thread does at once; a refresh is most of a tap's work.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import Figure, p50

ROOT = Path(__file__).resolve().parent.parent
ZHANG = 0

COLD = """
import time, sys
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
from appliance.config import load
from kiosk.app import KioskApp
window = KioskApp(load(sys.argv[1], check_devices=False))
window.resize(1920, 1080)
window.show()
app.processEvents()
assert window.navigator.current.name == "home"
print((time.perf_counter() - t0) * 1000 + float(sys.argv[2]))
window.shutdown()
"""

BARE = """
import time, sys
t0 = time.perf_counter()
from PySide6.QtWidgets import QApplication, QMainWindow, QLabel
app = QApplication(sys.argv[:1])
window = QMainWindow()
window.setCentralWidget(QLabel("hello"))
window.resize(1920, 1080)
window.show()
app.processEvents()
print((time.perf_counter() - t0) * 1000 + float(sys.argv[2]))
"""


def _process_ms(code: str, config: str) -> float:
    """Wall time of a fresh interpreter until the window shows (start-up included)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    started = time.perf_counter()
    # the child adds its own elapsed time to the interpreter's start-up, measured here
    probe = subprocess.run([sys.executable, "-c", "pass"], capture_output=True, env=env, cwd=ROOT)
    startup = (time.perf_counter() - started) * 1000
    del probe
    out = subprocess.run([sys.executable, "-c", code, config, str(startup)], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def _config(folder: Path, reader: str, printer: str):
    from appliance import config as config_module

    text = (ROOT / "assets" / "appliance.toml").read_text(encoding="utf-8")
    data = folder / "var"
    data.mkdir(exist_ok=True)
    text = (text.replace('data_dir = "var"', f'data_dir = "{data}"')
            .replace('url = "cups://kiosk"', f'url = "{printer}"')
            .replace('url = "sim://idcard?card=none"', f'url = "{reader}"')
            .replace('wlt_decoder = ""', 'wlt_decoder = "sim"'))
    path = folder / "appliance.toml"
    path.write_text(text, encoding="utf-8")
    return path, config_module.load(path, check_devices=False)


def _resident() -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of this process, in bytes."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            found[key] = int(value.split()[0]) * 1024
    return found


class Driver:
    """Drives the app as a finger and a card would, counting taps."""

    def __init__(self, app, sim) -> None:
        from PySide6.QtWidgets import QApplication
        self.app, self.sim, self.qt = app, sim, QApplication.instance()
        self.taps = 0

    def until(self, check, timeout: float = 30.0) -> float:
        from PySide6.QtCore import QEvent

        started = time.perf_counter()
        while not check():
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"waited {timeout} s")
            self.qt.processEvents()
            # what the event loop does between rounds: widgets given up with deleteLater() go
            self.qt.sendPostedEvents(None, QEvent.Type.DeferredDelete)
            time.sleep(0.002)
        return time.perf_counter() - started

    def tap(self, name: str) -> None:
        """A finger on the button ``name``, through the window as the tests' taps go
        (tests/kiosk/conftest.py), once it is shown, enabled and not under an overlay."""
        from PySide6.QtWidgets import QAbstractButton

        from tests.kiosk.conftest import press, reach

        def reachable():
            shown = [b for b in self.app.findChildren(QAbstractButton, name) if b.isVisible() and b.isEnabled()]
            return shown and reach(shown[-1])[0] is not None and shown[-1]
        self.until(lambda: bool(reachable()), 15)
        self.taps += 1
        button = reachable()
        press(button, reach(button)[0])

    def welcome(self) -> bool:
        screen = self.app.navigator.screens["identify"]
        return screen.flow.step.value == "welcome" and self.app.session.identified

    def card_off(self) -> None:
        self.sim.request(cmd="remove")
        self.until(lambda: not self.app.session.active and self.app.navigator.current.name == "home", 10)


def run() -> list[Figure]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from drivers.printer.sim import PrivateCups
    from kiosk.app import KioskApp
    from tests.support import SimProcess

    figures: list[Figure] = []
    qt = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as tmp, SimProcess("drivers.idcard.sim", "--card", "none") as sim:
        cups = PrivateCups()
        cups.start()
        try:
            path, config = _config(Path(tmp), sim.path, cups.url(cups.pdf_queue))
            cold = [_process_ms(COLD, str(path)) for _ in range(3)]
            bare = [_process_ms(BARE, str(path)) for _ in range(3)]
            figures.append(Figure("cold start to the home screen (new process)", p50(cold), "ms", "<= 2000 ms",
                                  p50(cold) <= 2000, baseline=p50(bare),
                                  note="baseline: a bare PySide6 window in a new process"))

            from tests.kiosk.conftest import HOUSEHOLDS, sync_records
            sync_records(config, *HOUSEHOLDS)
            app = KioskApp(config, watch_cards=True)
            app.resize(1920, 1080)
            app.show()
            drive = Driver(app, sim)
            drive.until(lambda: app.ready, 60)

            welcome, baseline = [], []
            for _ in range(5):
                sim.request(cmd="insert", card=ZHANG)
                welcome.append(drive.until(drive.welcome) * 1000)
                drive.card_off()
            baseline = _check_alone(app, 5)
            figures.append(Figure("card placed → welcome by name (face check with liveness)", p50(welcome), "ms",
                                  "<= 2500 ms", p50(welcome) <= 2500, baseline=p50(baseline),
                                  note=f"worst {max(welcome):.0f} ms; baseline: the face check alone"))

            printed, taps = [], []
            for _ in range(3):
                drive.taps = 0
                started = time.perf_counter()
                sim.request(cmd="insert", card=ZHANG)
                drive.until(drive.welcome)
                drive.tap("welcome-residence")
                drive.tap("purpose-school")
                drive.tap("residence-print")
                screen = app.navigator.screens["residence"]
                drive.until(lambda: screen.proof is not None and screen.proof.step.value in ("printed", "failed"))
                printed.append((time.perf_counter() - started) * 1000)
                if screen.proof.step.value != "printed":
                    raise RuntimeError(f"not printed: {screen.proof.advice}")
                cups.pdf_output(screen.proof.jobs[0])
                taps.append(drive.taps)
                drive.card_off()
            figures.append(Figure("card placed → residence proof printed (CUPS job completed)", p50(printed), "ms",
                                  "<= 6000 ms", p50(printed) <= 6000,
                                  note=f"worst {max(printed):.0f} ms"))
            figures.append(Figure("taps, card placed → residence proof printed", max(taps), "taps", "<= 4",
                                  max(taps) <= 4))

            at: dict[int, dict[str, float]] = {}
            for n in range(1, 101):
                sim.request(cmd="insert", card=ZHANG)
                drive.until(drive.welcome)
                drive.tap("welcome-residence")
                drive.tap("purpose-job")
                screen = app.navigator.screens["residence"]
                drive.until(lambda: screen.preview is not None)
                drive.card_off()
                if n in (50, 100):
                    import gc
                    gc.collect()
                    qt.processEvents()
                    at[n] = _resident()
            mb = {n: {key: value / 1e6 for key, value in sizes.items()} for n, sizes in at.items()}
            figures.append(Figure("resident memory after 100 journeys", mb[100]["VmRSS"], "MB", "<= 350 MB",
                                  mb[100]["VmRSS"] <= 350,
                                  note=f"anonymous {mb[100]['RssAnon']:.0f} MB + file pages {mb[100]['RssFile']:.0f} MB"))
            growth = mb[100]["VmRSS"] - mb[50]["VmRSS"]
            figures.append(Figure("memory growth, journey 50 → 100", growth, "MB", "<= 5 MB (no growth)",
                                  growth <= 5, note=f"{mb[50]['VmRSS']:.0f} → {mb[100]['VmRSS']:.0f} MB"))
            figures.extend(_refreshes(app, qt))
            app.dispose()
            del app, drive
        finally:
            cups.stop()
    return figures


def _refreshes(app, qt) -> list[Figure]:
    """Each screen state rebuilt three times: the best UI-thread CPU time of each."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    from kiosk.screenshots import settle, show_state

    took: dict[str, float] = {}
    labels: dict[str, int] = {}
    for name, screen in app.navigator.screens.items():
        for state in screen.states():
            show_state(app, screen, state)
            qt.processEvents()
            best = float("inf")
            for _ in range(3):
                started = time.thread_time()
                screen.refresh()
                app.repaint()
                qt.processEvents()
                best = min(best, time.thread_time() - started)
            key = f"{name}/{state.name}"
            took[key] = best * 1000
            labels[key] = sum(1 for shown in screen.findChildren(QLabel) if shown.isVisibleTo(screen))
            app.home()
            settle(1)  # and the old bodies deleted: no event loop runs here
    worst = max(took, key=took.get)

    # The baseline does what a refresh does, bare: a new body of as many labels (Chinese
    # text, the app's style sheet) swapped in for the old one on a shown full-screen window.
    host = QWidget()
    host.resize(1920, 1080)
    column = QVBoxLayout(host)
    host.show()
    qt.processEvents()
    bodies: list[QWidget] = []

    def swap() -> float:
        started = time.thread_time()
        body = QWidget()
        rows = QVBoxLayout(body)
        for n in range(labels[worst]):
            rows.addWidget(QLabel(f"第 {n} 行 居住证明 办事指南"))
        if bodies:
            old = bodies.pop()
            column.removeWidget(old)
            old.hide()
            old.deleteLater()
        column.addWidget(body)
        bodies.append(body)
        host.repaint()
        qt.processEvents()
        return (time.thread_time() - started) * 1000
    baseline = min(swap() for _ in range(4))
    host.close()
    host.deleteLater()
    return [Figure("slowest screen refresh (UI-thread CPU)", took[worst], "ms", "<= 100 ms (the stall limit)",
                   took[worst] <= 100, baseline=baseline,
                   note=f"{worst}, {labels[worst]} labels shown; baseline: a bare body of as many labels swapped in"),
            Figure("every screen state refreshed once (UI-thread CPU)", sum(took.values()), "ms",
                   note=f"{len(took)} states")]


def _check_alone(app, rounds: int) -> list[float]:
    """The face check on its own: the reference from the card photo, the rehearsal."""
    import cv2
    import numpy as np

    from drivers.idcard.sim import DEMO_CARDS, load_cards
    from kiosk.devices import REHEARSAL_DEGREES
    from kiosk.identity import IdentityCheck, reference_from_bytes
    from kiosk.identity.sim import RehearsalFace

    engine, settings = app.devices.engine, app.config.identity
    photo = load_cards(DEMO_CARDS)[ZHANG].photo_jpeg
    took = []
    for _ in range(rounds):
        started = time.perf_counter()
        portrait = cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR)
        feed = RehearsalFace(engine, portrait, degrees=REHEARSAL_DEGREES)
        with IdentityCheck(engine, settings, reference_from_bytes(engine, photo, "idcard")) as check:
            decision = check.run(feed, on_prompt=feed.hear)
        took.append((time.perf_counter() - started) * 1000)
        assert decision.matched, decision.reason
    return took
