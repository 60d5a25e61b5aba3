"""Errors raised by the printer driver (CUPS through pycups).

Each one subclasses the matching :mod:`drivers.errors` class, so a caller can catch
printer errors only (``PrinterError``) or every driver error at once::

    PrinterError (DriverError)         base of everything the printer driver raises
    ├── CupsUnreachable (PortUnavailable)   no cupsd answers at the configured server
    ├── NoSuchQueue (ConfigError)           cupsd answers, but has no such queue
    ├── NoSuchJob (DeviceFault)             cupsd answers, but has no job of that id
    │                                        (never submitted there, or purged from its history)
    ├── JobRejected (DeviceFault)           cupsd refused the job: queue rejecting
    │                                        jobs (cupsreject), or not a PDF
    ├── JobFailed (DeviceFault)             the job ended aborted or canceled, or is
    │                                        stuck behind a stopped printer
    ├── JobTimeout (DeviceTimeout)          the job did not finish in time
    ├── BadAttributes (FrameError)          cupsd's printer or job attributes cannot be
    │                                        read (a state that is no IPP state, a wrong
    │                                        type, job-state missing): never acted on
    └── SimUnavailable (ConfigError)        the private cupsd of drivers.printer.sim
                                             cannot start (cupsd not installed, ...)

``port`` is the CUPS server (socket path or host), as for serial drivers.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.errors import ConfigError, DeviceFault, DeviceTimeout, DriverError, FrameError, PortUnavailable

if TYPE_CHECKING:
    from drivers.printer.codec import JobOutcome


class PrinterError(DriverError):
    """Base of every printer driver error."""


class CupsUnreachable(PrinterError, PortUnavailable):
    """No cupsd answers at the configured server (socket missing, daemon stopped)."""


class NoSuchQueue(PrinterError, ConfigError):
    """cupsd answers but has no queue of that name."""


class NoSuchJob(PrinterError, DeviceFault):
    """cupsd answers but has no job of that id (never there, or purged from its history)."""


class JobRejected(PrinterError, DeviceFault):
    """cupsd refused the job (the queue rejects jobs) or the document is not a PDF."""


class JobFailed(PrinterError, DeviceFault):
    """The job did not complete; ``outcome`` says how it ended and why."""

    def __init__(self, message: str, *, outcome: "JobOutcome", hint: str = "",
                 port: str = "") -> None:
        super().__init__(message, hint=hint, port=port)
        self.outcome = outcome


class JobTimeout(PrinterError, DeviceTimeout):
    """The job was still pending or printing when the timeout ran out."""

    def __init__(self, message: str, *, job_id: int, hint: str = "", port: str = "") -> None:
        super().__init__(message, hint=hint, port=port)
        self.job_id = job_id


class BadAttributes(PrinterError, FrameError):
    """Printer or job attributes that are not what IPP allows: the codec refuses them
    rather than guess a state (an unknown printer-state is not "idle")."""


class SimUnavailable(PrinterError, ConfigError):
    """The private cupsd launcher cannot run here (cupsd missing, no permission)."""
