"""`python -m drivers doctor` as a process: every configured device, its state and the
fix, over simulators running as their own processes and the private cupsd."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support import ROOT, SimProcess


def doctor(config, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "drivers", "--config", str(config), "doctor", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120, env={**os.environ, **(env or {})})


@pytest.fixture
def sims():
    started = [SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "2", "--doors", "16"),
               SimProcess("drivers.idcard.sim"), SimProcess("drivers.scanner.sim")]
    try:
        yield [sim.start() for sim in started]
    finally:
        for sim in started:
            sim.stop()


def test_every_device_ok_on_running_simulators_and_the_private_cupsd(tmp_path, sims, cupsd):
    lockbus, idcard, scanner = sims
    printer = cupsd.url()  # the PDF queue, or the fault queue where cups-pdf cannot run (not root)
    config = tmp_path / "appliance.toml"
    config.write_text(f"""
[[lockboard]]
name = "bus0"
url = "{lockbus.path}"
protocol = "kerong"

[[lockboard.board]]
address = 0
doors = 16

[[lockboard.board]]
address = 1
doors = 8

[idcard]
url = "{idcard.path}"

[printer]
url = "{printer}"

[camera]
url = "synthetic://?width=320&height=240&fps=15"

[scanner]
url = "{scanner.path}"
""", encoding="utf-8")
    run = doctor(config, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert report["config"] == str(config)
    devices = {d["device"]: d for d in report["devices"]}
    assert sorted(devices) == ["camera", "idcard reader (SAM)", "lockboard bus0", "lockboard bus0 board 0",
                               "lockboard bus0 board 1", "printer", "scanner"]
    assert {d["state"] for d in devices.values()} == {"ok"}, devices
    assert devices["lockboard bus0"]["url"] == lockbus.path and "2 of 2 boards answer" in devices["lockboard bus0"]["detail"]
    assert devices["idcard reader (SAM)"]["data"]["sam_id"].startswith("05.01-")
    assert devices["printer"]["url"] == printer and devices["printer"]["data"]["status"]["state"] == "idle"
    assert devices["scanner"]["url"] == scanner.path and scanner.path in devices["scanner"]["detail"]
    assert all(d["fix"] == "" for d in devices.values())

    lockbus.request(cmd="fault", name="offline", board=1)  # a board that stops answering
    run = doctor(config, "--json")
    states = {d["device"]: d["state"] for d in json.loads(run.stdout)["devices"]}
    assert run.returncode == 1 and states["lockboard bus0 board 1"] == "down" and states["lockboard bus0 board 0"] == "ok"


def test_a_missing_port_and_the_shipped_printer_name_their_fixes(tmp_path):
    shipped = (ROOT / "assets" / "appliance.toml").read_text(encoding="utf-8")
    assert 'url = "cups://kiosk"' in shipped  # the printer make run's private cupsd stands in for
    config = tmp_path / "appliance.toml"
    config.write_text(shipped.replace('url = "sim://idcard?card=none"', 'url = "serial:///dev/ttyNOPE-doctor"'),
                      encoding="utf-8")
    # No cupsd at all, whatever this machine has: the shipped printer then names make run.
    run = doctor(config, env={"CUPS_SERVER": str(tmp_path / "no-cupsd.sock")})
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    down = {line.split()[1]: i for i, line in enumerate(lines) if line.startswith("DOWN")}
    assert set(down) == {"idcard", "printer"}, run.stdout
    idcard_fix = lines[down["idcard"] + 1]
    assert "/dev/ttyNOPE-doctor" in lines[down["idcard"]] and "no such device" in lines[down["idcard"]]
    assert idcard_fix.strip().startswith("→") and "ls /dev/ttyUSB*" in idcard_fix and "idcard.url" in idcard_fix
    printer_fix = lines[down["printer"] + 1]
    assert "`make run`" in printer_fix and "python -m drivers.printer.sim" in printer_fix
    assert "cups://kiosk?server=SOCKET" in printer_fix and "lpadmin -p kiosk" in printer_fix
    assert any(line.startswith("OK    lockboard bus0 board 1") for line in lines)  # the simulators still run
