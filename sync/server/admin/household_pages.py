"""Household records (一户一档): list and search, edit, delete, CSV import and export."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Request, UploadFile
from fastapi.responses import HTMLResponse, Response

from sync.server.admin import households
from sync.server.admin.pages import Admin, engine_of
from sync.server.admin.sheets import CellError, day, identifier, id_number, phone, text, write_csv
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin/households", include_in_schema=False)
PAGE = 30


@router.get("", response_class=HTMLResponse)
def listing(request: Request, account: Admin, q: str = "", page: int = 1) -> HTMLResponse:
    page = max(1, page)
    with engine_of(request).connect() as conn:
        found = households.search(conn, account.community, q, offset=(page - 1) * PAGE, limit=PAGE)
    return render(request, "admin/households.html", section="households", q=q, page=page, found=found,
                  records=[households.masked(r) for r in found.records], pages=max(1, -(-found.total // PAGE)),
                  relations=households.RELATIONS, relations_en=households.RELATIONS_EN, head_of=households.head_of)


def _blank() -> dict:
    return {"household_id": "", "grid": "", "address": "", "note": "", "members": []}


def _form(request: Request, record: dict, *, new: bool, problems: list[tuple[str, str]] | None = None,
          status: int = 200) -> HTMLResponse:
    blank = {"name": "", "id_number": "", "relation": "", "phone": "", "living_since": ""}
    members = list(record.get("members", [])) + [blank] * (1 if record.get("members") else 2)
    return render(request, "admin/household_form.html", status=status, section="households", record=record,
                  members=members, new=new, problems=problems or [], relations=households.RELATIONS,
                  relations_en=households.RELATIONS_EN)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, account: Admin) -> HTMLResponse:
    return _form(request, _blank(), new=True)


@router.get("/export.csv")
def export(request: Request, account: Admin) -> Response:
    with engine_of(request).connect() as conn:
        rows = households.export_rows(conn, account.community)
    name = quote(f"一户一档-{account.community}.csv")
    return Response(write_csv(households.SHEET, rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"households.csv\"; filename*=UTF-8''{name}",
                             "Cache-Control": "no-store"})


@router.get("/template.csv")
def template(request: Request, account: Admin) -> Response:
    example = [{"household_id": "XF-0001", "grid": "一网格", "address": "幸福里12号楼3单元401室", "name": "张晓明",
                "id_number": "110101198503120033", "relation": "户主", "phone": "13800000000", "note": ""}]
    return Response(write_csv(households.SHEET, example), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=\"households-template.csv\""})


@router.get("/import", response_class=HTMLResponse)
def import_form(request: Request, account: Admin) -> HTMLResponse:
    return render(request, "admin/household_import.html", section="households", problems=[], filename="",
                  columns=households.SHEET.columns, relations=households.RELATIONS)


@router.post("/import", response_class=HTMLResponse)
def import_file(request: Request, account: Admin, file: Annotated[UploadFile, File()]) -> Response:
    data = file.file.read(11 * 1024 * 1024)
    with engine_of(request).begin() as conn:
        count, problems = households.import_csv(conn, account.community, data)
    if problems:
        return render(request, "admin/household_import.html", status=422, section="households", problems=problems,
                      filename=file.filename or "", columns=households.SHEET.columns, relations=households.RELATIONS)
    return redirect("/admin/households", f"已导入 {count} 户，终端下次同步即可看到。 / Imported {count} households; "
                                         f"kiosks get them at their next sync.")


@router.get("/{household_id}", response_class=HTMLResponse)
def edit_form(request: Request, account: Admin, household_id: str) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        record = households.get(conn, account.community, household_id)
    if record is None:
        return _missing(request, household_id)
    return _form(request, record, new=False)


def _missing(request: Request, household_id: str) -> HTMLResponse:
    return render(request, "error.html", status=404, title=("找不到这一户", "No such household"),
                  message=(f"本社区没有户号为 {household_id} 的档案。", f"This community has no household {household_id}."),
                  back="/admin/households")


def _read_form(form) -> tuple[dict, list[tuple[str, str]]]:
    """The household from the edit form, and what to fix (zh, en) for each bad field."""
    problems: list[tuple[str, str]] = []

    def checked(check, value: str, zh: str, en: str):
        try:
            return check(value) if value else value
        except CellError as exc:
            problems.append((f"{zh}：{exc.zh}", f"{en}: {exc.en}"))
            return value

    record = {"household_id": str(form.get("household_id", "")).strip(), "grid": str(form.get("grid", "")).strip(),
              "address": str(form.get("address", "")).strip(), "note": str(form.get("note", "")).strip(),
              "members": []}
    checked(identifier, record["household_id"], "户号", "Household id")
    for name, zh, en in (("household_id", "户号", "household id"), ("grid", "网格", "grid"),
                         ("address", "地址", "address")):
        if not record[name]:
            problems.append((f"请填写{zh}", f"Fill in the {en}"))
    checked(text(200), record["address"], "地址", "Address")
    checked(text(500), record["note"], "备注", "Note")
    names = form.getlist("member_name")
    since = form.getlist("member_living_since") or [""] * len(names)
    rows = zip(names, form.getlist("member_id_number"), form.getlist("member_relation"), form.getlist("member_phone"),
               since)
    for index, (name, number, relation, tel, living) in enumerate(rows, start=1):
        name, number, relation, tel, living = (str(v).strip() for v in (name, number, relation, tel, living))
        if not (name or number or tel):
            continue
        where_zh, where_en = f"第 {index} 位成员", f"Member {index}"
        if not name or not number:
            problems.append((f"{where_zh}：姓名和身份证号都要填写", f"{where_en}: fill in both name and ID number"))
        number = checked(id_number, number, f"{where_zh}的身份证号", f"{where_en}'s ID number")
        checked(text(40), name, f"{where_zh}的姓名", f"{where_en}'s name")
        checked(phone, tel, f"{where_zh}的电话", f"{where_en}'s phone")
        if relation not in households.RELATIONS:
            problems.append((f"{where_zh}：请选择与户主关系", f"{where_en}: choose the relation"))
        member = {"name": name, "id_number": number, "relation": relation, "phone": tel}
        if living:  # since when they live here (the kiosk's residence proof prints it)
            member["living_since"] = checked(day, living, f"{where_zh}的居住起始日期", f"{where_en}'s living-since date")
        record["members"].append(member)
    heads = [m for m in record["members"] if m["relation"] == "head"]
    if len(heads) != 1:
        problems.append(("每户要有且只有一位户主", "A household needs exactly one head"))
    numbers = [m["id_number"] for m in record["members"]]
    if len(set(numbers)) != len(numbers):
        problems.append(("同一身份证号出现了两次", "An ID number appears twice"))
    return record, problems


def _save(request: Request, account: Admin, record: dict, problems: list, *, new: bool) -> Response:
    if not problems:
        with engine_of(request).begin() as conn:
            if new and households.get(conn, account.community, record["household_id"]) is not None:
                problems.append((f"户号 {record['household_id']} 已存在，请换一个或去编辑那一户",
                                 f"household {record['household_id']} exists: choose another id or edit it"))
            else:
                taken = _taken_elsewhere(conn, account.community, record)
                if taken:
                    problems.extend(taken)
                else:
                    households.save(conn, account.community, record)
    if problems:
        return _form(request, record, new=new, problems=problems, status=422)
    return redirect(f"/admin/households?q={quote(record['household_id'])}",
                    f"已保存户号 {record['household_id']}。 / Saved household {record['household_id']}.")


def _taken_elsewhere(conn, community: str, record: dict) -> list[tuple[str, str]]:
    from sync.server.admin.sheets import Reading, Row

    reading = Reading(rows=[Row(0, {"id_number": m["id_number"]}) for m in record["members"]])
    households.check_against_stored(conn, community, {record["household_id"]: record}, reading,
                                    {m["id_number"]: 0 for m in record["members"]})
    return [(p.zh, p.en) for p in reading.problems]


@router.post("/new", response_class=HTMLResponse)
async def create(request: Request, account: Admin) -> Response:
    record, problems = _read_form(await request.form())
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(_save, request, account, record, problems, new=True)


@router.post("/{household_id}", response_class=HTMLResponse)
async def update(request: Request, account: Admin, household_id: str) -> Response:
    from starlette.concurrency import run_in_threadpool

    form = await request.form()
    if form.get("action") == "delete":
        def remove() -> Response:
            with engine_of(request).begin() as conn:
                gone = households.delete(conn, account.community, household_id)
            if not gone:
                return _missing(request, household_id)
            return redirect("/admin/households", f"已删除户号 {household_id}。 / Deleted household {household_id}.")
        return await run_in_threadpool(remove)
    record, problems = _read_form(form)
    record["household_id"] = household_id  # the id is the record's key: not changed by the form

    def save() -> Response:
        with engine_of(request).connect() as conn:
            if households.get(conn, account.community, household_id) is None:
                return _missing(request, household_id)
        return _save(request, account, record, problems, new=False)
    return await run_in_threadpool(save)
