"""The Printer class against a real private cupsd: cups-pdf and the fault printer."""
from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import pytest

from drivers.health import DEGRADED, DOWN, OK
from drivers.printer import JobState, Outcome, Printer, PrinterState, Reason, Severity
from drivers.printer.errors import (CupsUnreachable, JobFailed, JobRejected, JobTimeout,
                                    NoSuchQueue, PrinterError)
from tests.drivers.printer.conftest import make_pdf, pdf_pages, pdf_text

PAPER_ZH = "打印机缺纸，请联系工作人员添纸"


def test_pdf_printer_prints_a_real_pdf(cupsd, pdf_printer, proof_pdf, tmp_path, artifacts):
    sent = tmp_path / "proof.pdf"
    sent.write_bytes(proof_pdf)
    # cups-pdf re-renders through Ghostscript and drops the text layer: the words are
    # checked on the PDF we send, the printed file for existence and pages.
    text = pdf_text(sent)
    assert "Residence proof" in text and "KIOSK-0001" in text
    started = time.monotonic()
    outcome = pdf_printer.print_pdf(proof_pdf, title="residence proof", timeout=20)
    elapsed = time.monotonic() - started
    assert outcome.ok and outcome.job_state is JobState.COMPLETED
    printed = cupsd.pdf_output(outcome.job_id)
    assert pdf_pages(printed) == 2
    shutil.copy(sent, artifacts / "sent.pdf")
    shutil.copy(printed, artifacts / "printed.pdf")
    print(f"cups-pdf job completed in {elapsed:.2f} s")


def test_pdf_printer_accepts_a_path(cupsd, pdf_printer, tmp_path):
    path = tmp_path / "one.pdf"
    path.write_bytes(make_pdf("From a path"))
    outcome = pdf_printer.wait(pdf_printer.submit(path, title="from path"), 20)
    assert outcome.outcome is Outcome.COMPLETED
    assert pdf_pages(cupsd.pdf_output(outcome.job_id)) == 1


def test_fault_printer_prints_with_copies_and_title(fault, tmp_path):
    path = tmp_path / "two.pdf"
    path.write_bytes(make_pdf("Two copies"))
    outcome = fault.printer.print_pdf(path, title="proof 42", copies=2, timeout=10)
    assert outcome.ok
    assert fault.output(outcome.job_id).read_bytes() == path.read_bytes()
    meta = fault.meta(outcome.job_id)
    assert (meta["copies"], meta["title"]) == ("2", "proof 42")
    assert fault.printer.health().state == OK


def test_out_of_paper_stops_the_job_until_refilled_and_resumed(fault, proof_pdf):
    fault.set("paper")
    job = fault.printer.submit(proof_pdf, title="paper out")
    outcome = fault.printer.wait(job, 10)
    assert outcome.outcome is Outcome.STOPPED
    assert outcome.job_state in (JobState.PENDING, JobState.STOPPED)
    status = fault.printer.status()
    assert status.state is PrinterState.STOPPED and status.blocked
    assert [c.reason for c in status.conditions] == [Reason.MEDIA_EMPTY]
    assert status.advice().zh == PAPER_ZH and outcome.advice().zh == PAPER_ZH
    health = fault.printer.health()
    assert health.state == DOWN and "media-empty-error" in health.detail
    assert f"cupsenable -h {fault.sim.socket} {fault.name}" in health.fix
    assert health.data["status"]["advice"]["zh"] == PAPER_ZH
    assert not fault.output(job).exists()

    fault.set("ok")  # staff refill the paper ...
    fault.printer.resume()  # ... and resume the queue
    done = fault.printer.wait(job, 10, stop_early=False)
    assert done.outcome is Outcome.COMPLETED
    assert fault.output(job).read_bytes() == proof_pdf
    assert fault.printer.status().conditions == ()  # the backend cleared the sticky reason
    assert fault.printer.health().state == OK


def test_print_pdf_raises_job_failed_on_a_stopped_printer(fault, proof_pdf):
    fault.set("paper")
    with pytest.raises(JobFailed) as caught:
        fault.printer.print_pdf(proof_pdf, timeout=10)
    assert caught.value.outcome.outcome is Outcome.STOPPED
    assert PAPER_ZH in caught.value.hint


def test_toner_low_is_a_warning_not_an_error(fault, proof_pdf):
    fault.set("toner")
    outcome = fault.printer.print_pdf(proof_pdf, timeout=10)
    assert outcome.ok
    status = outcome.printer
    # idle, or still "printing" for a moment after CUPS reported the job completed
    assert status.state is not PrinterState.STOPPED and status.usable
    [condition] = status.conditions
    assert (condition.reason, condition.severity, condition.blocking) == \
        (Reason.TONER_LOW, Severity.WARNING, False)
    health = fault.printer.health()
    assert health.state == DEGRADED and "Toner is low" in health.fix


@pytest.mark.parametrize("mode,reason,zh", [
    ("jam", Reason.MEDIA_JAM, "卡纸"),
    ("door", Reason.DOOR_OPEN, "舱门"),
])
def test_other_stopping_faults(fault, proof_pdf, mode, reason, zh):
    fault.set(mode)
    outcome = fault.printer.wait(fault.printer.submit(proof_pdf), 10)
    assert outcome.outcome is Outcome.STOPPED
    assert [c.reason for c in outcome.printer.conditions] == [reason]
    assert zh in outcome.advice().zh


def test_offline_printer_holds_the_job_and_retries(cupsd, fault, proof_pdf):
    fault.set("offline")  # backend exit 6: cupsd holds the job and retries it later
    job = fault.printer.submit(proof_pdf)
    outcome = fault.printer.wait(job, 10)
    assert outcome.outcome is Outcome.STOPPED and outcome.job_state is JobState.HELD
    assert "离线" in outcome.advice().zh
    fault.set("ok")  # the printer is back
    # cupsd retries by itself (JobRetryInterval 2 s, but its timers wake only every
    # ~10 s); releasing the held job, as a maintainer would, retries it at once.
    cupsd.run_tool("lp", "-i", str(job), "-H", "resume")
    started = time.monotonic()
    assert fault.printer.wait(job, 15, stop_early=False).outcome is Outcome.COMPLETED
    assert time.monotonic() - started < 3


def test_backend_cancel_and_failure(fault, proof_pdf):
    fault.set("cancel")
    canceled = fault.printer.wait(fault.printer.submit(proof_pdf), 10)
    assert canceled.outcome is Outcome.CANCELED
    fault.set("fail")  # fault queues abort the job on a backend failure
    with pytest.raises(JobFailed) as caught:
        fault.printer.print_pdf(proof_pdf, timeout=10)
    assert caught.value.outcome.outcome is Outcome.ABORTED
    assert "打印失败" in caught.value.hint


def test_timeout_then_cancel(fault, proof_pdf):
    fault.set("slow")
    job = fault.printer.submit(proof_pdf)
    with pytest.raises(JobTimeout) as caught:
        fault.printer.wait(job, 0.5)
    assert caught.value.job_id == job and f"cancel -h {fault.sim.socket} {job}" in caught.value.hint
    started = time.monotonic()
    fault.printer.cancel(job)
    assert fault.printer.wait(job, 5).outcome is Outcome.CANCELED
    assert time.monotonic() - started < 2
    fault.printer.cancel(job)  # already ended: nothing to do, no error


def test_rejecting_queue_raises_the_typed_rejected_error(cupsd, fault, proof_pdf):
    cupsd.run_tool("cupsreject", fault.name)
    with pytest.raises(JobRejected) as caught:
        fault.printer.submit(proof_pdf)
    assert "rejects jobs" in caught.value.message
    assert f"cupsaccept -h {cupsd.socket} {fault.name}" in caught.value.hint
    health = fault.printer.health()
    assert health.state == DOWN and f"cupsaccept -h {cupsd.socket} {fault.name}" in health.fix
    fault.printer.resume()
    assert fault.printer.print_pdf(proof_pdf, timeout=10).ok


def test_missing_queue(cupsd, proof_pdf):
    printer = Printer(cupsd.url("no-such-queue"))
    with pytest.raises(NoSuchQueue) as caught:
        printer.status()
    assert "no-such-queue" in caught.value.message and "kiosk-fault" in caught.value.message
    with pytest.raises(NoSuchQueue):
        printer.submit(proof_pdf)
    health = printer.health()
    assert health.state == DOWN and "lpadmin" in health.fix


def test_cupsd_not_reachable_names_the_socket(tmp_path):
    dead = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(dead))  # a socket file nobody listens on
    printer = Printer(f"cups://kiosk-pdf?server={dead}")
    with pytest.raises(CupsUnreachable) as caught:
        printer.status()
    assert str(dead) in caught.value.message and caught.value.port == str(dead)
    assert "systemctl start cups" in caught.value.hint
    missing = Printer(f"cups://kiosk-pdf?server={tmp_path / 'none.sock'}")
    with pytest.raises(CupsUnreachable, match="no socket at"):
        missing.submit(make_pdf("x"))
    health = printer.health()
    assert health.state == DOWN and str(dead) in health.detail and health.fix


def test_doctor_health_from_a_config_url(cupsd):
    from drivers.printer.doctor import health
    assert health(cupsd.url(cupsd.fault_queue)).state in (OK, DEGRADED)
    bad = health("cups://kiosk?colour=yes")
    assert bad.state == DOWN and "colour" in bad.detail


@pytest.mark.parametrize("document,copies,match", [
    (b"hello, not a pdf", 1, "not a PDF"),
    (None, 0, "copies"),
    (Path("/nonexistent/x.pdf"), 1, "cannot read"),
])
def test_bad_documents_are_rejected_before_cupsd(fault, document, copies, match):
    with pytest.raises(JobRejected, match=match):
        fault.printer.submit(document if document is not None else make_pdf("x"), copies=copies)


def test_queues_lists_both_printers(cupsd, fault):
    queues = {q.name: q for q in Printer(cupsd.url()).queues()}
    assert {cupsd.fault_queue, fault.name} <= set(queues)
    assert queues[fault.name].device_uri.startswith("kiosk-fault:")
    if cupsd.pdf_queue:
        assert queues[cupsd.pdf_queue].device_uri.startswith("cups-pdf:")


def test_every_printer_error_is_a_driver_error():
    from drivers.errors import DriverError
    for kind in (CupsUnreachable, NoSuchQueue, JobRejected, JobFailed, JobTimeout):
        assert issubclass(kind, PrinterError) and issubclass(kind, DriverError)
