"""python -m drivers.scanner"""
import json

from drivers.scanner.__main__ import main
from tests.support import SimProcess


def test_listen_to_a_simulator_process(capsys):
    with SimProcess("drivers.scanner.sim", "--codes", "A-1", "居民-2", "C-3", "--delay", "0.4",
                    "--interval", "0.02") as sim:
        assert main(["--url", sim.path, "listen", "--count", "3", "--timeout", "5"]) == 0
    assert capsys.readouterr().out.splitlines() == ["A-1", "居民-2", "C-3"]


def test_listen_shows_line_breaks_inside_a_code_escaped(capsys):
    assert main(["--url", "synthetic://?fps=30&pattern=qr&text=L1%0AL2", "listen", "--count", "1",
                 "--timeout", "5"]) == 0
    assert capsys.readouterr().out == "L1\\nL2\n"


def test_listen_json_from_the_synthetic_camera(capsys):
    assert main(["--url", "synthetic://?fps=30&pattern=qr&text=HELLO", "listen", "--count", "1",
                 "--timeout", "5", "--json"]) == 0
    line = json.loads(capsys.readouterr().out)
    assert line["text"] == "HELLO" and line["source"] == "camera" and len(line["corners"]) == 4


def test_listen_gives_up_after_timeout(capsys):
    assert main(["--url", "sim://scanner", "listen", "--timeout", "0.3"]) == 1
    assert "no code within 0.3 s" in capsys.readouterr().err


def test_listen_missing_port(capsys):
    assert main(["--url", "serial:///dev/ttyNOPE3", "listen", "--count", "1"]) == 1
    err = capsys.readouterr().err
    assert "/dev/ttyNOPE3" in err and "fix:" in err


def test_health(capsys):
    assert main(["--url", "sim://scanner", "health", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "ok"
    assert main(["--url", "camera://99", "health"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("down:") and "group video" in out
