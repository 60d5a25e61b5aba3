"""``python -m drivers.lockboard`` as a maintainer runs it, against a simulator process."""
import json
import subprocess
import sys

import pytest

from tests.support import ROOT


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drivers.lockboard", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)


def test_open_prints_json_and_succeeds(sim):
    board = str(sim.addresses[0])
    run = cli("--port", sim.path, "--protocol", sim.protocol, "open", board, "2", "--json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["outcome"] == "opened" and result["observed"] == "open" and result["port"] == sim.path
    assert sim.request(cmd="state")["received"]["unlock"] == 1


def test_open_a_jammed_door_is_unknown_and_fails(sim):
    board = sim.addresses[1]
    sim.request(cmd="fault", name="jammed", board=board, door=3)
    run = cli("--port", sim.path, "--protocol", sim.protocol, "--json", "open", str(board), "3")
    assert run.returncode == 1
    result = json.loads(run.stdout)
    assert result["outcome"] == "unknown" and result["observed"] == "closed"
    assert result["verified"]["state"] == "closed"
    plain = cli("--port", sim.path, "--protocol", sim.protocol, "open", str(board), "3")
    assert plain.returncode == 1 and "UNKNOWN" in plain.stderr and len(plain.stderr.strip().splitlines()) == 1
    assert sim.request(cmd="state")["received"]["unlock"] == 2  # one per command, never more


def test_status_and_scan(sim):
    board = str(sim.addresses[2])
    sim.request(cmd="open", board=sim.addresses[2], door=1)
    run = cli("--port", sim.path, "--protocol", sim.protocol, "--doors", "8", "status", board)
    assert run.returncode == 0 and "open:   1" in run.stdout and "closed: 2-8" in run.stdout
    run = cli("--port", sim.path, "--protocol", sim.protocol, "status", board, "1", "--json")
    assert json.loads(run.stdout)["state"] == "open"
    run = cli("--port", sim.path, "--protocol", sim.protocol, "--timeout", "0.03", "--json", "scan",
              *map(str, range(sim.addresses[0], sim.addresses[0] + 5)))
    assert run.returncode == 0 and json.loads(run.stdout)["found"] == sim.addresses


def test_status_of_an_offline_board_fails_with_the_fix(sim):
    sim.request(cmd="fault", name="offline", board=sim.addresses[0])
    run = cli("--port", sim.path, "--protocol", sim.protocol, "--timeout", "0.05", "status", str(sim.addresses[0]))
    assert run.returncode == 1 and "offline" in run.stderr and "DIP" in run.stderr


def test_detect(sim):
    run = cli("--port", sim.path, "--timeout", "0.03", "detect", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["protocol"] == sim.protocol
    run = cli("--port", sim.path, "--timeout", "0.03", "detect")
    assert f'protocol = "{sim.protocol}"' in run.stdout


@pytest.mark.parametrize("args,code,words", [
    (["--port", "/dev/ttyNOPE7", "--protocol", "kerong", "status", "0"], 3, ["/dev/ttyNOPE7", "no such device"]),
    (["--port", "/dev/ttyNOPE7", "status", "0"], 2, ["--protocol", "detect"]),
    (["--port", "loop://", "--protocol", "kerong", "open", "0", "17"], 2, ["door 17", "1–16"]),
    (["--port", "loop://", "--protocol", "bcc", "scan", "0"], 2, ["1–64"]),
])
def test_mistakes_are_one_clear_line_and_a_nonzero_exit(args, code, words):
    run = cli(*args)
    assert run.returncode == code
    line = run.stderr.strip()
    assert len(line.splitlines()) == 1 and all(w in line for w in words), line


def test_errors_in_json_mode_are_json_too():
    run = cli("--port", "/dev/ttyNOPE7", "--protocol", "bcc", "--json", "open", "1", "1")
    assert run.returncode == 3
    assert json.loads(run.stdout)["port"] == "/dev/ttyNOPE7"
