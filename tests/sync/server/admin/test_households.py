"""Household records (一户一档) in the admin console: CSV import all or nothing with
row-level problems, export, edit, delete, and an admin of one community never sees
another's; kiosks of the community get every change on their next pull."""
from __future__ import annotations

import csv
import io

import pytest

from sync.server.admin import households
from tests.sync.server.admin.conftest import BOTH, COMMUNITY, OTHER, Console, add_admin

# valid check characters (GB 11643)
ZHANG, LI, WANG, ZHAO = "110101198503120033", "110101198706150021", "110101201003080017", "110101194501010027"
HEADER = "户号,网格,地址,姓名,身份证号,与户主关系,联系电话,备注\n"
GOOD = HEADER + (f"XF-0001,一网格,幸福里12号楼3单元401室,张晓明,{ZHANG},户主,13800000000,\n"
                 f"XF-0001,,,李娜,{LI},配偶,,\n"
                 f"XF-0001,,,张小宝,{WANG},子女,,\n"
                 f"XF-0002,二网格,幸福里3号楼101室,赵大爷,{ZHAO},户主,010-65000000,独居老人\n")


def upload(console: Console, text: str, encoding: str = "utf-8", name: str = "households.csv"):
    return console.post("/admin/households/import", files={"file": (name, text.encode(encoding), "text/csv")},
                        follow_redirects=False)


def stored(console: Console, community: str = COMMUNITY) -> dict[str, dict]:
    with console.engine.connect() as conn:
        return {r["household_id"]: r for r in households.search(conn, community, limit=1000).records}


@BOTH
def test_a_good_file_imports_every_household(console):
    answer = upload(console, GOOD)
    assert answer.status_code == 303, answer.text
    found = stored(console)
    assert sorted(found) == ["XF-0001", "XF-0002"]
    assert [m["relation"] for m in found["XF-0001"]["members"]] == ["head", "spouse", "child"]
    assert found["XF-0001"]["grid"] == "一网格" and found["XF-0002"]["note"] == "独居老人"
    page = console.get("/admin/households").text
    assert "已导入 2 户" in page and "张晓明" in page
    assert ZHANG not in page and "1101**********0033" in page  # lists mask ID numbers


def test_excel_gbk_file_imports_too(console):
    assert upload(console, GOOD, encoding="gb18030").status_code == 303
    assert stored(console)["XF-0001"]["members"][0]["name"] == "张晓明"


@pytest.mark.parametrize("text, row, says", [
    (GOOD.replace(ZHANG, "110101198503120034"), 2, "不是有效的 18 位居民身份证号"),
    (GOOD.replace("XF-0002,二网格,幸福里3号楼101室,赵大爷,110101194501010027,户主",
                  "XF-0002,二网格,幸福里3号楼101室,赵大爷,110101194501010027,配偶"), 5, "没有户主"),
    (GOOD.replace(f"李娜,{LI},配偶", f"李娜,{LI},户主"), 3, "已在第 2 行有户主"),
    (GOOD.replace(f"张小宝,{WANG}", f"张小宝,{LI}"), 4, "与第 3 行重复"),
    (GOOD.replace("XF-0001,,,李娜", "XF-0001,二网格,,李娜"), 3, "与第 2 行不同"),
    (GOOD.replace(",13800000000,", ",call me,"), 2, "电话号码"),
    (GOOD.replace("户主,010-65000000", "boss,010-65000000"), 5, "应为 户主"),
    (GOOD.replace("张晓明", ""), 2, "“姓名”不能为空"),
    (GOOD.replace("与户主关系", "关系"), 1, "不认识的列“关系”"),
    (HEADER, 0, "没有数据行"),
    ("", 0, "文件是空的"),
])
def test_a_file_with_any_problem_changes_nothing_and_says_which_row(console, text, row, says):
    assert upload(console, GOOD).status_code == 303
    before = stored(console)
    changed = text.replace("幸福里12号楼", "改过的地址")  # would change XF-0001 if anything were written
    answer = upload(console, changed, name="bad.csv")
    assert answer.status_code == 422
    assert says in answer.text, answer.text
    if row:
        assert f"第 {row} 行" in answer.text
    assert "没有导入任何数据" in answer.text and "bad.csv" in answer.text
    assert stored(console) == before


@BOTH
def test_every_problem_is_listed_at_once(console):
    text = GOOD.replace(ZHANG, "123").replace("13800000000", "x!").replace("赵大爷", "")
    answer = upload(console, text)
    assert answer.status_code == 422
    assert "有 3 处问题" in answer.text
    assert stored(console) == {}


def test_a_person_already_in_another_stored_household_is_refused(console):
    assert upload(console, GOOD).status_code == 303
    moved = HEADER + f"XF-0009,三网格,新地址,赵大爷,{ZHAO},户主,,\n"
    answer = upload(console, moved)
    assert answer.status_code == 422 and "已登记在户号 XF-0002" in answer.text
    # moving him is fine when the file replaces XF-0002 as well
    both = moved + f"XF-0002,二网格,幸福里3号楼101室,李娜娜,{LI},户主,,\n"
    assert upload(console, both.replace(f"XF-0001", "XF-0001")).status_code == 422  # LI is in XF-0001
    both = moved + f"XF-0002,二网格,幸福里3号楼101室,钱某,110101199001010015,户主,,\n"
    assert upload(console, both).status_code == 303
    assert [m["name"] for m in stored(console)["XF-0009"]["members"]] == ["赵大爷"]


def test_export_round_trips(console):
    upload(console, GOOD)
    exported = console.get("/admin/households/export.csv")
    assert exported.status_code == 200 and exported.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0] == [c.zh for c in households.SHEET.columns]
    assert rows[0][:8] == ["户号", "网格", "地址", "姓名", "身份证号", "与户主关系", "联系电话", "备注"]
    assert len(rows) == 5 and rows[1][4] == ZHANG and rows[1][5] == "户主"
    before = stored(console)
    assert upload(console, exported.content.decode("utf-8-sig")).status_code == 303
    assert stored(console) == before


def test_edit_add_a_member_and_delete(console):
    upload(console, GOOD)
    form = {"household_id": "XF-0002", "grid": "二网格", "address": "幸福里3号楼102室", "note": "",
            "member_name": ["赵大爷", "钱阿姨"], "member_id_number": [ZHAO, "110101195001010017"],
            "member_relation": ["head", "spouse"], "member_phone": ["", ""]}
    answer = console.post("/admin/households/XF-0002", form, follow_redirects=False)
    assert answer.status_code == 303
    record = stored(console)["XF-0002"]
    assert record["address"] == "幸福里3号楼102室" and [m["name"] for m in record["members"]] == ["赵大爷", "钱阿姨"]
    kept = {**form, "member_living_since": ["2016-05-20", ""]}
    assert console.post("/admin/households/XF-0002", kept, follow_redirects=False).status_code == 303
    assert stored(console)["XF-0002"]["members"][0]["living_since"] == "2016-05-20"
    assert 'value="2016-05-20"' in console.get("/admin/households/XF-0002").text  # the form keeps it
    wrong = console.post("/admin/households/XF-0002", {**form, "member_living_since": ["20/5/2016", ""]})
    assert wrong.status_code == 422 and "居住起始日期" in wrong.text
    bad = {**form, "member_relation": ["spouse", "spouse"], "member_id_number": [ZHAO, "123"]}
    refused = console.post("/admin/households/XF-0002", bad)
    assert refused.status_code == 422 and "每户要有且只有一位户主" in refused.text and "身份证号" in refused.text
    assert console.post("/admin/households/XF-0002", {"action": "delete"}, follow_redirects=False).status_code == 303
    assert "XF-0002" not in stored(console)


def test_new_household_form(console):
    form = {"household_id": "XF-0100", "grid": "一网格", "address": "幸福里1号", "note": "",
            "member_name": ["孙某", ""], "member_id_number": ["110101199001010015", ""],
            "member_relation": ["head", ""], "member_phone": ["", ""]}
    assert console.post("/admin/households/new", form, follow_redirects=False).status_code == 303
    again = console.post("/admin/households/new", form)
    assert again.status_code == 422 and "已存在" in again.text


@BOTH
def test_an_admin_never_sees_another_communitys_households(console, server):
    client, engine = server
    upload(console, GOOD)
    add_admin(engine, "bob", OTHER)
    bob = Console(client, engine, "bob").sign_in()
    assert "张晓明" not in bob.get("/admin/households").text
    assert "张晓明" not in bob.get(f"/admin/households?q={ZHANG}").text
    assert bob.get("/admin/households/XF-0001").status_code == 404
    edit = {"household_id": "XF-0001", "grid": "x", "address": "x", "member_name": ["坏人"],
            "member_id_number": ["110101199001010015"], "member_relation": ["head"], "member_phone": [""]}
    assert bob.post("/admin/households/XF-0001", edit).status_code == 404
    assert bob.post("/admin/households/XF-0001", {"action": "delete"}).status_code == 404
    assert ZHANG not in bob.get("/admin/households/export.csv").content.decode("utf-8-sig")
    # bob's own XF-0001 is another record: the same 户号 in two communities never collide
    assert upload(bob, HEADER + "XF-0001,一网格,别处,周某,110101199001010015,户主,,\n").status_code == 303
    assert stored(console)["XF-0001"]["members"][0]["name"] == "张晓明"
    assert stored(console, OTHER)["XF-0001"]["members"][0]["name"] == "周某"


@BOTH
def test_kiosks_of_the_community_pull_the_import(console, enrol):
    mine, theirs = enrol(community=COMMUNITY), enrol(community=OTHER)
    upload(console, GOOD)
    changes = mine("GET", "/changes?cursor=0").json()["changes"]
    got = {c["key"]: c["data"] for c in changes if c["kind"] == "household"}
    assert set(got) == {f"{COMMUNITY}/XF-0001", f"{COMMUNITY}/XF-0002"}
    assert got[f"{COMMUNITY}/XF-0001"]["members"][0]["id_number"] == ZHANG
    assert not [c for c in theirs("GET", "/changes?cursor=0").json()["changes"] if c["kind"] == "household"]
    console.post("/admin/households/XF-0002", {"action": "delete"})
    last = mine("GET", "/changes?cursor=0").json()["changes"][-1]
    assert (last["kind"], last["key"], last["data"]) == ("household", f"{COMMUNITY}/XF-0002", None)


@BOTH
def test_search_finds_chinese_names_ids_and_grids(console):
    upload(console, GOOD)
    for query, expected in (("张晓明", ["XF-0001"]), ("二网格", ["XF-0002"]), (ZHAO, ["XF-0002"]),
                            ("xf-000", ["XF-0001", "XF-0002"]), ("100%", []), ("无此人", [])):
        with console.engine.connect() as conn:
            found = households.search(conn, COMMUNITY, query).records
        assert [r["household_id"] for r in found] == expected, query


def test_a_long_list_comes_in_pages(console):
    from forms.fields import _ID_CHECK, _ID_WEIGHTS

    def valid(base: str) -> str:
        return base + _ID_CHECK[sum(int(d) * w for d, w in zip(base, _ID_WEIGHTS)) % 11]

    rows = [f"XF-{n:04d},一网格,幸福里{n}号,居民{n},{valid(f'1101011990010{n:04d}')},户主,," for n in range(1, 36)]
    assert upload(console, HEADER + "\n".join(rows) + "\n").status_code == 303
    first = console.get("/admin/households").text
    assert "共 35 户" in first and "XF-0030" in first and "XF-0031" not in first and "1 / 2" in first
    second = console.get("/admin/households?page=2").text
    assert "XF-0031" in second and "XF-0035" in second and "XF-0001" not in second
    assert "XF-0035" in console.get("/admin/households?q=居民35&page=1").text
