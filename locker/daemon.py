"""The locker daemon: the one process that owns the lock buses and the locker's scanner.

Start-up order matters: open the store (its writer lock makes a second daemon
stop), install the configured doors, ask every board for its doors' states and
reconcile the stored openings with them (:meth:`Daemon.reconcile`), and only then
serve the API and read the scanner. An opening on a board that does not answer at
start-up is kept as unwatched (in the store) and reconciled by the same rules when
its board answers again (:mod:`locker.doorkeeper`). The first line printed on stdout
is the API socket's path, once serving (tests and ``make run`` wait for it).

Threads: one poller per bus (status of every board each ``poll_interval_ms``; the
bus lets unlocks overtake it), one scanner reader, the API server's threads (one per
connection), a receipt printer, the voice (``[locker] speaker``: 请关好N号柜门 for a
door left open, :mod:`locker.voice`), and the sync agent pushing this store's
outbox. A poll failing (the port vanished) makes that bus's boards offline and is
retried on the next poll. :meth:`Daemon.stop` stops and joins every one of them
before it closes the store. When the server's configuration records change what it
runs, :func:`serve` runs the daemon again once no door operation is in flight
(:mod:`locker.reconfigure`).
"""
from __future__ import annotations

import logging
import json
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from appliance import systemd
from appliance.config import Config
from appliance.keys import TRUSTED_KEYS_FILE, DeviceKey, TrustedKeys
from drivers.lockboard import LockboardError
from locker import audit, schema
from locker.api import Api, ApiServer
from locker.bank import Bank
from locker.errors import Refused
from locker.flows import Locker
from locker.receipt import ReceiptPrinter
from locker.voice import Announcer, Speaker
from sync.store import Store

log = logging.getLogger("locker")
SWEEP_EVERY = 60.0


def store_path(config: Config) -> Path:
    path = Path(config.locker.store)
    return path if path.is_absolute() else config.data_dir / path


def socket_path(config: Config) -> Path:
    path = Path(config.locker.socket)
    return path if path.is_absolute() else config.data_dir / path


class KeyRing:
    """The trusted keys, re-read when the sync agent rewrites its file."""

    def __init__(self, data_dir: Path, own: DeviceKey) -> None:
        self.data_dir, self.own = data_dir, own
        self._stamp: float | None = -1.0
        self._keys = TrustedKeys()

    def __call__(self) -> TrustedKeys:
        file = self.data_dir / TRUSTED_KEYS_FILE
        stamp = file.stat().st_mtime_ns if file.exists() else None
        if stamp != self._stamp:
            self._keys = TrustedKeys.default(self.data_dir, self.own)
            self._stamp = stamp
        return self._keys


class Daemon:
    def __init__(self, config: Config, *, scanner: Any = None, print_receipt: Callable[[dict], None] | None = None,
                 agent: Any = None) -> None:
        self.config = config
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(store_path(config), [schema.migrations])
        self.bank = Bank.from_config(config)
        key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
        if print_receipt is None and config.locker.receipt and config.printer.enabled:
            print_receipt = ReceiptPrinter(config)
        self.locker = Locker(self.store, self.bank, locker_id=config.appliance.id, signer=key,
                             keys=KeyRing(config.data_dir, key), settings=config.locker,
                             receipts=print_receipt is not None)
        self.print_receipt = print_receipt
        self.scanner = scanner
        self.api = Api(self.locker, config.locker.admins)
        self.server: ApiServer | None = None
        self._stop = threading.Event()
        self._receipts = threading.Event()
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.locker.ledger.listeners.append(self._receipts.set)
        self.speaker = Speaker(config.locker.speaker) if config.locker.speaker.strip() else None
        self._voice = threading.Event()
        if self.speaker is not None:
            self.locker.ledger.listeners.append(self._voice.set)
        if agent is None and config.sync.enabled:
            # The outbox lives in this daemon's store, so its sync agent runs here, as a
            # thread (sync.agent's docstring): pickup codes leave with the next round.
            from sync.agent import Agent

            agent = Agent.from_config(self.store, config, key=key, health=self.health, source="locker")
        self.agent = agent
        if agent is not None:
            self.locker.ledger.listeners.append(agent.wake)

    def health(self) -> dict[str, Any]:
        """The lock boards for the sync agent's heartbeat: each bus, then each board, in
        the words of ``python -m drivers doctor`` (on the daemon's open buses; no
        protocol probing, which would close a port the poll threads use)."""
        from drivers.lockboard.doctor import health
        from sync.wire import PeripheralHealth

        return {h.device: PeripheralHealth.from_health(h)
                for bus in self.bank.buses.values() for h in health(bus, diagnose=False)}

    # -- start-up ----------------------------------------------------------------------
    def reconcile(self) -> None:
        """Before serving anyone: the stored doors and openings against what the boards say."""
        self.locker.install_doors()
        for name, bus in self.bank.buses.items():
            try:
                statuses = bus.open().status_all()
            except LockboardError as exc:
                self.locker.keeper.bus_failed(name, exc.message if hasattr(exc, "message") else str(exc),
                                              restarting=True)
                continue
            self.locker.keeper.observe(name, statuses, restarting=True)
        with self.locker.ledger.atomic() as db:
            # A door reserved by a command that never got written (a crash between
            # the two is impossible: one transaction) — kept as a guard all the same.
            for row in list(db.query("SELECT id FROM doors WHERE use = 'reserved' AND id NOT IN (SELECT door_id "
                                     "FROM openings WHERE state IN ('commanded', 'opened'))")):
                from locker.ledger import DOOR
                from locker.states import DoorUse
                self.locker.ledger.set_state(db, DOOR, row["id"], DoorUse.CHECK, detail={"reason": "reconcile"})
            self.locker.ledger.record(db, "daemon_started", "locker", self.config.appliance.id, outbox=False)
        self.locker.sweep()

    def start(self) -> Path:
        self.reconcile()
        path = socket_path(self.config)
        self.server = ApiServer(path, self.api)
        self._spawn("api", self.server.serve_forever, 0.05)  # how soon stop() is noticed
        for name, bus in self.bank.buses.items():
            interval = next(b.poll_interval_ms for b in self.config.lockboard if b.name == name) / 1000
            self._spawn(f"poll {name}", self._poll, name, bus, interval)
        if self.scanner is not None:
            self._open_scanner()
            self._spawn("scanner", self._scan)
        if self.print_receipt is not None:
            self._spawn("receipts", self._print_receipts)
        if self.speaker is not None:
            last = self.store.query("SELECT coalesce(max(seq), 0) AS seq FROM audit")[0]["seq"]
            self._spawn("voice", self._speak, Announcer(self.speaker, self._audit_since, last))
        if self.agent is not None:
            self.agent.start()
        return path

    def _spawn(self, name: str, target: Callable, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- the threads -------------------------------------------------------------------
    def _poll(self, name: str, bus: Any, interval: float) -> None:
        last_sweep = time.monotonic()
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                statuses = bus.status_all()
            except LockboardError as exc:
                if self._stop.is_set():
                    return
                bus.close()
                self._guarded(f"recording bus {name} offline", self.locker.keeper.bus_failed, name,
                              getattr(exc, "message", str(exc)))
            else:
                self._guarded(f"processing a poll of {name}", self.locker.keeper.observe, name, statuses)
            if started - last_sweep >= SWEEP_EVERY and not self._stop.is_set():
                last_sweep = started
                self._guarded("the sweep", self.locker.sweep)
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))

    @staticmethod
    def _guarded(what: str, call: Callable, *args: Any) -> None:
        """A thread's step that must not kill the thread (logged)."""
        try:
            call(*args)
        except Exception:
            log.exception("%s failed", what)

    def _open_scanner(self) -> None:
        """Listening before the daemon says it serves: opening a serial port drops what
        arrived before, so a code shown after "ready" must find the port open. A scanner
        not there yet is not fatal: the reader keeps trying (and says so)."""
        from drivers.errors import DriverError

        try:
            self.scanner.open()
        except DriverError as exc:  # ScannerUnavailable; a camera scanner's CameraError
            log.warning("scanner: %s; trying again in the background", exc)

    def _scan(self) -> None:
        from drivers.scanner import ScannerGone, ScannerUnavailable

        while not self._stop.is_set():
            try:
                code = self.scanner.read_code(0.5)
            except (ScannerGone, ScannerUnavailable):
                continue
            if code is None:
                continue
            if self.api.closing:  # stopping (a restart for the server's configuration): no door opens now
                log.info("scanner: a code ignored: the daemon is stopping")
                continue
            try:
                answer = self.locker.scan(code.text, "scanner")
                log.info("scanner: door %s opens", answer.get("door"))
            except Refused as exc:
                log.info("scanner: refused: %s", exc.reason)  # the code itself may be a secret
            except Exception:
                log.exception("scanner: handling a code failed")

    def _audit_since(self, after: int) -> list[dict]:
        with self.store.reader() as db:
            return list(audit.iter_since(db, after))

    def _speak(self, announcer: Announcer) -> None:
        """Prompts as the audit log records them (from the start on: nothing said twice)."""
        while not self._stop.is_set():
            self._voice.wait(5.0)
            self._voice.clear()
            if self._stop.is_set():
                return
            self._guarded("speaking a prompt", announcer.catch_up)

    def _print_receipts(self) -> None:
        while not self._stop.is_set():
            self._receipts.wait(5.0)
            self._receipts.clear()
            if self._stop.is_set():
                return
            for row in self.store.query("SELECT * FROM receipts WHERE state = 'pending' ORDER BY opening_id"):
                try:
                    self.print_receipt(json.loads(row["data"]))  # type: ignore[misc]
                    state, error = "printed", ""
                except Exception as exc:  # a printer out of paper must not stop the locker
                    state, error = "failed", f"{type(exc).__name__}: {exc}"[:300]
                with self.locker.ledger.atomic() as db:
                    db["receipts"].update(row["opening_id"], {"state": state, "error": error})
                    self.locker.ledger.record(db, f"receipt_{state}", "case", row["case_id"],
                                              {"error": error} if error else {}, outbox=False)

    # -- the end -----------------------------------------------------------------------
    def quiesce(self) -> None:
        """Take no more work before a restart (:mod:`locker.reconfigure`): requests are
        answered ``stopping``, the scanner's codes ignored; the request being served is
        finished first. The polls go on, so a door open now is still seen closing."""
        self.api.close()
        if self.server is not None:
            self.server.stop()

    JOIN_SECONDS = 60.0  # a thread busy in a driver call (a printer, a bus) gets this long

    def stop(self) -> None:
        """Stop every thread and JOIN it, then close the printer, the buses and the
        store — in that order, so that nothing can touch the store after it closed
        (a poll, a sweep, a receipt, the sync agent, a request being served). A thread
        that will not end leaves the store open (logged): better a leaked file than a
        write on a closed store."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        self._receipts.set()
        self._voice.set()
        if self.speaker is not None:
            self.speaker.stop()  # a prompt being played ends now
        self.api.close()  # refuses new requests, wakes waiting ``events``
        if self.server is not None:
            self.server.stop()  # ends every connection after its request; joins their threads
        if self.scanner is not None:
            self.scanner.close()
        threads = [t for t in self._threads if t is not threading.current_thread()]
        agent_thread = getattr(self.agent, "_thread", None)
        if self.agent is not None:
            self.agent.close()  # stops and joins its thread, closes its own files
        if isinstance(agent_thread, threading.Thread):
            threads.append(agent_thread)
        deadline = time.monotonic() + self.JOIN_SECONDS
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        alive = [t.name for t in threads if t.is_alive()]
        if alive:
            log.error("locker daemon: thread(s) %s did not stop within %.0f s; the store is left open",
                      ", ".join(alive), self.JOIN_SECONDS)
            return
        if hasattr(self.print_receipt, "close"):
            self.print_receipt.close()
        self.bank.close()
        self.store.close()


def serve(config: Config) -> int:
    scanner = None
    if config.scanner.enabled:
        from drivers.scanner import open_scanner

        scanner = open_scanner(config.scanner.url, camera_url=config.camera.url)
    daemon = Daemon(config, scanner=scanner)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    path = daemon.start()
    print(path, flush=True)
    watchdog = systemd.Watchdog(status=f"serving {path}", check=lambda: all(t.is_alive() for t in daemon._threads))
    watchdog.ready()
    from locker.reconfigure import ConfigRestart
    reconfigure = ConfigRestart(daemon)  # the server's config records changed: run again when no door is busy
    try:
        while not done.wait(1.0):
            watchdog.beat()  # WATCHDOG=1 only while this loop and the daemon's threads live
            if reconfigure.due():
                break
    finally:
        watchdog.stop()  # RELOADING=1 instead of STOPPING=1 when a restart was requested
        daemon.stop()
    from appliance import restart
    if restart.requested():
        restart.reexec()
    return 0

