"""``python -m drivers.idcard`` and ``python -m drivers.idcard.sim`` as a person runs them."""
import json
import subprocess
import sys

import pytest

from drivers.idcard.sim import fictional_card
from tests.support import ROOT, SimProcess


def cli(*args: str, module: str = "drivers.idcard") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=30)


@pytest.fixture(scope="module")
def sim():
    with SimProcess("drivers.idcard.sim", "--card", "1") as sim:
        yield sim


def test_read_json_over_a_separate_simulator(sim):
    sim.request(cmd="insert", card=1)
    run = cli("--port", sim.path, "read", "--json", "--fingerprint")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["name"] == "李秀兰" and out["id_number"] == "1101**********002X" and out["id_number_masked"]
    assert out["photo"]["size"] == 1024 and len(out["photo"]["sha256"]) == 64
    assert out["fingerprint"]["size"] == 1024
    assert "11010519491231002X" not in run.stdout + run.stderr
    assert set(out["photo"]) == {"format", "size", "sha256"} and len(run.stdout) < 2000  # no bytes anywhere


def test_read_shows_the_id_only_when_asked(sim):
    sim.request(cmd="insert", card=1)
    run = cli("--port", sim.path, "read", "--show-id")
    assert run.returncode == 0 and "11010519491231002X" in run.stdout and "长期" in run.stdout


def test_read_decodes_the_photo_in_memory_with_a_decoder():
    run = cli("--port", "sim://idcard?card=0", "read", "--json", "--decoder", "sim")
    out = json.loads(run.stdout)
    assert out["photo_image"]["format"] == "jpeg" and out["photo_image"]["size"] > 1000


def test_sam(sim):
    run = cli("--port", sim.path, "sam")
    assert run.returncode == 0 and "SAM id: 05.01-20200101-0000012345-1234567890" in run.stdout
    run = cli("--port", sim.path, "sam", "--json")
    assert json.loads(run.stdout)["status"] == {"ok": True, "code": "90", "zh": "操作成功", "en": "ok"}


def test_health_json_and_exit_status():
    run = cli("--port", "sim://idcard", "health", "--json")
    assert run.returncode == 0 and json.loads(run.stdout)["state"] == "ok"
    run = cli("--port", "sim://idcard?fault=silent", "--timeout", "0.2", "health")
    assert run.returncode == 1 and "down" in run.stdout and "fix:" in run.stdout


def bad_cards(tmp_path):
    card = fictional_card(birth="19491231", sequence=1).to_json() | {"birth": "19500101"}
    path = tmp_path / "cards.json"
    path.write_text(json.dumps({"cards": [card]}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("port,extra,status,words", [
    ("sim://idcard?card=none", ["--wait", "0.2"], 3, "no ID card on the reader"),
    ("sim://idcard?fault=pull_after_select", [], 4, "card moved, place it again"),
    ("sim://idcard?fault=truncate", [], 4, "card moved, place it again"),
    ("sim://idcard?fault=sam_error:60@find_card", [], 5, "SAM self-test failed"),
    ("sim://idcard?cards={cards}", [], 6, "disagrees with the birth date"),
    ("/dev/ttyNOPE-idcard", [], 7, "/dev/ttyNOPE-idcard"),
])
def test_failures_are_one_line_and_an_exit_status(tmp_path, port, extra, status, words):
    run = cli("--port", port.format(cards=bad_cards(tmp_path)), "read", *extra)
    assert run.returncode == status, run.stderr
    assert run.stdout == "" and len(run.stderr.strip().splitlines()) == 1 and words in run.stderr
    assert run.stderr.startswith("idcard: ") and "Traceback" not in run.stderr


def test_without_a_port_the_config_is_used(tmp_path):
    config = tmp_path / "appliance.toml"
    config.write_text('[idcard]\nurl = "sim://idcard?card=3"\n', encoding="utf-8")
    run = cli("--config", str(config), "read", "--json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["name"] == "王建国"
    run = cli("--config", str(tmp_path / "missing.toml"), "read")
    assert run.returncode == 2 and "missing.toml" in run.stderr


def test_simulator_cli_refuses_a_bad_fault_in_one_line():
    run = cli("--fault", "melt", module="drivers.idcard.sim")
    assert run.returncode == 2 and "unknown fault 'melt'" in run.stderr


def test_simulator_cli_faults_last_the_whole_run():
    with SimProcess("drivers.idcard.sim", "--card", "none", "--sliding", "2",
                    "--fault", "sam_error:24@select") as sim:
        assert sim.request(cmd="state")["faults"] == ["sam_error:24@select"]
        for _ in range(2):
            run = cli("--port", sim.path, "read", "--wait", "0.1")
            assert run.returncode == 3
        sim.request(cmd="insert", card=0)
        for _ in range(2):
            run = cli("--port", sim.path, "read")
            assert run.returncode == 5 and "SAM error 24" in run.stderr
