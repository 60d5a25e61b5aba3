"""Elderly subsidy (高龄补贴): eligibility, this year's certification, recent
payments; the yearly certification done now, with the face check just passed
(liveness included) as the proof; the result printed.

::

    check = SubsidyCheck.start(resident, subsidies, decision=session.decision)
    check.certify(subsidies)            # recorded + an outbox event, one transaction
    check.print(printing)               # the result certificate (elderly_subsidy)

Only a resident verified by the face check with liveness may certify here; one
confirmed by staff is sent to the counter (the office's rule: staff certify there,
with the paper form). Plain Python, no Qt.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from kiosk.session import Resident

log = logging.getLogger("kiosk.flows.subsidy")
TEMPLATE = "elderly_subsidy"


class Step(str, Enum):
    NOT_LISTED = "not_listed"  # no subsidy record: not on the list (or not yet 80)
    STATUS = "status"  # eligibility, certification, payments
    CERTIFIED = "certified"  # done just now
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"


@dataclass
class SubsidyCheck:
    resident: Resident
    status: Any  # kiosk.store.subsidy.SubsidyStatus
    decision: dict | None = None  # the face check's record (no picture)
    step: Step = Step.STATUS
    just_certified: bool = False
    serial: str | None = None
    job: int | None = None
    advice: Any = None

    @classmethod
    def start(cls, resident: Resident, subsidies: Any, *, decision: dict | None = None,
              today: date | None = None) -> "SubsidyCheck":
        status = subsidies.status(resident.id_number, resident.birth_date, today)
        step = Step.NOT_LISTED if status.record is None else Step.STATUS
        return cls(resident, status, decision, step)

    @property
    def face_proof(self) -> bool:
        """The face check with liveness passed in this session."""
        return (self.resident.verified_by == "face" and bool(self.decision) and bool(self.decision.get("matched"))
                and self.decision.get("liveness") == "checked")

    @property
    def can_certify_here(self) -> bool:
        return self.status.can_certify and self.face_proof

    def certify(self, subsidies: Any, today: date | None = None) -> "SubsidyCheck":
        if not self.can_certify_here:
            raise ValueError("certification here needs an eligible record not yet certified this year, "
                             "and the face check with liveness passed in this session")
        subsidies.certify(self.status, self.resident.id_number, method="kiosk_face",
                          score=self.resident.face_score, decision=self.decision, today=today)
        self.status = subsidies.status(self.resident.id_number, self.resident.birth_date, today)
        self.just_certified = True
        self.step = Step.CERTIFIED
        log.info("subsidy certified for %s (%s)", self.resident.masked_id, self.status.year)
        return self

    def data(self) -> dict[str, Any]:
        s = self.status
        method = "kiosk_face" if self.just_certified or self.resident.verified_by == "face" else "counter"
        data: dict[str, Any] = {"name": self.resident.name, "id_number": self.resident.id_number, "age": s.age,
                                "year": s.year, "result": "eligible" if s.eligible else "not_eligible",
                                "method": method}
        if s.certified_on is not None:
            data["certified_on"] = s.certified_on.isoformat()
        if s.monthly_amount:
            data["monthly_amount"] = s.monthly_amount
        if s.due is not None and s.certified_on is not None:
            data["next_due"] = s.due.isoformat()
        payments = [{"month": p.month, "amount": p.amount, "status": p.status}
                    for p in s.payments if p.status in ("paid", "pending", "withheld") and p.month and p.amount]
        if payments:
            data["payments"] = payments
        return data

    def print(self, printing: Any, *, lang: str = "zh") -> "SubsidyCheck":
        result = printing.print_certificate(TEMPLATE, self.data(), lang=lang)
        self.serial = result.serial
        if result.printed:
            self.job = result.outcome.job_id if result.outcome is not None else None
            self.step = Step.PRINTED
        else:
            self.advice = result.advice
            self.step = Step.PRINT_FAILED
        return self
