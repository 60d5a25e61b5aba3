"""``python -m appliance run`` (``make run``): the whole system in simulation, on one machine.

Starts, each as its own process: every ``sim://`` device of the configuration as a
simulator on a pseudo-terminal, a private CUPS server with a PDF printer, the
central server (``python -m sync.server`` on a free port, its SQLite database in
the demo folder) with a one-time enrolment code for this appliance, the locker
daemon (``python -m locker serve``) on a configuration generated from the loaded one
(``DEMO_DIR/appliance.toml``: the simulators' ptys, the demo server, the private
cupsd, ``data_dir`` = the demo folder), and the kiosk app (``python -m kiosk`` on the
same configuration, inside a private Xvfb display when Xvfb is installed, else
offscreen). The locker daemon alone owns the lock buses and the scanner, the kiosk
app the ID card reader and the camera; each runs its own sync agent, which enrols
and pushes its events to the server. This program follows the locker through its
socket API (``events``) and the server through its database.

The server is seeded with demo data (:mod:`assets/demo`): staff accounts by
``python -m sync.server account add`` (passwords generated at each run and printed
once), the demo departments (``department demo``), and, through the admin console
over HTTP as the demo admin, the household records and subsidy records (CSV import),
the service guide, the announcements and the locker's grid. ``shot`` writes the
kiosk's screen (Xvfb's frame buffer) to ``DEMO_DIR/screens/`` as PNG.

Lines typed on standard input act as a resident or a worker would (``help`` lists
them). Everything it started stops with it (Ctrl-C, ``quit``, SIGTERM). The demo
folder (``var/demo``, or ``$KIOSK_DEMO_DIR``) starts empty on every run.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
DEMO_ASSETS = ROOT / "assets" / "demo"
SCREEN = (1920, 1080)  # the kiosk's screen under Xvfb (a 21.5" landscape kiosk, as kiosk/screenshots.py)

HELP = """commands (门号/卡号 as printed):
  dropoff [S|M|L] [CASE]  a resident drops materials off at the locker: a door opens (locker API)
  book [S|M|L] [CASE]     the server signs a booking code (the resident's phone); shown to the scanner
  worker [ID]             the server signs a worker code; shown to the scanner: the worker collects
  state                   doors and cases, as the locker daemon has them
  close DOOR              the resident shuts locker door DOOR (simulator); or close [BUS] BOARD DOOR
  scan TEXT               show a code to the scanner (simulator; the locker daemon reads it)
  card N | remove         place demo ID card N on the reader / take it away (simulator)
  print                   print a test page on the private CUPS printer
  shot                    the kiosk's screen now, as a PNG in the demo folder's screens/
  logins                  the consoles' URLs and the demo accounts again
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
                 directory: Path | None = None, *, kiosk: bool = True) -> None:
        self.original = config
        self.with_kiosk = kiosk
        self.kiosk: Child | None = None
        self.display = ""  # the kiosk's X display (Xvfb), "" offscreen
        self.framebuffer: Path | None = None  # Xvfb's screen as an XWD file
        self.logins: list[tuple[str, str, str, str]] = []  # role, username, password, where
        self.config = config  # the kiosk's devices, after start(): on the simulators
        self.out = out or _print_line
        self.dir = directory or demo_dir()
        self.children: list[Child] = []
        self.sims: dict[str, Simulated] = {}  # "lockboard:bus0", "idcard", "scanner"
        self.printer_info: dict = {}
        self.server_url = ""
        self.server_db = self.dir / "server.db"
        self.notifications = self.dir / "logs" / "notifications.jsonl"  # the server's log notifier
        self.locker_config = self.dir / "appliance.toml"
        self.locker_socket: Path | None = None
        self.reader = None
        self.printer = None
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self._cases = count(1)
        self._shots = count(1)

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
        self.seed()
        if self.with_kiosk:
            self._start_kiosk()

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

    def _child(self, name: str, module: str, *args: str, header_lines: int = 2, timeout: float = 30,
               env: dict | None = None) -> Child:
        child = Child(module, *args, header_lines=header_lines, env=env)
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
        port = free_port()
        env = {"SYNC_NOTIFY_ADAPTER": "log", "SYNC_NOTIFY_LOG_FILE": str(self.notifications),
               "SYNC_NOTIFY_INTERVAL_S": "2", "SYNC_PUBLIC_URL": f"http://127.0.0.1:{port}"}
        child = self._child("server", "sync.server", "--port", str(port), *self._server_args(),
                            "--log-level", "WARNING", header_lines=1, timeout=90, env=env)
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

    def _server_cli(self, *args: str, stdin: str | None = None) -> str:
        """What ``python -m sync.server ARGS`` prints (an enrolment, booking or worker code)."""
        done = subprocess.run([sys.executable, "-m", "sync.server", *args, *self._server_args()],
                              cwd=ROOT, capture_output=True, text=True, timeout=120, input=stdin)
        if done.returncode != 0 or not done.stdout.strip():
            raise DemoError(f"python -m sync.server {args[0]} failed: {done.stderr.strip()[-300:]}")
        return done.stdout.strip()

    def _write_locker_config(self) -> None:
        """The loaded configuration with the demo's simulators, server, cupsd and folder."""
        data = self.config.model_dump(exclude_none=True)
        data["appliance"]["data_dir"] = str(self.dir)
        data["locker"].update(store="locker.db", socket="locker.sock")
        data["sync"].update(enabled=True, server_url=self.server_url, enrolment_code_file="enrolment-code")
        if self.original.idcard.url.startswith("sim://") and not self.original.idcard.wlt_decoder:
            data["idcard"]["wlt_decoder"] = "sim"  # the simulator's photos: the kiosk's face check sees them
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

    # -- demo data ----------------------------------------------------------------------
    def seed(self) -> None:
        """Accounts and departments by the server's CLI; households, subsidies, the
        service guide, announcements and the locker's grid through the admin console,
        as the demo admin would (each checked as a real import is)."""
        plan = tomllib.loads((DEMO_ASSETS / "seed.toml").read_text(encoding="utf-8"))
        community = self.original.appliance.community
        for account in plan["account"]:
            self.logins.append((account["role"], account["username"], secrets.token_urlsafe(9),
                                account.get("grid") or account.get("department") or community))
        first = plan["account"][0]  # the community's first admin, by the CLI; the others through her console
        password = self.logins[0][2]
        with ThreadPoolExecutor(2) as both:  # each CLI is a Python start-up of seconds: side by side
            done = [both.submit(self._server_cli, "department", "demo"),
                    both.submit(self._server_cli, "account", "add", f"--username={first['username']}",
                                "--role=admin", f"--name={first['name']}", f"--community={community}",
                                "--password-stdin", stdin=password + "\n")]
            for future in done:
                future.result()
        web = ConsoleSession(self.server_url, first["username"], password)
        for account, (_, _, secret, _) in zip(plan["account"][1:], self.logins[1:]):
            web.post("/admin/accounts/new", {"username": account["username"], "name": account["name"],
                                             "role": account["role"], "grid": account.get("grid", ""),
                                             "department": account.get("department", ""),
                                             "password": secret, "password_again": secret})
        web.upload("/admin/households/import", DEMO_ASSETS / "households.csv")
        web.upload("/admin/subsidies/import", DEMO_ASSETS / "subsidies.csv")
        guide = json.loads((DEMO_ASSETS / "guide.json").read_text(encoding="utf-8"))
        for item in guide["items"]:
            web.post("/admin/guide/new", guide_form(item))
        for note in plan.get("announcement", []):
            web.post("/admin/announcements/new", {k: str(v) for k, v in note.items()})
        locker = plan.get("locker", {})
        web.post("/worker/grids", {"device_id": self.original.appliance.id, "grid": locker.get("grid", ""),
                                   "name": locker.get("name", "")})
        households = sum(1 for _ in (DEMO_ASSETS / "households.csv").open(encoding="utf-8")) - 1
        self.say(f"demo data: {len(self.logins)} staff accounts, the demo departments, {households} household "
                 f"members, {len(guide['items'])} service guide items, "
                 f"{len(plan.get('announcement', []))} announcements (all fictional, assets/demo/)")

    # -- the kiosk app ---------------------------------------------------------------------
    def _start_kiosk(self) -> None:
        env = {"KIOSK_CONFIG": str(self.locker_config), "QT_QPA_PLATFORM": "offscreen"}
        xvfb = shutil.which("Xvfb")
        if xvfb:
            screens = self.dir / "xvfb"
            screens.mkdir()
            x = Child("Xvfb", header_lines=1)
            x.argv = [xvfb, "-displayfd", "1", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-fbdir",
                      str(screens), "-nolisten", "tcp"]
            self.children.append(x)
            x.start(timeout=30)
            self._drain(x, "xvfb")
            self.display = ":" + x.header[0].strip()
            self.say(f"X display {self.display}: Xvfb (pid {_pid(x)}), {SCREEN[0]}x{SCREEN[1]}, for the kiosk's window")
            self.framebuffer = screens / "Xvfb_screen0"
            env.update(DISPLAY=self.display, QT_QPA_PLATFORM="xcb")
        child = Child("kiosk", "--config", str(self.locker_config), header_lines=0, env=env)
        self.children.append(child)
        child.start()
        self._drain(child, "kiosk")
        self.kiosk = child
        where = (f"on display {self.display} (Xvfb; `shot` saves its screen)" if self.display else
                 "offscreen (no Xvfb: apt-get install xvfb to see it)")
        self.say(f"kiosk app (pid {_pid(child)}) {where}; it owns the ID card reader and the camera, "
                 f"its sync agent pushes the kiosk's cases")

    def shot(self) -> Path:
        """The kiosk's screen now (Xvfb's frame buffer, an XWD file) as a PNG."""
        if self.kiosk is None or not self.kiosk.running:
            raise LookupError("the kiosk app is not running (see the logs folder's kiosk.log)")
        if self.framebuffer is None:
            raise LookupError("the kiosk runs offscreen (no Xvfb): install xvfb, or render every screen with "
                              f"python -m kiosk --screenshot {self.dir / 'screens'}")
        folder = self.dir / "screens"
        folder.mkdir(exist_ok=True)
        path = folder / f"kiosk-{datetime.now():%H%M%S}-{next(self._shots)}.png"
        xwd_to_png(self.framebuffer.read_bytes(), path)
        return path

    def print_logins(self) -> None:
        self.out("consoles (sign in at /login; passwords generated for this run, shown only here):")
        pages = {"admin": "/admin", "worker": "/worker", "staff": "/staff"}
        for role, username, password, scope in self.logins:
            self.out(f"  {role:<7} {self.server_url}{pages[role]:<8} user {username:<13} password {password}  ({scope})")
        self.out(f"  residents' pages: {self.server_url}/verify (certificates) · rating links arrive with the "
                 f"pickup notice (logs/notifications.jsonl)")

    def where(self) -> None:
        rel = lambda p: os.path.relpath(p, ROOT) if str(p).startswith(str(ROOT)) else str(p)  # noqa: E731
        self.out("where to look:")
        self.out(f"  central server   {self.server_url}   API docs {self.server_url}/docs · "
                 f"OpenAPI {self.server_url}/openapi.json")
        self.out(f"  server database  {rel(self.server_db)}")
        self.out(f"  locker daemon    {rel(self.locker_socket or '')}: "
                 f"python -m locker --config {rel(self.locker_config)} status")
        self.out(f"  locker config    {rel(self.locker_config)} (generated)")
        self.out(f"  logs             {rel(self.dir / 'logs')}/ (server, locker, kiosk, simulators; "
                 f"residents' SMS in notifications.jsonl)")
        if self.kiosk is not None:
            if self.display:
                self.out(f"  kiosk screen     display {self.display} (Xvfb): type `shot` for a PNG in "
                         f"{rel(self.dir / 'screens')}/, or watch it live: {vnc_command(self.display)} "
                         f"(it prints PORT=…; a VNC viewer on localhost:PORT, from elsewhere through "
                         f"ssh -L PORT:localhost:PORT)")
            else:
                self.out("  kiosk screen     offscreen (no Xvfb): python -m kiosk --screenshot DIR renders every screen")
        if self.printer_info.get("pdf_out"):
            self.out(f"  printed PDFs     {self.printer_info['pdf_out']}")

    def open_devices(self) -> None:
        """The kiosk's own devices; the lock buses and the scanner are the locker daemon's."""
        if self.kiosk is None:  # the kiosk app owns the reader while it runs
            from drivers.doctor import id_card_reader

            self.reader = id_card_reader(self.config)
        if self.config.printer.enabled:
            from drivers.printer.device import Printer

            self.printer = Printer(self.config.printer.url)

    def doctor(self) -> None:
        from drivers.doctor import doctor

        # doctor opens devices itself: let go of ours first (one owner per device), and
        # leave the locker daemon's devices alone: it reports on them
        rows: list[tuple[str, str, str, str]] = []
        if self.kiosk is None:
            self.close_devices()
            kiosk_devices = self.config.model_copy(update={
                "lockboard": [], "scanner": self.config.scanner.model_copy(update={"enabled": False})})
            rows = [(h.state, h.device, h.detail, h.fix) for h in doctor(kiosk_devices)]
            self.open_devices()
        elif self.kiosk.running:
            rows.append((OK, "kiosk app", f"pid {_pid(self.kiosk)}, " + (f"display {self.display}" if self.display
                         else "offscreen") + "; it owns the ID card reader, the camera, the printer's jobs", ""))
        else:
            rows.append(("down", "kiosk app", f"exited ({self.kiosk.proc.returncode if self.kiosk.proc else '?'})",
                         "see var/demo/logs/kiosk.log"))
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
        followers = [("locker", self._follow_locker), ("server", self._follow_server)]
        if self.kiosk is not None:
            followers.append(("kiosk", self._follow_kiosk))
        if self.reader is not None:
            followers.append(("idcard", self._follow_cards))
        for name, target in followers:
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

    def _follow_kiosk(self) -> None:
        """Say when the kiosk's window is first drawn, and if the app stops."""
        started, drawn = time.monotonic(), self.framebuffer is None
        while not self.stopping.is_set():
            if self.kiosk is None or not self.kiosk.running:
                code = self.kiosk.proc.returncode if self.kiosk and self.kiosk.proc else "?"
                self.say(f"⚠ the kiosk app stopped (exit status {code}); see {self.dir / 'logs' / 'kiosk.log'}")
                return
            if not drawn and self.framebuffer is not None and self.framebuffer.exists() \
                    and drawn_on(self.framebuffer.read_bytes()):
                drawn = True
                self.say(f"一体机 the kiosk's window is up after {time.monotonic() - started:.0f} s (`shot` to see it)")
            self.stopping.wait(0.5)

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
            elif verb in ("shot", "screenshot"):
                self.say(f"屏幕 the kiosk's screen: {self.shot()}")
            elif verb == "logins":
                self.print_logins()
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ConsoleSession:
    """The web consoles as a signed-in person uses them: a session cookie, the CSRF
    token of the session's forms, and every answer checked (a refused import says why)."""

    def __init__(self, url: str, username: str, password: str) -> None:
        import requests

        self.url = url
        self.http = requests.Session()
        self.csrf = self._token("/login")
        answer = self.http.post(f"{url}/login", data={"username": username, "password": password,
                                                      "csrf": self.csrf, "next": ""}, timeout=30)
        if answer.status_code != 200 or "/login" in answer.url:
            raise DemoError(f"the demo admin could not sign in ({answer.status_code}): {answer.text[:200]}")
        self.csrf = self._token("/admin")

    def _token(self, path: str) -> str:
        page = self.http.get(f"{self.url}{path}", timeout=30)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        if not found:
            raise DemoError(f"{path} has no form token ({page.status_code})")
        return found.group(1)

    def _check(self, path: str, answer: Any) -> None:
        if answer.status_code >= 400:
            problems = " ".join(re.sub(r"<[^>]+>", " ", answer.text).split())[:600]
            raise DemoError(f"demo data refused at {path} ({answer.status_code}): {problems}")

    def post(self, path: str, form: dict[str, str]) -> None:
        self._check(path, self.http.post(f"{self.url}{path}", data={**form, "csrf": self.csrf}, timeout=60))

    def upload(self, path: str, file: Path) -> None:
        self._check(path, self.http.post(f"{self.url}{path}", data={"csrf": self.csrf}, timeout=60,
                                         files={"file": (file.name, file.read_bytes(), "text/csv")}))


FORMS = {"original": "原件", "copy": "复印件", "both": "原件和复印件"}


def guide_form(item: dict[str, Any]) -> dict[str, str]:
    """A service guide item of assets/demo/guide.json as the admin console's form."""
    form = {k: str(v) for k, v in item.items() if isinstance(v, str)}
    form["keywords"] = "、".join(item.get("keywords", []))
    form["materials"] = "\n".join(" | ".join([m["material"], FORMS.get(m.get("form", ""), "原件"),
                                               str(m.get("copies", 1)), m.get("note", "")]).rstrip(" |")
                                   for m in item.get("materials", []))
    if item.get("dropoff"):
        form["dropoff"] = "on"
    return form


def drawn_on(data: bytes) -> bool:
    """Whether anything is drawn on an XWD frame buffer (an empty X screen is one colour)."""
    header = struct.unpack(">25I", data[:100])
    pixels = memoryview(data)[header[0] + 12 * header[19]:]
    first = bytes(pixels[:4])
    step = max(4, (len(pixels) // 4096) // 4 * 4)  # ~4000 samples, on pixel boundaries
    return any(bytes(pixels[i:i + 4]) != first for i in range(0, len(pixels) - 4, step))


def vnc_command(display: str) -> str:
    """x11vnc serving the kiosk's Xvfb display: loopback only (no password: whoever can
    reach it is on this machine), shared, and up for more than one viewer."""
    return f"x11vnc -display {display} -localhost -nopw -forever -shared"


def xwd_to_png(data: bytes, path: Path) -> None:
    """An X window dump (Xvfb's -fbdir frame buffer: ZPixmap, 32 bits a pixel) as a PNG."""
    from PIL import Image

    header = struct.unpack(">25I", data[:100])
    size, width, height, order, bits, per_line, colours = (header[0], header[4], header[5], header[7],
                                                           header[11], header[12], header[19])
    if header[2] != 2 or bits != 32:
        raise ValueError(f"an XWD frame buffer of {bits} bits a pixel (format {header[2]}) is not read here")
    start = size + 12 * colours
    image = Image.frombuffer("RGB", (width, height), data[start:start + per_line * height], "raw",
                             "BGRX" if order == 0 else "XRGB", per_line, 1)
    image.save(path)


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


def run(config: Config, *, kiosk: bool = True) -> int:
    setup_logging("WARNING")
    demo = Demo(config, kiosk=kiosk)
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
        demo.print_logins()
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
