"""Logging to journald with structured fields, without libsystemd.

journald's native protocol: one datagram to ``/run/systemd/journal/socket`` holding
``FIELD=value`` lines (a value with a newline is written ``FIELD\\n`` + its length as
64-bit little endian + the bytes + ``\\n``); a record too big for one datagram goes in
a sealed-off memfd passed with SCM_RIGHTS. Each record carries MESSAGE, PRIORITY,
SYSLOG_IDENTIFIER, CODE_FILE/LINE/FUNC, LOGGER, THREAD_NAME, and every ``extra={...}``
key as ``KIOSK_<KEY>``. ID numbers are masked in every field (:mod:`appliance.privacy`).

SYSLOG_IDENTIFIER is the program's name as its unit says it (:data:`PROGRAMS`:
``python -m locker`` logs as ``kiosk-locker``, ``python -m kiosk`` as ``kiosk-ui``…),
not ``__main__.py``, so ``journalctl -t kiosk-locker`` finds it.

Fields without touching every call site: what a request, a journey or a round is
about is set once, around the work, and every record logged inside it (by any
logger, in that thread or task) carries it::

    with log_context(case=case_id, door=3):
        ...                       # every record: KIOSK_CASE=…, KIOSK_DOOR=3

so ``journalctl KIOSK_CASE=SQ-2026-0042`` finds the case's lines in every service. The
fields are :mod:`contextvars` (a thread starts without them; asyncio tasks inherit
them); an ``extra={...}`` key of the same name wins. :func:`process_fields` sets fields
every record of the process carries, in every thread (``device=`` the appliance's id,
once at start-up). Outside the journal the stderr line ends with them (``[case=… door=3]``).

:func:`handler` picks the journal when the process runs under systemd (its stderr is
the journal: ``$JOURNAL_STREAM``) and the socket is there, else stderr.
``KIOSK_LOG=journal|stderr`` overrides the choice.
"""
from __future__ import annotations

import array
import contextlib
import contextvars
import logging
import os
import re
import socket
import struct
import sys
import traceback
from pathlib import Path
from typing import Any, Iterator

from appliance.privacy import mask_text

SOCKET = "/run/systemd/journal/socket"
_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}
_FIELD = re.compile(r"[^A-Z0-9_]")


# The package a program runs as (``python -m PACKAGE``) -> its identifier: the unit's name
PROGRAMS = {"kiosk": "kiosk-ui", "locker": "kiosk-locker", "sync.agent": "kiosk-sync-agent",
            "sync.server": "kiosk-server", "appliance": "kiosk-appliance", "drivers": "kiosk-drivers"}
_CONTEXT: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("kiosk_log_context", default={})
_PROCESS: dict[str, str] = {}


def program_identifier(argv0: str | None = None, main_spec: str | None = None) -> str:
    """This program's SYSLOG_IDENTIFIER: ``python -m locker`` -> ``kiosk-locker`` (the
    ``__main__`` module's package, :data:`PROGRAMS`), any other ``python -m X`` -> ``X``,
    a script -> its file name without ``.py``."""
    if main_spec is None:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        main_spec = getattr(spec, "name", None) or ""
    package = main_spec[:-len(".__main__")] if main_spec.endswith(".__main__") else main_spec
    if package:
        return PROGRAMS.get(package, package)
    name = Path(sys.argv[0] if argv0 is None else argv0).name
    if name in ("", "-c", "-m", "__main__.py"):
        return "python"
    return name[:-3] if name.endswith(".py") else name


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """Every record logged inside the block carries ``fields`` (None values are left out;
    an ID number in a value is masked here, so no handler ever sees it in clear)."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: mask_text(str(v)) for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def process_fields(**fields: Any) -> None:
    """Fields every record of this process carries, in every thread (None removes one)."""
    for key, value in fields.items():
        if value is None:
            _PROCESS.pop(key, None)
        else:
            _PROCESS[key] = mask_text(str(value))


def current_context() -> dict[str, str]:
    return {**_PROCESS, **_CONTEXT.get()}


class ContextFilter(logging.Filter):
    """Puts the :func:`log_context` fields on each record (an ``extra=`` of the same name wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        fields = current_context() if _PROCESS else _CONTEXT.get()
        if fields:
            for key, value in fields.items():
                if key not in _STANDARD and not hasattr(record, key):
                    setattr(record, key, value)
            record._kiosk_context = tuple(fields)
        return True


class ContextFormatter(logging.Formatter):
    """stderr: the usual line, then the context's fields (``[case=… door=3]``)."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        keys = getattr(record, "_kiosk_context", ())
        if keys:
            line += mask_text(" [" + " ".join(f"{k}={getattr(record, k, '')}" for k in keys) + "]")
        return line


def field_name(key: str) -> str:
    """journald accepts upper-case letters, digits and '_', not starting with '_'."""
    return ("KIOSK_" + _FIELD.sub("_", key.upper()))[:64]


def encode(fields: dict[str, str]) -> bytes:
    out = bytearray()
    for name, value in fields.items():
        data = value.encode("utf-8", "replace")
        if b"\n" in data:
            out += name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
        else:
            out += name.encode() + b"=" + data + b"\n"
    return bytes(out)


class JournalHandler(logging.Handler):
    def __init__(self, identifier: str | None = None, socket_path: str = SOCKET, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.identifier = identifier or program_identifier()
        self.socket_path = socket_path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)

    def fields(self, record: logging.LogRecord) -> dict[str, str]:
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        fields = {
            "MESSAGE": message,
            "PRIORITY": str(_PRIORITY.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)),
            "SYSLOG_IDENTIFIER": self.identifier,
            "LOGGER": record.name,
            "THREAD_NAME": record.threadName or "",
            "CODE_FILE": record.pathname or "",
            "CODE_LINE": str(record.lineno),
            "CODE_FUNC": record.funcName or "",
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                fields[field_name(key)] = str(value)
        return {name: mask_text(value or "") for name, value in fields.items()}

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = encode(self.fields(record))
            try:
                self.sock.sendto(data, self.socket_path)
            except OSError as exc:
                if exc.errno not in (90, 105):  # EMSGSIZE, ENOBUFS: too big for a datagram
                    raise
                self._send_memfd(data)
        except Exception:
            self.handleError(record)

    def _send_memfd(self, data: bytes) -> None:
        fd = os.memfd_create("journal-record", os.MFD_CLOEXEC | getattr(os, "MFD_ALLOW_SEALING", 2))
        try:
            os.write(fd, data)
            try:
                import fcntl
                fcntl.fcntl(fd, 1033, 0x0001 | 0x0002 | 0x0004 | 0x0008)  # F_ADD_SEALS: seal, shrink, grow, write
            except OSError:
                pass
            self.sock.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))], 0,
                              self.socket_path)
        finally:
            os.close(fd)

    def close(self) -> None:
        self.sock.close()
        super().close()


def under_journal(env: dict | None = None) -> bool:
    """Whether stderr is connected to the journal (systemd sets ``JOURNAL_STREAM=dev:inode``)."""
    env = os.environ if env is None else env
    stream = env.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"


def handler(identifier: str | None = None) -> logging.Handler:
    """The journal when running under systemd, stderr otherwise (``$KIOSK_LOG`` overrides)."""
    choice = os.environ.get("KIOSK_LOG", "")
    socket_path = os.environ.get("KIOSK_JOURNAL_SOCKET", SOCKET)
    if choice == "journal" or (choice != "stderr" and under_journal() and os.path.exists(socket_path)):
        chosen: logging.Handler = JournalHandler(identifier, socket_path)
    else:
        chosen = logging.StreamHandler()
        chosen.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    chosen.addFilter(ContextFilter())
    return chosen
