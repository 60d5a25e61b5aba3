"""A private cupsd with a real PDF printer and a fault printer, for tests and the demo.

Not a fake printer: :class:`PrivateCups` starts the system's ``cupsd`` with its own
configuration in a temp dir, listening on a Unix socket there, so the driver talks
real IPP to a real scheduler. It adds two queues:

- ``kiosk``: cups-pdf (Ghostscript) writing PDFs into ``pdf_out``. cups-pdf only
  reads its settings from ``/etc/cups/cups-pdf-NAME.conf`` (:mod:`.cupspdf`) and its
  backend only runs as root, so this queue needs root; the file is removed on stop,
  and stale ones left by a killed launcher are swept at the next start.
- ``kiosk-fault``: the script backend of :mod:`drivers.printer.faultbackend`, whose
  mode (out of paper, jam, toner low, offline, ...) is switched at run time with
  :meth:`PrivateCups.set_fault`. The backend lives in this cupsd's own ``ServerBin``
  (links to the system's filters and backends, plus ours), so nothing is written to
  ``/usr/lib/cups/backend``: launchers do not collide and it works without root.

Several launchers run at once: each has its own directory, socket and cups-pdf name.
``python -m drivers.printer.sim [--dir D]`` prints the socket path, then one JSON
line (queues, URLs, directories), and stays up until SIGTERM or SIGINT.
``python -m drivers.printer.sim --dir D --set-fault paper`` switches a running one.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from drivers.printer import cupspdf
from drivers.printer.errors import SimUnavailable
from drivers.printer.faultbackend import FAULTS, SCHEME, backend_script

log = logging.getLogger(__name__)

PDF_QUEUE = "kiosk"  # the queue name appliance.toml uses by default
FAULT_QUEUE = "kiosk-fault"
_SERVER_BINS = ("/usr/lib/cups", "/usr/libexec/cups")
_INSTALL = "apt-get install cups cups-bsd printer-driver-cups-pdf (scripts/debian-packages)"
_SOCKET_MAX = 100  # sun_path is 108 bytes; keep a margin
_MARKER = ".kiosk-cups-sim"


def _program(name: str) -> str | None:
    # /usr/sbin is often missing from a non-root PATH; cupsd and lpadmin live there.
    return shutil.which(name) or next(
        (p for d in ("/usr/sbin", "/usr/bin") if os.access(p := f"{d}/{name}", os.X_OK)), None)


_PR_SET_PDEATHSIG = 1


def _die_with_parent_hook() -> Any:
    """A preexec_fn: if the launcher is killed outright, cupsd must not outlive it."""
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: the child only calls it
    return lambda: libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class PrivateCups:
    """A private cupsd on a Unix socket, with a PDF queue and a fault queue.

    Use as a context manager, or ``start()`` and ``stop()``. ``root`` is the working
    directory; by default a fresh temp dir, removed on stop (a given ``root`` is kept,
    with its logs and outputs, for a person to read).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, *, with_pdf: bool = True,
                 pdf_queue: str = PDF_QUEUE, fault_queue: str = FAULT_QUEUE) -> None:
        self._given_root = Path(root).resolve() if root is not None else None
        self._with_pdf = with_pdf
        self._pdf_name, self._fault_name = pdf_queue, fault_queue
        self.root = Path()
        self.socket = Path()
        self.pdf_queue: str | None = None  # None: no PDF printer here, see pdf_unavailable
        self.pdf_unavailable = ""
        self.fault_queue = ""
        self.token = secrets.token_hex(4)
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._written: list[Path] = []  # files outside root, removed on stop
        self._made_root = False  # a temp root of ours: removed on stop

    # -- paths -----------------------------------------------------------------------

    @property
    def pdf_out(self) -> Path:
        return self.root / "pdf-out"

    @property
    def fault_out(self) -> Path:
        return self.root / "fault-out"

    @property
    def faults_dir(self) -> Path:
        return self.root / "faults"

    def url(self, queue: str | None = None) -> str:
        """The driver URL of a queue on this cupsd (default: the PDF queue, else fault)."""
        return f"cups://{queue or self.pdf_queue or self.fault_queue}?server={self.socket}"

    # -- lifecycle -------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> "PrivateCups":
        cupsd = _program("cupsd")
        if cupsd is None:
            raise SimUnavailable("cupsd is not installed", hint=_INSTALL)
        for tool in ("lpadmin", "lpstat"):
            if _program(tool) is None:
                raise SimUnavailable(f"{tool} is not installed", hint=_INSTALL)
        server_bin = next((d for d in _SERVER_BINS if os.path.isdir(f"{d}/backend")), None)
        if server_bin is None:
            raise SimUnavailable(f"no CUPS ServerBin in {' or '.join(_SERVER_BINS)}", hint=_INSTALL)
        try:
            self._make_root()
            self._write_config(server_bin)
            self._start_cupsd(cupsd, timeout)
            self.fault_queue = self.add_fault_printer(self._fault_name)
            if self._with_pdf:
                self._try_pdf_printer()
            else:
                self.pdf_unavailable = "not requested"
        except BaseException:
            self.stop()
            raise
        log.info("private cupsd on %s (pid %s)", self.socket, self.proc.pid if self.proc else "?")
        return self

    def _make_root(self) -> None:
        if self._given_root is not None:
            self.root = self._given_root
            self.socket = self.root / "cups.sock"
            blocked = _closed_ancestor(self.root.parent) if os.geteuid() == 0 else None
            if blocked is not None:
                raise SimUnavailable(
                    f"{self.root} is under {blocked}, which only its owner may enter: cupsd "
                    f"runs filters as the user lp, and they must reach this directory",
                    hint="use a --dir whose parents are world-searchable, e.g. under /tmp")
            self._check_socket_path()
            if self.socket.exists() and _socket_alive(self.socket):
                raise SimUnavailable(f"a cupsd already listens on {self.socket}",
                                     hint="use another --dir, or stop that one")
            self._reuse_given_root()
            self.socket.unlink(missing_ok=True)  # left by a launcher that was killed
        else:
            base = tempfile.gettempdir()
            if len(base) > _SOCKET_MAX - 40 or _closed_ancestor(Path(base)) is not None:
                base = "/tmp"
            self.root = Path(tempfile.mkdtemp(prefix="kiosk-cups-", dir=base))
            self._made_root = True
            self.socket = self.root / "cups.sock"
            self._check_socket_path()
        # Filters run as the unprivileged user "lp" and must reach ServerBin and the spool.
        os.chmod(self.root, 0o755)
        for sub in ("etc", "bin/backend", "spool", "cache", "state", "log", "faults",
                    "pdf-out", "pdf-spool", "fault-out"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _check_socket_path(self) -> None:
        if len(str(self.socket)) > _SOCKET_MAX:
            raise SimUnavailable(f"socket path {self.socket} is too long for a Unix socket",
                                 hint="use a shorter --dir")

    def _reuse_given_root(self) -> None:
        """Create the given root, or clear the runtime state a previous launcher left.

        Old queues and spooled jobs would come back with cupsd otherwise. Only a
        directory marked as ours is cleared: a mistyped --dir must never lose files.
        """
        marker = self.root / _MARKER
        if self.root.exists() and any(self.root.iterdir()) and not marker.exists():
            raise SimUnavailable(f"--dir {self.root} is not empty and was not made by "
                                 f"drivers.printer.sim", hint="give a new or empty directory")
        for sub in ("etc", "bin", "spool", "cache", "state", "faults"):
            shutil.rmtree(self.root / sub, ignore_errors=True)
        self.root.mkdir(parents=True, exist_ok=True)
        marker.write_text("A private cupsd of drivers.printer.sim; runtime state is cleared "
                          "at each start.\n")

    def _write_config(self, server_bin: str) -> None:
        r = self.root
        # Everything but the backends is the system's: link it into our ServerBin.
        for entry in os.listdir(server_bin):
            if entry != "backend" and not (r / "bin" / entry).exists():
                (r / "bin" / entry).symlink_to(f"{server_bin}/{entry}")
        for entry in os.listdir(f"{server_bin}/backend"):
            link = r / "bin" / "backend" / entry
            if entry != SCHEME and not link.exists():
                link.symlink_to(f"{server_bin}/backend/{entry}")
        backend = r / "bin" / "backend" / SCHEME
        backend.write_text(backend_script(str(self.faults_dir), str(self.fault_out)))
        # 0700: cupsd runs a backend as root only when others cannot run it, like cups-pdf.
        backend.chmod(0o700)
        (r / "etc" / "cupsd.conf").write_text(f"""\
# Written by drivers.printer.sim: a private cupsd for tests and the demo.
LogLevel info
Listen {self.socket}
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultAuthType None
# Offline printers (backend exit 6) retry soon, so a demo recovers quickly.
JobRetryInterval 2
PreserveJobHistory Yes
PreserveJobFiles No
<Location />
  Order allow,deny
  Allow all
</Location>
# Only local clients reach this socket: let them administer without a password.
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
""")
        group = "root" if os.geteuid() == 0 else _group_name(os.getegid())
        (r / "etc" / "cups-files.conf").write_text(f"""\
# Written by drivers.printer.sim: every file of this cupsd stays under {r}.
ServerRoot {r}/etc
ServerBin {r}/bin
RequestRoot {r}/spool
CacheDir {r}/cache
StateDir {r}/state
AccessLog {r}/log/access_log
ErrorLog {r}/log/error_log
PageLog {r}/log/page_log
SystemGroup {group}
FileDevice No
""")

    def _start_cupsd(self, cupsd: str, timeout: float) -> None:
        conf = self.root / "etc"
        self._log = open(self.root / "log" / "cupsd.out", "ab")
        in_main = threading.current_thread() is threading.main_thread()
        # Own session: a Ctrl-C at the terminal reaches the launcher, which then stops
        # cupsd in order. PDEATHSIG is per thread, so only from the main thread.
        self.proc = subprocess.Popen(
            [cupsd, "-f", "-c", str(conf / "cupsd.conf"), "-s", str(conf / "cups-files.conf")],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent_hook() if in_main else None)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SimUnavailable(f"cupsd exited with status {self.proc.returncode}: "
                                     f"{self._log_tail()}", hint=f"see {self.root}/log")
            if self._scheduler_running():
                return
            if time.monotonic() > deadline:
                raise SimUnavailable(f"cupsd did not answer on {self.socket} in {timeout:g} s: "
                                     f"{self._log_tail()}", hint=f"see {self.root}/log")
            time.sleep(0.02)

    def _scheduler_running(self) -> bool:
        if not self.socket.exists():
            return False
        done = subprocess.run([_program("lpstat") or "lpstat", "-h", str(self.socket), "-r"],
                              capture_output=True, text=True, timeout=10)
        return done.returncode == 0 and "is running" in done.stdout

    def _log_tail(self) -> str:
        lines: list[str] = []
        for name in ("cupsd.out", "error_log"):
            path = self.root / "log" / name
            if path.exists():
                lines += [ln for ln in path.read_text(errors="replace").splitlines()
                          if ln and not ln.startswith(("I ", "D ", "W "))]
        return " | ".join(lines[-3:]) or "no log output"

    def stop(self) -> None:
        """Stop cupsd, remove what was written outside the root, and the temp root."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            # Only a socket our cupsd made: never another launcher's in the same --dir.
            self.socket.unlink(missing_ok=True)
            self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        for path in self._written:
            path.unlink(missing_ok=True)
        self._written.clear()
        if self._made_root:
            shutil.rmtree(self.root, ignore_errors=True)
            self._made_root = False

    def __enter__(self) -> "PrivateCups":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- queues ----------------------------------------------------------------------

    def run_tool(self, tool: str, *args: str) -> str:
        """Run a CUPS command-line tool against this cupsd; return its stdout."""
        done = subprocess.run([_program(tool) or tool, "-h", str(self.socket), *args],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise SimUnavailable(f"{tool} {' '.join(args)} failed: "
                                 f"{done.stderr.strip() or done.stdout.strip()}",
                                 hint=f"see {self.root}/log/error_log")
        return done.stdout

    def add_fault_printer(self, name: str) -> str:
        """Add a fault queue (mode "ok" until :meth:`set_fault`); return its name."""
        self.set_fault("ok", name)
        self.run_tool("lpadmin", "-p", name, "-v", f"{SCHEME}:/{name}", "-E",
                      "-D", "Kiosk fault printer (simulated)",
                      "-o", "printer-error-policy=abort-job")
        return name

    def add_pdf_printer(self, name: str) -> str:
        """Add a cups-pdf queue writing into :attr:`pdf_out` (root only); return its name."""
        why = self._pdf_blocker()
        if why:
            raise SimUnavailable(f"no PDF printer: {why}", hint=_INSTALL)
        cupspdf.sweep_stale()
        uri_name = f"{cupspdf.PREFIX}{self.token}-{name}"
        self._written.append(cupspdf.conf_path(uri_name))
        cupspdf.write_conf(uri_name, root=self.root, cupsd_pid=self.proc.pid if self.proc else 0,
                           out=self.pdf_out)
        self.run_tool("lpadmin", "-p", name, "-v", f"cups-pdf:/{uri_name}", "-m", cupspdf.PPD,
                      "-E", "-D", "Kiosk PDF printer (cups-pdf)")
        return name

    def _pdf_blocker(self) -> str:
        if not os.path.exists(f"{self.root}/bin/backend/cups-pdf"):
            return "printer-driver-cups-pdf is not installed"
        if os.geteuid() != 0:
            return ("cups-pdf needs root (its backend runs only as root and reads its "
                    "settings from /etc/cups); the fault printer works without")
        return ""

    def _try_pdf_printer(self) -> None:
        why = self._pdf_blocker()
        if why:
            self.pdf_unavailable = why
            log.warning("private cupsd without a PDF printer: %s", why)
            return
        self.pdf_queue = self.add_pdf_printer(self._pdf_name)

    def set_fault(self, mode: str, queue: str | None = None) -> None:
        """Switch a fault queue's behaviour for its next job (see faultbackend.FAULTS)."""
        set_fault(self.root, mode, queue or self.fault_queue or self._fault_name)

    def pdf_output(self, job_id: int, timeout: float = 10.0) -> Path:
        """The file cups-pdf wrote for a job (named ``…-job_<id>.pdf``)."""
        deadline = time.monotonic() + timeout
        while True:
            found = sorted(self.pdf_out.glob(f"*-job_{job_id}.pdf"))
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise FileNotFoundError(f"no cups-pdf output for job {job_id} in {self.pdf_out}")
            time.sleep(0.05)

    def info(self) -> dict[str, Any]:
        """What a launcher's user needs: queues, their driver URLs, directories."""
        return {
            "socket": str(self.socket), "dir": str(self.root),
            "pid": self.proc.pid if self.proc else None,
            "pdf_queue": self.pdf_queue,
            "pdf_url": self.url(self.pdf_queue) if self.pdf_queue else None,
            "pdf_out": str(self.pdf_out), "pdf_unavailable": self.pdf_unavailable,
            "fault_queue": self.fault_queue, "fault_url": self.url(self.fault_queue),
            "fault_out": str(self.fault_out), "faults_dir": str(self.faults_dir),
            "fault_modes": list(FAULTS),
        }


def set_fault(root: str | os.PathLike[str], mode: str, queue: str = FAULT_QUEUE) -> None:
    """Write a fault mode for ``queue`` of the launcher in ``root`` (another process too)."""
    if mode not in FAULTS:
        raise ValueError(f"unknown fault mode {mode!r}; modes: {', '.join(FAULTS)}")
    path = Path(root) / "faults" / queue
    tmp = path.with_suffix(".tmp")
    tmp.write_text(mode)
    tmp.replace(path)  # the backend must never read a half-written mode


def _closed_ancestor(path: Path) -> Path | None:
    """The first existing directory on ``path`` that others cannot search, if any."""
    for d in [path, *path.parents]:
        if d.exists() and not os.stat(d).st_mode & 0o001:
            return d
    return None


def _socket_alive(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def _group_name(gid: int) -> str:
    import grp
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drivers.printer.sim",
        description="Run a private cupsd with a PDF printer and a fault printer. Prints "
                    "the socket path, then a JSON line, and runs until SIGTERM/SIGINT.")
    parser.add_argument("--dir", help="working directory (default: a temp dir, removed at exit)")
    parser.add_argument("--no-pdf", action="store_true", help="no cups-pdf queue (needs root)")
    parser.add_argument("--fault", choices=list(FAULTS), default="ok", metavar="MODE",
                        help=f"initial mode of the fault printer ({', '.join(FAULTS)})")
    parser.add_argument("--set-fault", choices=list(FAULTS), metavar="MODE",
                        help=f"switch the running launcher in --dir to MODE ({', '.join(FAULTS)})"
                             " and exit")
    parser.add_argument("--queue", default=FAULT_QUEUE, help="fault queue for --set-fault")
    args = parser.parse_args(argv)
    if args.set_fault:
        if not args.dir or not (Path(args.dir) / "faults").is_dir():
            print("error: --set-fault needs the --dir of a running launcher", file=sys.stderr)
            return 2
        set_fault(args.dir, args.set_fault, args.queue)
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    def stop_on(signum: int, frame: object) -> None:
        raise _Stop(signal.Signals(signum).name)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop_on)
    sim = PrivateCups(args.dir, with_pdf=not args.no_pdf)
    try:
        sim.start()
        sim.set_fault(args.fault)
        print(sim.socket, flush=True)
        print(json.dumps(sim.info()), flush=True)
        while True:
            time.sleep(3600)
    except _Stop as why:
        log.info("stopping on %s", why)
    except SimUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second signal must not cut cleanup short
        sim.stop()
    return 0


class _Stop(Exception):
    """A stop signal arrived (raised from the signal handler into the main loop)."""


if __name__ == "__main__":
    sys.exit(main())
