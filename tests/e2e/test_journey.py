"""Issue #9's end-to-end journey across real processes: the central server, the locker
daemon on the lock-board simulator, the kiosk (its store, sync agent and flows:
tests/e2e/kiosk_side.py), each its own process, and the private cupsd.

A resident prints a residence proof (a completed CUPS job); drops off her
materials at the locker; the grid worker collects them at the locker with her
worker QR from the console, reviews and approves in the console (a real session),
returns the result into a locker; the resident is told by SMS (the log notifier),
picks it up with the code and rates it at the kiosk; the server has the whole
timeline, each event once."""
from __future__ import annotations

import pytest

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

    proof = journey.print_residence_proof(cupsd.url(cupsd.pdf_queue))
    assert proof.step == "printed", proof.advice
    assert len(proof.jobs) == 1 and cupsd.pdf_output(proof.jobs[0]).stat().st_size > 0  # CUPS completed it
    assert system.certificate(proof.serials[0])["state"] == "printed"

    for step in Journey.STEPS:
        getattr(journey, step)()

    timeline = journey.settled()
    order = [t for t, status in timeline if t in LIFECYCLE and status == "applied"]
    # The kiosk's queue (created, evaluated) and the locker's drain side by side, each in its own
    # order: the locker's deposit (even the collection) may reach the server before the kiosk's
    # created, the rating before the pickup; each is applied once it came.
    kiosks = ("created", "evaluated")
    assert [t for t in order if t not in kiosks] == [t for t in LIFECYCLE if t not in kiosks], timeline
    assert sorted(order, key=LIFECYCLE.index) == LIFECYCLE, timeline
    counts = applied_counts(timeline)
    assert all(counts[t] == 1 for t in LIFECYCLE), counts
    assert "pickup_code_issued" in counts and [s for _, s in timeline if s == "quarantined"] == []
    page = journey.console.case(journey.case_id)  # the console's timeline shows it too
    assert journey.case_id in page, page[:2000]
    assert "evaluated" in page or "已评价" in page, page[:2000]
    assert len([n for n in system.notices(journey.case_id) if journey.pickup_code in n["text"]]) == 1
    certificate = system.query("SELECT event_type FROM events WHERE aggregate_id = ? ORDER BY server_seq",
                               (proof.serials[0],))
    assert certificate == [("issued",), ("printed",)], certificate
    assert system.delivery() == []  # every event of both outboxes at the server once, in each outbox's order
