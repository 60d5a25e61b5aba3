"""The street office's departments a kiosk can call, configured on the server
(``python -m sync.server department add``). Each has a short key (what staff
accounts name in ``department``), a Chinese and an English name, how long a call
rings before the kiosk offers a call-back, and whether its calls are recorded
(off unless set; the kiosk says so on screen before the call)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from sync.server.content import now
from sync.server.video.errors import BadDepartment, UnknownDepartment
from sync.server.video.models import Department as DepartmentRow

DEPARTMENTS = DepartmentRow.__table__
KEY = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
DEFAULT_ANSWER_TIMEOUT_S = 60

# The demo's departments (make run, tests): key, name, English name.
DEMO = (("civil_affairs", "民政", "Civil affairs"),
        ("social_security", "社保", "Social security"),
        ("family_planning", "计生", "Family planning"),
        ("veterans", "退役军人", "Veterans' affairs"),
        ("legal_aid", "法律援助", "Legal aid"))


@dataclass(frozen=True)
class Department:
    key: str
    name: str
    name_en: str
    answer_timeout_s: int
    recording: bool

    def as_json(self) -> dict:
        return {"key": self.key, "name": self.name, "name_en": self.name_en,
                "answer_timeout_s": self.answer_timeout_s, "recording": self.recording}


def _row(row) -> Department:
    return Department(row.key, row.name, row.name_en, row.answer_timeout_s, bool(row.recording))


def add(conn: Connection, key: str, name: str, name_en: str = "", *,
        answer_timeout_s: int = DEFAULT_ANSWER_TIMEOUT_S, recording: bool = False) -> Department:
    """Add a department, or change the one with this key."""
    if not KEY.match(key):
        raise BadDepartment(f"department key {key!r}: 2–40 lower-case letters, digits, '_' or '-', "
                            f"starting with a letter (e.g. civil_affairs)")
    name = name.strip()
    if not name or len(name) > 120:
        raise BadDepartment("a department needs a name of 1–120 characters (e.g. 民政)")
    if not 5 <= answer_timeout_s <= 600:
        raise BadDepartment(f"answer timeout {answer_timeout_s} s: between 5 and 600 seconds")
    values = {"name": name, "name_en": name_en.strip() or name, "answer_timeout_s": answer_timeout_s,
              "recording": recording}
    if conn.execute(select(DEPARTMENTS.c.key).where(DEPARTMENTS.c.key == key)).first():
        conn.execute(update(DEPARTMENTS).where(DEPARTMENTS.c.key == key).values(**values))
    else:
        position = conn.execute(select(func.coalesce(func.max(DEPARTMENTS.c.position), 0))).scalar_one() + 1
        conn.execute(DEPARTMENTS.insert().values(key=key, position=position, created_at=now(), **values))
    return get(conn, key)


def get(conn: Connection, key: str) -> Department:
    row = conn.execute(select(DEPARTMENTS).where(DEPARTMENTS.c.key == key)).first()
    if row is None:
        raise UnknownDepartment(f"no department {key!r}: add it with "
                                f"`python -m sync.server department add --key {key} --name …`")
    return _row(row)


def all_departments(conn: Connection) -> list[Department]:
    return [_row(r) for r in conn.execute(select(DEPARTMENTS).order_by(DEPARTMENTS.c.position))]


def add_demo(conn: Connection) -> list[Department]:
    return [add(conn, key, name, name_en) for key, name, name_en in DEMO]
