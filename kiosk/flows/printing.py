"""Printing a certificate at the kiosk: issue → submit to the printer → wait → record.

    printing = CertificatePrinting.from_config(config, store)
    result = printing.print_certificate("residence_proof", data, lang="zh")
    if not result.printed:
        show(result.advice.zh)          # e.g. 打印机缺纸，请联系工作人员添纸

- The certificate is issued first (:class:`forms.office.CertificateOffice`): the data
  is checked (a bad field raises :class:`forms.errors.DataError` and nothing is
  issued), a serial is taken, the PDF rendered and kept for re-prints.
- The PDF goes to the printer driver (:mod:`drivers.printer`), and the flow follows
  the job. Only a COMPLETED job records the certificate as printed. Anything else
  (out of paper, jam, offline, refused, timed out) records it as ``print_failed``
  with the printer's reason and returns the driver's advice, Chinese and English.
- A job that did not complete is cancelled: a certificate must not come out of the
  printer later, unattended, after staff fixed the paper. Staff re-print it from the
  kept PDF (:meth:`CertificatePrinting.reprint`) while the resident is there.

- The job's id is recorded in the register as soon as CUPS queued it. A kiosk killed
  while it printed leaves the certificate ``issued``; at the next start
  :meth:`CertificatePrinting.settle` asks CUPS about each such job: completed →
  printed; still queued or printing → followed to its end like any print
  (:meth:`CertificatePrinting.follow`); aborted, canceled or unknown to CUPS (and a
  certificate that never got a job) → ``print_failed`` with :data:`INTERRUPTED`, its
  job cancelled if it is still there. The resident's proof then reads "not printed"
  as for any failed print; staff re-print it from the kept PDF.

Blocking and Qt-free: the kiosk UI runs it on a worker thread. ``submit`` and
``finish`` split the two halves for a screen that shows "printing…" in between.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from drivers.printer import Advice, JobOutcome, JobState, Printer
from drivers.printer.errors import JobTimeout, NoSuchJob, PrinterError

if TYPE_CHECKING:  # the certificate office (reportlab, signing) loads when first used, not at start-up
    from appliance.config import Config
    from forms.office import Certificate, CertificateOffice
    from forms.register import CertificateRecord, Register
    from sync.store import Store

log = logging.getLogger(__name__)

# The register's reason for a print a crash interrupted (the kiosk killed, the power cut).
INTERRUPTED = "interrupted: the kiosk restarted while printing"
# Job states in which a job may still come out of the printer: followed after a restart.
STILL_PRINTING = (JobState.PENDING, JobState.HELD, JobState.PROCESSING, JobState.STOPPED)

NOT_KEPT = Advice("该证明的打印文件已超过保留期限，请重新办理",
                  "This certificate's file is no longer kept: please issue it again")


@dataclass(frozen=True)
class PrintJob:
    """A certificate handed to the printer, not yet followed to its end."""

    serial: str
    job_id: int | None  # None: the printer refused it (see failure)
    certificate: Certificate | None = None  # None for a re-print
    failure: PrinterError | None = None
    resumed: bool = False  # a job a crashed kiosk left queued, followed after the restart


@dataclass(frozen=True)
class PrintResult:
    serial: str
    printed: bool
    record: CertificateRecord
    outcome: JobOutcome | None = None  # how the job ended (None: never queued)
    advice: Advice | None = None  # what to tell the person (also a warning after success)
    reason: str = ""  # the printer's reason, as recorded in the register
    certificate: Certificate | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"serial": self.serial, "printed": self.printed, "reason": self.reason,
                "state": self.record.state.value,
                "advice": None if self.advice is None else {"zh": self.advice.zh, "en": self.advice.en},
                "outcome": None if self.outcome is None else self.outcome.as_dict()}


@dataclass
class Settlement:
    """What :meth:`CertificatePrinting.settle` made of the prints a crash interrupted."""

    printed: list[str] = field(default_factory=list)  # their jobs had completed
    failed: list[str] = field(default_factory=list)  # recorded print_failed (INTERRUPTED)
    following: list[PrintJob] = field(default_factory=list)  # still queued or printing: follow them

    @property
    def settled(self) -> int:
        return len(self.printed) + len(self.failed)


class CertificatePrinting:
    def __init__(self, office: CertificateOffice, printer: Printer, *, timeout: float | None = None) -> None:
        self.office = office
        self.printer = printer
        self.timeout = timeout  # None: the printer URL's timeout=

    @classmethod
    def from_config(cls, config: Config, store: Store) -> CertificatePrinting:
        from forms.office import CertificateOffice

        return cls(CertificateOffice.from_config(config, store), Printer(config.printer.url))

    @property
    def register(self) -> Register:
        return self.office.register

    # -- printing ------------------------------------------------------------------
    def print_certificate(self, template_id: str, data: Mapping[str, Any], *, lang: str = "zh",
                          now: datetime | None = None) -> PrintResult:
        """Issue a certificate and print it; waits for the job to end."""
        return self.finish(self.submit(template_id, data, lang=lang, now=now))

    def submit(self, template_id: str, data: Mapping[str, Any], *, lang: str = "zh",
               now: datetime | None = None) -> PrintJob:
        """Issue the certificate and queue its PDF. Data errors raise before a serial is spent."""
        certificate = self.office.issue(template_id, data, lang=lang, now=now)
        return self._submit(certificate.serial, certificate.pdf, certificate)

    def reprint(self, serial: str) -> PrintResult:
        """Staff: print a kept certificate again (after the printer was fixed)."""
        path = self.register.kept_pdf(serial)
        if path is None:
            record = self.register.get(serial)
            if record is None:
                raise KeyError(f"no certificate {serial}")
            return PrintResult(serial, False, record, advice=NOT_KEPT, reason="the PDF is no longer kept")
        return self.finish(self._submit(serial, path.read_bytes(), None))

    def _submit(self, serial: str, pdf: bytes, certificate: Certificate | None) -> PrintJob:
        try:
            job_id = self.printer.submit(pdf, title=_title(self.register.get(serial)))
        except PrinterError as exc:
            return PrintJob(serial, None, certificate, exc)
        # Before anyone waits on it: a kiosk killed from here on is settled by this job.
        self.register.note_job(serial, job_id)
        return PrintJob(serial, job_id, certificate)

    def finish(self, job: PrintJob) -> PrintResult:
        """Follow the job to its end and record what became of the certificate."""
        if job.job_id is None:
            failure = job.failure
            assert failure is not None
            return self._failed(job, None, failure.message, _advice(failure))
        try:
            outcome = self.printer.wait(job.job_id, self.timeout)
        except JobTimeout as exc:
            self._cancel(job.job_id)
            return self._failed(job, None, exc.message, Advice("打印超时，请联系工作人员",
                                                               "Printing timed out: ask staff for help"))
        except PrinterError as exc:
            self._cancel(job.job_id)
            return self._failed(job, None, exc.message, _advice(exc))
        if outcome.ok:
            record = self.register.mark_printed(job.serial)
            warning = outcome.printer.advice() if outcome.printer else None
            return PrintResult(job.serial, True, record, outcome, warning, certificate=job.certificate)
        self._cancel(job.job_id)
        return self._failed(job, outcome, _reason(outcome), outcome.advice())

    def _failed(self, job: PrintJob, outcome: JobOutcome | None, reason: str,
                advice: Advice | None) -> PrintResult:
        if job.resumed:
            reason = f"{INTERRUPTED}; then {reason}"
        record = self.register.mark_print_failed(job.serial, reason)
        log.warning("certificate %s not printed: %s", job.serial, reason)
        return PrintResult(job.serial, False, record, outcome, advice, reason, job.certificate)

    def _cancel(self, job_id: int) -> None:
        try:
            self.printer.cancel(job_id)
        except PrinterError as exc:  # the job is what we stop caring about; say so, go on
            log.warning("could not cancel print job %s: %s", job_id, exc)

    # -- after a crash -------------------------------------------------------------
    def settle(self) -> Settlement:
        """Settle the certificates a killed kiosk left ``issued`` (run at start-up, before
        anything prints) from what CUPS says of their jobs. Quick: it follows nothing;
        :meth:`follow` the ``following`` jobs afterwards (blocking). Raises the printer's
        error (cupsd not reachable …) and leaves the rest ``issued`` for the next try when
        CUPS cannot be asked: a job it still holds could print once it answers again."""
        settlement = Settlement()
        for record in self.register.unsettled():
            job_id = record.job_id
            if job_id is None:  # killed before the job's id was recorded: is there one?
                found = self.printer.jobs_titled(_title(record))
                job_id = found[-1] if found else None
                if job_id is not None:
                    self.register.note_job(record.serial, job_id)
            if job_id is None:
                self.register.mark_print_failed(record.serial, f"{INTERRUPTED} (before its print job was queued)")
                settlement.failed.append(record.serial)
                continue
            try:
                state = self.printer.job(job_id)[0]
            except NoSuchJob:
                state = None  # purged from the history: nobody can say it printed
            if state is JobState.COMPLETED:
                self.register.mark_printed(record.serial)
                settlement.printed.append(record.serial)
            elif state in STILL_PRINTING:
                settlement.following.append(PrintJob(record.serial, job_id, resumed=True))
            else:  # aborted, canceled, unknown: make sure it never comes out later
                if state is not None:
                    self._cancel(job_id)
                self.register.mark_print_failed(record.serial, INTERRUPTED)
                settlement.failed.append(record.serial)
        if settlement.settled or settlement.following:
            log.warning("prints interrupted by a restart: %d printed, %d not printed, %d still in the printer",
                        len(settlement.printed), len(settlement.failed), len(settlement.following))
        return settlement

    def follow(self, jobs: list[PrintJob]) -> list[PrintResult]:
        """Follow the jobs :meth:`settle` found still in the printer to their end, as
        :meth:`finish` does: completed → printed, anything else cancelled and recorded
        ``print_failed`` (the printer's reason after :data:`INTERRUPTED`). Blocking."""
        return [self.finish(job) for job in jobs]

    def purge(self) -> list[str]:
        """Delete kept PDFs past their keeping time (run daily, and at start-up)."""
        return self.register.purge()


def _title(record: CertificateRecord) -> str:
    """The CUPS job title of a certificate's print: how settle finds a job whose id was
    never recorded. The serial alone is not enough: cupsd keeps its job history across
    a wiped store (a reinstall numbers from 000001 again), and an old completed job of
    the same serial must not pass for this certificate. Its data's digest tells them apart."""
    return f"certificate {record.serial} {record.digest[:12]}"


def _reason(outcome: JobOutcome) -> str:
    """The printer's own words: its reasons (media-empty-error) and message (Out of paper)."""
    parts = [f"job {outcome.outcome.value}"]
    printer = outcome.printer
    if printer is not None:
        keywords = [c.keyword for c in printer.conditions]
        if keywords:
            parts.append(", ".join(keywords))
        if printer.message:
            parts.append(printer.message)
    if outcome.reasons:
        parts.append("job: " + ", ".join(outcome.reasons))
    return "; ".join(parts)


UNUSABLE = Advice("打印机暂时无法使用，请联系工作人员", "The printer cannot be used right now: ask staff for help")


def _advice(exc: PrinterError) -> Advice:
    """Advice for a printer that refused the job or cannot be reached (the details,
    which are for staff, go into the register as the reason)."""
    outcome = getattr(exc, "outcome", None)
    advice = outcome.advice() if outcome is not None else None
    return advice or UNUSABLE
