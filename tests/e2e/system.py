"""The whole system as separate processes, for the end-to-end journey and the fault
drills: the central server (``python -m sync.server`` on SQLite, the log notifier
writing residents' SMS to a file), the lock-board simulator on a pty, the locker
daemon (``python -m locker serve``, its sync agent a thread of it), and the kiosk's
side in this process: its store, its sync agent (a thread, as in the kiosk app) and
its plain-Python flows (residence proof, drop-off, pickup, My progress).

Every process can be SIGKILLed and started again on the same files and port
(:meth:`System.kill`, :meth:`System.restart`); the journey (:class:`Journey`) is
written so each step can be retried after a crash, as a resident or a worker would
try again.
"""
from __future__ import annotations

import json
import re
import signal
import socket
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import requests

from appliance.config import Config, load
from appliance.keys import TrustedKeys
from appliance.processes import Child
from tests.locker.conftest import CONFIG, DOORS, door, is_open
from tests.support import ROOT, SimProcess

COMMUNITY = "示范社区"
DEVICE = "e2e-kiosk-01"
GRID = "第一网格"
WORKER, WORKER_PASSWORD = "w-li", "worker-pass-e2e"
ADMIN, ADMIN_PASSWORD = "admin", "admin-pass-e2e"
LI = ("11010519491231002X", "李秀兰")  # assets/demo/households.csv: DEMO-H002, phone 13800000003
LIFECYCLE = ["created", "materials_deposited", "collected", "in_review", "approved", "result_deposited",
             "picked_up", "evaluated"]
PROCESSES = ("server", "locker", "bus")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            found = check()
        except (OSError, requests.RequestException, sqlite3.Error):
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def decode_svg_qr(svg: str) -> str:
    """The text of the console's inline-SVG QR (sync/server/worker/qrsvg.py), read back
    by OpenCV's QR detector from the modules drawn at 8 pixels each."""
    import cv2

    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    modules = np.full((size, size), 255, np.uint8)
    for x, y in re.findall(r"M(\d+) (\d+)h1v1h-1z", svg):
        modules[int(y), int(x)] = 0
    for scale in (8, 6, 10, 5, 12):  # OpenCV's detector misses a dense symbol at some sizes
        image = cv2.resize(modules, (size * scale, size * scale), interpolation=cv2.INTER_NEAREST)
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
        if text:
            return text
    raise AssertionError("the console's QR did not decode at any scale")


class Console:
    """A grid worker in the console: a real session (cookie), CSRF on every post."""

    def __init__(self, url: str, username: str, password: str) -> None:
        self.url, self.username, self.password = url, username, password
        self.http = requests.Session()
        self.csrf = ""
        self.sign_in()

    def sign_in(self) -> None:
        self.http = requests.Session()
        page = self.http.get(f"{self.url}/login", timeout=30)
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        answer = self.http.post(f"{self.url}/login", data={"username": self.username, "password": self.password,
                                                          "csrf": token, "next": ""}, timeout=30)
        assert answer.url.endswith("/worker"), answer.url
        self.csrf = re.search(r'name="csrf" value="([^"]+)"', answer.text).group(1)

    def worker_code(self, locker: str) -> str:
        """Her worker QR for ``locker``, as the console shows it on her phone."""
        page = self.http.get(f"{self.url}/worker/lockers/{locker}/qr", timeout=30)
        assert page.status_code == 200, page.status_code
        return decode_svg_qr(page.text[page.text.index("<svg"):page.text.index("</svg>") + 6])

    def case(self, case_id: str) -> str:
        return self.http.get(f"{self.url}/worker/cases/{case_id}", timeout=30).text

    def act(self, case_id: str, action: str) -> int:
        answer = self.http.post(f"{self.url}/worker/cases/{case_id}/act", data={"action": action, "csrf": self.csrf},
                                timeout=30, allow_redirects=False)
        return answer.status_code


@dataclass
class System:
    root: Path
    interval_s: int = 1
    port: int = field(default_factory=free_port)
    server: Child | None = None
    bus: SimProcess | None = None
    locker: Child | None = None
    kills: dict[str, int] = field(default_factory=dict)
    locker_env: dict[str, str] = field(default_factory=dict)  # e.g. libfaketime for the clock drill

    def __post_init__(self) -> None:
        self.data = self.root / "appliance"
        self.data.mkdir(parents=True, exist_ok=True)
        self.db = self.root / "server.db"
        self.notifications = self.root / "notifications.jsonl"
        self.config_path = self.root / "appliance.toml"
        self.url = f"http://127.0.0.1:{self.port}"
        self.kiosk_store = None
        self.kiosk_agent = None
        self.config: Config | None = None

    # -- processes ---------------------------------------------------------------------
    def start_server(self) -> None:
        env = {"SYNC_NOTIFY_ADAPTER": "log", "SYNC_NOTIFY_LOG_FILE": str(self.notifications),
               "SYNC_NOTIFY_INTERVAL_S": "0.5", "SYNC_NOTIFY_BACKOFF_S": "1", "SYNC_PUBLIC_URL": self.url}
        self.server = Child("sync.server", "--port", str(self.port), "--database", f"sqlite:///{self.db}",
                            "--log-level", "WARNING", header_lines=1, env=env).start(timeout=90)
        wait_until(lambda: requests.get(f"{self.url}/api/v1/health", timeout=5).ok, 60, "the server to answer")

    def start_bus(self) -> None:
        self.bus = SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2",
                              "--doors", str(DOORS)).start()

    def write_config(self) -> None:
        text = CONFIG.format(locker=DEVICE, data=self.data, port=self.bus.path, doors=DOORS, oos="", prompt=60,
                             alarm=120, sync="true")
        text = text.replace('role = "locker"', f'role = "kiosk+locker"\ncommunity = "{COMMUNITY}"').replace(
            "[sync]\nenabled = true", f'[sync]\nenabled = true\nserver_url = "{self.url}"\n'
                                      f"interval_s = {self.interval_s}\nbackoff_max_s = 2\ntimeout_s = 5")
        self.config_path.write_text(text, encoding="utf-8")
        self.config = load(self.config_path, check_devices=False)

    def start_locker(self) -> None:
        self.locker = Child("locker", "--config", str(self.config_path), "serve", header_lines=1,
                            env=self.locker_env or None).start(timeout=60)
        wait_until(lambda: (lambda st: all(b["online"] for b in st["boards"])
                            and all(d["seen"] != "unknown" for d in st["doors"]))(self.doors().state()),
                   30, "the locker daemon's first poll of its boards")

    def start(self) -> "System":
        self.start_server()
        self.seed()
        self.start_bus()
        self.write_config()
        self.start_locker()
        self.start_kiosk()
        return self

    def seed(self) -> None:
        """The demo's accounts, households and the locker's grid (the python APIs the
        CLIs and the admin console use), an enrolment code, the server's key trusted."""
        from sqlalchemy import select

        from sync.server import db, keys
        from sync.server.accounts import create_account
        from sync.server.admin import households
        from sync.server.models import Household
        from sync.server.worker import cases
        from tests.sync.server.support import new_code

        engine = db.create(f"sqlite:///{self.db}")
        try:
            with engine.begin() as conn:
                create_account(conn, username=ADMIN, password=ADMIN_PASSWORD, name="管理员", role="admin",
                               community=COMMUNITY)
                create_account(conn, username=WORKER, password=WORKER_PASSWORD, name="李网格", role="worker",
                               community=COMMUNITY, grid=GRID)
                count, problems = households.import_csv(conn, COMMUNITY, (ROOT / "assets" / "demo" /
                                                                          "households.csv").read_bytes())
                assert not problems and count == 5, problems
                cases.set_locker_grid(conn, DEVICE, COMMUNITY, GRID, "幸福里1号云柜")
                server_key = keys.load(conn)
                assert conn.execute(select(Household.key)).first() is not None
        finally:
            engine.dispose()
        (self.data / "enrolment-code").write_text(new_code(f"sqlite:///{self.db}", DEVICE, COMMUNITY))
        TrustedKeys().with_key("server", server_key.public_key).save(self.data / "trusted-keys.json")

    def start_kiosk(self) -> None:
        """The kiosk's store and its sync agent, a thread of this process as in the kiosk app."""
        from forms.register import migrations as register_migrations
        from kiosk.store import cases
        from kiosk.store.subsidy import migrations as subsidy_migrations
        from sync.agent.agent import Agent
        from sync.store import Store

        self.kiosk_store = Store(self.config.store_path, [register_migrations, cases.migrations,
                                                          subsidy_migrations])
        self.kiosk_agent = Agent.from_config(self.kiosk_store, self.config).start()

    def stop(self) -> None:
        if self.kiosk_agent is not None:
            self.kiosk_agent.stop(timeout=10)
        if self.kiosk_store is not None:
            self.kiosk_store.close()
        for child in (self.locker, self.bus, self.server):
            if child is not None:
                child.stop(timeout=10)

    # -- faults ------------------------------------------------------------------------
    def child(self, name: str) -> Child:
        return {"server": self.server, "locker": self.locker, "bus": self.bus}[name]

    def kill(self, name: str) -> None:
        """SIGKILL, as a power cut or the OOM killer would: no clean-up runs."""
        child = self.child(name)
        assert child is not None and child.proc is not None
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait(10)
        child.stop()
        self.kills[name] = self.kills.get(name, 0) + 1

    def restart(self, name: str) -> None:
        if name == "server":
            self.start_server()
        elif name == "locker":
            self.start_locker()
        else:  # a new simulator has a new pty: the locker daemon is told by its configuration
            self.start_bus()
            self.locker.stop(timeout=10)
            self.write_config()
            self.start_locker()

    # -- what the server has ---------------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def timeline(self, case_id: str) -> list[tuple[str, str]]:
        """(event_type, status) of every event of the case, in the server's order; an event
        applied without moving the case (the locker announcing a case the kiosk made:
        reason ``already created``; a console's collect reconciled) has status ``noted``."""
        rows = self.query("SELECT event_type, status, reason FROM events WHERE aggregate_id = ? ORDER BY server_seq",
                          (case_id,))
        return [(t, "noted" if status == "applied" and reason else status) for t, status, reason in rows]

    def case_state(self, case_id: str) -> str | None:
        rows = self.query("SELECT state FROM cases WHERE id = ?", (case_id,))
        return rows[0][0] if rows else None

    def notices(self, case_id: str) -> list[dict]:
        if not self.notifications.exists():
            return []
        lines = self.notifications.read_text(encoding="utf-8").splitlines()
        return [n for n in (json.loads(line) for line in lines if line.strip()) if n.get("case") == case_id]

    def doors(self):
        from kiosk.flows.doors import LockerDoors
        from locker.daemon import socket_path

        return LockerDoors(socket_path(self.config), poll=0.02)

    def open_doors(self) -> list[int]:
        return [n for n in range(1, 2 * DOORS + 1) if is_open(self.bus, n)]

    def shut(self, number: int) -> None:
        door(self.bus, number, "close")


@dataclass
class Journey:
    """One resident's case through the whole system, step by step; each step may be
    tried again after any process was killed (``run(step)`` retries it)."""

    system: System
    resident: tuple[str, str] = LI
    case_id: str = ""
    door: int = 0
    pickup_code: str = ""
    printed_jobs: list[int] = field(default_factory=list)
    console: Console | None = None
    worker_code: str = ""  # her QR shown before the server went away (else fetched from the console each time)

    STEPS = ("drop_off", "collect_at_locker", "review_in_console", "return_result", "notified", "pick_up", "rate")

    # -- the kiosk: a residence proof --------------------------------------------------------
    def print_residence_proof(self, printer_url: str):
        from drivers.printer import Printer
        from forms.office import CertificateOffice
        from kiosk.flows.printing import CertificatePrinting
        from kiosk.flows.residence import ResidenceProof
        from kiosk.session import Resident
        from kiosk.store.content import SyncedContent
        from kiosk.store.households import Households

        s = self.system
        number, name = self.resident
        member = wait_until(lambda: Households(SyncedContent.for_config(s.config)).member(number), 60,
                            "the household record to reach the kiosk")
        who = Resident(name=name, id_number=number, sex="2", birth_date=None, address="", verified_by="face")
        proof = ResidenceProof.start(who, member)
        proof.choose_purpose("school")
        printing = CertificatePrinting(CertificateOffice.from_config(s.config, s.kiosk_store), Printer(printer_url))
        return proof.print(printing, purpose_text="子女入学"), printing

    # -- the case --------------------------------------------------------------------------
    def drop_off(self) -> None:
        from kiosk.flows.dropoff import DropOffFlow, Step
        from kiosk.store import cases
        from kiosk.store.guide import DEMO, Guide

        s = self.system
        if self.case_id and (s.doors().case(self.case_id) or {}).get("state") == "materials_deposited":
            return
        flow = DropOffFlow(s.doors(), s.kiosk_store, Guide.from_file(DEMO), None,
                           resident=cases.Resident.of(*self.resident), locker_name="幸福里1号云柜",
                           progress_url=f"{s.url}/progress/", open_timeout=15, close_timeout=30)
        flow.choose("elderly-subsidy")
        flow.confirm_all()
        assert flow.open_door() is Step.OPENING, (flow.step, getattr(flow, "refusal", None) and vars(flow.refusal))
        self.case_id = flow.case_id
        assert flow.wait_open() is Step.OPEN, (flow.step, getattr(flow, "refusal", None))
        self.door = flow.door
        s.shut(flow.door)
        assert flow.wait_deposited() is Step.DEPOSITED, flow.step

    def _console(self) -> Console:
        if self.console is None:
            self.console = Console(self.system.url, WORKER, WORKER_PASSWORD)
        return self.console

    def _through_locker(self, op: str, **fields: Any) -> int:
        """A worker's opening at the locker (her QR from the console), shut by her."""
        s = self.system
        doors = s.doors()
        answer = doors.request(op, code=self.worker_code or self._console().worker_code(DEVICE), **fields)
        opened = doors.wait_opening(answer["opening"]["id"], {"opened"}, timeout=15)
        assert opened and opened["state"] == "opened", opened
        s.shut(answer["door"])
        doors.wait_opening(answer["opening"]["id"], set(), timeout=15)
        return answer["door"]

    def collect_at_locker(self) -> None:
        s = self.system
        if (s.doors().case(self.case_id) or {}).get("state") in ("collected", "result_deposited", "picked_up"):
            return
        assert self._through_locker("collect") == self.door

    def review_in_console(self) -> None:
        s = self.system
        wait_until(lambda: s.case_state(self.case_id) in ("collected", "in_review", "approved"), 60,
                   f"{self.case_id} collected at the server")
        for action, state in (("review", "in_review"), ("approve", "approved")):
            if s.case_state(self.case_id) in (state, "approved"):
                continue
            status = self._console().act(self.case_id, action)
            assert status == 303, (action, status)
        assert s.case_state(self.case_id) == "approved"

    def return_result(self) -> None:
        s = self.system
        if (s.doors().case(self.case_id) or {}).get("state") in ("result_deposited", "picked_up"):
            return
        self.door = self._through_locker("return", case=self.case_id, size="M")

    def notified(self) -> None:
        """The resident's SMS (the log notifier): which locker and door, and the code."""
        s = self.system
        notice = wait_until(lambda: next((n for n in s.notices(self.case_id) if re.search(r"\b\d{8}\b", n["text"])),
                                         None), 60, f"the pickup notice of {self.case_id}")
        assert notice["phone"].endswith("0003")  # her household record's phone
        self.pickup_code = re.search(r"\b(\d{8})\b", notice["text"]).group(1)

    def pick_up(self) -> None:
        from kiosk.flows.pickup import PickupFlow, Step

        s = self.system
        if (s.doors().case(self.case_id) or {}).get("state") == "picked_up":
            return
        flow = PickupFlow(s.doors(), s.kiosk_store, open_timeout=15, close_timeout=30)
        for digit in self.pickup_code:
            flow.press(digit)
        assert flow.submit() is Step.OPENING, (flow.step, flow.refusal)
        assert flow.wait_open() is Step.OPEN, flow.step
        s.shut(flow.door)
        assert flow.wait_closed() is Step.DONE, flow.step

    def rate(self) -> None:
        from kiosk.flows.progress import ProgressFlow
        from kiosk.store import cases

        s = self.system
        progress = ProgressFlow(s.kiosk_store, cases.Resident.of(*self.resident).key, s.doors())
        row = next(r for r in progress.load() if r.case.id == self.case_id)
        if row.case.state.value == "evaluated":
            return
        assert row.rateable, row.case.state
        progress.rate(self.case_id, 5, comment="很方便")
        s.kiosk_agent.wake()

    def settled(self, timeout: float = 90) -> list[tuple[str, str]]:
        """Wait for the server to have the whole case, and for every queue to drain."""
        s = self.system
        wait_until(lambda: s.case_state(self.case_id) == "evaluated", timeout, f"{self.case_id} evaluated")
        wait_until(lambda: not locker_pending(s) and not kiosk_pending(s), timeout, "every outbox to drain")
        return s.timeline(self.case_id)


def kiosk_pending(system: System) -> int:
    from sync.store import pending

    return len(pending(system.kiosk_store, 1000))


def locker_pending(system: System) -> int:
    """Events the locker daemon has not had acknowledged yet (its store, read only)."""
    from locker.daemon import store_path

    conn = sqlite3.connect(f"file:{store_path(system.config)}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
    finally:
        conn.close()


def applied_counts(timeline: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event_type, status in timeline:
        if status == "applied":
            counts[event_type] = counts.get(event_type, 0) + 1
    return counts
