"""The private cupsd launcher: its CLI, cleanup, several at once, clear errors."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from drivers.printer import Printer
from drivers.printer import cupspdf
from drivers.printer import sim as simmod
from drivers.printer.errors import SimUnavailable
from drivers.printer.sim import PrivateCups
from tests.drivers.printer.conftest import make_pdf
from tests.support import ROOT, require


def test_launcher_cli_prints_socket_and_cleans_up_on_sigterm(cupsd):
    with subprocess.Popen([sys.executable, "-m", "drivers.printer.sim", "--no-pdf",
                           "--fault", "toner"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            socket_path = proc.stdout.readline().strip()
            info = json.loads(proc.stdout.readline())
            assert socket_path == info["socket"] and Path(socket_path).exists()
            assert info["pdf_queue"] is None and info["pdf_unavailable"] == "not requested"
            printer = Printer(info["fault_url"])
            outcome = printer.print_pdf(b"%PDF-1.4\n%%EOF\n", timeout=10)
            assert outcome.ok and outcome.printer.warnings  # started in toner-low mode
            subprocess.run([sys.executable, "-m", "drivers.printer.sim", "--dir", info["dir"],
                            "--set-fault", "paper"], cwd=ROOT, check=True, timeout=30)
            assert not printer.wait(printer.submit(b"%PDF-1.4\n"), 10).ok
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0, proc.stderr.read()
    assert not Path(info["dir"]).exists()


def test_two_launchers_run_at_once(cupsd):
    with PrivateCups(with_pdf=False) as other:
        assert other.socket != cupsd.socket
        for sim in (cupsd, other):
            assert Printer(sim.url(sim.fault_queue)).status().usable
        other.set_fault("paper")  # a fault in one is not seen by the other
        stopped = Printer(other.url(other.fault_queue)).wait(
            Printer(other.url(other.fault_queue)).submit(b"%PDF-1.4\n"), 10)
        assert not stopped.ok
        assert Printer(cupsd.url(cupsd.fault_queue)).print_pdf(b"%PDF-1.4\n", timeout=10).ok
    assert not other.root.exists()


@pytest.fixture
def open_dir():
    """A world-searchable directory (pytest's tmp_path is under a 0700 parent)."""
    path = Path(tempfile.mkdtemp(prefix="kiosk-cups-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_given_dir_is_kept_with_logs_and_conf_files_are_removed(open_dir):
    with PrivateCups(open_dir / "cups") as sim:
        confs = list(cupspdf.CONF_DIR.glob(f"cups-pdf-{cupspdf.PREFIX}{sim.token}-*.conf"))
        assert len(confs) == (1 if sim.pdf_queue else 0)
        if sim.pdf_queue:
            outcome = Printer(sim.url()).print_pdf(make_pdf("given dir"), timeout=20)
            assert sim.pdf_output(outcome.job_id).exists()
    assert (open_dir / "cups" / "log" / "error_log").exists()
    assert not sim.socket.exists() and all(not c.exists() for c in confs)


def test_a_given_dir_is_reused_fresh_and_guarded(open_dir):
    root = open_dir / "cups"
    with PrivateCups(root, with_pdf=False) as first:
        first.add_fault_printer("leftover")
        with pytest.raises(SimUnavailable, match="already listens"):
            PrivateCups(root, with_pdf=False).start()
        assert Printer(first.url(first.fault_queue)).status().usable  # unharmed
    with PrivateCups(root, with_pdf=False) as second:  # old queues and jobs are gone
        names = {q.name for q in Printer(second.url()).queues()}
        assert names == {second.fault_queue}
    foreign = open_dir / "foreign"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("keep me")
    with pytest.raises(SimUnavailable, match="not empty"):
        PrivateCups(foreign).start()
    assert (foreign / "precious.txt").read_text() == "keep me"


def test_a_dir_lp_cannot_reach_is_a_clear_error(tmp_path):
    require("root", os.geteuid() == 0, "only root's cupsd drops filters to the user lp")
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(SimUnavailable, match="only its owner may enter"):
        PrivateCups(closed / "cups").start()


def test_stale_cups_pdf_conf_is_swept(tmp_path):
    require("root", os.geteuid() == 0, "writes /etc/cups")
    stale = cupspdf.conf_path(f"{cupspdf.PREFIX}deadbeef-kiosk")
    stale.write_text(f"# sim-root {tmp_path / 'gone'}\n# sim-pid 999999\nOut /nowhere\n")
    try:
        cupspdf.sweep_stale()
        assert not stale.exists()
    finally:
        stale.unlink(missing_ok=True)


def test_missing_cupsd_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(simmod, "_program", lambda name: None)
    with pytest.raises(SimUnavailable, match="cupsd is not installed") as caught:
        PrivateCups().start()
    assert "apt-get install cups" in caught.value.hint


def test_unknown_fault_mode(cupsd):
    with pytest.raises(ValueError, match="unknown fault mode"):
        cupsd.set_fault("on-fire")
