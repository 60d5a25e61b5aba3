"""``--drill-runs N`` (or ``KIOSK_DRILL_RUNS``): how many SIGKILL runs the fault-drill
test does (default 5); ``python -m tests.e2e.drills --runs 100`` for the full drill."""
from __future__ import annotations

import os


def pytest_addoption(parser):
    parser.addoption("--drill-runs", type=int, default=int(os.environ.get("KIOSK_DRILL_RUNS", "5")),
                     help="SIGKILL runs of tests/e2e/test_fault_drills.py (default 5, or $KIOSK_DRILL_RUNS)")
