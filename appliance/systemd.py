"""Telling systemd how a service is doing: ``sd_notify`` without libsystemd.

A unit with ``Type=notify`` waits for ``READY=1`` before it counts the service as
started (and starts what comes after it); with ``WatchdogSec=`` it expects
``WATCHDOG=1`` at least that often and kills and restarts a service that goes quiet.
Both are datagrams on the Unix socket named by ``$NOTIFY_SOCKET`` (a path, or an
abstract socket written ``@name``). Outside systemd (a terminal, ``make run``, the
tests without a socket) every call here does nothing.

The watchdog must mean "the service works", not "some thread is alive": the
:class:`Watchdog` thread pings only while the service's main loop shows signs of
life. A loop either *beats* (``watchdog.beat()`` every turn: the locker daemon's
main loop, the server's event loop through uvicorn's ``callback_notify``) or runs
*watched steps* (``watchdog.watched(agent.step)``: the sync agent, idle between
rounds, must not spend longer than ``stuck_after`` inside one round). A loop that
stops beating, or a step that hangs, stops the pings; systemd then kills the
process (SIGABRT) and ``Restart=`` starts it again.

Wiring a service (the kiosk does the same from its Qt event loop)::

    from appliance import systemd
    watchdog = systemd.Watchdog(status="serving /var/lib/kiosk/locker.sock")
    watchdog.ready()            # READY=1 once the service really serves
    while running:
        ...
        watchdog.beat()         # the first beat also sends READY=1 if ready() was not called
    watchdog.stop()             # STOPPING=1
"""
from __future__ import annotations

import functools
import os
import socket
import threading
import time
from typing import Any, Callable, Mapping, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def notify_address(env: Mapping[str, str] | None = None) -> str | None:
    """The socket systemd listens on, in the form ``socket.connect`` takes (abstract
    sockets begin with a NUL byte), or None outside systemd."""
    value = (os.environ if env is None else env).get("NOTIFY_SOCKET", "")
    if not value:
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None  # vsock: and other forms are not used on an appliance


def notify(*fields: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``KEY=VALUE`` fields as one datagram; True when systemd's socket took it.
    Never raises: a service must not fail because its supervisor went away."""
    address = notify_address(env)
    if address is None or not fields:
        return False
    message = "\n".join(fields).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
        return True
    except OSError:
        return False


def watchdog_seconds(env: Mapping[str, str] | None = None) -> float | None:
    """``WatchdogSec=`` of this service in seconds, or None when no watchdog is asked
    for (or it is meant for another process: ``$WATCHDOG_PID``)."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and (not pid.isdigit() or int(pid) != os.getpid()):
        return None
    return int(usec) / 1_000_000


class Watchdog:
    """``READY=1`` when the service serves, ``WATCHDOG=1`` while its main loop lives.

    ``stuck_after`` (default: the watchdog interval) is how long the loop may go
    without a beat, or stay inside one watched step, before the pings stop. ``check``
    is an extra condition (for example: every worker thread is still alive)."""

    def __init__(self, *, status: str = "", stuck_after: float | None = None,
                 check: Callable[[], bool] | None = None, env: Mapping[str, str] | None = None) -> None:
        self.env = dict(os.environ if env is None else env)
        self.interval = watchdog_seconds(self.env)
        self.stuck_after = stuck_after if stuck_after is not None else (self.interval or 0.0)
        self.status = status
        self.check = check
        self.pings = 0
        self._ready = False
        self._beats = False
        self._last_beat = time.monotonic()
        self._busy_since: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return notify_address(self.env) is not None

    # -- what the main loop calls --------------------------------------------------------
    def ready(self, status: str | None = None) -> None:
        """The service serves: ``READY=1`` (once), and the pinger starts."""
        if status is not None:
            self.status = status
        if self._ready:
            return
        self._ready = True
        self._last_beat = time.monotonic()
        # No MAINPID=: systemd knows the sender from its credentials (NotifyAccess=main), and
        # the kiosk app, a child of cage, must not take the main PID from cage.
        notify("READY=1", f"STATUS={self.status or 'ready'}", env=self.env)
        if self.interval and self.enabled:
            self._thread = threading.Thread(target=self._ping, name="systemd-watchdog", daemon=True)
            self._thread.start()

    def beat(self) -> None:
        """A sign of life from the main loop (the first one also means ready)."""
        self._beats = True
        self._last_beat = time.monotonic()
        if not self._ready:
            self.ready()

    async def async_beat(self) -> None:
        """:meth:`beat` for an asyncio loop (uvicorn's ``callback_notify``)."""
        self.beat()

    def watched(self, step: F) -> F:
        """Wrap one step of a loop that is idle in between: the pings stop while a call
        of ``step`` has lasted longer than ``stuck_after``."""
        @functools.wraps(step)
        def run(*args: Any, **kwargs: Any) -> Any:
            self._busy_since = time.monotonic()
            try:
                return step(*args, **kwargs)
            finally:
                self._busy_since = None
                self._last_beat = time.monotonic()
        return run  # type: ignore[return-value]

    def set_status(self, status: str) -> None:
        self.status = status
        notify(f"STATUS={status}", env=self.env)

    def stop(self) -> None:
        """The service is stopping: ``STOPPING=1``, and no more pings. A process about
        to run itself again (:mod:`appliance.restart`) says ``RELOADING=1`` instead:
        systemd then waits for the new ``READY=1`` rather than for the process to end."""
        from appliance import restart

        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        if self._ready and restart.requested():
            notify("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}",
                   f"STATUS={restart.requested()}", env=self.env)
        elif self._ready:
            notify("STOPPING=1", env=self.env)

    # -- the pinger ----------------------------------------------------------------------
    def alive(self) -> bool:
        """Whether the main loop shows signs of life right now."""
        now = time.monotonic()
        busy = self._busy_since
        if busy is not None and now - busy > self.stuck_after:
            return False
        if self._beats and now - self._last_beat > self.stuck_after:
            return False
        if self.check is not None:
            try:
                return bool(self.check())
            except Exception:
                return False
        return True

    def _ping(self) -> None:
        assert self.interval
        period = self.interval / 4  # systemd's advice: well within the interval
        while not self._stop.wait(period):
            if self.alive():
                if notify("WATCHDOG=1", env=self.env):
                    self.pings += 1


def uvicorn_options(watchdog: Watchdog) -> dict[str, Any]:
    """uvicorn.Config keywords that feed the watchdog from the server's event loop
    (uvicorn calls ``callback_notify`` from its main loop about once a second, the
    first time right after start-up: that first call is READY=1)."""
    return {"callback_notify": watchdog.async_beat, "timeout_notify": 0.5}


__all__ = ["Watchdog", "notify", "notify_address", "uvicorn_options", "watchdog_seconds"]
