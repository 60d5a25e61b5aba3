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

Blocking and Qt-free: the kiosk UI runs it on a worker thread. ``submit`` and
``finish`` split the two halves for a screen that shows "printing…" in between.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from drivers.printer import Advice, JobOutcome, Printer
from drivers.printer.errors import JobTimeout, PrinterError

if TYPE_CHECKING:  # the certificate office (reportlab, signing) loads when first used, not at start-up
    from appliance.config import Config
    from forms.office import Certificate, CertificateOffice
    from forms.register import CertificateRecord, Register
    from sync.store import Store

log = logging.getLogger(__name__)

NOT_KEPT = Advice("该证明的打印文件已超过保留期限，请重新办理",
                  "This certificate's file is no longer kept: please issue it again")


@dataclass(frozen=True)
class PrintJob:
    """A certificate handed to the printer, not yet followed to its end."""

    serial: str
    job_id: int | None  # None: the printer refused it (see failure)
    certificate: Certificate | None = None  # None for a re-print
    failure: PrinterError | None = None


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
            job_id = self.printer.submit(pdf, title=f"certificate {serial}")
        except PrinterError as exc:
            return PrintJob(serial, None, certificate, exc)
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
        record = self.register.mark_print_failed(job.serial, reason)
        log.warning("certificate %s not printed: %s", job.serial, reason)
        return PrintResult(job.serial, False, record, outcome, advice, reason, job.certificate)

    def _cancel(self, job_id: int) -> None:
        try:
            self.printer.cancel(job_id)
        except PrinterError as exc:  # the job is what we stop caring about; say so, go on
            log.warning("could not cancel print job %s: %s", job_id, exc)

    def purge(self) -> list[str]:
        """Delete kept PDFs past their keeping time (run daily, and at start-up)."""
        return self.register.purge()


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
