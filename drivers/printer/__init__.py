"""The printer driver: CUPS queues through pycups.

- :mod:`~drivers.printer.url`: the ``cups://QUEUE?server=…`` device URL
- :mod:`~drivers.printer.codec`: IPP printer/job attributes ⇄ typed states (pure)
- :mod:`~drivers.printer.device`: :class:`Printer`, the class callers use
- :mod:`~drivers.printer.doctor`: a printer's :class:`drivers.health.Health`
- :mod:`~drivers.printer.errors`: the exception tree
- :mod:`~drivers.printer.sim`: a private cupsd with a PDF printer and a fault printer,
  whose backend is :mod:`~drivers.printer.faultbackend`
- ``python -m drivers.printer``: the diagnostic CLI

Only this package imports pycups (``cups``), and only in ``device``.
"""
from drivers.printer.codec import (Advice, JobOutcome, JobState, Outcome, PrinterState,
                                   PrinterStatus, Reason, Severity)
from drivers.printer.device import Printer, Queue

__all__ = ["Advice", "JobOutcome", "JobState", "Outcome", "Printer", "PrinterState",
           "PrinterStatus", "Queue", "Reason", "Severity"]
