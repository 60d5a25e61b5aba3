"""Logs to journald's native protocol (a real datagram socket standing in for
journald, records from a real child process) with ID numbers masked; the support
bundle: secrets really removed, ID numbers masked, the parts a maintainer needs."""
from __future__ import annotations

import io
import json
import os
import socket
import struct
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import pytest

from appliance.bundle import scrub
from appliance.journal import JournalHandler, encode
from appliance.keys import DeviceKey
from tests.support import ROOT

ID_NUMBER = "11010519491231002X"
MASKED = "1101**********002X"


def parse(datagram: bytes) -> dict[str, str]:
    """journald's side of the native protocol."""
    fields, i = {}, 0
    while i < len(datagram):
        end = datagram.index(b"\n", i)
        line = datagram[i:end]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            i = end + 1
        else:
            name = line
            (size,) = struct.unpack("<Q", datagram[end + 1:end + 9])
            value = datagram[end + 9:end + 9 + size]
            assert datagram[end + 9 + size:end + 10 + size] == b"\n"
            i = end + 10 + size
        fields[name.decode()] = value.decode()
    return fields


class Journal(socket.socket):
    path = ""


@pytest.fixture
def journal(tmp_path):
    """What journald does: a datagram socket that takes records."""
    sock = Journal(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.path = str(tmp_path / "journal.socket")
    sock.bind(sock.path)
    sock.settimeout(10)
    yield sock
    sock.close()


class Records:
    """The sink read in a thread while a process logs (``seen``): a datagram socket's
    queue is short (net.unix.max_dgram_qlen, often 10) and a sender blocks once it is
    full, so a daemon must not wait for the test to get round to reading."""

    def __init__(self, sink: socket.socket) -> None:
        self.sink, self.seen = sink, []
        self.sink.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.seen.append(parse(self.sink.recv(1 << 20)))
            except TimeoutError:
                continue

    def stop(self) -> list[dict[str, str]]:
        self._stop.set()
        self._thread.join(5)
        return self.seen

    def starting(self, prefix: str) -> list[dict[str, str]]:
        return [r for r in list(self.seen) if r["MESSAGE"].startswith(prefix)]


def test_the_native_protocol_round_trips():
    fields = {"MESSAGE": "line one\nline two", "PRIORITY": "6", "KIOSK_CASE": "c-1"}
    assert parse(encode(fields)) == fields


def test_a_child_process_logs_structured_fields_with_id_numbers_masked(journal, tmp_path):
    code = ("import logging, sys\n"
            "from appliance.privacy import setup_logging\n"
            "setup_logging('INFO')\n"
            f"logging.getLogger('locker').warning('card %s read at door %d', {ID_NUMBER!r}, 7, "
            f"extra={{'case': 'case-42', 'resident': {ID_NUMBER!r}}})\n"
            "try:\n    1/0\nexcept ZeroDivisionError:\n    logging.getLogger('locker').exception('boom')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KIOSK_LOG": "journal", "KIOSK_JOURNAL_SOCKET": journal.path})
    assert proc.returncode == 0, proc.stderr
    first, second = parse(journal.recv(65536)), parse(journal.recv(65536))
    assert first["MESSAGE"] == f"card {MASKED} read at door 7"
    assert first["PRIORITY"] == "4" and first["LOGGER"] == "locker" and first["KIOSK_CASE"] == "case-42"
    assert first["KIOSK_RESIDENT"] == MASKED and first["CODE_FUNC"] == "<module>"
    assert second["PRIORITY"] == "3" and "ZeroDivisionError" in second["MESSAGE"]
    assert ID_NUMBER not in proc.stderr  # nothing went to stderr in clear either


def test_each_program_logs_under_its_units_name(journal, tmp_path):
    """``python -m sync.agent`` (a real run: its first record says it made the device
    key) logs as kiosk-sync-agent, the name of its unit, not ``__main__.py``, with the
    appliance's id (KIOSK_DEVICE)."""
    config = tmp_path / "appliance.toml"
    text = (ROOT / "assets/appliance.toml").read_text(encoding="utf-8")
    config.write_text(text.replace('data_dir = "var"', f'data_dir = "{tmp_path / "data"}"')
                      .replace("http://127.0.0.1:8000", "http://127.0.0.1:9"), encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "sync.agent", "--config", str(config), "--once"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "KIOSK_LOG": "journal", "KIOSK_JOURNAL_SOCKET": journal.path})
    assert proc.returncode == 1, proc.stderr  # the server is not there: one round fails, as it should
    first = parse(journal.recv(65536))
    assert first["SYSLOG_IDENTIFIER"] == "kiosk-sync-agent", first
    assert first["KIOSK_DEVICE"] == "demo-kiosk-01"  # every line of the agent names the appliance
    for unit in ("kiosk-locker", "kiosk-server", "kiosk-sync-agent", "kiosk-ui"):  # the units name their stdout so
        assert f"SyslogIdentifier={unit}\n" in (ROOT / "systemd" / f"{unit}.service").read_text()


@pytest.mark.parametrize("main, argv0, expected", [
    ("locker.__main__", "/opt/x/app/locker/__main__.py", "kiosk-locker"),
    ("kiosk.__main__", "", "kiosk-ui"), ("sync.server.__main__", "", "kiosk-server"),
    ("sync.agent.__main__", "", "kiosk-sync-agent"), ("bench.__main__", "", "bench"),
    ("", "/opt/x/app/scripts/migrate_stores.py", "migrate_stores"), ("", "-c", "python"),
])
def test_program_identifier(main, argv0, expected):
    from appliance.journal import program_identifier

    assert program_identifier(argv0, main) == expected


def test_a_case_set_around_the_work_reaches_the_journal_as_kiosk_case(journal):
    """README's ``journalctl KIOSK_CASE=…``: a record logged inside ``log_context(case=…)``
    by any logger carries KIOSK_CASE (and the door, the device); an ``extra=`` of the
    same name wins; outside the block the fields are gone; ID numbers masked."""
    code = ("import logging, threading\n"
            "from appliance.journal import log_context, process_fields\n"
            "from appliance.privacy import setup_logging\n"
            "setup_logging('INFO')\n"
            "with log_context(case='SQ-2026-0042', door=7, device='kiosk-0001'):\n"
            "    logging.getLogger('locker.flows').info('door opened')\n"
            "    with log_context(door=8, resident=%r):\n"
            "        logging.getLogger('kiosk.dropoff').warning('shut', extra={'case': 'SQ-other'})\n"
            "logging.getLogger('locker').info('idle')\n"
            "process_fields(device='locker-0002')\n"
            "thread = threading.Thread(target=lambda: logging.getLogger('locker').info('polled'))\n"
            "thread.start(); thread.join()\n" % ID_NUMBER)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KIOSK_LOG": "journal", "KIOSK_JOURNAL_SOCKET": journal.path})
    assert proc.returncode == 0, proc.stderr
    first, second, third, fourth = (parse(journal.recv(65536)) for _ in range(4))
    assert (first["KIOSK_CASE"], first["KIOSK_DOOR"], first["KIOSK_DEVICE"]) == ("SQ-2026-0042", "7", "kiosk-0001")
    assert first["MESSAGE"] == "door opened" and first["LOGGER"] == "locker.flows"
    assert (second["KIOSK_CASE"], second["KIOSK_DOOR"], second["KIOSK_RESIDENT"]) == ("SQ-other", "8", MASKED)
    assert third["MESSAGE"] == "idle" and not any(k in third for k in ("KIOSK_CASE", "KIOSK_DOOR", "KIOSK_DEVICE"))
    assert not any(name.startswith("KIOSK__") for name in first), first  # the filter's own bookkeeping stays out
    assert fourth["MESSAGE"] == "polled" and fourth["KIOSK_DEVICE"] == "locker-0002"  # another thread: the process's

    # outside systemd: the stderr line ends with the fields, masked too
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "KIOSK_LOG")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert "door opened [case=SQ-2026-0042 door=7 device=kiosk-0001]" in proc.stderr, proc.stderr
    assert f"resident={MASKED}" in proc.stderr and ID_NUMBER not in proc.stderr


def test_an_id_number_never_becomes_a_field():
    """A context's value is masked when it is set: no handler (the journal's, stderr's,
    the kiosk's recent logs, anyone's) ever holds the ID number in a record."""
    import logging

    from appliance.journal import ContextFilter, log_context, process_fields

    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("test.journal.masking")
    logger.addHandler(handler)
    try:
        with log_context(case=f"case of {ID_NUMBER}", door=3):
            logger.warning("inside")
        process_fields(device=ID_NUMBER)
        logger.warning("process")
    finally:
        process_fields(device=None)
        logger.removeHandler(handler)
    assert (seen[0].case, seen[0].door) == (f"case of {MASKED}", "3")
    assert seen[1].device == MASKED and not hasattr(seen[1], "case")


def test_a_record_too_big_for_a_datagram_goes_in_a_memfd(journal):
    handler = JournalHandler("test", journal.path)
    import logging
    record = logging.LogRecord("big", logging.INFO, __file__, 1, "x" * 400_000, None, None)
    handler.emit(record)
    data, ancillary, _, _ = journal.recvmsg(1024, socket.CMSG_SPACE(4))
    assert data == b"" and ancillary, "expected a file descriptor, not a datagram"
    fd = struct.unpack("i", ancillary[0][2][:4])[0]
    with os.fdopen(fd, "rb") as f:
        f.seek(0)
        assert parse(f.read())["MESSAGE"] == "x" * 400_000
    handler.close()


def test_without_systemd_logs_go_to_stderr_masked():
    code = ("import logging\nfrom appliance.privacy import setup_logging\nsetup_logging('INFO')\n"
            f"logging.getLogger('x').info('id %s', {ID_NUMBER!r})\n")
    env = {k: v for k, v in os.environ.items() if k not in ("JOURNAL_STREAM", "KIOSK_LOG")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, env=env)
    assert f"id {MASKED}" in proc.stderr and ID_NUMBER not in proc.stderr


def test_scrub_removes_secrets_and_masks_ids():
    text = ('server_url = "https://kiosk:s3cr3t@sync.example.org"  # the server\n'
            'password = "hunter2"\nSYNC_DATABASE_URL=postgresql://kiosk:pg-pass@db/kiosk\nSECRET_KEY=abc\n'
            f'note = "{ID_NUMBER}"\nserver_key_id = "server"\n')
    out = scrub(text)
    for secret in ("s3cr3t", "hunter2", "pg-pass", "abc\n", ID_NUMBER):
        assert secret not in out, secret
    assert 'server_key_id = "server"' in out and "https://kiosk:<removed>@sync.example.org" in out
    assert MASKED in out


def test_the_support_bundle(tmp_path):
    data = tmp_path / "data"
    (data / "logs").mkdir(parents=True)
    text = (ROOT / "assets/appliance.toml").read_text(encoding="utf-8")
    text = text.replace('data_dir = "var"', f'data_dir = "{data}"')
    text = text.replace('server_url = "http://127.0.0.1:8000"', 'server_url = "https://kiosk:s3cr3t-sync@sync.example.org"')
    assert "s3cr3t-sync" in text
    config = tmp_path / "etc" / "appliance.toml"
    config.parent.mkdir()
    config.write_text(text, encoding="utf-8")
    (config.parent / "server.env").write_text("SYNC_DATABASE_URL=postgresql://kiosk:pg-s3cret@db.example.org/kiosk\n"
                                              "SESSION_SECRET=very-s3cret\nSYNC_PORT=8000\n")
    (data / "logs" / "locker.log").write_text(f"2026-01-01 INFO locker: card {ID_NUMBER} at door 3\n")
    key = DeviceKey.load_or_create(data, "demo-kiosk-01")
    key_files = {p.name: p.read_bytes() for p in data.iterdir() if p.is_file()}
    assert key_files, "the device key should be on disk for this test"
    (data / "appliance.db").write_bytes(b"SQLite format 3\0" + ID_NUMBER.encode())

    output = tmp_path / "out" / "support.tar.gz"
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_CONFIG"}
    proc = subprocess.run([sys.executable, "-m", "appliance", "--config", str(config), "bundle", "--output",
                           str(output), "--since=-1h"], cwd=ROOT, capture_output=True, text=True,
                          timeout=180, env=env)
    assert proc.returncode == 0, proc.stderr
    assert oct(output.stat().st_mode & 0o777) == "0o600"
    with tarfile.open(output) as tar:
        files = {m.name.split("/", 1)[1]: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    everything = b"\n".join(files.values())
    for secret in (b"s3cr3t-sync", b"pg-s3cret", b"very-s3cret", ID_NUMBER.encode(), b"PRIVATE KEY"):
        assert secret not in everything, f"{secret!r} leaked into the bundle"
    for content in key_files.values():
        assert content not in everything
    assert {"MANIFEST.json", "versions.txt", "config/appliance.toml", "config/server.env", "doctor.txt"} <= set(files)
    assert not any(name.endswith(".db") for name in files)
    manifest = json.loads(files["MANIFEST.json"])
    assert "config/appliance.toml" in manifest["files"]
    assert b"sync.example.org" in files["config/appliance.toml"] and b"SYNC_PORT=8000" in files["config/server.env"]
    logs = b"".join(v for k, v in files.items() if k.startswith("logs/"))
    assert MASKED.encode() in logs or b"journal" in b"".join(files), "the appliance's logs are missing"
    assert b"python:" in files["versions.txt"] and b"pydantic==" in files["versions.txt"]
    assert b"python -m drivers doctor" in files["doctor.txt"] and b"idcard" in files["doctor.txt"]


def test_an_unwritable_output_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = subprocess.run([sys.executable, "-m", "appliance", "bundle", "--output", str(blocker / "x.tar.gz")],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1 and "--output" in proc.stderr
    assert not list(tmp_path.glob("**/*.partial"))
