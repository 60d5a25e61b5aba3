"""What kiosks show besides household records, as one community's admin edits it:
announcements, service guide items, subsidy records and certificate templates. Each
is a content record (sync.server.content) of the admin's community, so it reaches
that community's appliances at their next pull; records published for everyone
(community None, by the street office) are listed read-only.

Keys are ``<community>/<id>``; the data carries the id (``id``, ``template_id``…)
and the community. Data formats are those the kiosk reads (kiosk/store/guide.py,
kiosk/store/announcements.py); the others::

    subsidy               {"id", "id_number", "name", "program": "高龄补贴", "amount": 100.0 (yuan a month),
                           "status": "active" | "suspended" | "stopped",
                           "certified_until": "YYYY-MM-DD" | None (the yearly certification), "note"}
    certificate_template  {"template_id", "version", "name", "toml": the NAME.toml text, "fingerprint": SHA-256,
                           "fields": forms' describe_fields(), "languages", "uploaded_by", "uploaded_at",
                           "history": [{"version", "fingerprint", "uploaded_by", "uploaded_at"}, …]}
"""
from __future__ import annotations

import hashlib
import re
import secrets
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Text, cast, or_, select

from sync.server import content
from sync.server.admin.households import search_pattern
from sync.server.admin.sheets import CellError, Column, Problem, Sheet, amount, day, id_number, one_of, read_csv, text
from sync.server.models import RECORD_TABLES

GUIDE_FORMS = {"original": ("原件", "original"), "copy": ("复印件", "copy"), "both": ("原件和复印件", "original and copy")}
SIZES = ("S", "M", "L")
SUBSIDY_STATES = {"active": "发放中", "suspended": "暂停", "stopped": "停发"}
SUBSIDY_STATES_EN = {"active": "paid", "suspended": "suspended", "stopped": "stopped"}


class Invalid(ValueError):
    """What to fix, one (zh, en) pair per problem."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(en for _zh, en in problems))
        self.problems = problems


def key_of(community: str, ident: str) -> str:
    return f"{community}/{ident}"


def records(conn: Connection, kind: str, community: str, query: str = "", *,
            shared: bool = True) -> list[dict[str, Any]]:
    """The community's records of ``kind`` (and, with ``shared``, everyone's), each with
    ``_key`` and ``_mine`` (editable here)."""
    table = RECORD_TABLES[kind].__table__
    scope = or_(table.c.community == community, table.c.community.is_(None)) if shared \
        else table.c.community == community
    where = [scope]
    if query.strip():
        where.append(cast(table.c.data, Text).ilike(search_pattern(query), escape="#"))
    rows = conn.execute(select(table.c.key, table.c.community, table.c.data).where(*where)
                        .order_by(table.c.key)).all()
    return [{**row.data, "_key": row.key, "_mine": row.community == community} for row in rows]


def record(conn: Connection, kind: str, community: str, ident: str) -> dict[str, Any] | None:
    table = RECORD_TABLES[kind].__table__
    return conn.execute(select(table.c.data).where(table.c.key == key_of(community, ident),
                                                   table.c.community == community)).scalar_one_or_none()


def remove(conn: Connection, kind: str, community: str, ident: str) -> bool:
    if record(conn, kind, community, ident) is None:
        return False
    return content.remove(conn, kind, key_of(community, ident))


def _ident(value: str, what_zh: str, what_en: str, problems: list) -> str:
    value = value.strip()
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,59}", value):
        problems.append((f"{what_zh}只能用小写字母、数字、- 和 _", f"the {what_en} is lower-case letters, digits, - and _"))
    return value


# -- announcements ------------------------------------------------------------------
def save_announcement(conn: Connection, community: str, form: dict[str, str], ident: str | None = None) -> str:
    problems: list[tuple[str, str]] = []
    data: dict[str, Any] = {"text": form.get("text", "").strip(), "text_en": form.get("text_en", "").strip(),
                            "starts": None, "ends": None, "community": community}
    if not data["text"]:
        problems.append(("请填写公告内容（中文）", "write the announcement (Chinese)"))
    for name, zh, en in (("text", "中文内容", "Chinese text"), ("text_en", "英文内容", "English text")):
        if len(data[name]) > 300:
            problems.append((f"{zh}不能超过 300 字", f"the {en} is at most 300 characters"))
    for name, zh, en in (("starts", "开始日期", "start date"), ("ends", "结束日期", "end date")):
        value = form.get(name, "").strip()
        if value:
            try:
                data[name] = day(value)
            except CellError as exc:
                problems.append((f"{zh}：{exc.zh}", f"{en}: {exc.en}"))
    if data["starts"] and data["ends"] and data["ends"] < data["starts"]:
        problems.append(("结束日期不能早于开始日期", "the end date is before the start date"))
    try:
        data["order"] = int(form.get("order") or 0)
    except ValueError:
        problems.append(("顺序写成整数，如 0、1、2", "the order is a whole number"))
    if problems:
        raise Invalid(problems)
    ident = ident or f"{date.today():%Y%m%d}-{secrets.token_hex(3)}"
    data["id"] = ident
    content.put(conn, "announcement", key_of(community, ident), data, community)
    return ident


def announcement_state(data: dict[str, Any], today: date | None = None) -> str:
    """``showing``, ``scheduled`` or ``ended``, as the kiosk decides it."""
    today_text = (today or date.today()).isoformat()
    if data.get("starts") and today_text < data["starts"]:
        return "scheduled"
    if data.get("ends") and today_text > data["ends"]:
        return "ended"
    return "showing"


# -- the service guide --------------------------------------------------------------
GUIDE_TEXTS = ("name", "name_en", "category", "department", "department_en", "place", "place_en", "hours",
               "hours_en", "time_limit", "time_limit_en", "contact")
FORM_WORDS = {"原件": "original", "复印件": "copy", "原件和复印件": "both", "原件及复印件": "both",
              "original": "original", "copy": "copy", "both": "both"}


def parse_materials(textarea: str, problems: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """One material a line: ``name | 原件/复印件/原件和复印件 | copies | note`` (only the
    name is needed; copy, 1 copy by default)."""
    found = []
    for number, line in enumerate(textarea.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in re.split(r"[|｜]", line)]
        name = parts[0]
        if not name:
            problems.append((f"材料第 {number} 行没有名称", f"material line {number} has no name"))
            continue
        form = FORM_WORDS.get(parts[1] if len(parts) > 1 and parts[1] else "复印件")
        if form is None:
            problems.append((f"材料第 {number} 行：“{parts[1]}”应为 原件、复印件 或 原件和复印件",
                             f"material line {number}: {parts[1]!r} must be original, copy or both"))
            form = "copy"
        copies = 1
        if len(parts) > 2 and parts[2]:
            if not parts[2].isdigit() or not 1 <= int(parts[2]) <= 20:
                problems.append((f"材料第 {number} 行：份数应为 1 到 20", f"material line {number}: copies is 1 to 20"))
            else:
                copies = int(parts[2])
        item: dict[str, Any] = {"material": name, "form": form, "copies": copies}
        if len(parts) > 3 and parts[3]:
            item["note"] = " | ".join(parts[3:])
        found.append(item)
    return found


def materials_text(materials: list[Any]) -> str:
    lines = []
    for m in materials or []:
        if isinstance(m, str):
            lines.append(m)
            continue
        parts = [m.get("material", ""), GUIDE_FORMS.get(m.get("form", "copy"), ("复印件",))[0], str(m.get("copies", 1))]
        if m.get("note"):
            parts.append(m["note"])
        lines.append(" | ".join(parts))
    return "\n".join(lines)


def save_guide_item(conn: Connection, community: str, form: dict[str, str], ident: str | None = None) -> str:
    problems: list[tuple[str, str]] = []
    ident = ident or _ident(form.get("id", ""), "事项编号", "item id", problems)
    data: dict[str, Any] = {name: form.get(name, "").strip() for name in GUIDE_TEXTS}
    if not data["name"]:
        problems.append(("请填写事项名称", "fill in the item's name"))
    data["category"] = data["category"] or "other"
    data["keywords"] = [k.strip() for k in re.split(r"[,，、\s]+", form.get("keywords", "")) if k.strip()]
    data["materials"] = parse_materials(form.get("materials", ""), problems)
    data["dropoff"] = form.get("dropoff") in ("on", "true", "1")
    data["size"] = form.get("size") if form.get("size") in SIZES else "M"
    data["photos"] = form.get("photos") in ("on", "true", "1")  # false: the phone's form asks for no photos
    if problems:
        raise Invalid(problems)
    if form.get("_new") and record(conn, "guide_item", community, ident) is not None:
        raise Invalid([(f"事项编号 {ident} 已存在", f"the item id {ident} exists already")])
    data.update(id=ident, community=community)
    content.put(conn, "guide_item", key_of(community, ident), data, community)
    return ident


# -- subsidy records ------------------------------------------------------------------
SUBSIDY_SHEET = Sheet((
    Column("id_number", "身份证号", "id number", required=True, check=id_number),
    Column("name", "姓名", "name", required=True, check=text(40)),
    Column("program", "补贴项目", "program", required=True, check=text(40)),
    Column("amount", "金额（元/月）", "amount", required=True, check=amount),
    Column("status", "状态", "status", required=True, check=one_of(SUBSIDY_STATES)),
    Column("certified_until", "年审有效期至", "certified until", check=day),
    Column("note", "备注", "note", check=text(200)),
))


def subsidy_ident(number: str, program: str) -> str:
    return f"{number}-{hashlib.sha256(program.encode()).hexdigest()[:8]}"


def save_subsidy(conn: Connection, community: str, values: dict[str, Any]) -> str:
    ident = subsidy_ident(values["id_number"], values["program"])
    data = {name: values.get(name) or "" for name in ("id_number", "name", "program", "status", "certified_until",
                                                       "note")}
    data.update(amount=values.get("amount") or 0, community=community, id=ident)
    data["certified_until"] = data["certified_until"] or None
    content.put(conn, "subsidy", key_of(community, ident), data, community)
    return ident


def subsidy_from_form(form: dict[str, str]) -> dict[str, Any]:
    values, problems = {}, []
    for column in SUBSIDY_SHEET.columns:
        raw = str(form.get(column.name, "")).strip()
        if not raw:
            if column.required:
                problems.append((f"请填写{column.zh}", f"fill in the {column.en}"))
            values[column.name] = ""
            continue
        try:
            values[column.name] = column.check(raw) if column.check else raw
        except CellError as exc:
            problems.append((f"{column.zh}：{exc.zh}", f"{column.en}: {exc.en}"))
    if problems:
        raise Invalid(problems)
    return values


def import_subsidies(conn: Connection, community: str, data: bytes) -> tuple[int, list[Problem]]:
    """All rows or none (see households.import_csv); one record per ID number and program."""
    reading = read_csv(SUBSIDY_SHEET, data)
    seen: dict[tuple[str, str], int] = {}
    for row in reading.rows:
        pair = (row.values.get("id_number"), row.values.get("program"))
        if all(pair) and pair in seen:
            reading.problem(row.number, "身份证号", f"此人的“{pair[1]}”与第 {seen[pair]} 行重复",
                            f"this person's {pair[1]} repeats row {seen[pair]}")
        seen.setdefault(pair, row.number)
    if reading.problems:
        return 0, sorted(reading.problems, key=lambda p: (p.row, p.column))
    for row in reading.rows:
        save_subsidy(conn, community, row.values)
    return len(reading.rows), []


def subsidy_rows(conn: Connection, community: str) -> list[dict[str, Any]]:
    return [{**r, "status": SUBSIDY_STATES.get(r.get("status"), r.get("status"))}
            for r in records(conn, "subsidy", community, shared=False)]


# -- certificate templates ------------------------------------------------------------
SHIPPED = Path(__file__).resolve().parents[3] / "assets" / "forms"  # the templates that come with the software


def shipped_templates() -> dict[str, Path]:
    """The templates shipped in assets/forms, by id (a fresh community publishes these)."""
    return {path.stem: path for path in sorted(SHIPPED.glob("*.toml"))}

def check_template(template_id: str, toml_bytes: bytes) -> dict[str, Any]:
    """The template as forms/ loads it: name, fields, fingerprint; Invalid with forms'
    one-line message (file, line, key) when it is broken."""
    from forms.errors import FormsError
    from forms.templates import load_template

    problems: list[tuple[str, str]] = []
    _ident(template_id, "模板编号（文件名）", "template id (the file name)", problems)
    if re.search(r"[^a-z0-9_]", template_id):
        problems.append(("模板文件名只能用小写字母、数字和 _，如 residence_proof.toml",
                         "a template's file name is lower-case letters, digits and _, e.g. residence_proof.toml"))
    if problems:
        raise Invalid(problems)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{template_id}.toml"
        path.write_bytes(toml_bytes)
        try:
            template = load_template(path)
        except FormsError as exc:
            message = str(exc).replace(str(path), f"{template_id}.toml")
            raise Invalid([(f"模板有误：{message}", f"the template is broken: {message}")]) from None
    return {"name": template.name, "fingerprint": template.fingerprint, "fields": template.describe_fields(),
            "languages": template.languages}


def save_template(conn: Connection, community: str, template_id: str, toml_bytes: bytes, by: str) -> int:
    """Publish a new version of the template; its version number."""
    checked = check_template(template_id, toml_bytes)
    previous = record(conn, "certificate_template", community, template_id)
    if previous and previous.get("fingerprint") == checked["fingerprint"]:
        raise Invalid([(f"与当前版本 {previous.get('version')} 完全相同，未发布新版本",
                        f"identical to the current version {previous.get('version')}: nothing published")])
    history = list(previous.get("history", [])) if previous else []
    if previous:
        history.insert(0, {k: previous.get(k) for k in ("version", "fingerprint", "uploaded_by", "uploaded_at")})
    version = (previous.get("version", 0) if previous else 0) + 1
    data = {"template_id": template_id, "id": template_id, "version": version, "toml": toml_bytes.decode("utf-8"),
            "uploaded_by": by, "uploaded_at": content.now().isoformat(timespec="seconds"),
            "community": community, "history": history[:50], **checked}
    content.put(conn, "certificate_template", key_of(community, template_id), data, community)
    return version
