"""``make run`` as a person uses it: start ``python -m appliance run``, type commands,
and see the whole system answer: the locker daemon (over real ptys to the lock-board
and scanner simulators), its sync agent and the central server, the ID card reader and
a real cupsd. Nothing it started is left running afterwards."""
import os
import queue
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support import ROOT, require


class Session:
    def __init__(self, demo_dir: Path):
        self.demo_dir = demo_dir
        self.proc = subprocess.Popen([sys.executable, "-m", "appliance", "run"], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env={**os.environ, "KIOSK_CONFIG": str(ROOT / "assets" / "appliance.toml"),
                                          "KIOSK_DEMO_DIR": str(demo_dir)})
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.pos = 0  # expect() looks from here on
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def _find(self, text: str, start: int) -> int | None:
        return next((i for i in range(start, len(self.seen)) if text in self.seen[i]), None)

    def _wait(self, text: str, start: int, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while (found := self._find(text, start)) is None:
            if time.monotonic() > deadline:
                pytest.fail(f"never saw {text!r}; output so far:\n" + "\n".join(self.seen))
            try:
                self.seen.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    pytest.fail(f"make run exited ({self.proc.returncode}) before {text!r}:\n" + "\n".join(self.seen))
        return found

    def expect(self, text: str, timeout: float = 60.0) -> str:
        """The next line (after the last expected one) holding ``text``."""
        found = self._wait(text, self.pos, timeout)
        self.pos = found + 1
        return self.seen[found]

    def saw(self, text: str, since: int = 0, timeout: float = 60.0) -> str:
        """A line holding ``text``, printed at any time since line ``since`` (followers print
        from their own threads, so not necessarily after the last expected line)."""
        return self.seen[self._wait(text, since, timeout)]

    def type(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def pids(self) -> list[int]:
        return [int(p) for line in self.seen for p in re.findall(r"\(pid (\d+)\)", line)]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)
        self.proc.stdin.close()
        self.proc.stdout.close()


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture
def session():
    require("cupsd", shutil.which("cupsd") is not None or os.path.exists("/usr/sbin/cupsd"),
            "make run prints through a private cupsd")
    demo_dir = Path(tempfile.mkdtemp(prefix="kdemo-"))  # short: the locker's Unix socket lives in it
    s = Session(demo_dir)
    yield s
    s.close()
    shutil.rmtree(demo_dir, ignore_errors=True)


def started(session: Session) -> str:
    """Wait for start-up; the server's URL."""
    session.expect("demo data: 5 staff accounts", timeout=180)
    session.expect("kiosk app (pid")
    session.expect("devices (the kiosk's, the locker daemon's)", timeout=120)
    for device in ("kiosk app", "lockboard bus0 board 0", "lockboard bus0 board 1", "scanner", "central server"):
        assert session.expect(device).lstrip().startswith("OK"), session.seen[-1]
    where = session.expect("central server   http://")
    url = re.search(r"central server\s+(http://\S+)", where).group(1)
    assert f"{url}/docs" in where and f"{url}/openapi.json" in where
    session.expect("kiosk screen     display :")
    session.expect("consoles (sign in at /login")
    session.expect("following the locker")
    assert len(session.pids()) >= 7  # 3 simulators, cupsd, server, locker daemon, Xvfb, kiosk app
    return url


def logins(session: Session) -> dict[str, tuple[str, str]]:
    """username -> (console URL, password), as make run printed them."""
    found = {}
    for line in session.seen:
        match = re.match(r"\s+(admin|worker|staff)\s+(http://\S+)\s+user (\S+)\s+password (\S+)", line)
        if match:
            found[match.group(3)] = (match.group(2), match.group(4))
    return found


def sign_in(url: str, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    """The console's login form, as a browser posts it: the session and the page it lands on."""
    http = requests.Session()
    base = url.rsplit("/", 1)[0]
    csrf = re.search(r'name="csrf" value="([^"]+)"', http.get(f"{base}/login", timeout=30).text).group(1)
    return http, http.post(f"{base}/login", data={"username": username, "password": password, "csrf": csrf,
                                                  "next": ""}, timeout=30)


def png_colours(path: Path) -> int:
    from PIL import Image

    with Image.open(path) as image:
        return len(image.convert("RGB").resize((192, 108)).getcolors(1 << 16) or [])


def server_events(demo_dir: Path, case: str) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{demo_dir / 'server.db'}?mode=ro", uri=True, timeout=10)
    try:
        return {t: s for t, s in conn.execute("SELECT event_type, status FROM events WHERE aggregate_id = ?", [case])}
    finally:
        conn.close()


def vnc_screen_size(command: list[str]) -> tuple[int, int]:
    """Run the x11vnc command ``make run`` prints, connect as a VNC viewer does (RFB 3.8,
    no authentication: it listens on loopback only) and read the screen's size."""
    import socket
    import struct

    from tests.support import require_program

    require_program("x11vnc (make run's live view of the kiosk)", "x11vnc")
    assert "-localhost" in command  # never a password-less VNC server on the network
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not (port := re.search(rb"(?m)^PORT=(\d+)", (out.seek(0), out.read())[1])):
                assert proc.poll() is None and time.monotonic() < deadline, (out.seek(0), out.read())[1][-2000:]
                time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", int(port.group(1))), timeout=30) as viewer:
                assert viewer.recv(12) == b"RFB 003.008\n"
                viewer.sendall(b"RFB 003.008\n")
                count = viewer.recv(1)[0]
                offered = viewer.recv(count)
                assert 1 in offered, offered  # security type None
                viewer.sendall(b"\x01")
                assert struct.unpack(">I", viewer.recv(4)) == (0,)
                viewer.sendall(b"\x01")  # ClientInit: shared
                return struct.unpack(">HH", viewer.recv(4))
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # x11vnc may take its time over a viewer that left
                proc.kill()
                proc.wait(10)


@pytest.mark.timeout(400)
def test_make_run_drop_off_reaches_the_server(session):
    url = started(session)
    session.saw("server: device demo-kiosk-01 enrolled")

    session.type("dropoff S SF-DEMO-1")
    door = re.search(r"door (\d+) opens", session.expect("drop-off: case SF-DEMO-1")).group(1)
    session.saw(f"unlock sent: door {door} (dropoff, case SF-DEMO-1)")
    session.saw(f"door opened: door {door}")
    session.type(f"close {door}")  # the resident shuts it (the simulator)
    session.saw(f"door closed: door {door}")
    session.saw("case SF-DEMO-1 → materials_deposited")
    session.saw("case SF-DEMO-1 now materials_deposited on the server")
    assert server_events(session.demo_dir, "SF-DEMO-1")["materials_deposited"] == "applied"

    session.type("state")
    session.expect("case SF-DEMO-1: materials_deposited")
    session.type("server")
    session.expect(f"central server {url}")
    session.expect(f"API docs {url}/docs")
    session.expect("device demo-kiosk-01")
    session.expect("case SF-DEMO-1: materials_deposited")

    mark = len(session.seen)
    session.type("worker w-li")  # a worker code signed by the server, shown to the scanner
    session.saw(f"unlock sent: door {door} (collect, case SF-DEMO-1)", since=mark)
    session.saw(f"door opened: door {door}", since=mark)
    session.type(f"close {door}")
    session.saw("case SF-DEMO-1 → collected", since=mark)
    session.saw("case SF-DEMO-1 now collected on the server", since=mark)

    accounts = logins(session)  # generated for this run, printed once
    assert set(accounts) == {"admin", "w-li", "w-zhao", "staff-civil", "staff-social"}
    for username, home in (("admin", "/admin"), ("w-li", "/worker"), ("staff-civil", "/staff")):
        http, page = sign_in(accounts[username][0], username, accounts[username][1])
        assert page.status_code == 200 and page.url.endswith(home), (username, page.status_code, page.url)
        if username == "admin":  # the demo data, imported through her console
            listing = http.get(f"{url}/admin/households?q=DEMO-H002", timeout=30).text
            assert "DEMO-H002" in listing and "李秀兰" in listing
            assert "示范数据" in http.get(f"{url}/admin/announcements", timeout=30).text
        if username == "w-li":
            assert "demo-kiosk-01" in http.get(f"{url}/worker", timeout=30).text  # her grid's locker
    assert sign_in(accounts["admin"][0], "admin", "not-the-password")[1].url.endswith("/login")

    session.saw("the kiosk's window is up", timeout=120)
    session.type("shot")
    home = Path(session.saw("the kiosk's screen: ").split("the kiosk's screen: ")[1])
    assert home.is_file() and home.parent == session.demo_dir / "screens" and png_colours(home) > 10
    hint = next(line for line in session.seen if "watch it live: " in line)
    width, height = vnc_screen_size(re.search(r"watch it live: (x11vnc [^(]+?) \(", hint).group(1).split())
    assert (width, height) == (1920, 1080)  # the printed x11vnc command serves the kiosk's Xvfb screen
    session.type("card 1")  # 李秀兰 in assets/demo/idcards.json: the kiosk app reads her card
    deadline = time.monotonic() + 90
    while True:  # the kiosk's face check on the rehearsal resident, then her welcome
        time.sleep(3)
        mark = len(session.seen)
        session.type("shot")
        now = Path(session.saw("the kiosk's screen: ", since=mark).split("the kiosk's screen: ")[1])
        if now.read_bytes() != home.read_bytes() or time.monotonic() > deadline:
            break
    assert now.read_bytes() != home.read_bytes(), "the kiosk's screen did not change when the card was placed"
    session.type("remove")

    session.type("scan NOT-A-CODE")  # the locker daemon reads the scanner, and refuses it
    session.saw("code refused (scanner)")

    session.type("print")
    assert "completed" in session.saw("printed job", timeout=90)

    session.type("close 99")
    session.saw("✗ the locker has no door 99")
    pids = session.pids()
    session.type("quit")
    session.saw("stopping")
    assert session.proc.wait(60) == 0
    assert all(gone(pid) for pid in pids), [pid for pid in pids if not gone(pid)]
    assert "11010519491231002X" not in "\n".join(session.seen)  # never in clear
    assert "11010519491231002X" not in (session.demo_dir / "logs" / "kiosk.log").read_text(encoding="utf-8")


@pytest.mark.timeout(300)
def test_sigterm_stops_everything_it_started(session):
    started(session)
    pids = session.pids()
    session.proc.send_signal(signal.SIGTERM)
    assert session.proc.wait(60) == 0
    assert all(gone(pid) for pid in pids), [pid for pid in pids if not gone(pid)]
