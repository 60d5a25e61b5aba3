"""Fault drills on the end-to-end journey (issue #9), every part a real process:
SIGKILL of the server, the locker daemon, the lock-board simulator or the kiosk at
random points (before a step, while a door stands open, while the residence proof
prints; ``--drill-runs``, default 5; ``python -m tests.e2e.drills --runs 100`` for
100), the server away for a whole drop-off and collection, the printer out of paper
between two copies and then loaded again, the disk full, and the appliance's clock
jumping (tests/e2e/test_clock_drill.py). Nothing is lost or applied twice at the
server."""
from __future__ import annotations

import random
import threading
import time

import pytest

from tests.e2e.drills import Figures, check, kill_drill, server_away_drill
from tests.e2e.system import LIFECYCLE, Journey, System, applied_counts, wait_until
from tests.kiosk.journeys import fault_printer  # noqa: F401 (a fixture)


@pytest.fixture
def system(tmp_path_factory):
    root = tmp_path_factory.mktemp("drill", numbered=True)
    running = System(root).start()
    yield running
    running.stop()


@pytest.fixture
def printing_system(tmp_path_factory, cupsd, fault_printer):
    """The system whose kiosk prints each journey's residence proof first (the PDF queue
    when this is root, else a fault queue printing fine)."""
    if cupsd.pdf_queue is None:
        cupsd.set_fault("ok", fault_printer)
    root = tmp_path_factory.mktemp("drill", numbered=True)
    running = System(root, printer_url=cupsd.url(cupsd.pdf_queue or fault_printer)).start()
    yield running
    running.stop()


@pytest.mark.timeout(1200)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(printing_system, request):
    system = printing_system
    runs = request.config.getoption("--drill-runs")
    seed = int(time.time())
    figures = kill_drill(system, runs, random.Random(seed))
    assert figures.runs == runs, f"seed {seed}"
    assert sum(figures.kills.values()) == runs
    assert (figures.lost, figures.duplicated, figures.quarantined, figures.delivery) == ([], [], [], []), \
        f"seed {seed}: {figures.line()}"


def test_every_process_and_kill_point_can_be_drawn():
    """The drill's choices cover the kiosk as a victim, the open doors and the print."""
    from tests.e2e.drills import kill_points
    from tests.e2e.system import PROCESSES

    assert set(PROCESSES) == {"server", "locker", "bus", "kiosk"}
    points = kill_points(("print_proof", *Journey.STEPS))
    assert ("inside", "print_proof") in points and ("before", "drop_off") in points
    assert {step for when, step in points if when == "inside"} == {"print_proof", "drop_off", "collect_at_locker",
                                                                   "return_result", "pick_up"}


@pytest.mark.timeout(300)
def test_the_server_away_for_the_whole_journey_then_everything_syncs(system):
    journey = server_away_drill(system)
    figures = Figures()
    check(system, journey, figures)
    assert (figures.lost, figures.duplicated, figures.quarantined, figures.delivery) == ([], [], [], [])
    timeline = [t for t, status in journey.settled() if status == "applied" and t in LIFECYCLE]
    # Each step once. Not in order: when the server returns, the kiosk's queue and the
    # locker's drain side by side, so the locker's deposit may arrive before the kiosk's
    # created (applied as already announced), and the kiosk's rating before the pickup.
    assert sorted(timeline, key=LIFECYCLE.index) == LIFECYCLE, timeline
    assert applied_counts(system.timeline(journey.case_id))["materials_deposited"] == 1


@pytest.mark.timeout(300)
def test_the_printer_out_of_paper_mid_journey_then_loaded_again(system, cupsd, fault_printer):
    """Two copies of the residence proof, and the paper runs out after the first (the
    fault printer's mode switched the moment the first job came out, as a tray runs
    empty): the second is not printed, recorded so with the printer's reason, and the
    resident is told what to do; the rest of the appliance carries on (a drop-off).
    Staff load paper (the fault cleared, the stopped queue resumed): the resident's
    重试 prints the missing copy, and the register says so: two printed, the failed one
    print_failed with the paper reason; its cancelled job never comes out later."""
    cupsd.set_fault("ok", fault_printer)
    out = cupsd.fault_out
    before = set(out.glob(f"{fault_printer}-job_*.pdf"))
    stop = threading.Event()

    def tray_runs_empty() -> None:
        while not stop.is_set():
            if set(out.glob(f"{fault_printer}-job_*.pdf")) - before:
                cupsd.set_fault("paper", fault_printer)
                return
            time.sleep(0.005)
    watcher = threading.Thread(target=tray_runs_empty, daemon=True)
    watcher.start()
    journey = Journey(system)
    try:
        proof = journey.print_residence_proof(cupsd.url(fault_printer), copies=2)
    finally:
        stop.set()
        watcher.join(5)
    assert proof.step == "failed" and len(proof.serials) == 1 and proof.failed_serial, proof
    first, failed = proof.serials[0], proof.failed_serial
    assert system.certificate(first)["state"] == "printed"
    assert system.certificate(failed)["state"] == "print_failed"
    assert "media-empty" in system.certificate(failed)["last_error"], system.certificate(failed)
    assert "纸" in proof.advice[0], proof.advice  # the printer's words, Chinese first: out of paper, what to do

    journey.drop_off()  # the rest of the appliance carries on
    assert (system.doors().case(journey.case_id) or {}).get("state") == "materials_deposited"

    cupsd.set_fault("ok", fault_printer)  # paper loaded
    cupsd.run_tool("cupsenable", fault_printer)  # and the printer resumed (a real one stops on media-empty)
    again = journey.print_again(proof, cupsd.url(fault_printer))
    assert again.step == "printed" and again.serials[0] == first and len(again.serials) == 2, again
    reprinted = again.serials[1]
    assert reprinted not in (first, failed)
    assert system.certificate(reprinted) == {"state": "printed", "prints": 1, "last_error": None}
    assert system.certificate(failed)["state"] == "print_failed"  # its job was cancelled: it never prints
    time.sleep(2)
    printed = set(out.glob(f"{fault_printer}-job_*.pdf")) - before
    assert len(printed) == 2, sorted(p.name for p in printed)  # the two copies she holds, nothing later
    wait_until(lambda: [row for row in system.query(
        "SELECT aggregate_id, event_type FROM events WHERE aggregate_id IN (?, ?, ?) ORDER BY server_seq",
        (first, failed, reprinted)) if row[1] != "issued"] == [(first, "printed"), (failed, "print_failed"),
                                                                 (reprinted, "printed")],
               60, "the register's story at the server")


@pytest.fixture
def small_disk(tmp_path_factory):
    """The appliance's data folder on a 24 MB tmpfs of its own (root), to fill up."""
    import os
    import subprocess

    from tests.support import require

    root = tmp_path_factory.mktemp("full", numbered=True)
    data = root / "appliance"
    data.mkdir()
    mounted = os.geteuid() == 0 and subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(data)],
                                                   capture_output=True).returncode == 0
    require("a tmpfs mount", mounted, "the disk-full drill mounts a small tmpfs: run the tests as root")
    yield root
    subprocess.run(["umount", "-l", str(data)], capture_output=True)


def fill(folder) -> int:
    """Fill the file system under ``folder`` to the last byte; the bytes written."""
    import os

    written = 0
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 4096, 512, 1):
            while True:
                try:
                    written += os.write(fd, b"\0" * size)
                except OSError:
                    break
    finally:
        os.close(fd)
    return written


def integrity(path) -> str:
    import sqlite3

    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.timeout(300)
def test_the_appliances_disk_full_raises_a_clear_alarm_and_corrupts_nothing(small_disk):
    import requests

    from tests.e2e.system import ADMIN, ADMIN_PASSWORD, DEVICE

    system = System(small_disk).start()
    try:
        before = Journey(system)
        before.drop_off()
        fill(system.data)
        system.kiosk_call("wake")
        journey = Journey(system)
        with pytest.raises(Exception) as refused:  # the kiosk cannot record a new case: it says so
            journey.drop_off()
        said = str(refused.value)
        assert "full" in said.lower() or "磁盘" in said or "空间" in said, said

        # the alarm: the admin console's devices page shows the appliance's disk nearly full
        admin = requests.Session()
        page = admin.get(f"{system.url}/login", timeout=30).text
        import re
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
        admin.post(f"{system.url}/login", data={"username": ADMIN, "password": ADMIN_PASSWORD, "csrf": token,
                                                "next": ""}, timeout=30)
        from tests.e2e.system import wait_until
        wait_until(lambda: "磁盘空间不足" in admin.get(f"{system.url}/admin/devices", timeout=30).text, 60,
                   f"the low-disk alarm for {DEVICE} in the admin console")

        for leftover in system.data.glob("filler*"):
            leftover.unlink()
        for store in system.data.glob("*.db"):
            assert integrity(store) == "ok", store
        assert (system.doors().case(before.case_id) or {}).get("state") == "materials_deposited"
        again = Journey(system)
        again.drop_off()  # room again: the appliance carries on
    finally:
        system.stop()
    for store in system.data.glob("*.db"):
        assert integrity(store) == "ok", store

