"""The printer a caller uses: one CUPS queue, reached through pycups.

A :class:`Printer` is built from its ``cups://QUEUE?server=…`` URL. It lists queues,
submits PDFs, follows a job to an :class:`~drivers.printer.codec.JobOutcome`, cancels
jobs, and reports the queue as a typed :class:`~drivers.printer.codec.PrinterStatus`
and as a :class:`drivers.health.Health` for ``doctor``. Every pycups exception is
translated here into :mod:`drivers.printer.errors`; nothing above this module sees
pycups.

Each call opens its own connection: a Unix-socket connect costs well under a
millisecond, and pycups connections must not be shared between threads (the kiosk
prints from worker threads).
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn

import cups

from drivers.health import Health
from drivers.printer import codec
from drivers.printer.codec import JobOutcome, JobState, Outcome, PrinterStatus
from drivers.printer.errors import (BadAttributes, CupsUnreachable, JobFailed, JobRejected, JobTimeout,
                                    NoSuchJob, NoSuchQueue, PrinterError)
from drivers.printer.url import PrinterURL, parse_printer_url

log = logging.getLogger(__name__)

_STATUS_ATTRS = ["printer-name", "printer-state", "printer-state-reasons",
                 "printer-state-message", "printer-is-accepting-jobs", "queued-job-count",
                 "device-uri", "printer-info", "printer-make-and-model"]
_JOB_ATTRS = ["job-state", "job-state-reasons", "job-printer-uri"]
# A blocking condition on a printer that is not stopped may be stale: after a resume
# the old "media-empty-error" stays until the backend runs and clears it. Only a
# condition that lasts this long ends a wait as STOPPED.
STALL_PATIENCE = 1.5
MAX_COPIES = 99


@dataclass(frozen=True)
class Queue:
    """One CUPS queue, as ``queues()`` lists it."""

    name: str
    status: PrinterStatus
    device_uri: str = ""
    info: str = ""
    make_and_model: str = ""
    is_default: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "device_uri": self.device_uri, "info": self.info,
                "make_and_model": self.make_and_model, "default": self.is_default,
                **{k: v for k, v in self.status.as_dict().items() if k != "queue"}}


class Printer:
    """One CUPS queue on one cupsd, configured by ``cups://QUEUE?server=…``."""

    def __init__(self, url: str = "cups://") -> None:
        self.url: PrinterURL = parse_printer_url(url)

    def __repr__(self) -> str:
        return f"Printer({self.url.raw!r})"

    @property
    def server(self) -> str:
        """The cupsd this printer talks to, as a person would name it."""
        return self.url.server or cups.getServer()

    @property
    def queue(self) -> str:
        """The queue name; the server's default destination when the URL names none."""
        if self.url.queue:
            return self.url.queue
        default = self._call("find the default queue", lambda c: c.getDefault())
        if not default:
            raise NoSuchQueue(f"{self.url.raw} names no queue and cupsd at {self.server} "
                              f"has no default destination",
                              hint="write cups://QUEUE (see `python -m drivers.printer queues`)",
                              port=self.server)
        return str(default)

    # -- connection and error translation --------------------------------------------

    def _connect(self) -> cups.Connection:
        host, port = self.url.host_port
        kwargs: dict[str, Any] = {}
        if host is not None:
            kwargs["host"] = host
        if port is not None:
            kwargs["port"] = port
        try:
            return cups.Connection(**kwargs)
        except RuntimeError as exc:  # pycups: "failed to connect to server"
            self._unreachable(exc)

    def _unreachable(self, exc: BaseException) -> NoReturn:
        where = self.server
        if where.startswith("/") and not os.path.exists(where):
            seen = f"no socket at {where}"
        else:
            seen = f"{exc}"
        raise CupsUnreachable(
            f"cupsd not reachable at {where} ({seen})",
            hint=("start it: `systemctl start cups`, or for the simulator "
                  "`python -m drivers.printer.sim`; or fix server= in [printer] url"),
            port=where) from exc

    def _call(self, doing: str, op: Callable[[cups.Connection], Any], *,
              conn: cups.Connection | None = None,
              not_found: Callable[[], NoReturn] | None = None) -> Any:
        """Run one pycups operation; translate its errors into ours."""
        try:
            return op(conn or self._connect())
        except cups.IPPError as exc:
            status, text = (exc.args + (None, ""))[:2]
            if status == cups.IPP_NOT_FOUND and not_found is not None:
                not_found()
            if status == cups.IPP_SERVICE_UNAVAILABLE or (
                    status == cups.IPP_INTERNAL_ERROR and "connect" in str(text).lower()):
                self._unreachable(exc)
            raise PrinterError(f"cannot {doing} on {self.server}: {text} (IPP status {status})",
                               port=self.server) from exc
        except cups.HTTPError as exc:
            raise PrinterError(f"cannot {doing} on {self.server}: HTTP status {exc.args[0]}",
                               hint="use the cupsd Unix socket: TCP admin needs a password",
                               port=self.server) from exc
        except RuntimeError as exc:
            self._unreachable(exc)

    def _parsed(self, parse: Callable[..., Any], *args: Any) -> Any:
        """The codec's reading of what cupsd sent; its refusal names this server."""
        try:
            return parse(*args)
        except BadAttributes as exc:
            raise BadAttributes(f"{exc.message} (cupsd at {self.server})", hint=exc.hint,
                                port=self.server) from exc

    def _no_queue(self, queue: str) -> Callable[[], NoReturn]:
        def raise_it() -> NoReturn:
            try:
                known = ", ".join(sorted(self._connect().getPrinters())) or "none"
            except (RuntimeError, cups.IPPError):
                known = "unknown"
            raise NoSuchQueue(f"no queue {queue!r} on cupsd at {self.server} (queues: {known})",
                              hint="fix [printer] url, or create the queue with lpadmin",
                              port=self.server)
        return raise_it

    # -- queues and status ---------------------------------------------------------

    def queues(self) -> list[Queue]:
        """Every queue on this printer's cupsd."""
        conn = self._connect()
        names = self._call("list queues", lambda c: c.getPrinters(), conn=conn)
        default = self._call("find the default queue", lambda c: c.getDefault(), conn=conn)
        result = []
        for name in sorted(names):
            attrs = self._call(f"read queue {name}", lambda c, n=name: c.getPrinterAttributes(
                n, requested_attributes=_STATUS_ATTRS), conn=conn)
            result.append(Queue(
                name, self._parsed(codec.parse_status, name, attrs), str(attrs.get("device-uri", "")),
                str(attrs.get("printer-info", "")), str(attrs.get("printer-make-and-model", "")),
                name == default))
        return result

    def status(self, *, conn: cups.Connection | None = None, queue: str | None = None
               ) -> PrinterStatus:
        """The queue's state and reasons, typed."""
        queue = queue or self.queue
        attrs = self._call(f"read queue {queue}", lambda c: c.getPrinterAttributes(
            queue, requested_attributes=_STATUS_ATTRS), conn=conn, not_found=self._no_queue(queue))
        return self._parsed(codec.parse_status, queue, attrs)

    def health(self) -> Health:
        """What ``python -m drivers doctor`` shows for this printer."""
        from drivers.printer.doctor import printer_health
        return printer_health(self)

    # -- jobs ----------------------------------------------------------------------

    def submit(self, pdf: bytes | str | os.PathLike[str], *, title: str = "kiosk",
               copies: int = 1) -> int:
        """Queue a PDF (bytes or a path); return the CUPS job id."""
        queue = self.queue
        if not isinstance(copies, int) or not 1 <= copies <= MAX_COPIES:
            raise JobRejected(f"copies={copies!r} for {queue}: must be 1..{MAX_COPIES}",
                              port=self.server)
        if isinstance(pdf, (bytes, bytearray, memoryview)):
            data = bytes(pdf)
            _check_pdf(data[:1024], "the document", self.server)
            with tempfile.NamedTemporaryFile(prefix="kiosk-print-", suffix=".pdf") as tmp:
                tmp.write(data)
                tmp.flush()
                return self._print_file(queue, tmp.name, title, copies)
        path = Path(pdf)
        try:
            with path.open("rb") as f:
                head = f.read(1024)
        except OSError as exc:
            raise JobRejected(f"cannot read {path}: {exc.strerror}", port=self.server) from exc
        _check_pdf(head, str(path), self.server)
        return self._print_file(queue, str(path), title, copies)

    def _print_file(self, queue: str, path: str, title: str, copies: int) -> int:
        try:
            job_id = int(self._connect().printFile(queue, path, title, {"copies": str(copies)}))
        except cups.IPPError as exc:
            status, text = (exc.args + (None, ""))[:2]
            if status == cups.IPP_NOT_ACCEPTING:
                raise JobRejected(f"queue {queue} on {self.server} rejects jobs: {text}",
                                  hint=f"`cupsaccept{self.server_option()} {queue}` once "
                                       f"the printer is ready",
                                  port=self.server) from exc
            if status in (cups.IPP_DOCUMENT_FORMAT, cups.IPP_DOCUMENT_FORMAT_ERROR):
                raise JobRejected(f"queue {queue} cannot print this document: {text}",
                                  port=self.server) from exc
            # libcups reports a missing queue here as an internal error ("No such file
            # or directory"): ask for the queue, which raises NoSuchQueue if it is gone.
            self.status(queue=queue)
            raise JobRejected(f"queue {queue} on {self.server} refused the job: {text} "
                              f"(IPP status {status})", port=self.server) from exc
        except RuntimeError as exc:
            self._unreachable(exc)
        log.info("job %s: %s to %s (%d copies)", job_id, title, queue, copies)
        return job_id

    def job(self, job_id: int, *, conn: cups.Connection | None = None
            ) -> tuple[JobState, tuple[str, ...], str]:
        """A job's state, its job-state-reasons, and the queue it is on."""
        def gone() -> NoReturn:
            raise NoSuchJob(f"no job {job_id} on cupsd at {self.server}", port=self.server)
        attrs = self._call(f"read job {job_id}", lambda c: c.getJobAttributes(
            job_id, requested_attributes=_JOB_ATTRS), conn=conn, not_found=gone)
        state, reasons = self._parsed(codec.parse_job_state, attrs)
        queue = str(attrs.get("job-printer-uri", "")).rsplit("/", 1)[-1] or self.queue
        return state, reasons, queue

    def jobs_titled(self, title: str) -> list[int]:
        """The ids of this cupsd's jobs titled ``title``, in any state, oldest first: how
        a submitter that died before it recorded its job's id finds the job again."""
        # pycups keys the answer by job-id, so job-id must be asked for.
        jobs = self._call("list jobs", lambda c: c.getJobs(which_jobs="all",
                                                           requested_attributes=["job-id", "job-name"]))
        return sorted(int(job) for job, attrs in jobs.items() if attrs.get("job-name") == title)

    def wait(self, job_id: int, timeout: float | None = None, *, stop_early: bool = True,
             poll: float = 0.05) -> JobOutcome:
        """Follow a job until it completes, aborts, is canceled, or stops.

        STOPPED returns at once when the queue is stopped (out of paper, jam) or the job
        is held (a backend retrying an offline printer), or when a blocking condition
        lasts :data:`STALL_PATIENCE`; the job stays queued and prints once the printer
        is fixed (and resumed). With ``stop_early=False`` only completed, aborted or
        canceled end the wait: to follow a job after a resume.
        Raises :class:`JobTimeout` when the wait does not end within ``timeout``
        (default: the URL's ``timeout=``).
        """
        timeout = self.url.timeout if timeout is None else timeout
        start = time.monotonic()
        blocked_since: float | None = None
        conn = self._connect()
        queue = self.job(job_id, conn=conn)[2]
        while True:
            # Printer first, then job: cupsd stops a printer and requeues its job in one
            # step, so a job read after a stopped printer is never the stale "processing".
            printer = self.status(conn=conn, queue=queue)
            state, reasons, queue = self.job(job_id, conn=conn)
            now = time.monotonic()
            blocked_since = (blocked_since or now) if printer.blocked else None
            stalled = 0.0 if blocked_since is None else now - blocked_since
            outcome = codec.outcome_for(state, printer, stalled_for=stalled,
                                        patience=STALL_PATIENCE)
            if outcome is Outcome.STOPPED and not stop_early:
                outcome = None
            if outcome is not None:
                if outcome is not Outcome.STOPPED:
                    # the job has ended: the printer read before it may not show yet what the
                    # backend said last (its error message, a toner-low warning)
                    printer = self.status(conn=conn, queue=queue)
                result = JobOutcome(job_id, queue, outcome, state, reasons, printer, now - start)
                log.info("job %s on %s: %s after %.2f s", job_id, queue, outcome.value,
                         result.elapsed)
                return result
            if now - start >= timeout:
                raise JobTimeout(
                    f"job {job_id} on {queue} still {state.name.lower()} after {timeout:g} s",
                    hint=f"see `lpstat{self.server_option()} -o {queue}`; cancel it with "
                         f"`cancel{self.server_option()} {job_id}`",
                    job_id=job_id, port=self.server)
            time.sleep(poll)

    def print_pdf(self, pdf: bytes | str | os.PathLike[str], *, title: str = "kiosk",
                  copies: int = 1, timeout: float | None = None) -> JobOutcome:
        """Submit and follow a job; return its outcome once COMPLETED, else raise JobFailed."""
        outcome = self.wait(self.submit(pdf, title=title, copies=copies), timeout)
        if not outcome.ok:
            advice = outcome.advice()
            raise JobFailed(
                f"job {outcome.job_id} on {outcome.queue} {outcome.outcome.value}"
                + (f": {outcome.printer.message}" if outcome.printer and outcome.printer.message
                   else ""),
                hint=str(advice) if advice else "", outcome=outcome, port=self.server)
        return outcome

    def cancel(self, job_id: int) -> None:
        """Cancel a job; a job that has already ended is left as it is."""
        def gone() -> NoReturn:
            raise NoSuchJob(f"no job {job_id} on cupsd at {self.server}", port=self.server)
        try:
            self._call(f"cancel job {job_id}", lambda c: c.cancelJob(job_id), not_found=gone)
        except PrinterError as exc:
            # CUPS answers "not possible" for a job that already ended: nothing to do.
            if not isinstance(exc.__cause__, cups.IPPError) or \
                    exc.__cause__.args[0] != cups.IPP_NOT_POSSIBLE:
                raise

    def resume(self) -> None:
        """Enable the queue and accept jobs again (after a person fixed the printer)."""
        queue = self.queue
        conn = self._connect()
        self._call(f"enable {queue}", lambda c: c.enablePrinter(queue), conn=conn,
                   not_found=self._no_queue(queue))
        self._call(f"accept jobs on {queue}", lambda c: c.acceptJobs(queue), conn=conn)

    def server_option(self) -> str:
        """The ``-h SERVER`` option CUPS command-line tools need for this server."""
        return f" -h {self.url.server}" if self.url.server else ""


def _check_pdf(head: bytes, what: str, server: str) -> None:
    # PDF allows a little junk before the header; 1024 bytes is what readers accept.
    if b"%PDF-" not in head[:1024]:
        raise JobRejected(f"{what} is not a PDF (no %PDF- header)", port=server)
