"""The appliance config: the shipped default loads; every mistake stops with one
line naming the file, the line, the key and the value."""
import os
import subprocess
import sys
import textwrap

import pytest

from appliance import config
from appliance.errors import ConfigError
from tests.support import ROOT

GOOD = textwrap.dedent("""\
    [appliance]
    id = "kiosk-7"

    [[lockboard]]
    name = "bus0"
    url = "sim://lockboard"
    protocol = "kerong"

    [[lockboard.board]]
    address = 0
    doors = 16
    out_of_service = [3]
    """)


def write(tmp_path, text):
    path = tmp_path / "appliance.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_default_runs_on_simulators():
    cfg = config.load(ROOT / "assets" / "appliance.toml")
    assert all(bus.url.startswith("sim://") for bus in cfg.lockboard)
    assert cfg.idcard.url.startswith("sim://") and cfg.scanner.url.startswith("sim://")
    assert cfg.lockboard[0].baudrate == 19200


def test_good_file_loads_with_defaults(tmp_path):
    cfg = config.load(write(tmp_path, GOOD))
    assert cfg.appliance.id == "kiosk-7"
    assert cfg.lockboard[0].board[0].out_of_service == [3]
    assert cfg.idcard.baud == 115200  # default
    assert cfg.source == str(tmp_path / "appliance.toml")


@pytest.mark.parametrize("change,line,key,words", [
    (("doors = 16", "doors = 17"), 11, "lockboard[0].board[0].doors = 17", "at most 16 doors"),
    (("out_of_service = [3]", "out_of_service = [17]"), 12, "lockboard[0].board[0].out_of_service = 17",
     "doors 1–16"),
    (("address = 0", "address = 16"), 10, "lockboard[0].board[0].address = 16", "addresses 0–15"),
    (("doors = 16", "doors = \"16\""), 11, "lockboard[0].board[0].doors = '16'", "valid integer"),
    (("protocol = \"kerong\"", "protocol = \"modbus\""), 7, "lockboard[0].protocol = 'modbus'", "'kerong' or 'bcc'"),
    (("id = \"kiosk-7\"", "id = \"Kiosk 7\""), 2, "appliance.id = 'Kiosk 7'", "match pattern"),
    (("doors = 16", "doors = 16\ncolour = \"red\""), 12, "lockboard[0].board[0].colour = 'red'", "unknown key"),
    (("[appliance]", "[appliance]\nlog_levle = \"INFO\""), 2, "appliance.log_levle = 'INFO'", "unknown key"),
    (("name = \"bus0\"\n", ""), 4, "lockboard[0].name", "required key is missing"),
    (("url = \"sim://lockboard\"", "url = \"serial:///dev/ttyNOPE7\""), 6,
     "lockboard[0].url = 'serial:///dev/ttyNOPE7'", "no such serial port"),
    (("protocol = \"kerong\"\n\n[[lockboard.board]]\naddress = 0\ndoors = 16",
      "protocol = \"bcc\"\n\n[[lockboard.board]]\naddress = 1\ndoors = 40"), 11,
     "lockboard[0].board[0].doors = 40", "status_bytes = 4 reports 32 channels"),
    (("protocol = \"kerong\"\n\n[[lockboard.board]]\naddress = 0",
      "protocol = \"bcc\"\n\n[[lockboard.board]]\naddress = 1\nitem_sensors = true"), 11,
     "lockboard[0].board[0].item_sensors = True", "no item sensors"),
    (("url = \"sim://lockboard\"", "url = \"ftp://lockboard\""), 6, "lockboard[0].url = 'ftp://lockboard'",
     "unknown transport"),
    (("[appliance]", "[camera]\nurl = \"webcam://0\"\n[appliance]"), 2, "camera.url = 'webcam://0'", "camera"),
    (("[appliance]", "[printer]\nurl = \"lpd://x\"\n[appliance]"), 2, "printer.url = 'lpd://x'", "cups://"),
    (("out_of_service = [3]", "out_of_service = [3]\n[[lockboard.board]]\naddress = 0"), 14,
     "lockboard[0].board[1].address = 0", "share this address"),
])
def test_mistakes_stop_with_one_line_naming_file_line_key_value(tmp_path, change, line, key, words):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as info:
        config.load(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}:{line}: {key}"), message
    assert words in message


def test_not_toml_names_the_line(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.load(write(tmp_path, GOOD + "\n[camera\n"))
    assert f"{tmp_path / 'appliance.toml'}:14: not valid TOML" in str(info.value)


def test_missing_file_says_where_the_default_is(tmp_path):
    with pytest.raises(ConfigError) as info:
        config.load(tmp_path / "nope.toml")
    assert "assets/appliance.toml" in str(info.value) and "KIOSK_CONFIG" in str(info.value)


def test_env_var_chooses_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("KIOSK_CONFIG", str(write(tmp_path, GOOD)))
    assert config.load().appliance.id == "kiosk-7"


def test_doctor_mode_does_not_stop_on_a_missing_port(tmp_path):
    text = GOOD.replace("sim://lockboard", "serial:///dev/ttyNOPE7")
    assert config.load(write(tmp_path, text), check_devices=False).lockboard[0].url.endswith("NOPE7")


def test_a_program_stops_with_the_line_and_exit_status_2(tmp_path):
    path = write(tmp_path, GOOD.replace("doors = 16", "doors = 99"))
    run = subprocess.run([sys.executable, "-m", "drivers", "--config", str(path), "doctor"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 2
    assert f"{path}:11: lockboard[0].board[0].doors = 99" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
