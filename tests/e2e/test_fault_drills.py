"""Fault drills on the end-to-end journey (issue #9), every part a real process:
SIGKILL of the server, the locker daemon or the lock-board simulator at random points
(``--drill-runs``, default 5; ``python -m tests.e2e.drills --runs 100`` for 100),
the server away for a whole drop-off and collection, and the printer out of paper
while a resident prints. Nothing is lost or applied twice at the server."""
from __future__ import annotations

import random
import time

import pytest

from forms.register import CertificateState
from tests.e2e.drills import Figures, check, kill_drill, server_away_drill
from tests.kiosk.journeys import fault_printer  # noqa: F401 (a fixture)
from tests.e2e.system import LIFECYCLE, Journey, System, applied_counts


@pytest.fixture
def system(tmp_path_factory):
    root = tmp_path_factory.mktemp("drill", numbered=True)
    running = System(root).start()
    yield running
    running.stop()


@pytest.mark.timeout(900)
def test_sigkill_at_random_points_loses_and_duplicates_nothing(system, request):
    runs = request.config.getoption("--drill-runs")
    seed = int(time.time())
    figures = kill_drill(system, runs, random.Random(seed))
    assert figures.runs == runs, f"seed {seed}"
    assert sum(figures.kills.values()) == runs
    assert (figures.lost, figures.duplicated, figures.quarantined) == ([], [], []), f"seed {seed}: {figures.line()}"


@pytest.mark.timeout(300)
def test_the_server_away_for_the_whole_journey_then_everything_syncs(system):
    journey = server_away_drill(system)
    figures = Figures()
    check(system, journey, figures)
    assert (figures.lost, figures.duplicated, figures.quarantined) == ([], [], [])
    timeline = [t for t, status in journey.settled() if status == "applied" and t in LIFECYCLE]
    # Each step once. Not in order: when the server returns, the kiosk's queue and the
    # locker's drain side by side, so the locker's deposit may arrive before the kiosk's
    # created (applied as already announced), and the kiosk's rating before the pickup.
    assert sorted(timeline, key=LIFECYCLE.index) == LIFECYCLE, timeline
    assert applied_counts(system.timeline(journey.case_id))["materials_deposited"] == 1


@pytest.mark.timeout(300)
def test_the_printer_out_of_paper_mid_journey(system, cupsd, fault_printer):
    """The residence proof while the printer has no paper: not printed, recorded so,
    and the resident is told what to do; with paper again it prints."""
    cupsd.set_fault("paper", fault_printer)
    journey = Journey(system)
    proof, printing = journey.print_residence_proof(cupsd.url(fault_printer))
    assert proof.step.value == "failed" and proof.serials == []
    assert printing.register.get(proof.failed_serial).state is CertificateState.PRINT_FAILED
    advice = str(proof.advice)
    assert "纸" in advice, advice  # the printer's words, Chinese first: out of paper, what to do
    journey.drop_off()  # the rest of the appliance carries on
    assert (system.doors().case(journey.case_id) or {}).get("state") == "materials_deposited"


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
        system.kiosk_agent.wake()
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

