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
    session.expect("devices (the kiosk's, the locker daemon's)", timeout=120)
    for device in ("idcard", "printer", "camera", "lockboard bus0 board 0", "lockboard bus0 board 1", "scanner",
                   "central server"):
        assert session.expect(device).lstrip().startswith("OK"), session.seen[-1]
    where = session.expect("central server   http://")
    url = re.search(r"central server\s+(http://\S+)", where).group(1)
    assert f"{url}/docs" in where and f"{url}/openapi.json" in where
    session.expect("following the locker")
    assert len(session.pids()) >= 5  # 3 simulators, cupsd, server, locker daemon
    return url


def server_events(demo_dir: Path, case: str) -> dict[str, str]:
    conn = sqlite3.connect(f"file:{demo_dir / 'server.db'}?mode=ro", uri=True, timeout=10)
    try:
        return {t: s for t, s in conn.execute("SELECT event_type, status FROM events WHERE aggregate_id = ?", [case])}
    finally:
        conn.close()


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

    session.type("card 1")  # 李秀兰, 11010519491231002X in assets/demo/idcards.json
    line = session.saw("ID card read:")
    assert "李秀兰" in line and "1101**********002X" in line
    session.type("remove")
    session.saw("ID card taken away")

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


@pytest.mark.timeout(300)
def test_sigterm_stops_everything_it_started(session):
    started(session)
    pids = session.pids()
    session.proc.send_signal(signal.SIGTERM)
    assert session.proc.wait(60) == 0
    assert all(gone(pid) for pid in pids), [pid for pid in pids if not gone(pid)]
