"""``python -m appliance run`` (``make run``): the appliance in simulation.

Starts a private CUPS server with a PDF printer and every ``sim://`` device of the
configuration as its own simulator process on a pseudo-terminal, opens them through
the same drivers that run on real hardware, prints the ``doctor`` table, and then
follows the devices live: doors, ID cards (ID numbers masked), scanned codes.
Lines typed on standard input act as a resident would (``help`` lists them).
Everything it started stops with it.
"""
from __future__ import annotations

import json
import shlex
import signal
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from appliance.config import Config
from appliance.privacy import setup_logging
from appliance.processes import Child, ChildFailed
from drivers.errors import DriverError
from drivers.health import OK
from drivers.simserve import control_request

HELP = """commands (门号/卡号 as printed):
  doors                   door states of every board
  open [BUS] BOARD DOOR   unlock a door through the driver (a real frame on the bus)
  close [BUS] BOARD DOOR  the resident shuts the door (simulator)
  card N | remove         place demo ID card N on the reader / take it away (simulator)
  scan TEXT               show a code to the scanner (simulator)
  print                   print a test page on the private CUPS printer
  doctor                  the device table again
  quit                    stop everything"""


@dataclass
class Simulated:
    """A simulator process standing in for the device a sim:// URL names."""

    child: Child

    @property
    def path(self) -> str:
        return self.child.header[0]

    def control(self, **request: object) -> dict:
        return control_request(self.child.header[1], dict(request))


class Demo:
    def __init__(self, config: Config, out: Callable[[str], None] | None = None) -> None:
        self.original = config
        self.config = config
        self.out = out or (lambda line: print(line, flush=True))
        self.children: list[Child] = []
        self.sims: dict[str, Simulated] = {}  # "lockboard:bus0", "idcard", "scanner"
        self.printer_info: dict = {}
        self.buses: dict = {}
        self.reader = None
        self.scanner = None
        self.printer = None
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def say(self, text: str) -> None:
        self.out(f"{datetime.now():%H:%M:%S}  {text}")

    # -- start-up -------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.config
        buses = []
        for bus in cfg.lockboard:
            buses.append(bus.model_copy(update={"url": self._simulate(f"lockboard:{bus.name}", bus.url)}))
        idcard = cfg.idcard.model_copy(update={"url": self._simulate("idcard", cfg.idcard.url)})
        scanner = cfg.scanner
        if scanner.enabled and scanner.url != "camera:":
            scanner = scanner.model_copy(update={"url": self._simulate("scanner", scanner.url)})
        printer = cfg.printer
        if printer.enabled:
            printer = printer.model_copy(update={"url": self._start_cups() or printer.url})
        self.config = cfg.model_copy(update={"lockboard": buses, "idcard": idcard, "scanner": scanner,
                                             "printer": printer})

    def _simulate(self, key: str, url: str) -> str:
        if not url.startswith("sim://"):
            return url
        child = Child("drivers.simserve", url).start()
        self.children.append(child)
        self.sims[key] = Simulated(child)
        self.say(f"simulator {key:<16} {url}  →  {child.header[0]}")
        return child.header[0]

    def _start_cups(self) -> str | None:
        try:
            child = Child("drivers.printer.sim").start(timeout=30)
        except ChildFailed as exc:
            self.say(f"printer: no private CUPS server ({exc}); using {self.config.printer.url}")
            return None
        self.children.append(child)
        self.printer_info = json.loads(child.header[1])
        url = self.printer_info.get("pdf_url") or self.printer_info.get("fault_url")
        self.say(f"printer: private cupsd at {self.printer_info.get('socket')}; "
                 f"printed PDFs land in {self.printer_info.get('pdf_out')}")
        return url

    def open_devices(self) -> None:
        from drivers.doctor import id_card_reader, lock_buses

        self.buses = {bus.name: bus for bus in lock_buses(self.config)}
        self.reader = id_card_reader(self.config)
        if self.config.scanner.enabled:
            from drivers.scanner.urls import open_scanner

            url = self.config.camera.url if self.config.scanner.url == "camera:" else self.config.scanner.url
            self.scanner = open_scanner(url)
        if self.config.printer.enabled:
            from drivers.printer.device import Printer

            self.printer = Printer(self.config.printer.url)

    def doctor(self) -> None:
        from drivers.doctor import doctor

        # doctor opens devices itself: let go of ours first (one owner per device)
        self.close_devices()
        for h in doctor(self.config):
            mark = "OK  " if h.state == OK else h.state.upper()
            self.out(f"  {mark:<8} {h.device:<24} {h.detail}" + (f"\n  {'':<8} {'':<24} → {h.fix}"
                                                                   if h.state != OK and h.fix else ""))
        self.open_devices()

    # -- following the devices ----------------------------------------------------------
    def follow(self) -> None:
        for name, target in [("doors", self._follow_doors), ("idcard", self._follow_cards),
                             ("scanner", self._follow_codes)]:
            thread = threading.Thread(target=self._guard(target), name=f"follow-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def _guard(self, loop: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            while not self.stopping.is_set():
                try:
                    loop()
                except DriverError as exc:
                    self.say(f"⚠ {exc.message}" + (f" — {exc.hint}" if exc.hint else ""))
                    self.stopping.wait(2)
                except Exception as exc:  # a follower reports and carries on
                    self.say(f"⚠ {type(exc).__name__}: {exc}")
                    self.stopping.wait(2)
        return run

    def _follow_doors(self) -> None:
        seen: dict[tuple[str, int], tuple[frozenset, bool]] = {}
        interval = min((b.poll_interval_ms for b in self.config.lockboard), default=500) / 1000
        while not self.stopping.is_set():
            for name, bus in list(self.buses.items()):
                for address, status in bus.status_all().items():
                    now = (frozenset(status.open_doors), status.online)
                    before = seen.get((name, address))
                    seen[(name, address)] = now
                    if before is None:
                        continue
                    if before[1] != now[1]:
                        self.say(f"门禁板 board {name}/{address} {'online' if now[1] else 'OFFLINE'}")
                    for door in sorted(now[0] - before[0]):
                        self.say(f"柜门打开 door opened: {name} board {address} door {door}")
                    for door in sorted(before[0] - now[0]):
                        self.say(f"柜门关闭 door closed: {name} board {address} door {door}")
            self.stopping.wait(interval)

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
            self.say("身份证已取走 ID card taken away")

    def _follow_codes(self) -> None:
        if self.scanner is None:
            self.stopping.wait(3600)
            return
        scanner = self.scanner
        while not self.stopping.is_set() and scanner is self.scanner:
            code = scanner.read_code(timeout=0.5)
            if code is not None:
                self.say(f"扫码 code scanned: {code.text}")

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
            elif verb == "doors":
                for name, bus in self.buses.items():
                    for address, status in bus.status_all().items():
                        state = "online" if status.online else "OFFLINE"
                        self.out(f"  {name} board {address}: {state}; open doors: "
                                 f"{', '.join(map(str, status.open_doors)) or 'none'}")
            elif verb in ("open", "close"):
                bus_name, board, door = self._door_args(args)
                if verb == "open":
                    result = self.buses[bus_name].unlock(board, door)
                    self.say(f"开门 unlock {bus_name} board {board} door {door}: {result.outcome}"
                             + (f" ({result.reason})" if result.reason else ""))
                else:
                    self._sim(f"lockboard:{bus_name}").control(cmd="close", board=board, door=door)
            elif verb == "card":
                self._sim("idcard").control(cmd="insert", card=int(args[0]) if args else 0)
            elif verb == "remove":
                self._sim("idcard").control(cmd="remove")
            elif verb == "scan":
                self._sim("scanner").control(cmd="scan", code=" ".join(args))
            elif verb == "print":
                self._print_test_page()
            elif verb == "doctor":
                self.doctor()
            else:
                self.out(f"unknown command {verb!r}; type help")
        except (DriverError, ValueError, IndexError, KeyError, LookupError) as exc:
            self.out(f"  ✗ {getattr(exc, 'message', None) or exc}")
        return True

    def _door_args(self, args: list[str]) -> tuple[str, int, int]:
        if len(args) == 3:
            return args[0], int(args[1]), int(args[2])
        if len(args) == 2 and self.buses:
            return next(iter(self.buses)), int(args[0]), int(args[1])
        raise ValueError("give BOARD DOOR (or BUS BOARD DOOR), as printed on the board and door label")

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
        for bus in self.buses.values():
            bus.close()
        self.buses = {}
        for device in (self.reader, self.scanner):
            if device is not None:
                device.close()
        self.reader = self.scanner = None

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=3)
        self.close_devices()
        for child in reversed(self.children):
            child.stop()


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
        demo.say(f"社区事务一体机 (simulation) · config {config.source}")
        demo.start()
        demo.open_devices()
        demo.say("devices (python -m drivers doctor):")
        demo.doctor()
        demo.follow()
        demo.out(HELP)
        demo.say("following devices live; Ctrl-C stops everything")
        reader = threading.Thread(target=_read_commands, args=(demo, stop), daemon=True)
        reader.start()
        while not stop.is_set():
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    except (ChildFailed, DriverError) as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    finally:
        demo.say("stopping …")
        demo.stop()
    return 0


def _read_commands(demo: Demo, stop: threading.Event) -> None:
    for line in sys.stdin:
        if not demo.command(line):
            break
    else:
        if sys.stdin.isatty():  # end of input at a terminal (Ctrl-D) means stop
            pass
        else:  # input was piped: keep following until a signal
            return
    stop.set()
