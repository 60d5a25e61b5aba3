"""The serial scanner against the simulator running as a separate process on a pty.
Unplugging it is in test_reader, with the keyboard-wedge scanner's."""
import pytest

from drivers.scanner import SerialScanner, line_format, open_scanner
from drivers.scanner.errors import ScannerUnavailable
from drivers.scanner.sim import ScannerSim, from_params
from drivers.errors import ConfigError
from tests.drivers.scanner.conftest import read_all
from tests.support import SimProcess


@pytest.fixture
def sim(tmp_path):
    with SimProcess("drivers.scanner.sim", "--link", str(tmp_path / "scanner0")) as proc:
        yield proc


def test_start_list_arrives_in_order():
    with SimProcess("drivers.scanner.sim", "--codes", "A-1", "B-2", "居民-3", "--delay", "0.5",
                    "--interval", "0.02", "--terminator", "cr") as sim:
        with SerialScanner(sim.path) as scanner:
            assert read_all(scanner, 3) == ["A-1", "B-2", "居民-3"]


def test_codes_arrive_in_order_one_per_line(sim):
    with SerialScanner(sim.path) as scanner:
        sim.request(cmd="scan", codes=[f"CODE-{i}" for i in range(20)])
        sim.request(cmd="scan", code="SPLIT-ACROSS-READS", chunk=1)
        sim.request(cmd="scan", code="LAST")
        got = read_all(scanner, 22)
        assert got == [f"CODE-{i}" for i in range(20)] + ["SPLIT-ACROSS-READS", "LAST"]
        code = scanner.read_code(0.05)
        assert code is None  # nothing more: a timeout is None, not an error
        assert scanner.health().state == "ok"


def test_garbage_is_dropped_and_counted(sim):
    with SerialScanner(sim.path, fmt=line_format(max_length=64)) as scanner:
        sim.request(cmd="scan", code="BEFORE")
        sim.request(cmd="garbage")
        sim.request(cmd="garbage", hex="41 07 42")
        sim.request(cmd="overlong", length=500)
        sim.request(cmd="scan", code="AFTER")
        assert read_all(scanner, 2) == ["BEFORE", "AFTER"]
        assert scanner.errors == {"not_text": 1, "control": 1, "overlong": 1}


def test_unterminated_code_does_not_glue_to_the_next(sim):
    with SerialScanner(sim.path, line_timeout=0.2) as scanner:
        sim.request(cmd="unterminated", code="CUT-OF")
        assert scanner.read_code(0.5) is None
        assert scanner.errors["unterminated"] == 1
        assert scanner.health().state == "degraded"  # the last line was bad
        sim.request(cmd="scan", code="WHOLE")
        assert read_all(scanner, 1) == ["WHOLE"]
        assert scanner.health().state == "ok"


def test_prefix_and_suffix_are_stripped(tmp_path):
    with SimProcess("drivers.scanner.sim", "--prefix", r"\x02", "--suffix", r"\x03") as sim:
        with open_scanner(sim.path, prefix="\x02", suffix="\x03") as scanner:
            sim.request(cmd="scan", code="K1.abc")
            assert read_all(scanner, 1) == ["K1.abc"]


def test_missing_port_names_it():
    with pytest.raises(ScannerUnavailable) as info:
        SerialScanner("serial:///dev/ttyNOPE7").open()
    assert "/dev/ttyNOPE7" in str(info.value) and info.value.hint


def test_in_process_simulator_url():
    with open_scanner("sim://scanner?codes=X1,X2&delay=0.2&interval=0.01&terminator=lf") as scanner:
        assert read_all(scanner, 2) == ["X1", "X2"]


def test_simulator_options_are_checked():
    with pytest.raises(ConfigError):
        from_params({"colour": "red"})
    with pytest.raises(ConfigError):
        ScannerSim(terminator="nul")
    assert ScannerSim().control({"cmd": "dance"})["ok"] is False
