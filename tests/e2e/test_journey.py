"""Issue #9's end-to-end journey across real processes: the central server, the locker
daemon on the lock-board simulator (each its own process), the kiosk's store, sync
agent and flows, and the private cupsd.

A resident prints a residence proof (a completed CUPS job); drops off her
materials at the locker; the grid worker collects them at the locker with her
worker QR from the console, reviews and approves in the console (a real session),
returns the result into a locker; the resident is told by SMS (the log notifier),
picks it up with the code and rates it at the kiosk; the server has the whole
timeline, each event once."""
from __future__ import annotations

import pytest

from forms.register import CertificateState
from tests.e2e.system import LIFECYCLE, Journey, System, applied_counts
from tests.support import require


@pytest.fixture
def system(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e", numbered=True)
    running = System(root).start()
    yield running
    running.stop()


@pytest.mark.timeout(300)
def test_a_case_from_the_residence_proof_to_the_rating(system, cupsd):
    require("cups-pdf", cupsd.pdf_queue is not None, cupsd.pdf_unavailable)
    journey = Journey(system)

    proof, printing = journey.print_residence_proof(cupsd.url(cupsd.pdf_queue))
    assert proof.step.value == "printed", proof.advice
    assert len(proof.jobs) == 1 and cupsd.pdf_output(proof.jobs[0]).stat().st_size > 0  # CUPS completed it
    assert printing.register.get(proof.serials[0]).state is CertificateState.PRINTED

    for step in Journey.STEPS:
        getattr(journey, step)()

    timeline = journey.settled()
    order = [t for t, status in timeline if t in LIFECYCLE and status == "applied"]
    if order[-2:] == ["evaluated", "picked_up"]:  # the kiosk's queue overtook the locker's: applied once it came
        order[-2:] = ["picked_up", "evaluated"]
    if order[:2] == ["materials_deposited", "created"]:  # the locker's queue overtook the kiosk's created (the
        order[:2] = ["created", "materials_deposited"]   # locker announces no case the kiosk made): applied once it came
    assert order == LIFECYCLE, timeline
    counts = applied_counts(timeline)
    assert all(counts[t] == 1 for t in LIFECYCLE), counts
    assert "pickup_code_issued" in counts and [s for _, s in timeline if s == "quarantined"] == []
    page = journey.console.case(journey.case_id)  # the console's timeline shows it too
    assert journey.case_id in page, page[:2000]
    assert "evaluated" in page or "已评价" in page, page[:2000]
    assert len([n for n in system.notices(journey.case_id) if journey.pickup_code in n["text"]]) == 1
