"""A booking QR made on the phone opens a door at a real locker daemon: the lock-board
simulator on a pty, the daemon with its sync agent pushing to ``python -m sync.server``,
and Chromium on a phone. The QR is read off the phone's screen with zbarimg, shown to
the locker (its scanner's path, ``scan``), the door opens, the papers go in, the door
closes; after the agent syncs, the server's case is ``materials_deposited`` and the
phone's progress page says so. The same QR again opens nothing."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from appliance.config import load
from appliance.keys import TrustedKeys
from locker.daemon import Daemon, store_path
from sync.server import db, keys
from sync.server.models import Case, Device, EventRow
from sync.server.worker.cases import set_locker_grid
from tests.browser import screenshot
from tests.locker.conftest import LOCKER, Client, door, make_config, server_key, sim, running_sim, wait_for  # noqa: F401
from tests.sync.server.phone.conftest import ZHANG
from tests.sync.server.phone.support import phone_sign_in, read_qr, seed
from tests.sync.server.support import COMMUNITY, ServerProcess, new_code


def test_a_booking_qr_from_the_phone_opens_a_door_and_the_case_is_deposited(make_config, sim, tmp_path, monkeypatch,
                                                                            phone_page, artifacts):
    log = tmp_path / "sms.jsonl"
    monkeypatch.setenv("SYNC_NOTIFY_LOG_FILE", str(log))
    monkeypatch.setenv("SYNC_NOTIFY_INTERVAL_S", "0.1")
    url = f"sqlite:///{tmp_path / 'server.db'}"
    with ServerProcess(url) as server:
        engine = db.create(url)
        try:
            with engine.begin() as conn:
                server_public = keys.load(conn).public_key
            config = make_config(data=tmp_path / "locker", sync=True)
            (config.data_dir / "enrolment-code").write_text(new_code(url, LOCKER, COMMUNITY))
            TrustedKeys().with_key("server", server_public).save(config.data_dir / "trusted-keys.json")
            source = Path(config.source)
            source.write_text(source.read_text(encoding="utf-8").replace(
                "[sync]\nenabled = true", f'[sync]\nenabled = true\nserver_url = "{server.url}"\ninterval_s = 1'),
                encoding="utf-8")
            daemon = Daemon(load(source))
            api = Client(daemon.start(), store_path(load(source)))
            try:
                def enrolled() -> bool:
                    with engine.connect() as conn:
                        return conn.execute(select(Device.device_id).where(Device.device_id == LOCKER)).first() \
                            is not None
                wait_for(enrolled, 30, "the locker's agent to enrol")
                seed(url, server.url, lockers=())
                with engine.begin() as conn:
                    set_locker_grid(conn, LOCKER, COMMUNITY, "一网格", "幸福里 2 号柜")

                page = phone_page
                page.goto(f"{server.url}/phone/d/{LOCKER}")
                phone_sign_in(page, server.url, log, ZHANG["phone"])
                page.goto(f"{server.url}/phone/guide")
                page.get_by_role("link", name="高龄补贴申请").click()
                page.get_by_role("link", name="在线申请并预约投递").click()
                page.get_by_role("button", name="提交并获取预约码").click()
                page.get_by_role("heading", name="预约投递二维码").wait_for()
                case_id = page.url.rsplit("/", 1)[1]
                text = read_qr(page, ".ticket .qr-box", artifacts / "booking-qr.png")

                answer = api("scan", code=text)  # what the scanner does with what it read
                assert answer["ok"], answer
                api.wait_opening(answer["opening"]["id"], "opened")
                door(sim, answer["door"], "close")  # papers in, door shut
                api.wait_opening(answer["opening"]["id"], "closed")
                assert api.case(case_id)["state"] == "materials_deposited"

                def on_server() -> str | None:
                    with engine.connect() as conn:
                        return conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one()
                wait_for(lambda: on_server() == "materials_deposited", 30, "the deposit to reach the server")
                with engine.connect() as conn:
                    pushed = conn.execute(select(EventRow.event_type, EventRow.status, EventRow.reason).where(
                        EventRow.aggregate_id == case_id, EventRow.device_id == LOCKER)).all()
                assert [r for r in pushed if r.status != "applied"] == []
                assert ("created", "applied", "already created") in [tuple(r) for r in pushed]  # the phone made it

                again = api("scan", code=text)
                assert not again.get("ok"), again  # no code opens a door twice
                page.reload()
                main = page.locator("main").inner_text()
                assert "材料已投入云柜" in main and "预约投递二维码" not in main
                screenshot(page, artifacts, "deposited")
            finally:
                daemon.stop()
        finally:
            engine.dispose()
