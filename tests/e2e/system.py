"""The whole system as separate processes, for the end-to-end journey and the fault
drills: the central server (``python -m sync.server`` on SQLite, the log notifier
writing residents' SMS to a file), the lock-board simulator on a pty, the locker
daemon (``python -m locker serve``, its sync agent a thread of it), and the kiosk
(:mod:`tests.e2e.kiosk_side`: the kiosk app's store, its sync agent thread and the
plain-Python flows its screens drive, without Qt), each its own process, each
writing its stderr to ``ROOT/logs/``.

Every process can be SIGKILLed and started again on the same files and port
(:meth:`System.kill`, :meth:`System.restart`); the journey (:class:`Journey`) is
written so each step can be retried after a crash, as a resident or a worker would
try again, and has kill points inside its door operations and its print
(:attr:`Journey.inside`). ``appliance_env`` is the environment of the appliance's own
processes (the kiosk and the locker daemon: libfaketime for the clock drill).
"""
from __future__ import annotations

import json
import random
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
from tests.e2e.kiosk_side import KioskSaid
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
PROCESSES = ("server", "locker", "bus", "kiosk")
ITEM = "elderly-subsidy"  # assets/demo guide: its materials go into the locker
LOCKER_NAME = "幸福里1号云柜"


def free_port() -> int:
    """A free port below the kernel's ephemeral range. A port from that range (what
    binding port 0 gives) can be taken while the server is down by an agent's own retry:
    a connection to 127.0.0.1:P from the ephemeral port P connects to itself (TCP's
    simultaneous open) and holds P, so the server restarted on P fails to bind."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port below {low}")


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
    printer_url: str | None = None  # the kiosk's printer (the private cupsd): each journey prints a proof first
    server: Child | None = None
    bus: SimProcess | None = None
    locker: Child | None = None
    kiosk: Child | None = None
    kills: dict[str, int] = field(default_factory=dict)
    appliance_env: dict[str, str] = field(default_factory=dict)  # the kiosk's and the locker's (libfaketime)

    def __post_init__(self) -> None:
        self.data = self.root / "appliance"
        self.data.mkdir(parents=True, exist_ok=True)
        self.logs = self.root / "logs"
        self.db = self.root / "server.db"
        self.notifications = self.root / "notifications.jsonl"
        self.config_path = self.root / "appliance.toml"
        self.kiosk_socket = self.root / "kiosk.sock"
        self.url = f"http://127.0.0.1:{self.port}"
        self.config: Config | None = None

    # -- processes ---------------------------------------------------------------------
    def start_server(self) -> None:
        env = {"SYNC_NOTIFY_ADAPTER": "log", "SYNC_NOTIFY_LOG_FILE": str(self.notifications),
               "SYNC_NOTIFY_INTERVAL_S": "0.5", "SYNC_NOTIFY_BACKOFF_S": "1", "SYNC_PUBLIC_URL": self.url}
        self.server = Child("sync.server", "--port", str(self.port), "--database", f"sqlite:///{self.db}",
                            "--log-level", "WARNING", header_lines=1, env=env,
                            log=self.logs / "server.log").start(timeout=90)
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
                            env=self.appliance_env or None, log=self.logs / "locker.log").start(timeout=60)
        wait_until(lambda: (lambda st: all(b["online"] for b in st["boards"])
                            and all(d["seen"] != "unknown" for d in st["doors"]))(self.doors().state()),
                   30, "the locker daemon's first poll of its boards")

    def start_kiosk(self) -> None:
        """The kiosk: its store, its sync agent thread and its flows (tests.e2e.kiosk_side)."""
        self.kiosk = Child("tests.e2e.kiosk_side", "--config", str(self.config_path), "--socket",
                           str(self.kiosk_socket), header_lines=1, env=self.appliance_env or None,
                           log=self.logs / "kiosk.log").start(timeout=60)

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
                cases.set_locker_grid(conn, DEVICE, COMMUNITY, GRID, LOCKER_NAME)
                server_key = keys.load(conn)
                assert conn.execute(select(Household.key)).first() is not None
        finally:
            engine.dispose()
        (self.data / "enrolment-code").write_text(new_code(f"sqlite:///{self.db}", DEVICE, COMMUNITY))
        TrustedKeys().with_key("server", server_key.public_key).save(self.data / "trusted-keys.json")

    def stop(self) -> None:
        for child in (self.kiosk, self.locker, self.bus, self.server):
            if child is not None:
                child.stop(timeout=10)

    # -- the kiosk ---------------------------------------------------------------------
    def kiosk_call(self, op: str, timeout: float = 120.0, **fields: Any) -> Any:
        """One call of a kiosk flow (:mod:`tests.e2e.kiosk_side`); :class:`KioskSaid` on its error."""
        from tests.e2e.kiosk_side import call

        return call(self.kiosk_socket, op, timeout=timeout, **fields)

    def kiosk_query(self, sql: str, args: tuple = ()) -> list[tuple]:
        """The kiosk's store, read only (the kiosk process is its one writer)."""
        return read_only(self.config.store_path, sql, args)

    def certificate(self, serial: str) -> dict[str, Any] | None:
        rows = self.kiosk_query("SELECT state, prints, last_error FROM forms_certificates WHERE serial = ?",
                                (serial,))
        return dict(zip(("state", "prints", "last_error"), rows[0])) if rows else None

    # -- faults ------------------------------------------------------------------------
    def child(self, name: str) -> Child:
        return {"server": self.server, "locker": self.locker, "bus": self.bus, "kiosk": self.kiosk}[name]

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
        elif name == "kiosk":
            self.start_kiosk()
        else:  # a new simulator has a new pty: the locker daemon is told by its configuration
            self.start_bus()
            self.locker.stop(timeout=10)
            self.write_config()
            self.start_locker()

    # -- what the server has ---------------------------------------------------------------
    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        return read_only(self.db, sql, args)

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

    def outboxes(self) -> dict[str, Path]:
        from locker.daemon import store_path

        return {"kiosk": Path(self.config.store_path), "locker": Path(store_path(self.config))}

    def delivery(self) -> list[str]:
        """What went wrong between the appliance's outboxes and the server (empty: nothing):
        an event acknowledged but not at the server, at the server twice, or applied out of
        its outbox's order (the kiosk's and the locker's stores push as one device, each
        in its own append order)."""
        problems: list[str] = []
        at_server = {}
        for event_id, server_seq in self.query("SELECT id, server_seq FROM events WHERE device_id = ?", (DEVICE,)):
            if event_id in at_server:
                problems.append(f"event {event_id} at the server twice")
            at_server[event_id] = server_seq
        for name, path in self.outboxes().items():
            rows = read_only(path, "SELECT id, seq, event_type, aggregate_id, sent_at FROM outbox ORDER BY seq")
            order = []
            for event_id, seq, event_type, aggregate, sent_at in rows:
                if sent_at is not None and event_id not in at_server:
                    problems.append(f"{name} event {seq} ({event_type} {aggregate}) acknowledged, not at the server")
                if event_id in at_server:
                    order.append((at_server[event_id], seq))
            arrived = [seq for _, seq in sorted(order)]
            if arrived != sorted(arrived):
                problems.append(f"{name}'s events reached the server out of order: {arrived}")
        return problems


def read_only(path: Path | str, sql: str, args: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


@dataclass
class Proof:
    """What the kiosk answered for a residence proof (kiosk.flows.residence.ResidenceProof)."""

    step: str
    serials: list[str]
    jobs: list[int]
    failed_serial: str | None
    advice: list[str] | None
    key: str = ""


@dataclass
class Journey:
    """One resident's case through the whole system, step by step; each step may be
    tried again after any process was killed (``run(step)`` retries it). ``inside``, if
    set, is called with a step's name while that step's door stands open (before the
    person shuts it) and while its certificate prints: a drill kills a process there."""

    system: System
    resident: tuple[str, str] = LI
    case_id: str = ""
    door: int = 0
    pickup_code: str = ""
    proof: Proof | None = None
    console: Console | None = None
    worker_code: str = ""  # her QR shown before the server went away (else fetched from the console each time)
    inside: Callable[[str], None] | None = None

    STEPS = ("drop_off", "collect_at_locker", "review_in_console", "return_result", "notified", "pick_up", "rate")
    DOOR_STEPS = ("drop_off", "collect_at_locker", "return_result", "pick_up")  # a door stands open inside them

    @classmethod
    def steps(cls, system: System) -> tuple[str, ...]:
        return (("print_proof",) if system.printer_url else ()) + cls.STEPS

    def _inside(self, step: str) -> None:
        if self.inside is not None:
            self.inside(step)

    def _key(self, what: str) -> str:
        return f"{what}-{self.case_id or id(self)}-{time.monotonic_ns()}"

    # -- the kiosk: a residence proof --------------------------------------------------------
    def print_residence_proof(self, printer_url: str, copies: int = 1) -> Proof:
        s = self.system
        number, name = self.resident
        wait_until(lambda: s.kiosk_call("member", number=number), 60, "the household record to reach the kiosk")
        key = self._key("proof")
        answer = s.kiosk_call("print_proof", key=key, resident=list(self.resident), printer=printer_url,
                              copies=copies)
        return Proof(**answer, key=key)

    def print_again(self, proof: Proof, printer_url: str) -> Proof:
        """The resident's 重试 on the same proof (the copies not printed yet)."""
        answer = self.system.kiosk_call("print_proof", key=proof.key, resident=list(self.resident),
                                        printer=printer_url, again=True)
        return Proof(**answer, key=proof.key)

    def print_proof(self) -> None:
        """A step: the proof printed (again from the start if the kiosk died mid-print)."""
        import threading

        if self.proof is not None and self.proof.step == "printed":
            return
        outcome: list[Any] = []

        def printing() -> None:
            try:
                outcome.append(self.print_residence_proof(self.system.printer_url))
            except Exception as exc:  # the kiosk killed under it: the connection closed
                outcome.append(exc)
        worker = threading.Thread(target=printing, name="print", daemon=True)
        worker.start()
        self._inside("print_proof")
        worker.join(180)
        assert outcome, "the print did not end"
        if isinstance(outcome[0], Exception):
            raise outcome[0]
        self.proof = outcome[0]
        assert self.proof.step == "printed", self.proof

    # -- the case --------------------------------------------------------------------------
    def _locker_state(self) -> str | None:
        return (self.system.doors().case(self.case_id) or {}).get("state") if self.case_id else None

    def drop_off(self) -> None:
        s = self.system
        if self._locker_state() in ("materials_deposited", "collected", "result_deposited", "picked_up"):
            return
        if self.door and self.door in s.open_doors():  # her door stood open when the kiosk went away: she shuts it
            s.shut(self.door)
            wait_until(lambda: self._locker_state() == "materials_deposited", 30, f"{self.case_id} deposited")
            return
        key = self._key("dropoff")
        answer = s.kiosk_call("dropoff_open", key=key, resident=list(self.resident), item=ITEM,
                              locker_name=LOCKER_NAME, progress_url=f"{s.url}/progress/")
        self.case_id = answer["case_id"] or self.case_id
        assert answer["step"] == "open", answer
        self.door = answer["door"]
        self._inside("drop_off")
        s.shut(self.door)
        try:
            done = s.kiosk_call("dropoff_wait", key=key)
            assert done["step"] == "deposited", done
        except (KioskSaid, OSError):  # the kiosk started again: what its My progress shows is the locker's
            wait_until(lambda: self._locker_state() == "materials_deposited", 30, f"{self.case_id} deposited")

    def _console(self) -> Console:
        if self.console is None:
            self.console = Console(self.system.url, WORKER, WORKER_PASSWORD)
        return self.console

    def _through_locker(self, op: str, step: str, **fields: Any) -> int:
        """A worker's opening at the locker (her QR from the console), shut by her."""
        s = self.system
        doors = s.doors()
        answer = doors.request(op, code=self.worker_code or self._console().worker_code(DEVICE), **fields)
        opened = doors.wait_opening(answer["opening"]["id"], {"opened"}, timeout=15)
        assert opened and opened["state"] == "opened", opened
        self._inside(step)
        s.shut(answer["door"])
        wait_until(lambda: s.doors().opening(answer["opening"]["id"])["state"] != "opened", 30,
                   f"door {answer['door']} seen shut")
        return answer["door"]

    def collect_at_locker(self) -> None:
        if self._locker_state() in ("collected", "result_deposited", "picked_up"):
            return
        assert self._through_locker("collect", "collect_at_locker") == self.door

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
        if self._locker_state() in ("result_deposited", "picked_up"):
            return
        self.door = self._through_locker("return", "return_result", case=self.case_id, size="M")

    def notified(self) -> None:
        """The resident's SMS (the log notifier): which locker and door, and the code."""
        s = self.system
        notice = wait_until(lambda: next((n for n in s.notices(self.case_id) if re.search(r"\b\d{8}\b", n["text"])),
                                         None), 60, f"the pickup notice of {self.case_id}")
        assert notice["phone"].endswith("0003")  # her household record's phone
        self.pickup_code = re.search(r"\b(\d{8})\b", notice["text"]).group(1)

    def open_pickup(self) -> dict:
        """She types the code at the kiosk: the kiosk's answer (door, step, refusal)."""
        key = self._key("pickup")
        answer = self.system.kiosk_call("pickup_open", key=key, code=self.pickup_code)
        return {**answer, "key": key}

    def pick_up(self) -> None:
        s = self.system
        if self._locker_state() == "picked_up":
            return
        if self.door in s.open_doors():  # her door stood open when something went away: she takes the paper, shuts it
            s.shut(self.door)
            wait_until(lambda: self._locker_state() == "picked_up", 30, f"{self.case_id} picked up")
            return
        answer = self.open_pickup()
        assert answer["step"] == "open", answer
        self.door = answer["door"]
        self._inside("pick_up")
        s.shut(self.door)
        try:
            done = s.kiosk_call("pickup_wait", key=answer["key"])
            assert done["step"] == "done", done
        except (KioskSaid, OSError):
            wait_until(lambda: self._locker_state() == "picked_up", 30, f"{self.case_id} picked up")

    def rate(self) -> None:
        s = self.system

        def rateable() -> bool:
            row = next(r for r in s.kiosk_call("progress", resident=list(self.resident)) if r["id"] == self.case_id)
            return row["rateable"] or row["state"] == "evaluated"
        wait_until(rateable, 30, f"{self.case_id} rateable at the kiosk")
        assert s.kiosk_call("rate", resident=list(self.resident), case_id=self.case_id, stars=5,
                            comment="很方便")["state"] == "evaluated"

    def settled(self, timeout: float = 90) -> list[tuple[str, str]]:
        """Wait for the server to have the whole case, and for every queue to drain."""
        s = self.system
        wait_until(lambda: s.case_state(self.case_id) == "evaluated", timeout, f"{self.case_id} evaluated")
        wait_until(lambda: not locker_pending(s) and not kiosk_pending(s), timeout, "every outbox to drain")
        return s.timeline(self.case_id)


def kiosk_pending(system: System) -> int:
    """Events the kiosk has not had acknowledged yet (its store, read only)."""
    return read_only(system.outboxes()["kiosk"], "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]


def locker_pending(system: System) -> int:
    """Events the locker daemon has not had acknowledged yet (its store, read only)."""
    return read_only(system.outboxes()["locker"], "SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]


def applied_counts(timeline: list[tuple[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for event_type, status in timeline:
        if status == "applied":
            counts[event_type] = counts.get(event_type, 0) + 1
    return counts
