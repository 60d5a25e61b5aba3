"""The camera a caller uses: a grabber thread that keeps only the newest frame.

``Camera(url).start()`` opens the source in the caller's thread (so "no camera"
is an immediate, typed error naming the URL) and then reads frames in a
background thread. ``latest()`` never blocks: it returns the newest frame or
``None``. ``wait_for_next()`` and ``frames()`` wait, with a timeout, for a frame
newer than the one the caller has.

When reads keep failing (USB pulled, driver reset) the camera goes to
``RECONNECTING``: it releases the device and tries to open it again with a
growing back-off, so a replugged camera just works again. Waiters then get
:class:`CameraGone` naming the URL and the fix instead of hanging.

Frames live in memory only, one at a time, and are read-only arrays: nothing here
writes a picture anywhere (camera frames are personal data).
"""
from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterator

import numpy as np

from drivers.camera.errors import (DEVICE_HINT, CameraEnded, CameraError, CameraGone,
                                   CameraNotRunning, CameraTimeout)
from drivers.camera.sources import FrameSource, open_source
from drivers.camera.url import parse_camera_url
from drivers.health import DEGRADED, DOWN, OK, Health

log = logging.getLogger("drivers.camera")


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR, read-only: shared by every consumer
    seq: int  # 1, 2, 3 … for this Camera; a gap means frames nobody asked for were replaced
    at: float  # time.monotonic() when grabbed


class CameraState(Enum):
    STOPPED = "stopped"
    RUNNING = "running"
    RECONNECTING = "reconnecting"  # reads kept failing; reopening with back-off
    ENDED = "ended"  # a file source without loop=1 played to its end


TRANSITIONS = {
    CameraState.STOPPED: {CameraState.RUNNING},
    CameraState.RUNNING: {CameraState.RECONNECTING, CameraState.ENDED, CameraState.STOPPED},
    CameraState.RECONNECTING: {CameraState.RUNNING, CameraState.STOPPED},
    CameraState.ENDED: {CameraState.STOPPED},
}

StateListener = Callable[[CameraState, CameraState], None]


class Camera:
    def __init__(self, url: str, *, name: str = "camera", fail_after: int = 5,
                 backoff: tuple[float, float] = (0.25, 8.0), stale_after: float = 2.0) -> None:
        self.url = url
        self.name = name
        self.parsed = parse_camera_url(url)  # a bad URL fails here, in the caller
        self.source: FrameSource = open_source(self.parsed)
        self.fail_after = fail_after  # consecutive failed reads that mean "gone"
        self.backoff = backoff  # first and longest wait between reopen attempts
        self.stale_after = stale_after  # seconds without a frame before health says degraded
        self._state = CameraState.STOPPED
        self._listeners: list[StateListener] = []
        self._cond = threading.Condition()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._latest: Frame | None = None
        self._seq = 0
        self._stamps: collections.deque[float] = collections.deque(maxlen=30)
        self.last_error: CameraError | None = None
        self.reconnects = 0

    # -- lifetime ----------------------------------------------------------------
    def start(self) -> "Camera":
        """Open the source (raising :class:`CameraUnavailable` naming the URL) and
        start the grabber thread. Starting a running camera does nothing."""
        if self._state is CameraState.ENDED:  # a file that ended plays again from its start
            self.stop()
        if self._thread is not None and self._thread.is_alive():
            if self._state is CameraState.STOPPED:  # stop() could not join it
                raise CameraError(f"{self.name} {self.url}: the last grabber is still stuck in a read",
                                  hint=DEVICE_HINT + "; restart the service if it persists", port=self.url)
            return self
        self.source.open()
        self._stopping.clear()
        # seq keeps counting across restarts, so a consumer's "newer than N" stays true.
        self._latest, self.last_error = None, None
        self._stamps.clear()
        self._set_state(CameraState.RUNNING)
        self._thread = threading.Thread(target=self._run, name=f"{self.name}-grabber", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """Stop the grabber and join it; the source is released by the thread."""
        self._stopping.set()
        self.source.interrupt()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():  # a driver stuck in read(): leave the daemon thread, say so
                log.warning("%s: grabber for %s did not stop within %.1f s", self.name, self.url, timeout)
            else:
                self._thread = None
        if self._state is not CameraState.STOPPED:
            self._set_state(CameraState.STOPPED)
        with self._cond:
            self._cond.notify_all()

    def __enter__(self) -> "Camera":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- state -------------------------------------------------------------------
    @property
    def state(self) -> CameraState:
        return self._state

    def on_state(self, listener: StateListener) -> None:
        """Call ``listener(old, new)`` on every change (from the grabber thread)."""
        self._listeners.append(listener)

    def _grabber_state(self, new: CameraState) -> None:
        # stop() may have moved to STOPPED while this thread was in read(): its word wins.
        if not self._stopping.is_set():
            self._set_state(new)

    def _set_state(self, new: CameraState) -> None:
        old = self._state
        if new is old:
            return
        if new not in TRANSITIONS[old]:
            raise CameraError(f"{self.name}: no transition {old.value} → {new.value}", port=self.url)
        self._state = new
        log.info("%s %s: %s → %s", self.name, self.url, old.value, new.value)
        for listener in list(self._listeners):
            try:
                listener(old, new)
            except Exception:  # a listener's bug must not kill the grabber
                log.exception("%s: state listener failed", self.name)
        with self._cond:
            self._cond.notify_all()

    # -- frames --------------------------------------------------------------------
    def latest(self) -> Frame | None:
        """The newest frame, or ``None`` before the first. Never blocks: it reads one
        reference the grabber replaces whole, so no lock is needed."""
        return self._latest

    @property
    def fps(self) -> float | None:
        """Frames per second measured over the last 30 frames."""
        stamps = list(self._stamps)
        if len(stamps) < 2 or stamps[-1] <= stamps[0]:
            return None
        return (len(stamps) - 1) / (stamps[-1] - stamps[0])

    def wait_for_next(self, after: int | None = None, timeout: float = 1.0) -> Frame:
        """Wait for a frame newer than sequence number ``after`` (default: the newest
        now) and return the newest one. Raises :class:`CameraTimeout`, or
        :class:`CameraGone` when the camera is reconnecting, :class:`CameraEnded`
        after a file's end, :class:`CameraNotRunning` when not started."""
        if after is None:
            current = self._latest
            after = current.seq if current is not None else 0
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                frame = self._latest
                if frame is not None and frame.seq > after:
                    return frame
                if self._state is CameraState.ENDED:
                    raise CameraEnded(f"{self.url} played to its end", hint="add loop=1 to the URL to repeat it",
                                      port=self.url)
                if self._state is CameraState.STOPPED:
                    raise CameraNotRunning(f"{self.name} {self.url} is not running", hint="call start() first",
                                           port=self.url)
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        error = self.last_error
        if self._state is CameraState.RECONNECTING and error is not None:
            # A fresh instance: re-raising one object grows its traceback on every call.
            raise type(error)(error.message, hint=error.hint, port=error.port)
        raise CameraTimeout(f"no frame from {self.url} within {timeout * 1000:.0f} ms",
                            hint=DEVICE_HINT if self.parsed.is_real_camera else "", port=self.url)

    def frames(self, timeout: float = 2.0) -> Iterator[Frame]:
        """Yield each newest frame once (skipping any grabbed while the caller was
        busy) until the camera stops or a file ends; errors as :meth:`wait_for_next`."""
        seq = 0
        while True:
            try:
                frame = self.wait_for_next(seq, timeout)
            except (CameraEnded, CameraNotRunning):
                return
            seq = frame.seq
            yield frame

    # -- the grabber thread ---------------------------------------------------------------
    def _run(self) -> None:
        failures, delay = 0, self.backoff[0]
        source_open = True  # start() opened it
        next_due = time.monotonic()
        try:
            while not self._stopping.is_set():
                if not source_open:
                    try:
                        self.source.open()
                    except CameraError as exc:
                        self.last_error = self._gone_error(f"reopening fails: {exc.message}", exc.hint)
                        log.debug("%s: reopen failed (%s); next try in %.2f s", self.name, exc, delay)
                        self._stopping.wait(delay)
                        delay = min(delay * 2, self.backoff[1])
                        continue
                    source_open, failures, delay = True, 0, self.backoff[0]
                    self.reconnects += 1
                    self._grabber_state(CameraState.RUNNING)
                image = self.source.read()
                if self._stopping.is_set():
                    break
                if image is None:
                    if self.source.ended:
                        self._grabber_state(CameraState.ENDED)
                        return
                    failures += 1
                    if failures >= self.fail_after:
                        self._lost(failures)
                        source_open = False
                    else:
                        self._stopping.wait(0.05)  # a dead device answers at once: don't spin
                    continue
                failures = 0
                self._publish(image)
                next_due = self._pace(next_due)
        except Exception as exc:  # a bug here must show in health(), not vanish with the thread
            log.exception("%s: grabber for %s crashed", self.name, self.url)
            self.last_error = CameraError(f"{self.name} {self.url}: grabber crashed: {exc!r}",
                                          hint="restart the service and report the log", port=self.url)
        finally:
            self.source.close()

    def _publish(self, image: np.ndarray) -> None:
        image.flags.writeable = False
        now = time.monotonic()
        self._seq += 1
        self._stamps.append(now)
        self._latest = Frame(image, self._seq, now)
        with self._cond:
            self._cond.notify_all()

    def _pace(self, next_due: float) -> float:
        fps = self.source.paced_fps
        if not fps:
            return next_due  # a real camera paces itself: read() waits for the next frame
        period = 1.0 / fps
        next_due += period
        now = time.monotonic()
        if next_due < now - period:  # fell behind (a stall): restart the clock, don't burst
            next_due = now
        self._stopping.wait(max(0.0, next_due - now))
        return next_due

    def _lost(self, failures: int) -> None:
        self.source.close()
        hint = DEVICE_HINT if self.parsed.is_real_camera else "check the source"
        self.last_error = self._gone_error(f"{failures} reads failed in a row", hint)
        log.warning("%s", self.last_error)
        self._grabber_state(CameraState.RECONNECTING)

    def _gone_error(self, why: str, hint: str) -> CameraGone:
        return CameraGone(f"{self.name} {self.url} stopped delivering frames ({why})",
                          hint=f"{hint}; reconnecting automatically", port=self.url)

    # -- doctor ----------------------------------------------------------------------
    def health(self) -> Health:
        """The running camera's health, from what the grabber saw (no I/O)."""
        frame, state, fps = self._latest, self._state, self.fps
        data: dict[str, object] = {"state": state.value, "seq": frame.seq if frame else 0,
                                   "fps": round(fps, 1) if fps else None, "reconnects": self.reconnects}
        if frame is not None:
            data["width"], data["height"] = frame.image.shape[1], frame.image.shape[0]
        if state is CameraState.RUNNING and frame is not None:
            age = time.monotonic() - frame.at
            size = f"{frame.image.shape[1]}x{frame.image.shape[0]}"
            if age > self.stale_after:
                return Health(self.name, self.url, DEGRADED, f"{size}, but no frame for {age:.1f} s",
                              fix=DEVICE_HINT, data=data)
            rate = f" at {fps:.1f} frames/s" if fps else ""
            return Health(self.name, self.url, OK, f"{size}{rate}", data=data)
        if state is CameraState.RUNNING:
            return Health(self.name, self.url, DEGRADED, "opened, no frame yet", fix=DEVICE_HINT, data=data)
        if state is CameraState.RECONNECTING:
            error = self.last_error
            return Health(self.name, self.url, DOWN, error.message if error else "reconnecting",
                          fix=(error.hint if error else DEVICE_HINT), data=data)
        if state is CameraState.ENDED:
            return Health(self.name, self.url, DEGRADED, "the video file played to its end",
                          fix="add loop=1 to the URL", data=data)
        return Health(self.name, self.url, DOWN, "not running", fix="start the camera", data=data)
