"""Prints a crash interrupted: a real kiosk process (tests/kiosk/flows/interrupted_print.py)
SIGKILLed while it printed leaves its certificate "issued"; the next start settles it
from what the private cupsd says of the job. Completed → printed; still in the printer
→ followed to its end; aborted, cancelled, gone or never queued → print_failed
"interrupted", and nothing comes out of the printer later."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from drivers.printer import JobState, Printer
from drivers.printer.errors import CupsUnreachable
from forms.register import CertificateState
from kiosk.devices import Devices
from kiosk.flows.printing import INTERRUPTED, CertificatePrinting
from kiosk.store import open_store
from tests.kiosk.flows.interrupted_print import PROOF
from tests.locker.conftest import wait_for
from tests.support import ROOT

BLANK = b"%PDF-1.4\n%%EOF\n"  # someone else's job: the fault backend only copies it


class KilledPrint:
    """The kiosk process printing one proof on ``url``, SIGKILLed by :meth:`kill`."""

    def __init__(self, make_config, url: str) -> None:
        self.config = make_config(url)
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.kiosk.flows.interrupted_print",
                                      str(self.config.source)], cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.serial, self.job = "", 0

    def queued(self) -> KilledPrint:
        """Until CUPS has its job (the kiosk is following it now)."""
        line = self.proc.stdout.readline()
        assert line.startswith("queued "), f"{line!r} {self.proc.stderr.read() if not line else ''}"
        self.serial, job = line.split()[1:]
        self.job = int(job)
        return self

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def printing(self, store) -> CertificatePrinting:
        """The print flow as the restarted kiosk opens it."""
        return CertificatePrinting.from_config(self.config, store)


@pytest.fixture
def busy_queue(cupsd, fault_queue):
    """The fault queue busy with someone else's slow job (30 s): a job sent now waits
    queued behind it, its kiosk following it. Yields (queue, that job's id)."""
    cupsd.set_fault("slow", fault_queue)
    printer = Printer(cupsd.url(fault_queue))
    blocker = printer.submit(BLANK, title="someone else's job")
    wait_for(lambda: printer.job(blocker)[0] is JobState.PROCESSING, what="the slow job to start")
    yield fault_queue, blocker
    printer.cancel(blocker)


@pytest.fixture
def killed(make_config, cupsd, busy_queue):
    """A kiosk killed while following its job, queued behind the slow one."""
    queue, blocker = busy_queue
    kiosk = KilledPrint(make_config, cupsd.url(queue)).queued()
    kiosk.kill()
    kiosk.queue, kiosk.blocker, kiosk.printer = queue, blocker, Printer(cupsd.url(queue))
    assert kiosk.printer.job(kiosk.job)[0] is JobState.PENDING
    return kiosk


def events(store, serial: str) -> list[tuple[str, dict]]:
    return [(row["event_type"], json.loads(row["payload"])) for row in store.query(
        "SELECT event_type, payload FROM outbox WHERE aggregate_id = ? ORDER BY seq", [serial])]


def test_a_job_still_in_the_printer_is_followed_at_start_up_and_prints(killed, cupsd):
    devices = Devices(killed.config)  # the kiosk starting again
    try:
        register = devices.printing.register
        assert register.get(killed.serial).state is CertificateState.ISSUED
        cupsd.set_fault("ok", killed.queue)
        devices.settle_prints()  # its warm-up step: the job is still queued, so it is followed
        assert register.get(killed.serial).state is CertificateState.ISSUED
        killed.printer.cancel(killed.blocker)  # the printer gets to it
        wait_for(lambda: register.get(killed.serial).state is CertificateState.PRINTED, timeout=30,
                 what="the followed job to be recorded printed")
        output = cupsd.fault_out / f"{killed.queue}-job_{killed.job}.pdf"
        assert output.read_bytes() == register.kept_pdf(killed.serial).read_bytes()
        assert register.get(killed.serial).prints == 1
        assert [e for e, _ in events(devices.store, killed.serial)] == ["issued", "printed"]
    finally:
        devices.close()


def test_a_followed_job_the_printer_then_stops_is_cancelled_and_not_printed(killed, cupsd):
    with open_store(killed.config) as store:
        printing = killed.printing(store)
        cupsd.set_fault("paper", killed.queue)
        settlement = printing.settle()
        assert [job.job_id for job in settlement.following] == [killed.job] and settlement.settled == 0
        killed.printer.cancel(killed.blocker)
        [result] = printing.follow(settlement.following)
        assert not result.printed and result.record.state is CertificateState.PRINT_FAILED
        assert result.reason.startswith(INTERRUPTED) and "media-empty-error" in result.reason
        assert result.advice.zh == "打印机缺纸，请联系工作人员添纸"
        # cancelled: it never comes out once the paper is in
        assert killed.printer.job(killed.job)[0] is JobState.CANCELED
        assert not (cupsd.fault_out / f"{killed.queue}-job_{killed.job}.pdf").exists()
        killed.printer.resume()


@pytest.mark.parametrize("ending, state", [("ok", JobState.COMPLETED), ("fail", JobState.ABORTED),
                                           ("cancelled", JobState.CANCELED)])
def test_a_job_that_ended_while_the_kiosk_was_down_settles_by_how_it_ended(killed, cupsd, ending, state):
    if ending == "cancelled":  # staff cancelled it at the printer
        killed.printer.cancel(killed.job)
    else:
        cupsd.set_fault(ending, killed.queue)
    killed.printer.cancel(killed.blocker)
    wait_for(lambda: killed.printer.job(killed.job)[0] is state, timeout=30, what=f"the job {state.name}")
    with open_store(killed.config) as store:
        printing = killed.printing(store)
        settlement = printing.settle()
        record = printing.register.get(killed.serial)
        if state is JobState.COMPLETED:
            assert settlement.printed == [killed.serial] and record.state is CertificateState.PRINTED
        else:
            assert settlement.failed == [killed.serial] and record.state is CertificateState.PRINT_FAILED
            assert record.last_error == INTERRUPTED
            assert events(store, killed.serial)[-1] == ("print_failed", {"reason": INTERRUPTED})
        assert settlement.following == [] and printing.settle().settled == 0  # once
    killed.printer.resume()


def test_a_job_whose_id_was_never_recorded_is_found_by_its_title(killed, cupsd):
    """Killed between CUPS taking the job and the register noting its id."""
    with open_store(killed.config) as store:
        with store.atomic() as db:
            db.execute("UPDATE forms_certificates SET job_id = NULL WHERE serial = ?", [killed.serial])
        printing = killed.printing(store)
        cupsd.set_fault("ok", killed.queue)
        settlement = printing.settle()
        assert [job.job_id for job in settlement.following] == [killed.job]
        assert printing.register.get(killed.serial).job_id == killed.job


def test_a_job_cups_no_longer_knows_is_not_printed(killed, cupsd):
    with open_store(killed.config) as store:
        with store.atomic() as db:  # e.g. purged from cupsd's job history
            db.execute("UPDATE forms_certificates SET job_id = 999999 WHERE serial = ?", [killed.serial])
        printing = killed.printing(store)
        assert printing.settle().failed == [killed.serial]
        assert printing.register.get(killed.serial).last_error == INTERRUPTED


@pytest.fixture
def hung_cupsd(tmp_path):
    """A "cupsd" socket that takes connections and never answers: a submit hangs in it."""
    path = Path(f"/tmp/hung-cupsd-{os.getpid()}-{tmp_path.name[-12:]}.sock")  # short: AF_UNIX paths are
    listener = socket.socket(socket.AF_UNIX)                                    # at most 107 bytes
    listener.bind(str(path))
    listener.listen(4)
    yield listener, path
    listener.close()
    path.unlink(missing_ok=True)


def test_a_certificate_killed_before_its_job_was_queued_is_not_printed(make_config, cupsd, fault_queue,
                                                                        hung_cupsd):
    listener, path = hung_cupsd
    kiosk = KilledPrint(make_config, f"cups://{fault_queue}?server={path}")
    listener.settimeout(60)
    connection, _ = listener.accept()  # issued, rendered, now in the submit
    kiosk.kill()
    connection.close()
    config = make_config(cupsd.url(fault_queue))  # the restarted kiosk, its printer answering
    with open_store(config) as store:
        printing = CertificatePrinting.from_config(config, store)
        [record] = printing.register.unsettled()
        assert record.job_id is None
        assert printing.settle().failed == [record.serial]
        after = printing.register.get(record.serial)
        assert after.state is CertificateState.PRINT_FAILED and after.last_error.startswith(INTERRUPTED)
        assert printing.reprint(record.serial).printed  # staff re-print the kept PDF


def test_an_old_job_of_the_same_serial_is_not_taken_for_the_killed_print(make_config, cupsd, fault_queue,
                                                                         hung_cupsd, tmp_path):
    """cupsd keeps its job history when the kiosk's store is wiped (a reinstall numbers
    from 000001 again): the earlier certificate's completed job has the same serial."""
    config = make_config(cupsd.url(fault_queue))
    with open_store(config) as store:
        earlier = CertificatePrinting.from_config(config, store).print_certificate("residence_proof", PROOF)
    assert earlier.printed
    shutil.rmtree(tmp_path / "var")  # the reinstall
    listener, path = hung_cupsd
    kiosk = KilledPrint(make_config, f"cups://{fault_queue}?server={path}")
    listener.settimeout(60)
    connection, _ = listener.accept()
    kiosk.kill()
    connection.close()
    with open_store(config) as store:
        printing = CertificatePrinting.from_config(config, store)
        [record] = printing.register.unsettled()
        assert record.serial == earlier.serial and record.job_id is None
        assert printing.settle().failed == [record.serial]
        assert printing.register.get(record.serial).state is CertificateState.PRINT_FAILED


def test_while_cups_cannot_be_asked_the_certificate_stays_issued(make_config, tmp_path):
    config = make_config(f"cups://kiosk?server={tmp_path}/no-cupsd.sock")
    with open_store(config) as store:
        printing = CertificatePrinting.from_config(config, store)
        certificate = printing.office.issue("residence_proof", PROOF)
        with pytest.raises(CupsUnreachable):
            printing.settle()  # a job it holds could still print once it answers
        assert printing.register.get(certificate.serial).state is CertificateState.ISSUED


def test_a_certificate_issued_to_a_file_is_never_taken_for_an_interrupted_print(make_config, cupsd, fault_queue):
    config = make_config(cupsd.url(fault_queue))
    with open_store(config) as store:
        printing = CertificatePrinting.from_config(config, store)
        certificate = printing.office.issue("residence_proof", PROOF, for_print=False)  # python -m forms render
        assert printing.register.unsettled() == [] and printing.settle().settled == 0
        assert printing.register.get(certificate.serial).state is CertificateState.ISSUED
