"""Household records (一户一档) of one community: search, edit, CSV import and export.

A record is one household, published as a ``household`` change to the appliances of
its community only (sync.server.content)::

    key  "<community>/<household id>"
    data {"household_id": "XF-0001", "community": …, "grid": "一网格", "address": …,
          "note": …, "members": [{"name", "id_number", "relation", "phone"}, …]}

The CSV has one row per member; the rows of one household share its 户号 (household
id), 网格 and 地址 (left empty on the rows after the first, or repeated). An import is
checked whole before anything is written, and written in the caller's one
transaction: a file with any problem changes nothing, and every problem is reported
with its row number.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Text, cast, func, select

from appliance.privacy import mask_id_number
from sync.server import content
from sync.server.admin.sheets import Column, Problem, Reading, Sheet, day, id_number, identifier, one_of, phone, text
from sync.server.models import Household

HOUSEHOLDS = Household.__table__
RELATIONS = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女",
             "grandparent": "祖父母", "sibling": "兄弟姐妹", "in_law": "儿媳女婿", "other": "其他"}
RELATIONS_EN = {"head": "head of household", "spouse": "spouse", "child": "child", "parent": "parent",
                "grandchild": "grandchild", "grandparent": "grandparent", "sibling": "sibling",
                "in_law": "child-in-law", "other": "other"}
HOUSEHOLD_FIELDS = ("grid", "address", "note")

SHEET = Sheet((
    Column("household_id", "户号", "household id", required=True, check=identifier),
    Column("grid", "网格", "grid", check=text(60)),
    Column("address", "地址", "address", check=text(200)),
    Column("name", "姓名", "name", required=True, check=text(40)),
    Column("id_number", "身份证号", "id number", required=True, check=id_number),
    Column("relation", "与户主关系", "relation", required=True, check=one_of(RELATIONS)),
    Column("phone", "联系电话", "phone", check=phone),
    Column("note", "备注", "note", check=text(500)),
    Column("living_since", "居住起始日期", "living since", check=day),  # the kiosk's residence proof needs it
))


def key_of(community: str, household_id: str) -> str:
    return f"{community}/{household_id}"


def _escape_like(value: str) -> str:
    return value.replace("#", "##").replace("%", "#%").replace("_", "#_")


def search_pattern(query: str) -> str:
    """A LIKE pattern finding ``query`` in the JSON text of a record (which escapes
    non-ASCII characters as \\uXXXX, as the JSON type writes it)."""
    return f"%{_escape_like(json.dumps(query.strip())[1:-1])}%"


@dataclass(frozen=True)
class Page:
    records: list[dict[str, Any]]
    total: int
    offset: int
    limit: int


def search(conn: Connection, community: str, query: str = "", *, offset: int = 0, limit: int = 50) -> Page:
    """This community's households, by household id; ``query`` finds any field."""
    where = [HOUSEHOLDS.c.community == community]
    if query.strip():
        where.append(cast(HOUSEHOLDS.c.data, Text).ilike(search_pattern(query), escape="#"))
    total = conn.execute(select(func.count()).select_from(HOUSEHOLDS).where(*where)).scalar_one()
    rows = conn.execute(select(HOUSEHOLDS.c.data).where(*where).order_by(HOUSEHOLDS.c.key)
                        .offset(offset).limit(limit)).scalars().all()
    return Page(list(rows), total, offset, limit)


def get(conn: Connection, community: str, household_id: str) -> dict[str, Any] | None:
    return conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.key == key_of(community, household_id),
                                                        HOUSEHOLDS.c.community == community)).scalar_one_or_none()


def save(conn: Connection, community: str, record: dict[str, Any]) -> None:
    content.put(conn, "household", key_of(community, record["household_id"]), {**record, "community": community},
                community)


def delete(conn: Connection, community: str, household_id: str) -> bool:
    if get(conn, community, household_id) is None:
        return False
    return content.remove(conn, "household", key_of(community, household_id))


def masked(record: dict[str, Any]) -> dict[str, Any]:
    """The record with its members' ID numbers masked, for lists."""
    return {**record, "members": [{**m, "id_number": mask_id_number(m.get("id_number", ""))}
                                  for m in record.get("members", [])]}


def head_of(record: dict[str, Any]) -> dict[str, Any] | None:
    return next((m for m in record.get("members", []) if m.get("relation") == "head"), None)


# -- import and export --------------------------------------------------------------
def assemble(reading: Reading) -> dict[str, dict[str, Any]]:
    """Group the rows into households (by 户号, in file order), adding to ``reading``'s
    problems what only shows across rows: a household without exactly one head, a
    grid or address that differs between its rows, an ID number twice."""
    households: dict[str, dict[str, Any]] = {}
    first_row: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    sheet = SHEET
    for row in reading.rows:
        v = row.values
        hid = v.get("household_id")
        if not hid:
            continue
        record = households.setdefault(hid, {"household_id": hid, "grid": "", "address": "", "note": "",
                                             "members": []})
        first_row.setdefault(hid, row.number)
        for name in HOUSEHOLD_FIELDS:
            value = v.get(name) or ""
            if value and record[name] and value != record[name] and name != "note":
                column = sheet.column(name)
                reading.problem(row.number, column.zh,
                                f"户号 {hid} 的“{column.zh}”与第 {first_row[hid]} 行不同：{value} ≠ {record[name]}",
                                f"household {hid}: {column.en} differs from row {first_row[hid]}")
            elif value and not record[name]:
                record[name] = value
        number = v.get("id_number")
        if number:
            if number in seen_ids:
                reading.problem(row.number, "身份证号", f"身份证号与第 {seen_ids[number]} 行重复",
                                f"the ID number repeats row {seen_ids[number]}")
            seen_ids.setdefault(number, row.number)
        if v.get("name") and number and v.get("relation"):
            record["members"].append({"name": v["name"], "id_number": number, "relation": v["relation"],
                                      "phone": v.get("phone") or "", "row": row.number,
                                      **({"living_since": v["living_since"]} if v.get("living_since") else {})})
    for hid, record in households.items():
        heads = [m for m in record["members"] if m["relation"] == "head"]
        if not heads and record["members"]:
            reading.problem(first_row[hid], "与户主关系", f"户号 {hid} 没有户主：请把其中一人的关系写为“户主”",
                            f"household {hid} has no head: mark one member as 户主 (head)")
        for extra in heads[1:]:
            reading.problem(extra["row"], "与户主关系", f"户号 {hid} 已在第 {heads[0]['row']} 行有户主",
                            f"household {hid} already has its head on row {heads[0]['row']}")
        for name in ("grid", "address"):
            if not record[name]:
                column = sheet.column(name)
                reading.problem(first_row[hid], column.zh, f"户号 {hid} 缺少“{column.zh}”",
                                f"household {hid} has no {column.en}")
    for record in households.values():
        for member in record["members"]:
            member.pop("row", None)
    return households


def check_against_stored(conn: Connection, community: str, households: dict[str, dict[str, Any]],
                         reading: Reading, row_of: dict[str, int]) -> None:
    """An ID number may not also be in a stored household the file does not replace."""
    wanted = {m["id_number"] for r in households.values() for m in r["members"]}
    if not wanted:
        return
    for key, data in conn.execute(select(HOUSEHOLDS.c.key, HOUSEHOLDS.c.data)
                                  .where(HOUSEHOLDS.c.community == community)):
        if data.get("household_id") in households:
            continue
        for member in data.get("members", []):
            if member.get("id_number") in wanted:
                reading.problem(row_of[member["id_number"]], "身份证号",
                                f"此人已登记在户号 {data.get('household_id')}：请先从那一户删除，或在文件中一并修改那一户",
                                f"this person is already in household {data.get('household_id')}: remove them "
                                f"there first, or include that household in the file")


def import_csv(conn: Connection, community: str, data: bytes) -> tuple[int, list[Problem]]:
    """Check the whole file, then write every household in it (replacing those with the
    same 户号) in ``conn``'s transaction. (households written, problems): with any
    problem nothing is written."""
    from sync.server.admin.sheets import read_csv

    reading = read_csv(SHEET, data)
    if reading.problems and not reading.rows:
        return 0, reading.problems
    households = assemble(reading)
    row_of = {r.values["id_number"]: r.number for r in reading.rows if r.values.get("id_number")}
    check_against_stored(conn, community, households, reading, row_of)
    if reading.problems:
        return 0, sorted(reading.problems, key=lambda p: (p.row, p.column))
    for record in households.values():
        save(conn, community, record)
    return len(households), []


def export_rows(conn: Connection, community: str) -> list[dict[str, Any]]:
    rows = []
    for data in conn.execute(select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.community == community)
                             .order_by(HOUSEHOLDS.c.key)).scalars():
        members = data.get("members") or [{}]
        for index, member in enumerate(members):
            rows.append({"household_id": data.get("household_id"), "grid": data.get("grid"),
                         "address": data.get("address"), "note": data.get("note") if index == 0 else "",
                         "name": member.get("name"), "id_number": member.get("id_number"),
                         "relation": RELATIONS.get(member.get("relation", ""), member.get("relation")),
                         "phone": member.get("phone"), "living_since": member.get("living_since") or ""})
    return rows
