"""``python -m appliance run`` (``make run``): the whole system in simulation, on one machine.

Starts, each as its own process: every ``sim://`` device of the configuration as a
simulator on a pseudo-terminal, a private CUPS server with a PDF printer, the
central server (``python -m sync.server`` on a free port, its SQLite database in
the demo folder) with a one-time enrolment code for this appliance, and the locker
daemon (``python -m locker serve``) on a configuration generated from the loaded one
(``DEMO_DIR/appliance.toml``: the simulators' ptys, the demo server, the private
cupsd, ``data_dir`` = the demo folder). The locker daemon alone owns the lock buses
and the scanner, and its sync agent enrols and pushes its events to the server; this
program follows the locker through its socket API (``events``) and the server
through its database, and keeps the kiosk's own devices (the ID card reader, the
printer, the camera) until the kiosk app exists.

Lines typed on standard input act as a resident or a worker would (``help`` lists
them). Everything it started stops with it (Ctrl-C, ``quit``, SIGTERM). The demo
folder (``var/demo``, or ``$KIOSK_DEMO_DIR``) starts empty on every run.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from pathlib import Path
from typing import Any, Callable

from appliance import jsonline
from appliance.config import ROOT, Config
from appliance.privacy import setup_logging
from appliance.processes import Child, ChildFailed
from drivers.errors import DriverError
from drivers.health import OK
from drivers.simserve import control_request

DEMO_DIR_ENV = "KIOSK_DEMO_DIR"

HELP = """commands (门号/卡号 as printed):
  dropoff [S|M|L] [CASE]  a resident drops materials off at the locker: a door opens (locker API)
  book [S|M|L] [CASE]     the server signs a booking code (the resident's phone); shown to the scanner
  worker [ID]             the server signs a worker code; shown to the scanner: the worker collects
  state                   doors and cases, as the locker daemon has them
  close DOOR              the resident shuts locker door DOOR (simulator); or close [BUS] BOARD DOOR
  scan TEXT               show a code to the scanner (simulator; the locker daemon reads it)
  card N | remove         place demo ID card N on the reader / take it away (simulator)
  print                   print a test page on the private CUPS printer
  server                  the central server: where it is, devices, events and cases it has
  doctor                  the device table again
  quit                    stop everything"""


class DemoError(RuntimeError):
    """The demo cannot start (a part failed, or another demo runs in the same folder)."""


@dataclass
class Simulated:
    """A simulator process standing in for the device a sim:// URL names."""

    child: Child

    @property
    def path(self) -> str:
        return self.child.header[0]

    def control(self, **request: object) -> dict:
        return control_request(self.child.header[1], dict(request))


_OUT = threading.Lock()


def _print_line(line: str) -> None:
    """One whole line at a time: the followers and the commands print from several threads."""
    with _OUT:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _pid(child: Child) -> str:
    return str(child.proc.pid) if child.proc else "?"


def demo_dir() -> Path:
    return Path(os.environ.get(DEMO_DIR_ENV) or ROOT / "var" / "demo").resolve()


class Demo:
    def __init__(self, config: Config, out: Callable[[str], None] | None = None,
                 directory: Path | None = None) -> None:
        self.original = config
        self.config = config  # the kiosk's devices, after start(): on the simulators
        self.out = out or _print_line
        self.dir = directory or demo_dir()
        self.children: list[Child] = []
        self.sims: dict[str, Simulated] = {}  # "lockboard:bus0", "idcard", "scanner"
        self.printer_info: dict = {}
        self.server_url = ""
        self.server_db = self.dir / "server.db"
        self.locker_config = self.dir / "appliance.toml"
        self.locker_socket: Path | None = None
        self.reader = None
        self.printer = None
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self._cases = count(1)

    def say(self, text: str) -> None:
        self.out(f"{datetime.now():%H:%M:%S}  {text}")

    # -- start-up -------------------------------------------------------------------
    def start(self) -> None:
        self._fresh_dir()
        cfg = self.original
        buses = [bus.model_copy(update={"url": self._simulate(f"lockboard:{bus.name}", bus.url)})
                 for bus in cfg.lockboard]
        idcard = cfg.idcard.model_copy(update={"url": self._simulate("idcard", cfg.idcard.url)})
        scanner = cfg.scanner
        if scanner.enabled and scanner.url != "camera:":
            scanner = scanner.model_copy(update={"url": self._simulate("scanner", scanner.url)})
        printer = cfg.printer
        if printer.enabled:
            printer = printer.model_copy(update={"url": self._start_cups() or printer.url})
        self.config = cfg.model_copy(update={"lockboard": buses, "idcard": idcard, "scanner": scanner,
                                             "printer": printer})
        self._start_server()
        self._write_locker_config()
        self._start_locker()

    def _fresh_dir(self) -> None:
        sock = self.dir / "locker.sock"
        if sock.exists():
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    probe.connect(str(sock))
                except OSError:
                    pass
                else:
                    raise DemoError(f"another `make run` uses {self.dir} (its locker daemon answers on {sock}); "
                                    f"stop it first, or set {DEMO_DIR_ENV} to another folder")
        if self.dir.exists():
            shutil.rmtree(self.dir)
        (self.dir / "logs").mkdir(parents=True)

    def _child(self, name: str, module: str, *args: str, header_lines: int = 2, timeout: float = 30) -> Child:
        child = Child(module, *args, header_lines=header_lines)
        self.children.append(child)  # before start: an interrupted start-up still stops it
        child.start(timeout=timeout)
        self._drain(child, name)
        return child

    def _drain(self, child: Child, name: str) -> None:
        """Keep reading a child's output into DIR/logs/NAME.log (a full pipe would block it)."""
        log = self.dir / "logs" / f"{name}.log"

        def pump(stream: Any) -> None:
            try:
                with open(log, "a", encoding="utf-8") as file:
                    for line in stream:
                        file.write(line)
                        file.flush()
            except (OSError, ValueError):  # the stream closed under us while stopping
                pass

        assert child.proc is not None
        for stream in (child.proc.stdout, child.proc.stderr):
            if stream is not None:
                threading.Thread(target=pump, args=(stream,), name=f"log-{name}", daemon=True).start()

    def _simulate(self, key: str, url: str) -> str:
        if not url.startswith("sim://"):
            return url
        child = self._child(key.replace(":", "-"), "drivers.simserve", url)
        self.sims[key] = Simulated(child)
        self.say(f"simulator {key:<16} {url}  →  {child.header[0]} (pid {_pid(child)})")
        return child.header[0]

    def _start_cups(self) -> str | None:
        try:
            child = self._child("cupsd", "drivers.printer.sim")
        except ChildFailed as exc:
            self.say(f"printer: no private CUPS server ({exc}); using {self.original.printer.url}")
            return None
        self.printer_info = json.loads(child.header[1])
        url = self.printer_info.get("pdf_url") or self.printer_info.get("fault_url")
        self.say(f"printer: private cupsd (pid {_pid(child)}) at {self.printer_info.get('socket')}; "
                 f"printed PDFs land in {self.printer_info.get('pdf_out')}")
        return url

    def _start_server(self) -> None:
        child = self._child("server", "sync.server", "--port", "0", *self._server_args(),
                            "--log-level", "WARNING", header_lines=1, timeout=90)
        self.server_url = child.header[0].split("listening on ", 1)[-1].strip()
        cfg = self.original
        code = self._server_cli("enrol-code", "--community", cfg.appliance.community, "--device-id", cfg.appliance.id)
        code_file = self.dir / "enrolment-code"
        code_file.write_text(code + "\n", encoding="utf-8")
        code_file.chmod(0o600)
        self.say(f"central server (pid {_pid(child)}) {self.server_url}, database {self.server_db}; "
                 f"enrolment code for {cfg.appliance.id} in {code_file}")

    def _server_args(self) -> list[str]:
        return ["--database", f"sqlite:///{self.server_db}", "--server-key-id", self.original.locker.server_key_id]

    def _server_cli(self, *args: str) -> str:
        """What ``python -m sync.server ARGS`` prints (an enrolment, booking or worker code)."""
        done = subprocess.run([sys.executable, "-m", "sync.server", *args, *self._server_args()],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or not done.stdout.strip():
            raise DemoError(f"python -m sync.server {args[0]} failed: {done.stderr.strip()[-300:]}")
        return done.stdout.strip()

    def _write_locker_config(self) -> None:
        """The loaded configuration with the demo's simulators, server, cupsd and folder."""
        data = self.config.model_dump(exclude_none=True)
        data["appliance"]["data_dir"] = str(self.dir)
        data["locker"].update(store="locker.db", socket="locker.sock")
        data["sync"].update(enabled=True, server_url=self.server_url, enrolment_code_file="enrolment-code")
        text = (f"# Generated by `python -m appliance run` from {self.original.source}: the simulators' ptys,\n"
                f"# the demo server, the private cupsd, data_dir = this folder. Rewritten on every run.\n\n"
                + to_toml(data))
        self.locker_config.write_text(text, encoding="utf-8")
        from appliance.config import load

        load(self.locker_config)  # the daemon would stop on a mistake: say it here, naming the key

    def _start_locker(self) -> None:
        child = self._child("locker", "locker", "--config", str(self.locker_config), "serve",
                            header_lines=1, timeout=90)
        self.locker_socket = Path(child.header[0])
        self.say(f"locker daemon (pid {_pid(child)}) serving {self.locker_socket}; "
                 f"it owns the lock buses and the scanner, its sync agent talks to the server")

    def where(self) -> None:
        rel = lambda p: os.path.relpath(p, ROOT) if str(p).startswith(str(ROOT)) else str(p)  # noqa: E731
        self.out("where to look:")
        self.out(f"  central server   {self.server_url}   API docs {self.server_url}/docs · "
                 f"OpenAPI {self.server_url}/openapi.json")
        self.out(f"  server database  {rel(self.server_db)}")
        self.out(f"  locker daemon    {rel(self.locker_socket or '')}: "
                 f"python -m locker --config {rel(self.locker_config)} status")
        self.out(f"  locker config    {rel(self.locker_config)} (generated)")
        self.out(f"  logs             {rel(self.dir / 'logs')}/ (server, locker, simulators)")
        if self.printer_info.get("pdf_out"):
            self.out(f"  printed PDFs     {self.printer_info['pdf_out']}")

    def open_devices(self) -> None:
        """The kiosk's own devices; the lock buses and the scanner are the locker daemon's."""
        from drivers.doctor import id_card_reader

        self.reader = id_card_reader(self.config)
        if self.config.printer.enabled:
            from drivers.printer.device import Printer

            self.printer = Printer(self.config.printer.url)

    def doctor(self) -> None:
        from drivers.doctor import doctor

        # doctor opens devices itself: let go of ours first (one owner per device), and
        # leave the locker daemon's devices alone: it reports on them
        self.close_devices()
        kiosk_devices = self.config.model_copy(update={
            "lockboard": [], "scanner": self.config.scanner.model_copy(update={"enabled": False})})
        rows = [(h.state, h.device, h.detail, h.fix) for h in doctor(kiosk_devices)]
        self.open_devices()
        try:
            state = self.locker("state")
        except OSError as exc:
            rows.append(("down", "locker daemon", f"{self.locker_socket}: {exc}", "see var/demo/logs/locker.log"))
        else:
            for board in state["boards"]:
                rows.append((OK if board["online"] else "down", f"lockboard {board['bus']} board {board['board']}",
                             "online, polled by the locker daemon" if board["online"] else "offline",
                             "" if board["online"] else "python -m locker status; check the bus"))
            if self.config.scanner.enabled:
                rows.append((OK, "scanner", f"{self.config.scanner.url}, read by the locker daemon", ""))
        rows.append(self._server_health())
        for state_, device, detail, fix in rows:
            mark = "OK  " if state_ == OK else state_.upper()
            self.out(f"  {mark:<8} {device:<24} {detail}"
                     + (f"\n  {'':<8} {'':<24} → {fix}" if state_ != OK and fix else ""))

    def _server_health(self) -> tuple[str, str, str, str]:
        try:
            with urllib.request.urlopen(f"{self.server_url}/api/v1/health", timeout=10) as answer:
                health = json.load(answer)
        except OSError as exc:
            return "down", "central server", f"{self.server_url}: {exc}", "see var/demo/logs/server.log"
        devices = self._server_query("SELECT device_id FROM devices WHERE revoked_at IS NULL")
        enrolled = ", ".join(d for (d,) in devices) or "none yet (the sync agent enrols on its first round)"
        return OK, "central server", f"{self.server_url} ({health.get('database')}); enrolled: {enrolled}", ""

    # -- the locker and the server ---------------------------------------------------------
    def locker(self, op: str, **request: Any) -> dict:
        """One request to the locker daemon's API (JSON lines on its Unix socket, see
        locker/api.py; spoken here directly: appliance/ imports neither locker nor sync)."""
        if self.locker_socket is None:
            raise LookupError("the locker daemon is not running")
        return jsonline.request(self.locker_socket, {"op": op, **request}, peer="the locker daemon")

    def _server_query(self, sql: str, args: tuple = ()) -> list[tuple]:
        if not self.server_db.exists():
            return []
        conn = sqlite3.connect(f"file:{self.server_db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # tables not made yet
            return []
        finally:
            conn.close()

    # -- following ----------------------------------------------------------------------
    def follow(self) -> None:
        for name, target in [("locker", self._follow_locker), ("idcard", self._follow_cards),
                             ("server", self._follow_server)]:
            thread = threading.Thread(target=self._guard(target), name=f"follow-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stopping.is_set():
                try:
                    loop()
                except Exception as exc:  # a follower reports and carries on
                    if self.stopping.is_set():
                        return
                    if isinstance(exc, DriverError):
                        self.say(f"⚠ {exc.message}" + (f" — {exc.hint}" if exc.hint else ""))
                    else:
                        self.say(f"⚠ {type(exc).__name__}: {exc}")
                    self.stopping.wait(2)
        return run

    def _follow_locker(self) -> None:
        seq = max((e["seq"] for e in self.locker("events", after=0)["events"]), default=0)
        while not self.stopping.is_set():
            for event in self.locker("events", after=seq, timeout=2)["events"]:
                seq = event["seq"]
                line = describe(event)
                if line:
                    self.say(line)

    def _follow_cards(self) -> None:
        reader = self.reader
        while not self.stopping.is_set() and reader is self.reader:
            if not reader.find_card():
                self.stopping.wait(0.5)
                continue
            record = reader.read()
            summary = record.summary()
            self.say(f"身份证 ID card read: {summary.get('name')} {summary.get('sex')} "
                     f"{summary.get('ethnicity')} {summary.get('id_number')} valid to {summary.get('valid_to') or '长期'}")
            while not self.stopping.is_set() and reader.find_card():
                self.stopping.wait(0.5)
            if not self.stopping.is_set():
                self.say("身份证已取走 ID card taken away")

    def _follow_server(self) -> None:
        seq, enrolled = 0, set()
        while not self.stopping.is_set():
            for (device,) in self._server_query("SELECT device_id FROM devices ORDER BY enrolled_at"):
                if device not in enrolled:
                    enrolled.add(device)
                    self.say(f"服务器 server: device {device} enrolled")
            rows = self._server_query("SELECT server_seq, device_id, aggregate_type, aggregate_id, event_type, "
                                      "status, case_state FROM events WHERE server_seq > ? ORDER BY server_seq",
                                      (seq,))
            if rows:
                seq = rows[-1][0]
                devices = ", ".join(sorted({r[1] for r in rows}))
                shown = [f"{r[2]}:{r[3]} {r[4]}" + ("" if r[5] == "applied" else f" ({r[5]})") for r in rows]
                cases = {r[3]: r[6] for r in rows if r[2] == "case" and r[6]}
                self.say(f"服务器 server received {len(rows)} event(s) from {devices}: "
                         + "; ".join(shown[:8]) + (" …" if len(shown) > 8 else "")
                         + "".join(f" — case {c} now {s} on the server" for c, s in cases.items()))
            self.stopping.wait(1.0)

    # -- commands -------------------------------------------------------------------
    def command(self, line: str) -> bool:
        """Run one typed command; False to stop."""
        words = shlex.split(line)
        if not words:
            return True
        verb, args = words[0].lower(), words[1:]
        try:
            if verb in ("quit", "exit", "q"):
                return False
            if verb == "help":
                self.out(HELP)
            elif verb == "dropoff":
                self._dropoff(args)
            elif verb == "book":
                self._book(args)
            elif verb == "worker":
                self._worker(args)
            elif verb in ("state", "doors", "status"):
                self._state()
            elif verb == "close":
                self._close(args)
            elif verb == "open":
                self.out("  doors open through the locker daemon, its only owner: `dropoff`, or `scan` a code")
            elif verb == "card":
                self._sim("idcard").control(cmd="insert", card=int(args[0]) if args else 0)
            elif verb == "remove":
                self._sim("idcard").control(cmd="remove")
            elif verb == "scan":
                self._sim("scanner").control(cmd="scan", code=" ".join(args))
            elif verb == "print":
                self._print_test_page()
            elif verb == "server":
                self._server()
            elif verb == "doctor":
                self.doctor()
            else:
                self.out(f"unknown command {verb!r}; type help")
        except (DriverError, DemoError, OSError, ValueError, IndexError, KeyError, LookupError,
                subprocess.TimeoutExpired) as exc:
            self.out(f"  ✗ {getattr(exc, 'message', None) or exc}")
        return True

    def _dropoff(self, args: list[str]) -> None:
        size = next((a.upper() for a in args if a.upper() in ("S", "M", "L")), "M")
        case = next((a for a in args if a.upper() not in ("S", "M", "L")),
                    f"DEMO-{datetime.now():%H%M%S}-{next(self._cases)}")
        answer = self.locker("dropoff", case=case, size=size, item="申请材料 application materials")
        if not answer.get("ok"):
            self.out(f"  ✗ drop-off refused: {answer.get('error')}: {answer.get('message')}")
            return
        self.say(f"投递 drop-off: case {case} ({size}): door {answer['door']} opens — put the papers in, then "
                 f"`close {answer['door']}`")

    def _book(self, args: list[str]) -> None:
        size = next((a.upper() for a in args if a.upper() in ("S", "M", "L")), "M")
        case = next((a for a in args if a.upper() not in ("S", "M", "L")),
                    f"BK-{datetime.now():%H%M%S}-{next(self._cases)}")
        code = self._server_cli("booking-code", "--case", case, "--size", size, "--locker", self.original.appliance.id)
        self.say(f"预约 booking: the server signed a booking code for case {case} ({size}), as on the resident's "
                 f"phone; shown to the locker's scanner")
        self._sim("scanner").control(cmd="scan", code=code)

    def _worker(self, args: list[str]) -> None:
        worker = args[0] if args else "w-demo"
        code = self._server_cli("worker-code", "--worker", worker, "--lockers", self.original.appliance.id,
                                "--minutes", "10")
        self.say(f"网格员 worker {worker}: the server signed a worker code (10 minutes) for this locker; "
                 f"shown to the scanner: her doors open one after another as each closes")
        self._sim("scanner").control(cmd="scan", code=code)

    def _state(self) -> None:
        state = self.locker("state")
        doors = state["doors"]
        busy = [d for d in doors if d["use"] != "free" or d["seen"] not in ("closed", "unknown")]
        free = len(doors) - len([d for d in doors if d["use"] != "free"])
        self.out(f"  locker {state['locker']}: {len(doors)} doors, {free} free")
        for d in busy:
            self.out(f"  door {d['number']:>3} {d['size']} {d['use']:<15} {d['seen']:<8} "
                     f"{d['case'] or ''} {d['reason'] or ''}".rstrip())
        for c in state["cases"]:
            self.out(f"  case {c['id']}: {c['state']}" + (f", door {c['door']}" if c.get("door") else ""))
        offline = [f"{b['bus']}/{b['board']}" for b in state["boards"] if not b["online"]]
        self.out(f"  {len(state['cases'])} case(s); boards offline: {', '.join(offline) or 'none'}")

    def _close(self, args: list[str]) -> None:
        if len(args) == 1:
            number = int(args[0])
            door = next((d for d in self.locker("state")["doors"] if d["number"] == number), None)
            if door is None:
                raise LookupError(f"the locker has no door {number}")
            bus, board, door_no = door["id"].split("/")
        elif len(args) == 2 and self.original.lockboard:
            bus, board, door_no = self.original.lockboard[0].name, args[0], args[1]
        elif len(args) == 3:
            bus, board, door_no = args
        else:
            raise ValueError("give DOOR (the locker's door number), or [BUS] BOARD DOOR as on the board")
        self._sim(f"lockboard:{bus}").control(cmd="close", board=int(board), door=int(door_no))

    def _server(self) -> None:
        self.out(f"  central server {self.server_url}")
        self.out(f"  API docs {self.server_url}/docs · OpenAPI {self.server_url}/openapi.json · "
                 f"health {self.server_url}/api/v1/health")
        self.out(f"  database {self.server_db}")
        for device, community, heartbeat, revoked in self._server_query(
                "SELECT device_id, community, last_heartbeat_at, revoked_at FROM devices ORDER BY device_id"):
            self.out(f"  device {device} ({community}): " + ("REVOKED" if revoked else "enrolled")
                     + f", last heartbeat {heartbeat or 'none yet'}")
        total = self._server_query("SELECT count(*), sum(status = 'quarantined') FROM events")
        if total:
            self.out(f"  events received: {total[0][0]} ({total[0][1] or 0} quarantined)")
        for case, state in self._server_query("SELECT id, state FROM cases ORDER BY updated_at"):
            self.out(f"  case {case}: {state}")

    def _sim(self, key: str) -> Simulated:
        if key not in self.sims:
            raise LookupError(f"{key} is not simulated in this configuration")
        return self.sims[key]

    def _print_test_page(self) -> None:
        if self.printer is None:
            raise LookupError("no printer configured")
        outcome = self.printer.print_pdf(test_page(self.config), title="kiosk test page", timeout=30)
        self.say(f"打印 printed job {outcome.job_id}: {outcome.outcome.value} in {outcome.elapsed:.2f} s "
                 f"(PDFs in {self.printer_info.get('pdf_out', 'the printer')})")

    # -- shutdown ---------------------------------------------------------------------
    def close_devices(self) -> None:
        if self.reader is not None:
            self.reader.close()
        self.reader = None

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=3)
        self.close_devices()
        for child in reversed(self.children):  # the locker first (its agent's last push), the server next
            child.stop(timeout=20 if child.module == "locker" else 5)


OPENINGS = {
    "commanded": "开锁 unlock sent", "opened": "柜门打开 door opened", "closed": "柜门关闭 door closed",
    "jammed": "柜门卡住 door jammed", "not_opened": "柜门未开 door did not open",
}
QUIET = {"unlock_result", "daemon_started", "door_installed", "free", "reserved", "occupied"}


def describe(event: dict) -> str:
    """One line for a locker audit entry (the daemon's event stream); "" to leave it out."""
    name, subject = event["event"], event["subject"]
    kind, _, ident = subject.partition(":")
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    if name in QUIET:
        return ""
    if kind == "opening":
        to = detail.get("to")
        if to not in OPENINGS:
            return ""
        line = f"云柜 {OPENINGS[to]}: door {detail.get('door', '?')}"
        if to == "commanded":
            line += f" ({detail.get('purpose', '')}" + (f", case {detail['case']}" if detail.get("case") else "") + ")"
        return line
    if kind == "case":
        if name == "receipt_printed":
            return f"云柜 回执 receipt printed for case {ident}"
        return f"云柜 case {ident} → {name}" + (f" (door {detail['door']})" if detail.get("door") else "")
    if name == "code_refused":
        return f"云柜 扫码被拒 code refused ({ident}): {detail.get('reason')}"
    extra = detail.get("reason") or ""
    where = f"door {detail['door']}" if kind == "door" and detail.get("door") else subject
    return f"云柜 {name}: {where}" + (f" ({extra})" if extra else "")


def to_toml(data: dict[str, Any]) -> str:
    """TOML for a configuration dump: sections, arrays of tables, scalars, lists, inline tables."""
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v, ensure_ascii=False)
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{json.dumps(str(k))} = {value(x)}" for k, x in v.items()) + " }"
        raise TypeError(f"no TOML for {type(v).__name__}")

    def table(header: str, body: dict[str, Any], lines: list[str], array: bool = False) -> None:
        lines.append(f"[[{header}]]" if array else f"[{header}]")
        nested = []
        for k, v in body.items():
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and k == "board":
                nested.append((k, v))
            else:
                lines.append(f"{k} = {value(v)}")
        lines.append("")
        for k, rows in nested:
            for row in rows:
                table(f"{header}.{k}", row, lines, array=True)

    lines: list[str] = []
    for key, section in data.items():
        if isinstance(section, list):
            for row in section:
                table(key, row, lines, array=True)
        else:
            table(key, section, lines)
    return "\n".join(lines)


def test_page(config: Config) -> bytes:
    """A one-page PDF with Chinese text (the CJK font embedded when installed)."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = "Helvetica"
    try:
        pdfmetrics.registerFont(TTFont("WenQuanYi", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", subfontIndex=0))
        font = "WenQuanYi"
    except Exception:  # no CJK font: the page still prints, in English
        pass
    buf = io.BytesIO()
    page = canvas.Canvas(buf, pagesize=A4, invariant=True)
    page.setFont(font, 22)
    page.drawString(72, 760, "打印测试页 Printer test page" if font != "Helvetica" else "Printer test page")
    page.setFont(font, 12)
    page.drawString(72, 730, f"{config.appliance.name} · {config.appliance.id}")
    page.drawString(72, 712, datetime.now().strftime("%Y-%m-%d %H:%M:%S"))
    page.showPage()
    page.save()
    return buf.getvalue()


def run(config: Config) -> int:
    setup_logging("WARNING")
    demo = Demo(config)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    try:
        demo.say(f"社区事务一体机与云柜 (simulation) · config {config.source} · demo folder {demo.dir}")
        demo.start()
        demo.open_devices()
        demo.say("devices (the kiosk's, the locker daemon's) and the server:")
        demo.doctor()
        demo.follow()
        demo.out(HELP)
        demo.where()
        demo.say("following the locker, the ID card reader and the server live; Ctrl-C stops everything")
        reader = threading.Thread(target=_read_commands, args=(demo, stop), daemon=True)
        reader.start()
        while not stop.is_set():
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    except (ChildFailed, DriverError, DemoError, subprocess.TimeoutExpired) as exc:
        print(f"make run: {getattr(exc, 'message', None) or exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # e.g. the generated config refused (ConfigError): say it, stop what started
        print(f"make run: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.say("stopping …")
        demo.stop()
    return 0


def _read_commands(demo: Demo, stop: threading.Event) -> None:
    for line in sys.stdin:
        if not demo.command(line):  # quit
            stop.set()
            return
    # End of input: Ctrl-D at a terminal stops; piped input has simply run out, and the
    # system keeps running until a signal.
    if sys.stdin.isatty():
        stop.set()
