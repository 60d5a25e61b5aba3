"""Who sees what, in-process on SQLite and PostgreSQL: department staff see their
department's cases (by the service guide item's department, the department a case
names, the call-backs of their video calls) and nothing else — another department's
case answers 404 exactly as a case that does not exist; they close a call-back once
made, and nothing else; statistics are scoped: a worker her grid and herself, staff
their department, an admin the community."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import select

from sync.server.content import put
from sync.server.models import Case
from sync.server.notify.residents import resident_key
from sync.server.video import departments
from sync.server.worker import scope
from sync.server.worker.cases import may_see, set_locker_grid
from tests.sync.server.support import COMMUNITY, Signed, new_code, new_key
from tests.sync.server.worker.conftest import RESIDENT_ID, Locker, csrf_of

CASES = Case.__table__
CALLER = "13912345678"


def state(engine, case_id):
    with engine.connect() as conn:
        return conn.execute(select(CASES.c.state).where(CASES.c.id == case_id)).scalar_one()


@pytest.fixture
def world(client, engine, locker, household, database_url):
    """Two departments and their guide items; cases of each, a call-back from a kiosk's
    unanswered call, a case of another community; a second grid with its own locker."""
    with engine.begin() as conn:
        departments.add(conn, "civil_affairs", "民政", "Civil affairs")
        departments.add(conn, "social_security", "社保", "Social security")
        put(conn, "guide_item", "elderly-subsidy", {"name": "高龄补贴申请", "department": "民政"})
        put(conn, "guide_item", "pension", {"name": "养老保险转移", "department": "Social security"})
    made = {}
    made["by_item"] = f"DO-{uuid.uuid4().hex[:6]}"  # the guide item names the department by its Chinese name
    locker.push(made["by_item"], "created", item_id="elderly-subsidy", item="高龄补贴申请", household=household,
                resident_id=RESIDENT_ID)
    locker.push(made["by_item"], "materials_deposited", door=3)
    made["by_key"] = f"DO-{uuid.uuid4().hex[:6]}"  # the case names the department by its key
    locker.push(made["by_key"], "created", department="social_security", item="社保卡补办", household=household)
    made["by_item_en"] = f"DO-{uuid.uuid4().hex[:6]}"  # … by the English name of its item's department
    locker.push(made["by_item_en"], "created", item_id="pension", item="养老保险转移")
    made["moved"] = f"DO-{uuid.uuid4().hex[:6]}"  # said 民政 first, then 社保: the last word wins
    locker.push(made["moved"], "created", department="民政", item="低保")
    locker.push(made["moved"], "materials_deposited", door=4, department="社保")
    placed = locker.signed("POST", "/video/calls", {"department": "civil_affairs", "context": {"topic": "低保"}})
    assert placed.status_code == 201, placed.text
    answer = locker.signed("POST", f"/video/calls/{placed.json()['call_id']}/callback", {"phone": CALLER})
    assert answer.status_code == 201, answer.text
    made["callback"] = answer.json()["case_id"]
    # the same guide item in another community
    key = new_key(f"far-{uuid.uuid4().hex[:4]}")
    far = Locker(Signed(client, key))
    assert far.signed.enrol(new_code(database_url, key.device_id, "别的社区")).status_code == 201
    made["far"] = f"DO-{uuid.uuid4().hex[:6]}"
    far.push(made["far"], "created", item_id="elderly-subsidy", item="高龄补贴申请")
    # a second grid with its own locker and a case there
    key = new_key(f"locker-two-{uuid.uuid4().hex[:4]}")
    two = Locker(Signed(client, key))
    assert two.signed.enrol(new_code(database_url, key.device_id, COMMUNITY)).status_code == 201
    with engine.begin() as conn:
        set_locker_grid(conn, key.device_id, COMMUNITY, "二网格", "和平里 2 号柜")
    made["grid_two"] = f"DO-{uuid.uuid4().hex[:6]}"
    two.push(made["grid_two"], "created", department="城管科", item="占道审批")
    two.push(made["grid_two"], "materials_deposited", door=1)
    made["two"] = two
    return made


def listed(page: str) -> set[str]:
    return set(re.findall(r'href="/staff/cases/([^"/]+)"', page))


def test_department_staff_see_their_departments_cases_only(world, staff, engine):
    civil = staff("civil", role="staff", department="civil_affairs", community=None, name="民政窗口")
    social = staff("social", role="staff", department="social_security", name="社保窗口")  # of 示范社区 only
    page = civil.get("/staff/cases")
    assert page.status_code == 200 and "民政" in page.text
    assert listed(page.text) == {world["by_item"], world["callback"], world["far"]}  # no community: every one
    assert listed(social.get("/staff/cases").text) == {world["by_key"], world["by_item_en"], world["moved"]}
    english = social.get("/staff/cases?lang=en").text
    assert "Our cases" in english and "Social security" in english

    shown = civil.get(f"/staff/cases/{world['by_item']}")
    assert shown.status_code == 200 and "高龄补贴申请" in shown.text and "1101**********0033" in shown.text
    assert RESIDENT_ID not in shown.text and "已回电" not in shown.text  # an application: read only
    # a staff member changing the case number in the URL: another department's case is "not found" …
    other = civil.get(f"/staff/cases/{world['by_key']}")
    missing = civil.get("/staff/cases/DO-000000")
    assert other.status_code == missing.status_code == 404
    # … exactly as one that does not exist (nothing says it exists)
    assert other.text.replace(world["by_key"], "X") == missing.text.replace("DO-000000", "X")
    assert social.get(f"/staff/cases/{world['by_item']}").status_code == 404
    assert social.get(f"/staff/cases/{world['far']}").status_code == 404  # another community's, same department
    # the worker console stays the worker's
    assert civil.get(f"/worker/cases/{world['by_item']}").status_code == 403
    assert civil.get("/worker").status_code == 403
    checks = ((_account(engine, "civil"), {world["by_item"], world["callback"], world["far"]}),
              (_account(engine, "social"), {world["by_key"], world["by_item_en"], world["moved"]}))
    with engine.connect() as conn:  # the one-case check agrees with the list
        for account, expected in checks:
            every = {r.id for r in conn.execute(select(CASES.c.id))}
            assert {c for c in every if may_see(conn, account, c)} == expected


def test_staff_close_a_call_back_once_made_and_nothing_else(world, staff, engine):
    civil = staff("civil", role="staff", department="civil_affairs", name="民政窗口")
    page = civil.get(f"/staff/cases/{world['callback']}")
    assert page.status_code == 200 and CALLER in page.text and "已回电，办结" in page.text

    def act(client, case_id, note="已回电，居民下周一来窗口办理"):
        csrf = csrf_of(client, "/staff/cases")
        return client.post(f"/staff/cases/{case_id}/act", data={"csrf": csrf, "action": "called_back", "note": note},
                           follow_redirects=False)

    assert act(civil, world["callback"], note="x").status_code == 303  # too short: nothing done
    assert state(engine, world["callback"]) == "created"
    assert act(civil, world["callback"]).status_code == 303
    assert state(engine, world["callback"]) == "closed"
    closed = civil.get(f"/staff/cases/{world['callback']}").text
    assert "已办结" in closed and "居民下周一来窗口办理" in closed and CALLER not in closed  # masked once done
    again = act(civil, world["callback"])
    assert again.status_code == 409 and "已办结" in again.text
    refused = act(civil, world["by_item"])  # an application is the grid worker's to move
    assert refused.status_code == 409 and state(engine, world["by_item"]) == "materials_deposited"
    assert act(civil, world["by_key"]).status_code == 404  # another department's
    assert state(engine, world["by_key"]) == "created"


def test_statistics_are_scoped_to_whom_is_asking(world, staff, engine, locker):
    wang = staff("wang", name="王芳")
    zhao = staff("zhao", grid="二网格", name="赵强")
    for client, case_id in ((wang, world["by_item"]), (zhao, world["grid_two"])):
        for action in ("collect", "review", "approve"):
            csrf = csrf_of(client, f"/worker/cases/{case_id}")
            assert client.post(f"/worker/cases/{case_id}/act", data={"csrf": csrf, "action": action},
                               follow_redirects=False).status_code == 303

    mine = wang.get("/worker/stats").text
    assert "网格：一网格" in mine and "王芳" in mine
    assert "赵强" not in mine and "城管科" not in mine  # another grid's worker and its department's figures
    with engine.connect() as conn:
        grid_one = scope.grid_cases(conn, COMMUNITY, "一网格")
    assert world["by_item"] in grid_one and world["grid_two"] not in grid_one
    assert re.search(rf"<strong>{len(grid_one)}</strong>案件", mine)

    his = zhao.get("/worker/stats").text
    assert "赵强" in his and "城管科" in his and "王芳" not in his and re.search(r"<strong>1</strong>案件", his)

    admin = staff("li", role="admin").get("/worker/stats").text
    assert "王芳" in admin and "赵强" in admin and "城管科" in admin

    civil = staff("civil", role="staff", department="civil_affairs", name="民政窗口")
    theirs = civil.get("/staff/stats").text
    assert "科室：民政" in theirs and re.search(r"<strong>2</strong>案件", theirs)  # its application and call-back
    assert "城管科" not in theirs and "社保" not in theirs
    assert civil.get("/worker/stats").status_code == 403


def test_the_grid_in_bulk_agrees_with_the_one_case_check(world, engine, locker, staff):
    with engine.begin() as conn:  # a household of the second grid, found by the kiosk's resident key
        put(conn, "household", "hh-two", {"grid": "二网格", "members": [
            {"name": "李四", "id_number": "110101199001011234"}]}, COMMUNITY)
    by_resident = f"DO-{uuid.uuid4().hex[:6]}"
    locker.push(by_resident, "created", resident=resident_key("110101199001011234"), item="居住证明")
    staff("wang")
    staff("zhao", grid="二网格")
    accounts = {username: _account(engine, username) for username in ("wang", "zhao")}
    with engine.connect() as conn:
        every = {r.id for r in conn.execute(select(CASES.c.id))}
        for username, grid in (("wang", "一网格"), ("zhao", "二网格")):
            account = accounts[username]
            bulk = scope.grid_cases(conn, COMMUNITY, grid)
            assert bulk == {c for c in every if may_see(conn, account, c)}, username
        assert by_resident in scope.grid_cases(conn, COMMUNITY, "二网格")
        assert by_resident not in scope.grid_cases(conn, COMMUNITY, "一网格")


def _account(engine, username):
    from sync.server.accounts import find_account

    with engine.connect() as conn:
        return find_account(conn, username).account
