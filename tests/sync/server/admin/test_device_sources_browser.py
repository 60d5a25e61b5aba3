"""A kiosk+locker box as it runs, every part real: one appliance.toml, one device key,
two sync agents: the kiosk app's (kiosk.devices, its printer a private cupsd queue
out of paper) and the locker daemon's (``python -m locker serve`` as its own process,
a board of its bus offline on the lock-board simulator), both beating every second at
``python -m sync.server``. The admin's devices page in Chromium shows both problems at
once, however the beats interleave. Screenshot in test-artifacts/<test>/."""
from __future__ import annotations

import io
from datetime import datetime

from sqlalchemy import select

from appliance.config import load
from appliance.processes import Child
from drivers.printer import Printer
from kiosk.devices import Devices
from sync.server import db
from sync.server.models import Device
from tests.browser import screenshot, sign_in
from tests.locker.conftest import DOORS, LockBank, wait_for
from tests.sync.server.support import COMMUNITY, new_code

BOX = "box-01"
CONFIG = """
[appliance]
id = "{box}"
community = "{community}"
data_dir = "{data}"

[[lockboard]]
name = "bus0"
url = "serial://{bus}"
protocol = "kerong"
timeout_ms = 100
poll_interval_ms = 100

[[lockboard.board]]
address = 0
doors = {doors}

[[lockboard.board]]
address = 1
doors = {doors}

[idcard]
url = "sim://idcard?card=none"

[printer]
url = "{printer}"

[camera]
enabled = false

[scanner]
enabled = false

[sync]
server_url = "{server}"
interval_s = 1

[locker]
receipt = false
"""


def tiny_pdf() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "residence proof")
    page.showPage()
    page.save()
    return out.getvalue()


def health(database_url: str) -> dict:
    engine = db.create(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(Device.health).where(Device.device_id == BOX)).scalar_one_or_none() or {}
    finally:
        engine.dispose()


def newer(found: dict, before: dict) -> dict | None:
    """``found`` once every source of ``before`` has beaten again since."""
    halves, earlier = found.get("sources") or {}, before.get("sources") or {}
    if earlier and all(name in halves and datetime.fromisoformat(halves[name]["at"]) >
                       datetime.fromisoformat(entry["at"]) for name, entry in earlier.items()):
        return found
    return None


def both_faults(found: dict) -> bool:
    halves = found.get("sources") or {}
    kiosk = ((halves.get("kiosk") or {}).get("beat") or {}).get("peripherals") or {}
    locker = ((halves.get("locker") or {}).get("beat") or {}).get("peripherals") or {}
    return (kiosk.get("printer", {}).get("state") == "down"
            and any(name.endswith("board 1") and p["state"] == "down" for name, p in locker.items()))


def test_the_devices_page_shows_the_kiosk_s_and_the_locker_s_problems_at_once(live_server, cupsd, page, artifacts,
                                                                              tmp_path):
    queue = cupsd.add_fault_printer("box-paper")
    with LockBank("kerong") as bank:
        try:
            cupsd.set_fault("paper", queue)
            printer = Printer(cupsd.url(queue))
            printer.submit(tiny_pdf(), title="a certificate")  # the kiosk printed; the paper ran out
            wait_for(lambda: printer.health().state == "down", 30, "cupsd to see the paper out")
            data = tmp_path / "data"
            data.mkdir()
            path = tmp_path / "appliance.toml"
            path.write_text(CONFIG.format(box=BOX, community=COMMUNITY, data=data, bus=bank.path, doors=DOORS,
                                          printer=cupsd.url(queue), server=live_server.url), encoding="utf-8")
            (data / "enrolment-code").write_text(new_code(live_server.database_url, BOX))
            config = load(path, check_devices=False)
            assert config.appliance.role == "kiosk+locker"

            locker = Child("locker", "--config", str(path), "serve", header_lines=1,
                           log=artifacts / "locker.log").start(timeout=30)
            kiosk = Devices(config)
            try:
                bank.request(cmd="fault", name="offline", board=1)
                kiosk.start_sync()
                found = wait_for(lambda: both_faults(health(live_server.database_url))
                                 and health(live_server.database_url), 60, "both halves' faults at the server")
                # more beats of each, interleaved as they come: neither half is lost
                for _ in range(3):
                    found = wait_for(lambda before=found: newer(health(live_server.database_url), before), 30,
                                     "another beat of each")
                    assert both_faults(found), found
                assert set(found["sources"]) == {"kiosk", "locker"}
                assert {"printer", "lockboard bus0 board 1"} <= set(found["peripherals"])

                # the admin's devices page, while both go on beating
                live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community=COMMUNITY)
                sign_in(page, live_server, "alice", "admin-pass-1")
                for _ in range(2):  # again after more beats: still both
                    page.goto(f"{live_server.url}/admin/devices")
                    text = page.locator("tr", has=page.locator("strong", has_text=BOX)).inner_text()
                    assert "在线" in text and "自助终端程序" in text and "柜机守护进程" in text
                    assert "printer: 故障" in text and "lockboard bus0 board 1: 故障" in text
                    assert "自助终端程序 · printer 故障" in text and "media-empty-error" in text
                    assert "柜机守护进程 · lockboard bus0 board 1 故障" in text
                    assert "未上报" not in text
                    before = health(live_server.database_url)
                    wait_for(lambda: newer(health(live_server.database_url), before), 30, "another beat of each")
                screenshot(page, artifacts, "devices-kiosk-and-locker")
            finally:
                kiosk.close()
                locker.stop(timeout=30)
        finally:
            cupsd.run_tool("lpadmin", "-x", queue)
