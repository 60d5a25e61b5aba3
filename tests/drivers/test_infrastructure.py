"""The shared driver layers: URLs, the framer contract, a link over a pty simulator."""
import time

import pytest

from drivers.errors import ConfigError, DeviceGone, DeviceTimeout, PortUnavailable
from drivers.framing import Deframer, Scan
from drivers.link import SerialLink
from drivers.simserve import PtyServer
from drivers.transport import open_transport, parse_url


def scan_lines(buf: bytes) -> Scan:
    """A toy codec: frames are b'<' … b'>\\n'; anything before '<' is garbage."""
    if buf[:1] != b"<":
        i = buf.find(b"<")
        return Scan.drop(i if i > 0 else len(buf))
    end = buf.find(b">\n")
    return Scan.frame(end + 2) if end >= 0 else Scan.need()


class Echo:
    def __init__(self):
        self.silent = False

    def receive(self, data: bytes) -> bytes:
        return b"" if self.silent else data

    def control(self, request):
        self.silent = bool(request.get("silent"))
        return {"silent": self.silent}


@pytest.mark.parametrize("url,scheme,target,baud", [
    ("serial:///dev/ttyUSB0?baud=9600", "serial", "/dev/ttyUSB0", 9600),
    ("/dev/pts/3", "serial", "/dev/pts/3", None),
    ("socket://127.0.0.1:7001", "socket", "socket://127.0.0.1:7001", None),
    ("loop://?baud=115200", "loop", "loop://", 115200),
    ("sim://lockboard?protocol=kerong&boards=2", "sim", "lockboard", None),
])
def test_urls_parse(url, scheme, target, baud):
    parsed = parse_url(url)
    assert (parsed.scheme, parsed.target, parsed.baudrate) == (scheme, target, baud)


@pytest.mark.parametrize("url", ["", "ftp://x", "serial://", "sim://", "serial:///dev/x?baud=fast"])
def test_bad_urls_are_config_errors(url):
    with pytest.raises(ConfigError):
        parse_url(url).baudrate


def test_missing_port_names_the_port_and_the_fix():
    with pytest.raises(PortUnavailable) as info:
        open_transport("serial:///dev/ttyNOPE0")
    assert "/dev/ttyNOPE0" in str(info.value) and "no such device" in str(info.value)
    assert info.value.hint


def test_deframer_drops_garbage_and_resyncs():
    d = Deframer(scan_lines)
    assert d.feed(b"xx<a") == []
    assert d.feed(b">\nzz<b>\n<c") == [b"<a>\n", b"<b>\n"]
    assert d.dropped == 4 and d.pending() == b"<c"


def test_link_transacts_over_a_pty():
    with PtyServer(Echo()) as server:
        with SerialLink(server.path, scan_lines, name="echo") as link:
            assert link.transact(b"<hi>\n", lambda f: f == b"<hi>\n", timeout=1) == b"<hi>\n"


def test_link_times_out_with_the_port_named():
    echo = Echo()
    with PtyServer(echo) as server:
        server.control({"cmd": "x", "silent": True})
        with SerialLink(server.path, scan_lines, name="echo") as link:
            with pytest.raises(DeviceTimeout) as info:
                link.transact(b"<hi>\n", lambda f: True, timeout=0.05)
            assert server.path in str(info.value)


def test_vanished_port_is_device_gone_then_reconnects(tmp_path):
    link_path = str(tmp_path / "echo0")
    server = PtyServer(Echo(), link=link_path).start()
    link = SerialLink(link_path, scan_lines, name="echo")
    assert link.transact(b"<1>\n", lambda f: True, timeout=1) == b"<1>\n"
    server.stop()
    with pytest.raises(DeviceGone) as gone:
        link.transact(b"<2>\n", lambda f: True, timeout=0.2)
    assert link_path in str(gone.value)
    with pytest.raises(PortUnavailable):  # still unplugged: cannot reopen
        link.transact(b"<2>\n", lambda f: True, timeout=0.2)
    server = PtyServer(Echo(), link=link_path).start()  # plugged back in, new pty
    try:
        for _ in range(3):
            try:
                assert link.transact(b"<3>\n", lambda f: True, timeout=1) == b"<3>\n"
                break
            except (DeviceGone, DeviceTimeout):
                time.sleep(0.05)
        else:
            pytest.fail("link did not reconnect")
    finally:
        link.close()
        server.stop()


class Burst:
    """Answers one request with three frames in a single write."""

    def receive(self, data: bytes) -> bytes:
        return b"<a>\n<b>\n<c>\n"


def test_frames_after_the_accepted_one_are_kept_for_the_next_read():
    with PtyServer(Burst()) as server:
        with SerialLink(server.path, scan_lines, name="burst") as link:
            link.write(b"<go>\n")
            first = link.read_frames(time.monotonic() + 1, until=lambda f: f == b"<a>\n")
            assert first == [b"<a>\n"]
            rest = link.read_frames(time.monotonic() + 0.3, silence=0.05)
            assert rest == [b"<b>\n", b"<c>\n"]


# -- socket:// and spy:// through a real device class ---------------------------------------
def test_a_lock_bus_over_socket_url_against_a_simulator_serving_tcp():
    """A serial-to-Ethernet converter in front of the boards: the simulator on a TCP port
    (``--tcp``), the driver on ``socket://``; the converter reboots, the bus comes back."""
    from drivers.lockboard.device import BoardSpec, LockBus
    from drivers.lockboard.errors import LockBusGone, LockBusUnavailable
    from tests.support import SimProcess

    args = ["--protocol", "kerong", "--boards", "2", "--doors", "8"]
    with SimProcess("drivers.lockboard.sim", *args, "--tcp", "127.0.0.1:0") as sim:
        url = sim.path
        assert url.startswith("socket://127.0.0.1:")
        bus = LockBus(url, "kerong", [BoardSpec(0, 8), BoardSpec(1, 8)], timeout=0.5, name="tcp")
        try:
            result = bus.unlock(1, 3)
            assert result.opened, result.reason
            assert bus.door_status(1, 3).state == "open" and bus.door_status(0, 3).state == "closed"
            assert bus.scan(range(0, 4)).found == (0, 1)
            sim.request(cmd="vanish")  # the converter loses power
            with pytest.raises((LockBusGone, LockBusUnavailable)) as gone:
                for _ in range(20):
                    bus.board_status(0)
                    time.sleep(0.05)
            assert url.split("://", 1)[1] in str(gone.value)
        finally:
            bus.close()
    with SimProcess("drivers.lockboard.sim", *args, "--tcp", url.split("://", 1)[1]):  # back on the same port
        try:
            assert bus.board_status(0).online
        finally:
            bus.close()


def test_spy_url_traces_every_byte_of_a_lock_bus(tmp_path):
    from drivers.lockboard.codec import KERONG
    from drivers.lockboard.device import BoardSpec, LockBus
    from tests.support import SimProcess

    trace = tmp_path / "bus0.trace"
    with SimProcess("drivers.lockboard.sim", "--protocol", "kerong", "--boards", "1", "--doors", "8") as sim:
        bus = LockBus(f"spy://{sim.path}?file={trace}", "kerong", [BoardSpec(0, 8)], timeout=0.5, name="traced")
        try:
            assert bus.unlock(0, 2).opened
            written = trace.read_text()  # line-buffered: readable while the port is open
        finally:
            bus.close()
    request = KERONG.encode("unlock", 0, 2).hex(" ").upper()
    tx = [line for line in written.splitlines() if line.split()[1:2] == ["TX"]]
    rx = " ".join(line.split(None, 2)[2] for line in written.splitlines() if line.split()[1:2] == ["RX"])
    assert tx and request in tx[0]
    assert "02 01 35 FD FF 00 00 03" in rx  # board 0's reply (lock nibble 1), door 2 open: byte for byte
    assert trace.read_text().startswith(written)  # closed with the port, nothing lost


def test_spy_url_with_a_missing_port_is_port_unavailable(tmp_path):
    with pytest.raises(PortUnavailable) as info:
        open_transport(f"spy:///dev/ttyNOPE9?file={tmp_path / 't.trace'}")
    assert "/dev/ttyNOPE9" in str(info.value)
