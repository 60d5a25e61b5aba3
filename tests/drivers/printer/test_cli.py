"""``python -m drivers.printer`` as a person runs it: a subprocess, JSON out, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.drivers.printer.conftest import make_pdf
from tests.support import ROOT


def cli(*args: str) -> tuple[int, dict, str]:
    done = subprocess.run([sys.executable, "-m", "drivers.printer", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    payload = json.loads(done.stdout) if "--json" in args and done.stdout.strip() else {}
    return done.returncode, payload, done.stderr


@pytest.fixture
def pdf_file(tmp_path):
    path = tmp_path / "cli.pdf"
    path.write_bytes(make_pdf("CLI test"))
    return path


def test_status_ok(cupsd, fault):
    code, out, _ = cli("--url", fault.printer.url.raw, "status", "--json")
    assert code == 0
    assert (out["device"], out["state"]) == ("printer", "ok")
    assert out["data"]["status"]["state"] == "idle"


def test_queues(cupsd, fault):
    code, out, _ = cli("queues", "--url", fault.printer.url.raw, "--json")
    assert code == 0 and out["server"] == str(cupsd.socket)
    assert fault.name in {q["name"] for q in out["queues"]}


def test_print_wait_completes(fault, pdf_file):
    code, out, _ = cli("--url", fault.printer.url.raw, "print", str(pdf_file), "--copies", "2",
                       "--wait", "--json")
    assert code == 0 and out["outcome"] == "completed"
    assert fault.meta(out["job_id"])["copies"] == "2"


def test_print_without_wait_returns_the_job(fault, pdf_file):
    code, out, _ = cli("--url", fault.printer.url.raw, "--json", "print", str(pdf_file))
    assert code == 0 and isinstance(out["job_id"], int) and out["outcome"] is None


def test_out_of_paper_exits_1_with_the_advice(fault, pdf_file):
    fault.set("paper")
    code, out, _ = cli("--url", fault.printer.url.raw, "print", str(pdf_file), "--wait", "--json")
    assert code == 1 and out["outcome"] == "stopped"
    assert out["advice"]["zh"] == "打印机缺纸，请联系工作人员添纸"
    code, out, _ = cli("--url", fault.printer.url.raw, "status", "--json")
    assert code == 1 and out["state"] == "down" and "cupsenable" in out["fix"]
    code, _, _ = cli("--url", fault.printer.url.raw, "status")
    assert code == 1


def test_rejected_job_exits_1_with_one_line(cupsd, fault, pdf_file):
    cupsd.run_tool("cupsreject", fault.name)
    code, out, err = cli("--url", fault.printer.url.raw, "print", str(pdf_file), "--json")
    assert code == 1 and out["error"]["type"] == "JobRejected"
    assert err.startswith("error: ") and err.count("\n") == 1 and "cupsaccept" in err


def test_dead_socket_exits_3(tmp_path):
    url = f"cups://kiosk-pdf?server={tmp_path / 'dead.sock'}"
    code, out, _ = cli("--url", url, "status", "--json")
    assert code == 3 and out["data"]["error"] == "cupsd-unreachable"
    code, out, err = cli("--url", url, "queues", "--json")
    assert code == 3 and out["error"]["type"] == "CupsUnreachable"
    assert str(tmp_path / "dead.sock") in err


@pytest.mark.parametrize("args,code", [
    (["--url", "cups://q?bogus=1", "status"], 2),
    (["--url", "ipp://x", "queues"], 2),
    (["status", "--copies", "2"], 2),  # argparse usage error
])
def test_usage_and_config_errors_exit_2(args, code):
    assert cli(*args)[0] == code


def test_missing_queue_exits_2(cupsd, pdf_file):
    code, out, err = cli("--url", cupsd.url("no-such-queue"), "print", str(pdf_file), "--json")
    assert code == 2 and out["error"]["type"] == "NoSuchQueue" and "no-such-queue" in err


def test_not_a_pdf(fault, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("plain text")
    code, out, _ = cli("--url", fault.printer.url.raw, "print", str(text), "--json")
    assert code == 1 and "not a PDF" in out["error"]["message"]
