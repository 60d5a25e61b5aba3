"""The service guide as residents read it: a community's items (and everyone's), search."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, or_, select

from sync.server.models import GuideItem

GUIDE = GuideItem.__table__
FORMS = {"original": ("原件", "original"), "copy": ("复印件", "copy"), "both": ("原件和复印件", "original and copy")}
SEARCHED = ("name", "name_en", "category", "department", "department_en", "place", "place_en")


def items(conn: Connection, community: str, query: str = "") -> list[dict[str, Any]]:
    """The guide items residents of ``community`` see, by category and name; ``query``
    matches names, categories, departments, places and materials."""
    rows = conn.execute(select(GUIDE.c.key, GUIDE.c.data).where(
        or_(GUIDE.c.community == community, GUIDE.c.community.is_(None)))).all()
    found = [{**row.data, "_key": row.key} for row in rows if isinstance(row.data, dict)]
    words = [w.lower() for w in query.split() if w]
    if words:
        def text(item: dict[str, Any]) -> str:
            materials = " ".join(str(m.get("material", "")) if isinstance(m, dict) else str(m)
                                 for m in item.get("materials", []) or [])
            return " ".join(str(item.get(k, "")) for k in SEARCHED).lower() + " " + materials.lower()
        found = [item for item in found if all(w in text(item) for w in words)]
    return sorted(found, key=lambda i: (str(i.get("category", "")), str(i.get("name", ""))))


def item(conn: Connection, community: str, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(GUIDE.c.data, GUIDE.c.community).where(GUIDE.c.key == key)).first()
    if row is None or row.community not in (community, None) or not isinstance(row.data, dict):
        return None
    return {**row.data, "_key": key}


def materials(item: dict[str, Any]) -> list[dict[str, Any]]:
    """Each material as {material, form (zh, en), copies}."""
    shown = []
    for m in item.get("materials", []) or []:
        if isinstance(m, dict):
            shown.append({"material": str(m.get("material", "")), "form": FORMS.get(str(m.get("form", "copy")),
                                                                                     FORMS["copy"]),
                          "copies": m.get("copies", 1)})
        elif m:
            shown.append({"material": str(m), "form": FORMS["copy"], "copies": 1})
    return shown


def photos_allowed(item: dict[str, Any]) -> bool:
    """Photos of documents may be attached unless the item says ``"photos": false``."""
    return item.get("photos", True) is not False and bool(item.get("materials"))
