"""A private pcscd with virtual readers, for tests and demo mode.

This module owns starting and stopping a ``pcscd -f`` of our own, so the test
suite and the demo never depend on (or disturb) the system's PC/SC daemon.

How it is private
-----------------
* **Readers.** ``pcscd -c DIR`` reads reader definitions from ``DIR`` instead of
  ``/etc/reader.conf.d``. We write one entry for Debian's ``vsmartcard-vpcd``
  driver with ``DEVICENAME /dev/null:0xPORT``: vpcd then waits for a virtual card
  on TCP ``PORT`` (slot ``00 00``) and ``PORT + 1`` (slot ``00 01``). Both ports
  are chosen free unless given. Note: vpcd binds them on **every interface**
  (0.0.0.0), not just loopback.
* **Socket.** pcscd 1.9.9 (Debian 12) ignores ``PCSCLITE_CSOCK_NAME``: its socket
  and pid file are hard-wired to ``/run/pcscd/pcscd.comm`` and ``pcscd.pid``. Only
  the client library (libpcsclite, which pyscard loads) honours the variable. So
  pcscd runs in its own mount namespace (``unshare --mount``; unprivileged users get
  ``--user --map-root-user`` too) where a tmpfs covers ``/run`` and our temp dir is
  bind-mounted on ``/run/pcscd``. Outside, the socket appears as
  ``TMPDIR/pcscd.comm``: clients set ``PCSCLITE_CSOCK_NAME`` to it (:attr:`env`).
  Nothing is written to the host's ``/run``.
* **Fallback.** Where namespaces are forbidden (a container without CAP_SYS_ADMIN,
  or unprivileged user namespaces disabled), and no other pcscd owns the default
  socket, the daemon runs on the default socket ``/run/pcscd/pcscd.comm`` instead
  (:attr:`private` is then false). If another pcscd owns it, :class:`PcscdStartError`
  says how to choose.

libpcsclite reads ``PCSCLITE_CSOCK_NAME`` once per process, at the first PC/SC
call, and keeps it: set it before anything in the process talks to PC/SC.

Run as a demo: ``python -m drivers.idcard.pcscd [--port 35963]`` prints the
``export PCSCLITE_CSOCK_NAME=…`` line and serves until Ctrl-C.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from drivers.errors import PortUnavailable

VPCD_LIBRARY = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
DEFAULT_SOCKET = "/run/pcscd/pcscd.comm"
SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
_READY = "daemon ready"
# Inside the namespace: a tmpfs on /run hides the host's pcscd files; our dir on
# /run/pcscd is where pcscd puts its socket and pid file.
_NAMESPACE_SCRIPT = ('mount -t tmpfs -o size=1m,mode=0755 kiosk-pcscd /run && mkdir /run/pcscd'
                     ' && mount --bind "$0" /run/pcscd && exec "$@"')


class PcscdStartError(PortUnavailable):
    """The private pcscd could not be started (program missing, ports, permissions)."""


def missing_requirements() -> str:
    """Why a private pcscd cannot run here ("" when it can): for tests' ``require``."""
    if shutil.which("pcscd") is None:
        return "pcscd not found (apt-get install pcscd)"
    if not os.path.exists(VPCD_LIBRARY):
        return f"{VPCD_LIBRARY} not found (apt-get install vsmartcard-vpcd)"
    return ""


def socket_is_live(path: str) -> bool:
    """Whether something accepts connections on the Unix socket ``path``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError:
            return False
    return True


def port_in_use(port: int) -> bool:
    """Whether a TCP port is taken on any interface (where vpcd listens)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def free_port_pair() -> int:
    """A port ``P`` with ``P`` and ``P + 1`` both free: vpcd's two slots."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as first:
            first.bind(("0.0.0.0", 0))
            port: int = first.getsockname()[1]
            if port < 65535 and not port_in_use(port + 1):
                return port
    raise PcscdStartError("找不到空闲端口 (no free TCP port pair for vpcd)",
                          hint="too many ports in use; pass vpcd_port explicitly")


class PrivatePcscd:
    """``pcscd -f`` with vpcd readers, in a temp dir, until :meth:`stop`.

    ``with PrivatePcscd() as daemon: os.environ.update(daemon.env)`` then any PC/SC
    client in a *fresh* process (or this one, before its first PC/SC call) sees
    readers ``"{reader_name} 00 00"`` and ``"… 00 01"``; a virtual card connects to
    ``127.0.0.1:daemon.vpcd_port``. ``virtual_readers=False`` starts a daemon with
    no reader at all (to test "no reader").
    """

    def __init__(self, *, vpcd_port: int | None = None, reader_name: str = "Virtual PCD",
                 virtual_readers: bool = True, workdir: str | Path | None = None,
                 debug: bool = False) -> None:
        self.vpcd_port = vpcd_port or 0
        self.reader_name = reader_name
        self.virtual_readers = virtual_readers
        self.debug = debug
        self._own_dir = workdir is None
        self.dir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="kiosk-pcscd-"))
        self.socket_path = str(self.dir / "pcscd.comm")
        self.private = True
        self.proc: subprocess.Popen[bytes] | None = None
        self._log_file: int = -1

    # -- what clients need -------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Environment for PC/SC clients of this daemon."""
        return {SOCKET_ENV: self.socket_path}

    @property
    def readers(self) -> list[str]:
        """The reader names this daemon offers."""
        return [f"{self.reader_name} 00 00", f"{self.reader_name} 00 01"] if self.virtual_readers else []

    @property
    def log_path(self) -> Path:
        return self.dir / "pcscd.log"

    def log(self) -> str:
        """pcscd's own log so far (for a failing test's report)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    # -- lifetime ----------------------------------------------------------------
    def start(self, timeout: float = 5.0) -> "PrivatePcscd":
        why = missing_requirements()
        if why:
            raise PcscdStartError(f"无法启动 pcscd ({why})", hint="run scripts/debian-packages as root")
        if self.virtual_readers:
            if not self.vpcd_port:
                self.vpcd_port = free_port_pair()
            for port in (self.vpcd_port, self.vpcd_port + 1):
                if port_in_use(port):
                    raise PcscdStartError(
                        f"端口 {port} 已被占用 (TCP port {port} for vpcd is in use)",
                        hint="another pcscd with vsmartcard-vpcd (the system one reads "
                             "/etc/reader.conf.d/vpcd) listens there; pick another --port",
                        port=str(port))
        self._write_config()
        try:
            self._launch(namespace=True, timeout=timeout)
        except PcscdStartError as first:
            if "pcscdaemon.c" in self.log():  # pcscd itself ran and failed: not a namespace issue
                raise
            # Namespaces are not allowed here: use the default socket if it is free.
            if socket_is_live(DEFAULT_SOCKET):
                raise PcscdStartError(
                    "无法启动私有 pcscd (cannot make a private pcscd: mount namespaces are "
                    "not permitted, and another pcscd owns /run/pcscd/pcscd.comm)",
                    hint="run the tests as root, or allow user namespaces "
                         "(sysctl kernel.unprivileged_userns_clone=1), or stop the system "
                         "pcscd: systemctl stop pcscd.socket pcscd") from first
            self.private = False
            self.socket_path = DEFAULT_SOCKET
            self._launch(namespace=False, timeout=timeout)
        return self

    def restart(self, timeout: float = 5.0) -> None:
        """Stop pcscd and start it again on the same socket and ports (a USB replug,
        an upgrade or a crash does this to the system daemon)."""
        self.kill()
        self._launch(namespace=self.private, timeout=timeout)

    def kill(self) -> None:
        """Kill pcscd as a crash would (SIGKILL), keeping the temp dir and its log;
        :meth:`restart` brings it back."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            self.proc = None
        if self._log_file >= 0:
            os.close(self._log_file)
            self._log_file = -1
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PrivatePcscd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inside ------------------------------------------------------------------
    def _write_config(self) -> None:
        conf = self.dir / "reader.conf.d"
        conf.mkdir(parents=True, exist_ok=True)
        entry = conf / "vpcd"
        if self.virtual_readers:
            entry.write_text(f'FRIENDLYNAME "{self.reader_name}"\n'
                             f"DEVICENAME   /dev/null:0x{self.vpcd_port:04X}\n"
                             f"LIBPATH      {VPCD_LIBRARY}\n"
                             f"CHANNELID    0x{self.vpcd_port:04X}\n")
        elif entry.exists():
            entry.unlink()

    def _command(self, namespace: bool) -> list[str]:
        pcscd = [shutil.which("pcscd") or "pcscd", "--foreground",
                 "--debug" if self.debug else "--info", "--config", str(self.dir / "reader.conf.d")]
        if not namespace:
            return pcscd
        unshare = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            unshare[1:1] = ["--user", "--map-root-user"]
        return [*unshare, "sh", "-c", _NAMESPACE_SCRIPT, str(self.dir), *pcscd]

    def _launch(self, *, namespace: bool, timeout: float) -> None:
        if self._log_file >= 0:
            os.close(self._log_file)
        self._log_file = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        env = {k: v for k, v in os.environ.items() if k != SOCKET_ENV}
        self.proc = subprocess.Popen(self._command(namespace), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)  # Ctrl-C in a demo reaches us only
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if _READY in self.log() and socket_is_live(self.socket_path) and self._vpcd_listening():
                return
            time.sleep(0.02)
        log = self.log().strip().splitlines()
        self.proc.poll()
        status = self.proc.returncode
        self.kill()
        last = log[-1] if log else "no output"
        raise PcscdStartError(
            f"pcscd 未能启动 (pcscd did not become ready in {timeout:.0f} s; "
            f"exit status {status}; last log line: {last})",
            hint=f"see {self.log_path}; try `pcscd -f -d -c {self.dir / 'reader.conf.d'}` by hand")

    def _vpcd_listening(self) -> bool:
        if not self.virtual_readers:
            return True
        return port_in_use(self.vpcd_port) and port_in_use(self.vpcd_port + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.idcard.pcscd",
        description="Run a private pcscd with two vpcd virtual readers until Ctrl-C.")
    parser.add_argument("--port", type=int, default=35963,
                        help="vpcd TCP port of slot 00 00 (slot 00 01 uses PORT+1); 0 = any free")
    parser.add_argument("--debug", action="store_true", help="pcscd debug log")
    args = parser.parse_args(argv)
    daemon = PrivatePcscd(vpcd_port=args.port or None, debug=args.debug)
    try:
        daemon.start()
    except PcscdStartError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"export {SOCKET_ENV}={daemon.socket_path}", flush=True)
    print(f"# readers: {', '.join(daemon.readers)}; virtual card: "
          f"python -m drivers.idcard.vcard --uid 04A1B2C3 --port {daemon.vpcd_port}", flush=True)
    print(f"# log: {daemon.log_path}", flush=True)
    status = 0
    while not stop.wait(0.2):
        if daemon.proc is None or daemon.proc.poll() is not None:
            tail = "\n".join(daemon.log().strip().splitlines()[-5:])
            print(f"error: pcscd 意外退出 (pcscd exited on its own); its log ends:\n{tail}", file=sys.stderr)
            status = 1
            break
    daemon.stop()
    return status


if __name__ == "__main__":
    sys.exit(main())
