"""Printing certificates through a real private cupsd: a cups-pdf queue and the fault
printer. Only a completed job records a certificate as printed."""
from __future__ import annotations

import subprocess
from datetime import datetime, timedelta, timezone

import pytest

from drivers.printer import Printer
from forms.errors import DataError
from forms.register import CertificateState
from kiosk.flows.printing import NOT_KEPT, UNUSABLE, CertificatePrinting
from tests.support import require, require_program

PROOF = {"name": "张晓明", "id_number": "110101198503120033", "address": "示范街道幸福里社区12号楼3单元401室",
         "living_since": "2016-05-20", "purpose": "子女入学"}
PAPER_ZH = "打印机缺纸，请联系工作人员添纸"


def flow(make_config, store, url: str) -> CertificatePrinting:
    return CertificatePrinting.from_config(make_config(url), store)


def pages(path) -> int:
    info = subprocess.run([require_program("poppler-utils", "pdfinfo"), str(path)], capture_output=True,
                          text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def test_a_certificate_prints_through_cups_pdf(cupsd, make_config, store, artifacts):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    printing = flow(make_config, store, cupsd.url(cupsd.pdf_queue))
    result = printing.print_certificate("residence_proof", PROOF)
    assert result.printed, result.as_dict()
    assert result.record.state is CertificateState.PRINTED and result.record.prints == 1
    assert result.outcome.ok and result.advice is None
    # cups-pdf re-renders through Ghostscript (the text layer goes): the file exists
    # and has the one page; the content was checked on the PDF we sent (tests/forms)
    printed = cupsd.pdf_output(result.outcome.job_id)
    assert pages(printed) == 1
    (artifacts / "printed-by-cups-pdf.pdf").write_bytes(printed.read_bytes())
    kept = printing.register.kept_pdf(result.serial)
    assert kept is not None and kept.read_bytes() == result.certificate.pdf


def test_out_of_paper_is_not_printed_and_says_why(cupsd, fault_queue, make_config, store):
    printing = flow(make_config, store, cupsd.url(fault_queue))
    cupsd.set_fault("paper", fault_queue)
    result = printing.print_certificate("residence_proof", PROOF)
    assert not result.printed
    assert result.record.state is CertificateState.PRINT_FAILED
    assert "media-empty-error" in result.reason and "Out of paper" in result.reason
    assert result.record.last_error == result.reason
    assert result.advice.zh == PAPER_ZH and "out of paper" in result.advice.en
    # the job was cancelled: it must not come out later, unattended
    printer = Printer(cupsd.url(fault_queue))
    assert printer.status().queued_jobs == 0
    assert not (cupsd.fault_out / f"{fault_queue}-job_{result.outcome.job_id}.pdf").exists()

    # staff refill the paper, resume the queue, and re-print the kept certificate
    cupsd.set_fault("ok", fault_queue)
    printer.resume()
    again = printing.reprint(result.serial)
    assert again.printed and again.record.state is CertificateState.PRINTED
    output = cupsd.fault_out / f"{fault_queue}-job_{again.outcome.job_id}.pdf"
    assert output.read_bytes() == result.certificate.pdf
    assert printing.register.last_number() == 1  # the same certificate, no new serial


@pytest.mark.parametrize("mode, words", [("jam", "media-jam-error"), ("fail", "Printer failure"),
                                         ("cancel", "job canceled")])
def test_other_faults_end_with_the_printers_reason(cupsd, fault_queue, make_config, store, mode, words):
    printing = flow(make_config, store, cupsd.url(fault_queue))
    cupsd.set_fault(mode, fault_queue)
    result = printing.print_certificate("dropoff_receipt", {
        "case_number": "SF-20250301-0042", "item": "高龄补贴申领", "name": "张晓明", "locker": "幸福里社区1号云柜",
        "door": 7, "deposited_at": "2025-03-01T14:05", "progress_code": "https://kiosk.example.org/p/SF-20250301-0042"})
    assert not result.printed and result.record.state is CertificateState.PRINT_FAILED
    assert words in result.reason, result.reason
    assert result.advice is not None and result.advice.zh


def test_toner_low_prints_with_a_warning(cupsd, fault_queue, make_config, store):
    printing = flow(make_config, store, cupsd.url(fault_queue))
    cupsd.set_fault("toner", fault_queue)
    result = printing.print_certificate("residence_proof", PROOF, lang="en")
    assert result.printed and result.advice is not None and "墨粉" in result.advice.zh


def test_submit_then_finish(cupsd, fault_queue, make_config, store):
    printing = flow(make_config, store, cupsd.url(fault_queue))
    job = printing.submit("residence_proof", PROOF)
    assert job.job_id is not None
    assert printing.register.get(job.serial).state is CertificateState.ISSUED
    assert printing.finish(job).printed


def test_an_unreachable_printer_is_recorded_as_a_failure(make_config, store, tmp_path):
    printing = flow(make_config, store, f"cups://kiosk?server={tmp_path}/no-cupsd.sock")
    result = printing.print_certificate("residence_proof", PROOF)
    assert not result.printed and result.outcome is None
    assert "cupsd not reachable" in result.reason and result.advice == UNUSABLE
    assert printing.register.get(result.serial).state is CertificateState.PRINT_FAILED


def test_bad_data_issues_nothing(cupsd, fault_queue, make_config, store):
    printing = flow(make_config, store, cupsd.url(fault_queue))
    with pytest.raises(DataError, match="living_since"):
        printing.print_certificate("residence_proof", {k: v for k, v in PROOF.items() if k != "living_since"})
    assert printing.register.last_number() == 0


def test_a_purged_certificate_cannot_be_reprinted(cupsd, fault_queue, make_config, store):
    printing = flow(make_config, store, cupsd.url(fault_queue))
    result = printing.print_certificate("residence_proof", PROOF)
    assert result.printed
    later = datetime.now(timezone.utc) + timedelta(days=8)
    assert printing.register.purge(now=later) == [result.serial]
    again = printing.reprint(result.serial)
    assert not again.printed and again.advice == NOT_KEPT
    with pytest.raises(KeyError):
        printing.reprint("demo-kiosk-01-999999")
