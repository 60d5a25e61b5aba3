"""Applications, bookings, reports and what a resident sees, in-process on SQLite and
PostgreSQL: only her own cases (another id is 404), ID numbers masked, short booking
codes throttled per IP, a report reaches the grid worker, the kiosk's ID-card
confirmation links a number, photos are purged after their retention."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from locker import codes as locker_codes
from sync.server import keys
from sync.server.accounts import create_account
from sync.server.content import now
from sync.server.models import Case, ChangeRow, EventRow
from sync.server.phone import links
from sync.server.phone.models import PhoneLink, PhonePhoto
from sync.server.phone.throttle import Policy
from tests.support import ROOT
from tests.sync.server.phone.conftest import GRID, HOUSEHOLD, ITEM, JPEG, LI, ZHANG, Device
from tests.sync.server.support import COMMUNITY, Signed, new_code, new_key

ZHANG_PHONE, LI_PHONE, STRANGER = "13800138000", "13900139000", "13700137000"


def link(engine, phone: str, member: dict) -> None:
    with engine.begin() as conn:
        links.link(conn, community=COMMUNITY, phone=phone, household=HOUSEHOLD, id_number=member["id_number"],
                   source="admin", by="test")


def signed_in(phone, seeded, number: str, ip: str = "10.0.0.1"):
    p = phone(ip)
    p.scan(seeded["locker"])
    return p.sign_in(number)


def case_of(answer) -> str:
    assert answer.status_code == 303, answer.text[:2000]
    return answer.headers["location"].rsplit("/", 1)[1]


def test_a_linked_resident_applies_prefilled_and_gets_a_booking_the_locker_accepts(phone, seeded, engine):
    link(engine, ZHANG_PHONE, ZHANG)
    p = signed_in(phone, seeded, ZHANG_PHONE)
    form = p.client.get(f"/phone/apply/{ITEM}").text
    assert "张晓明" in form and "1101**********0033" in form and ZHANG["id_number"] not in form
    case_id = case_of(p.apply(photos={"photo_0": ("id.jpg", JPEG, "image/jpeg")}, address="幸福里12号楼"))
    page = p.client.get(f"/phone/cases/{case_id}").text
    assert "预约投递二维码" in page and "<svg" in page and ZHANG["id_number"] not in page
    short = re.search(r'class="short-code"[^>]*>(\w{4})-(\w{4})<', page)
    assert short, "the short code is shown once, after applying"
    with engine.begin() as conn:
        created = conn.execute(select(EventRow.payload).where(EventRow.aggregate_id == case_id)).scalar_one()
        server_key = keys.load(conn)
        assert conn.execute(select(Case.state).where(Case.id == case_id)).scalar_one() == "created"
    assert created["household"] == HOUSEHOLD and created["resident_id"] == ZHANG["id_number"]
    assert created["item_id"] == ITEM and created["locker"] == seeded["locker"]
    # the booking QR, as the short code gives it back, is one the locker checks offline
    look = p.client.post("/phone/code", data={"short": "".join(short.groups()), "csrf": p.csrf("/phone/code")})
    assert "<title>预约二维码</title>" in look.text
    from appliance.keys import TrustedKeys
    code = locker_codes.check(_booking_text(engine, case_id), TrustedKeys().with_key("server", server_key.public_key),
                              locker_id=seeded["locker"], server_key_id="server", worker_max_minutes=30)
    assert code.case == case_id and code.size == "M"
    assert p.client.get(f"/phone/cases/{case_id}/photos/1").content == JPEG


def _booking_text(engine, case_id: str) -> str:
    from sync.server.phone.models import PhoneBooking
    with engine.connect() as conn:
        return conn.execute(select(PhoneBooking.code).where(PhoneBooking.case_id == case_id)).scalar_one()


def test_an_unlinked_resident_types_her_details_and_bad_input_loses_nothing_but_the_id(phone, seeded, engine):
    p = signed_in(phone, seeded, STRANGER)
    answer = p.apply(name="王五", id_number="12345", address="幸福里9号", note="请尽快",
                     photos={"photo_0": ("x.txt", b"not a picture", "text/plain")})
    assert answer.status_code == 400
    assert "18 位身份证号码" in answer.text and "不是 JPG/PNG" in answer.text
    assert 'value="王五"' in answer.text and "请尽快" in answer.text and "12345" not in answer.text
    case_id = case_of(p.apply(name="王五", id_number="11010119900101123x"))
    assert "1101**********123X" in p.client.get(f"/phone/cases/{case_id}").text


def test_a_resident_sees_only_her_own_cases_and_another_id_is_404(phone, seeded, engine):
    link(engine, ZHANG_PHONE, ZHANG)
    link(engine, LI_PHONE, LI)  # same household, another member: still not her cases
    zhang = signed_in(phone, seeded, ZHANG_PHONE)
    hers = case_of(zhang.apply(photos={"photo_0": ("id.jpg", JPEG, "image/jpeg")}))
    li = signed_in(phone, seeded, LI_PHONE, ip="10.0.0.2")
    mine = case_of(li.apply())
    assert li.client.get(f"/phone/cases/{hers}").status_code == 404
    assert li.client.get(f"/phone/cases/{hers}/photos/1").status_code == 404
    assert hers not in li.client.get("/phone/cases").text and mine in li.client.get("/phone/cases").text
    rate = li.client.post(f"/phone/cases/{hers}/rate", data={"score": "1", "csrf": li.csrf("/phone/cases")})
    assert rate.status_code == 404
    anonymous = TestClient(zhang.client.app)
    assert anonymous.get(f"/phone/cases/{hers}", follow_redirects=False).headers["location"].startswith("/phone/signin")


def test_a_kiosk_case_naming_her_shows_with_its_pickup_code_and_she_rates_it(phone, seeded, engine, app,
                                                                            database_url):
    link(engine, ZHANG_PHONE, ZHANG)
    with TestClient(app) as client:
        locker = Device(Signed(client, new_key("locker-pickup")))
        assert locker.signed.enrol(new_code(database_url, locker.device_id, COMMUNITY)).status_code == 201
        from sync.server.notify.residents import resident_key
        for event_type, payload in (("created", {"resident": resident_key(ZHANG["id_number"]), "item": "居住证明"}),
                                    ("materials_deposited", {"door": 3}), ("collected", {}), ("in_review", {}),
                                    ("approved", {}), ("result_deposited", {"door": 5}),
                                    ("pickup_code_issued", {"door": 5, "code": "LKR1.P.x.y", "short": "12345678",
                                                            "expires_at": 0})):
            assert locker.push("KIOSK-1", event_type, **payload)["status"] == "applied"
    p = signed_in(phone, seeded, ZHANG_PHONE)
    page = p.client.get("/phone/cases/KIOSK-1").text
    assert "12345678" in page and "取件" in page and "居住证明" in page
    assert p.client.get("/phone/cases").text.count("KIOSK-1") >= 1
    with TestClient(app) as client:
        locker.signed.client = client
        assert locker.push("KIOSK-1", "picked_up", door=5)["status"] == "applied"
    page = p.client.get("/phone/cases/KIOSK-1").text
    assert "12345678" not in page and "为本次服务评分" in page
    answer = p.client.post("/phone/cases/KIOSK-1/rate", data={"score": "4", "comment": "很方便",
                                                              "csrf": p.csrf("/phone/cases")}, follow_redirects=False)
    assert answer.status_code == 303
    with engine.connect() as conn:
        assert conn.execute(select(Case.state).where(Case.id == "KIOSK-1")).scalar_one() == "evaluated"
    again = p.client.post("/phone/cases/KIOSK-1/rate", data={"score": "1", "csrf": p.csrf("/phone/cases")})
    assert "已经评价过" in again.text


def test_short_booking_codes_are_throttled_per_ip(phone, seeded, engine):
    link(engine, ZHANG_PHONE, ZHANG)
    p = signed_in(phone, seeded, ZHANG_PHONE)
    page = p.client.get(f"/phone/cases/{case_of(p.apply())}").text
    short = "".join(re.search(r'class="short-code"[^>]*>(\w{4})-(\w{4})<', page).groups())
    guesser = phone(ip="10.6.6.6")
    for n in range(Policy().booking_wrong_per_ip.count):
        answer = guesser.client.post("/phone/code", data={"short": f"AAAA{n:04d}", "csrf": guesser.csrf("/phone/code")})
        assert answer.status_code == 404 and "预约码不正确" in answer.text
    answer = guesser.client.post("/phone/code", data={"short": short, "csrf": guesser.csrf("/phone/code")})
    assert answer.status_code == 429 and "<svg" not in answer.text  # even the right one, now
    other = phone(ip="10.6.6.7")
    assert "<svg" in other.client.post("/phone/code", data={"short": short.lower(), "csrf": other.csrf("/phone/code")}).text


def test_a_report_becomes_a_case_the_grid_worker_sees_and_another_grid_does_not(phone, seeded, engine, app):
    p = signed_in(phone, seeded, ZHANG_PHONE)
    refused = p.client.post("/phone/report", data={"text": "楼道灯不亮", "place": "12号楼", "csrf": p.csrf("/phone/report")})
    assert refused.status_code == 400 and "关联户籍档案" in refused.text
    link(engine, ZHANG_PHONE, ZHANG)
    answer = p.client.post("/phone/report", data={"text": "3单元楼道灯不亮，晚上很黑", "place": "12号楼3单元",
                                                  "csrf": p.csrf("/phone/report")},
                           files={"photo": ("light.jpg", JPEG, "image/jpeg")}, follow_redirects=False)
    case_id = case_of(answer)
    assert case_id.startswith("BS")
    with engine.begin() as conn:  # the community's appliances pull it (a kiosk's My progress), nothing personal
        published = conn.execute(select(ChangeRow.community, ChangeRow.data).where(
            ChangeRow.kind == "case", ChangeRow.key == case_id)).all()
    assert [(c, d["state"], d["kind"], d["next_step"]) for c, d in published] == [
        (COMMUNITY, "created", "report", "report_created")]
    assert "楼道灯" not in str(published) and ZHANG_PHONE not in str(published)
    with engine.begin() as conn:
        create_account(conn, username="w-li", password="pass-w-li-1", name="李网格", role="worker",
                       community=COMMUNITY, grid=GRID)
        create_account(conn, username="w-other", password="pass-w-other-1", name="赵网格", role="worker",
                       community=COMMUNITY, grid="二网格")
    from tests.sync.server.worker.conftest import login
    with TestClient(app) as mine, TestClient(app) as other:
        page = login(mine, "w-li", "pass-w-li-1").get(f"/worker/cases/{case_id}")
        assert page.status_code == 200 and "报事" in page.text
        listing = mine.get("/worker/reports").text
        assert case_id in listing and "12号楼3单元" in listing and "张*明" in listing
        assert login(other, "w-other", "pass-w-other-1").get(f"/worker/cases/{case_id}").status_code in (403, 404)
        assert case_id not in other.get("/worker/reports").text
        photo = re.search(r'href="(/worker/reports/photos/\d+)"', listing).group(1)
        assert mine.get(photo).content == JPEG and other.get(photo).status_code == 404


def test_the_kiosk_confirms_a_number_with_the_id_card(seeded, engine, app, database_url):
    from sync.server.notify.residents import resident_key
    with TestClient(app) as client:
        kiosk = Device(Signed(client, new_key("kiosk-card")))
        assert kiosk.signed.enrol(new_code(database_url, kiosk.device_id, COMMUNITY)).status_code == 201
        assert kiosk.push(LI_PHONE, "phone_confirmed", aggregate_type="phone", phone=LI_PHONE,
                          resident=resident_key(LI["id_number"]))["status"] == "applied"
        kiosk.push(STRANGER, "phone_confirmed", aggregate_type="phone", phone=STRANGER,
                   resident=resident_key("110101200001011234"))
    with engine.connect() as conn:
        member = links.linked(conn, COMMUNITY, LI_PHONE)
        assert member is not None and member.name == "李秀英" and member.source == "kiosk"
        assert links.linked(conn, COMMUNITY, STRANGER) is None
        assert "nothing linked" in conn.execute(select(EventRow.reason).where(
            EventRow.aggregate_id == STRANGER)).scalar_one()


def test_the_admin_links_and_unlinks_a_number_and_prints_a_sticker(seeded, engine, app):
    from tests.sync.server.worker.conftest import csrf_of, login
    with engine.begin() as conn:
        create_account(conn, username="admin1", password="pass-admin-1", name="管理员", role="admin",
                       community=COMMUNITY)
    with TestClient(app) as admin:
        login(admin, "admin1", "pass-admin-1")
        page = admin.get("/admin/phones", params={"household": HOUSEHOLD})
        assert page.status_code == 200 and LI["id_number"] not in page.text
        csrf = csrf_of(admin, f"/admin/phones?household={HOUSEHOLD}")
        admin.post("/admin/phones/link", data={"household": HOUSEHOLD, "member": "1", "phone": LI_PHONE, "csrf": csrf})
        assert "139****9000" in admin.get("/admin/phones", params={"household": HOUSEHOLD}).text
        with engine.connect() as conn:
            assert conn.execute(select(PhoneLink.id_number)).scalar_one() == LI["id_number"]
        admin.post("/admin/phones/unlink", data={"household": HOUSEHOLD, "phone": LI_PHONE, "csrf": csrf})
        with engine.connect() as conn:
            assert conn.execute(select(PhoneLink.id)).first() is None
        sticker = admin.get(f"/phone/sticker/{seeded['locker']}")
        assert sticker.status_code == 200 and "扫码办事" in sticker.text and "<svg" in sticker.text
        assert admin.get("/phone/sticker/no-such-device").status_code == 404
        assert f"/phone/sticker/{seeded['locker']}" in admin.get("/admin/devices").text


def test_photos_past_their_retention_are_purged_by_the_command(phone, seeded, engine, database_url):
    link(engine, ZHANG_PHONE, ZHANG)
    p = signed_in(phone, seeded, ZHANG_PHONE)
    case_of(p.apply(photos={"photo_0": ("a.jpg", JPEG, "image/jpeg"), "photo_1": ("b.jpg", JPEG, "image/jpeg")}))
    with engine.begin() as conn:
        first = conn.execute(select(PhonePhoto.id).order_by(PhonePhoto.id)).scalars().first()
        conn.execute(update(PhonePhoto.__table__).where(PhonePhoto.id == first)
                     .values(expires_at=now() - timedelta(minutes=1)))
    done = subprocess.run([sys.executable, "-m", "sync.server.phone", "purge", "--database", database_url],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0 and "deleted 1 photo(s)" in done.stdout, done.stderr
    with engine.connect() as conn:
        assert conn.execute(select(PhonePhoto.id)).scalars().all() != [first]
        assert len(conn.execute(select(PhonePhoto.id)).all()) == 1
