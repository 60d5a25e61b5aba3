"""The certificate register: serial numbers and what became of each certificate, in
the appliance's store (:mod:`sync.store`), with an outbox event for every change.

Serial numbers are per issuing device and never reused: the next number is taken
and the certificate recorded, with its signed code, in ONE transaction of the store
(WAL, synchronous=FULL) before anything is rendered or printed. A crash at any later
point (SIGKILL, power cut) leaves a gap in the numbers, never a second certificate
with the same serial. A number is handed out only once its transaction is durable.

States::

    issued ──▶ printed ◀──┐      (a staff re-print of a printed one stays printed)
       │         ▲        │
       └──▶ print_failed ─┘      (the printer's reason is kept; a re-print may succeed)

A certificate issued to be printed (``for_print``; ``python -m forms render`` issues
to a file) records the CUPS job of its latest print (``job_id``) as soon as the job is
queued. A kiosk killed while it printed leaves the certificate ``issued``: at its
next start :meth:`Register.unsettled` lists such certificates and the print flow
settles each from what CUPS says of that job (:meth:`kiosk.flows.printing.CertificatePrinting.settle`).

The PDF of each certificate is kept in ``DATA_DIR/certificates/SERIAL.pdf`` (mode
0600: it carries personal data) until ``keep_until`` for a staff re-print, then
:meth:`Register.purge` deletes it. The table holds no names or ID numbers: template,
times, the digest and the code only; so do the events.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path

from sqlite_utils import Database

from forms import stamp as stamps
from forms.stamp import Signer, Stamp
from sync.store import Migrations, Store, append_event

log = logging.getLogger(__name__)

migrations = Migrations("forms")


@migrations.add("0001_certificates")
def _certificates(db: Database) -> None:
    db.execute("""
        CREATE TABLE forms_serials (
            device TEXT PRIMARY KEY,
            last_number INTEGER NOT NULL
        )""")
    db.execute("""
        CREATE TABLE forms_certificates (
            serial TEXT PRIMARY KEY,            -- device-number, as printed
            device TEXT NOT NULL,
            number INTEGER NOT NULL,
            template TEXT NOT NULL,
            lang TEXT NOT NULL,
            issued_at TEXT NOT NULL,            -- the issuer's local time, ISO 8601 with offset
            expires TEXT,                       -- the last valid day, or NULL
            digest TEXT NOT NULL,               -- hex SHA-256 of salt + canonical data
            code TEXT NOT NULL,                 -- the QR's signed code (no personal data)
            state TEXT NOT NULL,
            pdf_path TEXT,                      -- the kept PDF; NULL once purged
            keep_until TEXT NOT NULL,           -- UTC, ISO 8601
            prints INTEGER NOT NULL DEFAULT 0,
            printed_at TEXT,
            last_error TEXT,                    -- the printer's reason of the last failure
            UNIQUE (device, number)
        )""")
    db.execute("CREATE INDEX forms_certificates_keep ON forms_certificates (keep_until) WHERE pdf_path IS NOT NULL")


@migrations.add("0002_print_jobs")
def _print_jobs(db: Database) -> None:
    # The CUPS job of the certificate's latest print (NULL: none queued yet), and whether
    # it was issued to be printed at all: a certificate a killed kiosk left "issued" is
    # settled at the next start from what CUPS says of its job.
    db.execute("ALTER TABLE forms_certificates ADD COLUMN job_id INTEGER")
    db.execute("ALTER TABLE forms_certificates ADD COLUMN for_print INTEGER NOT NULL DEFAULT 1")


class CertificateState(Enum):
    ISSUED = "issued"
    PRINTED = "printed"
    PRINT_FAILED = "print_failed"


TRANSITIONS = {
    CertificateState.ISSUED: {CertificateState.PRINTED, CertificateState.PRINT_FAILED},
    CertificateState.PRINT_FAILED: {CertificateState.PRINTED, CertificateState.PRINT_FAILED},
    CertificateState.PRINTED: {CertificateState.PRINTED},
}


class RegisterError(Exception):
    """A register call that cannot be done (unknown serial, impossible transition)."""


@dataclass(frozen=True)
class CertificateRecord:
    serial: str
    device: str
    number: int
    template: str
    lang: str
    issued_at: str
    expires: str | None
    digest: str
    code: str
    state: CertificateState
    pdf_path: str | None
    keep_until: str
    prints: int
    printed_at: str | None
    last_error: str | None
    job_id: int | None = None  # the CUPS job of its latest print
    for_print: bool = True  # False: issued to a file (python -m forms render), never printed here


Listener = Callable[[CertificateRecord, CertificateState], None]


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


class Register:
    """Serials and certificate records of one device, in ``store``."""

    def __init__(self, store: Store, device_id: str, *, pdf_dir: str | os.PathLike,
                 keep_days: int = 7) -> None:
        self.store = store
        self.device_id = device_id
        self.pdf_dir = Path(pdf_dir)
        self.keep_days = keep_days
        self.listeners: list[Listener] = []  # called after a state change is committed

    # -- issuing -------------------------------------------------------------------
    def issue(self, signer: Signer, *, template: str, lang: str, canonical: bytes, issued_at: datetime,
              valid_days: int = 0, salt: bytes | None = None, for_print: bool = True) -> Stamp:
        """Take the next serial number, sign the stamp and record it: one transaction.
        ``for_print=False``: issued to a file, never printed here (not settled at start-up)."""
        if signer.device_id != self.device_id:
            raise RegisterError(f"the key is {signer.device_id}'s, this register is {self.device_id}'s")
        with self.store.atomic() as db:
            row = db.execute("INSERT INTO forms_serials (device, last_number) VALUES (?, 1) "
                             "ON CONFLICT (device) DO UPDATE SET last_number = last_number + 1 "
                             "RETURNING last_number", [self.device_id]).fetchone()
            number = row[0]
            stamp = stamps.make(signer, template=template, number=number, canonical=canonical,
                                issued_at=issued_at, valid_days=valid_days, salt=salt)
            keep_until = _utc(issued_at + timedelta(days=self.keep_days))
            db["forms_certificates"].insert({
                "serial": stamp.serial, "device": self.device_id, "number": number, "template": template,
                "lang": lang, "issued_at": stamp.issued_at.isoformat(),
                "expires": stamp.expires.isoformat() if stamp.expires else None,
                "digest": stamp.digest.hex(), "code": stamp.text, "state": CertificateState.ISSUED.value,
                "pdf_path": None, "keep_until": keep_until, "prints": 0, "for_print": int(for_print)})
            append_event(db, aggregate_type="certificate", aggregate_id=stamp.serial, event_type="issued",
                         payload={"template": template, "device": self.device_id, "number": number,
                                  "issued_at": stamp.issued_at.isoformat(), "expires": stamp.expires.isoformat()
                                  if stamp.expires else None, "digest": stamp.digest.hex(), "code": stamp.text})
        log.info("certificate %s issued (%s)", stamp.serial, template)
        return stamp

    def keep_pdf(self, serial: str, pdf: bytes) -> Path:
        """Write the certificate's PDF for re-prints (0600, durable) and note where."""
        self.pdf_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = self.pdf_dir / f"{serial}.pdf"
        temp = path.with_name(f".{path.name}.tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pdf)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
        with self.store.atomic() as db:
            updated = db.execute("UPDATE forms_certificates SET pdf_path = ? WHERE serial = ?",
                                 [str(path), serial]).rowcount
        if not updated:
            path.unlink()
            raise RegisterError(f"no certificate {serial} in the register")
        return path

    # -- printing --------------------------------------------------------------------
    def note_job(self, serial: str, job_id: int) -> None:
        """Record the CUPS job just queued for ``serial`` (durable before anyone waits on it)."""
        with self.store.atomic() as db:
            updated = db.execute("UPDATE forms_certificates SET job_id = ? WHERE serial = ?",
                                 [job_id, serial]).rowcount
        if not updated:
            raise RegisterError(f"no certificate {serial} in the register")

    def unsettled(self) -> list[CertificateRecord]:
        """Certificates issued to be printed whose print never ended here (oldest first):
        after a crash, the prints it interrupted."""
        rows = self.store.query("SELECT * FROM forms_certificates WHERE state = ? AND for_print = 1 "
                                "AND device = ? ORDER BY number", [CertificateState.ISSUED.value, self.device_id])
        return [_record(row) for row in rows]

    def mark_printed(self, serial: str, *, now: datetime | None = None) -> CertificateRecord:
        now = now or datetime.now(timezone.utc)
        return self._set_state(serial, CertificateState.PRINTED, {"printed_at": _utc(now), "last_error": None},
                               {"printed_at": _utc(now)}, count_print=True)

    def mark_print_failed(self, serial: str, reason: str) -> CertificateRecord:
        """Record a failed print. A certificate printed before stays printed."""
        record = self.get(serial)
        if record is not None and record.state is CertificateState.PRINTED:
            with self.store.atomic() as db:
                db.execute("UPDATE forms_certificates SET last_error = ? WHERE serial = ?", [reason, serial])
                append_event(db, aggregate_type="certificate", aggregate_id=serial, event_type="reprint_failed",
                             payload={"reason": reason})
            return self._require(serial)
        return self._set_state(serial, CertificateState.PRINT_FAILED, {"last_error": reason}, {"reason": reason})

    def _set_state(self, serial: str, new: CertificateState, columns: dict, payload: dict, *,
                   count_print: bool = False) -> CertificateRecord:
        with self.store.atomic() as db:
            row = db.execute("SELECT state FROM forms_certificates WHERE serial = ?", [serial]).fetchone()
            if row is None:
                raise RegisterError(f"no certificate {serial} in the register")
            old = CertificateState(row[0])
            if new not in TRANSITIONS[old]:
                raise RegisterError(f"certificate {serial}: {old.value} → {new.value} is not a transition")
            sets = ", ".join(f"{k} = ?" for k in columns) + ", state = ?" + (", prints = prints + 1"
                                                                             if count_print else "")
            db.execute(f"UPDATE forms_certificates SET {sets} WHERE serial = ?",
                       [*columns.values(), new.value, serial])
            append_event(db, aggregate_type="certificate", aggregate_id=serial, event_type=new.value,
                         payload=payload)
        record = self._require(serial)
        log.info("certificate %s: %s → %s", serial, old.value, new.value)
        for listener in list(self.listeners):
            listener(record, old)
        return record

    # -- reading ---------------------------------------------------------------------
    def get(self, serial: str) -> CertificateRecord | None:
        rows = self.store.query("SELECT * FROM forms_certificates WHERE serial = ?", [serial])
        return _record(rows[0]) if rows else None

    def _require(self, serial: str) -> CertificateRecord:
        record = self.get(serial)
        if record is None:
            raise RegisterError(f"no certificate {serial} in the register")
        return record

    def last_number(self) -> int:
        rows = self.store.query("SELECT last_number FROM forms_serials WHERE device = ?", [self.device_id])
        return rows[0]["last_number"] if rows else 0

    def kept_pdf(self, serial: str, *, now: datetime | None = None) -> Path | None:
        """The kept PDF of ``serial`` if it is still within its keeping time."""
        record = self.get(serial)
        now = now or datetime.now(timezone.utc)
        if record is None or not record.pdf_path or record.keep_until < _utc(now):
            return None
        path = Path(record.pdf_path)
        return path if path.exists() else None

    def purge(self, *, now: datetime | None = None) -> list[str]:
        """Delete the PDFs past their keeping time; the serials purged."""
        now = now or datetime.now(timezone.utc)
        rows = self.store.query("SELECT serial, pdf_path FROM forms_certificates "
                                "WHERE pdf_path IS NOT NULL AND keep_until < ?", [_utc(now)])
        for row in rows:
            try:
                Path(row["pdf_path"]).unlink()
            except FileNotFoundError:
                pass
            with self.store.atomic() as db:
                db.execute("UPDATE forms_certificates SET pdf_path = NULL WHERE serial = ?", [row["serial"]])
        if rows:
            log.info("deleted %d kept certificate PDF(s) past their keeping time", len(rows))
        return [row["serial"] for row in rows]


def _record(row: dict) -> CertificateRecord:
    return CertificateRecord(**{**row, "state": CertificateState(row["state"]), "for_print": bool(row["for_print"])})
