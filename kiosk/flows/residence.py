"""Residence proof (居住证明): pre-filled from the card and the household record,
the resident picks the purpose and the copies, sees the preview, prints.

::

    proof = ResidenceProof.start(resident, households.member(resident.id_number))
    proof.choose_purpose("school")
    proof.print(printing, purpose_text="子女入学")   # blocking; one certificate per copy
    proof.step                                      # PRINTED, or FAILED with proof.advice

A printer fault leaves the certificate recorded as ``print_failed`` (the register
of :mod:`kiosk.flows.printing`); the resident is told the printer's words and may
try again. Plain Python, no Qt.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from enum import Enum
from typing import Any

from kiosk.session import Resident

log = logging.getLogger("kiosk.flows.residence")

TEMPLATE = "residence_proof"
PURPOSES = ("school", "job", "permit", "housing", "bank", "other")


class Step(str, Enum):
    NO_RECORD = "no_record"  # not registered in this community's household records
    INCOMPLETE = "incomplete"  # registered, but the record has no "living since" date to certify
    FORM = "form"  # pre-filled; pick purpose and copies
    PRINTING = "printing"
    PRINTED = "printed"
    FAILED = "failed"  # the printer's fault, explained; not printed


@dataclass
class ResidenceProof:
    resident: Resident
    address: str = ""
    living_since: date | None = None
    purpose: str | None = None
    copies: int = 1
    max_copies: int = 3
    step: Step = Step.FORM
    serials: list[str] = field(default_factory=list)  # printed
    jobs: list[int] = field(default_factory=list)  # their CUPS jobs, completed
    failed_serial: str | None = None
    advice: Any = None  # drivers.printer.Advice (zh, en)
    warning: Any = None  # printed, but the printer warns (toner low)

    @classmethod
    def start(cls, resident: Resident, member: Any, *, max_copies: int = 3) -> "ResidenceProof":
        if member is None:
            return cls(resident, step=Step.NO_RECORD, max_copies=max_copies)
        if member.living_since is None:
            return cls(resident, address=member.address, step=Step.INCOMPLETE, max_copies=max_copies)
        return cls(resident, address=member.address or resident.address, living_since=member.living_since,
                   max_copies=max_copies)

    # -- choices ------------------------------------------------------------------------
    def choose_purpose(self, purpose: str) -> None:
        if purpose not in PURPOSES:
            raise ValueError(f"purpose {purpose!r}: one of {', '.join(PURPOSES)}")
        self.purpose = purpose

    def set_copies(self, copies: int) -> None:
        self.copies = max(1, min(self.max_copies, copies))

    @property
    def ready(self) -> bool:
        return self.step in (Step.FORM, Step.FAILED) and self.purpose is not None

    def data(self, purpose_text: str) -> dict[str, Any]:
        """The template's data (``assets/forms/residence_proof.toml``)."""
        assert self.living_since is not None
        return {"name": self.resident.name, "id_number": self.resident.id_number, "address": self.address,
                "living_since": self.living_since.isoformat(), "purpose": purpose_text}

    # -- printing (blocking: a worker thread) -------------------------------------------
    def print(self, printing: Any, purpose_text: str, *, lang: str = "zh") -> "ResidenceProof":
        if not self.ready:
            raise ValueError("choose the purpose first")
        self.step = Step.PRINTING
        self.advice = self.warning = None
        data = self.data(purpose_text)
        for _ in range(self.copies - len(self.serials)):
            result = printing.print_certificate(TEMPLATE, data, lang=lang)
            if not result.printed:
                self.failed_serial, self.advice = result.serial, result.advice
                self.step = Step.FAILED
                log.warning("residence proof %s not printed: %s", result.serial, result.reason)
                return self
            self.serials.append(result.serial)
            if result.outcome is not None:
                self.jobs.append(result.outcome.job_id)
            self.warning = result.advice or self.warning
        self.step = Step.PRINTED
        return self
