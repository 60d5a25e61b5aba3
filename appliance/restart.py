"""A program of the appliance starting itself again, in place, to run a new configuration
(the server's ``config`` records: :mod:`appliance.server_config`).

The locker daemon and the kiosk app call :func:`request` once they reached a safe
moment, stop as they always stop, and then :func:`reexec`: the same process (same
PID, same arguments, same environment) runs the program from the start. Under
systemd that is no restart of the unit: ``Restart=`` and ``StartLimitBurst=`` are
not involved (an admin trying ten settings in ten minutes must not leave a unit
failed), cage keeps its child, and :class:`appliance.systemd.Watchdog` says
``RELOADING=1`` instead of ``STOPPING=1`` (systemd waits for the new ``READY=1``
instead of killing a process that said it stops). Only if the exec itself fails does
the process exit with :data:`EXIT_RESTART` (75, EX_TEMPFAIL), which the units'
``Restart=always`` starts again.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn

log = logging.getLogger("appliance.restart")
EXIT_RESTART = 75  # EX_TEMPFAIL: "start me again"; only when exec fails

_why = ""


def request(why: str) -> None:
    """This process is going to run itself again (``why``: one line for the log and systemd)."""
    global _why
    _why = " ".join((why or "restarting").split())


def requested() -> str:
    """Why this process will run itself again, or "" when it just stops."""
    return _why


def cancel() -> None:
    """Forget a request (tests)."""
    global _why
    _why = ""


def argv() -> list[str]:
    """The command line this process was started with (``python -m locker serve …``)."""
    original = list(getattr(sys, "orig_argv", []) or [])
    return original or [sys.executable, *sys.argv]


def reexec() -> NoReturn:
    """Run this program again in this process, from the start. Call it once everything
    was stopped and closed (files, stores, sockets: descriptors Python opened are not
    inherited, so a leaked one is closed by the exec, but a store's writer lock must be
    let go in order)."""
    command = argv()
    log.warning("running again: %s (%s)", " ".join(command[1:]), _why or "restart requested")
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001 - a handler that cannot flush must not stop the restart
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    try:
        os.execv(sys.executable, command)
    except OSError as exc:
        log.error("cannot run %s again (%s): exiting with status %d for systemd to start it", sys.executable, exc,
                  EXIT_RESTART)
    os._exit(EXIT_RESTART)
