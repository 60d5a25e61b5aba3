"""``python -m sync.agent`` on its own: its heartbeat carries the printer as cupsd sees it
(a private cupsd, a queue out of paper) and the store it drains, lands at a real server
process and shows on the admin console's devices page (Chromium); it opens no device
another daemon owns (a lock bus and an ID reader on pseudo-terminals hear nothing)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tty

from sqlalchemy import select

from drivers.printer import Printer
from sync.agent.health import store_health
from sync.server import db
from sync.server.models import Device
from sync.store import Store, mark_failed, pending
from tests.browser import screenshot, sign_in
from tests.support import ROOT
from tests.sync.agent.conftest import append_events
from tests.sync.server.support import new_code

COMMUNITY = "示范社区"


def tiny_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "residence proof")
    page.showPage()
    page.save()
    return out.getvalue()


def pty_pair() -> tuple[int, str]:
    """A pseudo-terminal: (our end, the device path a daemon would open)."""
    ours, theirs = os.openpty()
    tty.setraw(theirs)
    os.set_blocking(ours, False)
    path = os.ttyname(theirs)
    os.close(theirs)
    return ours, path


def heard(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except (BlockingIOError, OSError):  # nothing written, or nobody ever opened the other end
        return b""


def run_agent(config, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sync.agent", "--config", str(config), "--once", *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_standalone_agent_reports_the_printer_and_its_store_not_other_daemons_devices(
        live_server, cupsd, page, artifacts, tmp_path):
    queue = cupsd.add_fault_printer("standalone-paper")
    try:
        cupsd.set_fault("paper", queue)
        printer = Printer(cupsd.url(queue))
        printer.submit(tiny_pdf(), title="kiosk job")  # the kiosk app printed; the paper ran out
        deadline = time.monotonic() + 20
        while printer.health().state != "down" and time.monotonic() < deadline:
            time.sleep(0.2)
        lockbus, lockbus_path = pty_pair()
        reader, reader_path = pty_pair()
        data = tmp_path / "data"
        data.mkdir()
        config = tmp_path / "appliance.toml"
        config.write_text(f'[appliance]\nid = "kiosk-solo"\ncommunity = "{COMMUNITY}"\ndata_dir = "{data}"\n'
                          f'[sync]\nserver_url = "{live_server.url}"\n'
                          f'[printer]\nurl = "{cupsd.url(queue)}"\n'
                          f'[idcard]\nurl = "serial://{reader_path}"\n'
                          f'[[lockboard]]\nname = "bus0"\nurl = "serial://{lockbus_path}"\n'
                          f'[[lockboard.board]]\naddress = 0\n', encoding="utf-8")
        (data / "enrolment-code").write_text(new_code(live_server.database_url, "kiosk-solo", COMMUNITY))
        with Store(data / "appliance.db") as store:
            append_events(store, 4)
        run = run_agent(config)
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("pushed 4 event(s)")
        assert heard(lockbus) == b"" and heard(reader) == b""  # the locker's and the kiosk's devices untouched
        os.close(lockbus)
        os.close(reader)
    finally:
        cupsd.run_tool("lpadmin", "-x", queue)
    engine = db.create(live_server.database_url)
    try:
        with engine.connect() as conn:
            health = conn.execute(select(Device.health).where(Device.device_id == "kiosk-solo")).scalar_one()
    finally:
        engine.dispose()
    peripherals = health["peripherals"]
    assert set(peripherals) == {"printer", "store"}  # no lock board, no ID reader, no camera
    assert peripherals["printer"]["state"] == "down" and "media-empty-error" in peripherals["printer"]["detail"]
    assert "cupsenable" in peripherals["printer"]["fix"]
    assert peripherals["store"]["state"] == "ok"
    assert peripherals["store"]["data"]["outbox_pending"] == 0 and peripherals["store"]["data"]["bytes"] > 0
    assert health["free_disk_bytes"] > 0 and health["software_version"]
    assert set(health["sources"]) == {"agent"}  # its heartbeat names the standalone agent

    live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
    sign_in(page, live_server, "alice", "admin-pass-1")
    page.goto(f"{live_server.url}/admin/devices")
    row = page.locator("tr", has=page.locator("strong", has_text="kiosk-solo"))
    text = row.inner_text()
    assert "在线" in text and "printer: 故障" in text and "store: 正常" in text
    assert "media-empty-error" in text  # the fault spelled out under the badges
    screenshot(page, artifacts, "devices-standalone-agent")


def test_the_store_says_how_big_it_is_and_which_events_the_server_held_back(tmp_path):
    with Store(tmp_path / "appliance.db") as store:
        ids = append_events(store, 3)
        healthy = store_health(store)
        assert healthy.state == "ok" and healthy.data["outbox_pending"] == 3 and healthy.data["outbox_held"] == 0
        assert healthy.data["bytes"] >= os.path.getsize(tmp_path / "appliance.db") > 0
        mark_failed(store, ids[1], "409: another event under this id")
        held = store_health(store)
        assert held.state == "degraded" and "1 held back" in held.detail and held.data["outbox_held"] == 1
        assert len(pending(store)) == 3
