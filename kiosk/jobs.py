"""Background work: run a blocking call off the UI thread, hear back on it.

::

    app.jobs.run(reader.read, on_done=self.show_record, on_error=self.unreadable,
                 busy=t("identify.reading"))

- ``fn(*args)`` runs on a worker thread (a small pool). It must not touch a widget.
- ``on_done(result)`` / ``on_error(exc)`` run on the UI thread, through a queued Qt
  signal. Without ``on_error`` the app's friendly error panel shows (what happened,
  what to do next: :meth:`kiosk.app.KioskApp.show_error`).
- ``busy``: a text for the progress indicator, shown while the job runs (None: no
  indicator, for quiet background polls).
- ``watch=True``: a watch that follows a device for as long as a screen waits (the
  locker's scanner while the pickup keypad waits); a function named ``watch_…`` is
  one by default. Any other job running is the kiosk at work for the resident and
  holds the idle countdown (:attr:`Jobs.working`); a watch does not: a resident who
  walks away from a waiting keypad is timed out, and the watch ends with the session.
- ``progress=True`` passes ``report`` to ``fn`` as a keyword: the worker calls
  ``report(value)`` (a fraction, a text, a prompt…) and ``on_progress(value)`` runs
  on the UI thread.
- A job started in one session never calls back into the next: when the session
  ends (:meth:`Jobs.forget`), callbacks of jobs still running are dropped; the
  work itself finishes on its thread (a printer job cannot be un-sent).
  ``keep=True`` is for the app's own jobs that belong to no session (the warm-up).

:meth:`call_soon` hands any callable from any thread to the UI thread: what device
watchers (the card reader, the locker's events) use to report.
"""
from __future__ import annotations

import logging
import threading
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("kiosk.jobs")


@dataclass
class Job:
    number: int
    name: str
    generation: int
    busy: str | None
    on_done: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None
    on_progress: Callable[[Any], None] | None
    watch: bool = False  # follows a device while a screen waits: does not hold the idle countdown
    future: Future | None = field(default=None, repr=False)

    def done(self) -> bool:
        return self.future is not None and self.future.done()


class Jobs(QObject):
    _finished = Signal(object, object, object)  # job, result, error
    _progress = Signal(object, object)  # job, value
    _call = Signal(object)  # a callable to run on the UI thread
    busy_changed = Signal(str)  # the indicator's text; "" when no busy job runs

    def __init__(self, *, workers: int = 4, default_error: Callable[[BaseException], None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kiosk-job")
        self._finished.connect(self._deliver)
        self._progress.connect(self._report)
        self._call.connect(lambda fn: fn())
        self.default_error = default_error
        self.generation = 0
        self._numbers = 0
        self._lock = threading.Lock()
        self.running: dict[int, Job] = {}

    # -- starting ----------------------------------------------------------------------
    def run(self, fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[BaseException], None] | None = None, busy: str | None = None,
            progress: bool = False, on_progress: Callable[[Any], None] | None = None,
            name: str | None = None, keep: bool = False, watch: bool | None = None, **kwargs: Any) -> Job:
        if watch is None:
            watch = getattr(fn, "__name__", "").startswith("watch_")
        with self._lock:
            self._numbers += 1
            job = Job(self._numbers, name or getattr(fn, "__qualname__", repr(fn)),
                      -1 if keep else self.generation, busy, on_done, on_error, on_progress, watch)
        self.running[job.number] = job
        if progress:
            kwargs["report"] = lambda value: self._progress.emit(job, value)

        def work() -> None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # reported on the UI thread, never lost
                log.debug("job %s failed:\n%s", job.name, traceback.format_exc())
                self._finished.emit(job, None, exc)
            else:
                self._finished.emit(job, result, None)

        job.future = self._pool.submit(work)
        self._busy_text()
        return job

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the UI thread (safe from any thread)."""
        self._call.emit(fn)

    # -- the session ends ---------------------------------------------------------------
    def forget(self) -> None:
        """Drop the callbacks of every job still running (their session ended)."""
        self.generation += 1
        for number, job in list(self.running.items()):
            if job.generation != -1:
                job.on_done = job.on_error = job.on_progress = None
                del self.running[number]
        self._busy_text()

    @property
    def busy(self) -> bool:
        return any(job.busy for job in self.running.values())

    @property
    def working(self) -> bool:
        """A job of this session runs that the resident waits for (a face check, a
        print, a door opening): not a watch, not the app's own (``keep``) jobs."""
        return any(not job.watch and job.generation != -1 for job in self.running.values())

    def shutdown(self) -> None:
        self.forget()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- on the UI thread --------------------------------------------------------------
    def _deliver(self, job: Job, result: Any, error: BaseException | None) -> None:
        self.running.pop(job.number, None)
        self._busy_text()
        if job.generation not in (self.generation, -1):
            return
        if error is None:
            if job.on_done is not None:
                job.on_done(result)
            return
        log.warning("job %s failed: %s", job.name, error)
        handler = job.on_error or self.default_error
        if handler is not None:
            handler(error)

    def _report(self, job: Job, value: Any) -> None:
        if job.generation in (self.generation, -1) and job.on_progress is not None:
            job.on_progress(value)

    def _busy_text(self) -> None:
        texts = [job.busy for job in self.running.values() if job.busy]
        self.busy_changed.emit(texts[-1] if texts else "")
