"""Who sees which cases, in bulk: a grid's cases, a department's cases (the consoles'
lists and their statistics). :func:`sync.server.worker.cases.may_see` checks one case
by the same rules:

- **a grid** (a worker's ``grid``): a locker of that grid (``locker_grids``) holds or
  held the case's paper, or the case's household record names the grid (the record
  the case's ``household`` names, else the member of the community's records whose ID
  number hashes to the case's ``resident``).
- **a department** (a staff account's ``department``: the key of a ``departments``
  row): the case names it, by its key, Chinese or English name, as ``department`` in
  an event's payload (the last word winning), else through its service guide item
  (``item_id``: the item's ``department``); or a video call of that department made
  the case (a call-back ``VC-…``, a follow-up ``VF-…``: ``video_calls.case_id``) or was
  about it (the kiosk named the case: the call's ``context.case_id``). Staff made in a
  community's admin console (the account has a community) see that community's only.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from sync import lifecycle
from sync.server.models import Case, EventRow, GuideItem, Household
from sync.server.notify.residents import resident_key

EVENTS = EventRow.__table__
CASES = Case.__table__
GUIDE = GuideItem.__table__
HOUSEHOLDS = Household.__table__
CHUNK = 500  # ids in one IN (...)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def facts(conn: Connection, case_ids: Iterable[str], keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """For each case, the ``keys`` its applied events said (the last word winning), as
    :func:`sync.server.notify.residents.case_facts` reads them one case at a time."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(case_ids):
        for row in conn.execute(select(EVENTS.c.aggregate_id, EVENTS.c.payload).where(
                EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id.in_(chunk),
                EVENTS.c.status == "applied").order_by(EVENTS.c.server_seq)):
            if not isinstance(row.payload, dict):
                continue
            mine = found.setdefault(row.aggregate_id, {})
            for key in keys:
                if row.payload.get(key) not in (None, "", []):
                    mine[key] = row.payload[key]
    return found


def community_cases(conn: Connection, community: str | None) -> set[str]:
    query = select(CASES.c.id)
    if community is not None:
        query = query.where(CASES.c.community == community)
    return {row.id for row in conn.execute(query)}


# -- a grid --------------------------------------------------------------------------------
def grid_cases(conn: Connection, community: str, grid: str, case_ids: Iterable[str] | None = None) -> set[str]:
    """The cases of ``community`` (of ``case_ids`` only, when given) in ``grid``."""
    from sync.server.worker.cases import GRIDS, PLACING

    wanted = community_cases(conn, community)
    if case_ids is not None:
        wanted &= set(case_ids)
    if not wanted or not grid:
        return set()
    lockers = [r.device_id for r in conn.execute(select(GRIDS.c.device_id).where(
        GRIDS.c.community == community, GRIDS.c.grid == grid))]
    placed: set[str] = set()
    if lockers:
        for chunk in _chunks(wanted):
            placed |= {r.aggregate_id for r in conn.execute(select(EVENTS.c.aggregate_id).where(
                EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id.in_(chunk),
                EVENTS.c.event_type.in_(PLACING), EVENTS.c.device_id.in_(lockers)).distinct())}
    rest = wanted - placed
    said = facts(conn, rest, ("household", "resident"))
    records = {r.key: r.data for r in conn.execute(select(HOUSEHOLDS.c.key, HOUSEHOLDS.c.data)
                                                   .where(HOUSEHOLDS.c.community == community))}
    by_resident: dict[str, Any] | None = None
    found = set(placed)
    for case_id in rest:
        case_facts = said.get(case_id, {})
        record = None
        if case_facts.get("household"):
            key = str(case_facts["household"])
            record = records[key] if key in records else conn.execute(
                select(HOUSEHOLDS.c.data).where(HOUSEHOLDS.c.key == key)).scalar()
        elif case_facts.get("resident"):
            if by_resident is None:
                by_resident = _records_by_resident(records.values())
            record = by_resident.get(str(case_facts["resident"]))
        if isinstance(record, dict) and str(record.get("grid", "") or "") == grid:
            found.add(case_id)
    return found


def _records_by_resident(records: Iterable[Any]) -> dict[str, Any]:
    """The kiosk's resident key of every person in the records -> their record."""
    keyed: dict[str, Any] = {}
    for data in records:
        if not isinstance(data, dict):
            continue
        for person in [m for m in data.get("members", []) or [] if isinstance(m, dict)] + [data]:
            number = str(person.get("id_number", "") or "")
            if number and number.isascii():
                keyed.setdefault(resident_key(number), data)
    return keyed


# -- a department ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Department:
    """A staff account's department, and every name a case or a guide item may give it."""

    key: str
    name: str
    name_en: str
    names: frozenset[str]
    community: str | None  # staff of one community's admin console: that community's cases only

    @property
    def label(self) -> tuple[str, str]:
        return self.name or self.key, self.name_en or self.name or self.key


def department_names(conn: Connection) -> dict[str, str]:
    """Each department's key -> its Chinese name (a case naming a department by its key
    is shown by its name)."""
    from sync.server.video.models import Department as DepartmentRow

    table = DepartmentRow.__table__
    return {r.key: r.name for r in conn.execute(select(table.c.key, table.c.name))}


def department_of(conn: Connection, account: Any) -> Department:
    from sync.server.video.models import Department as DepartmentRow

    key = (account.department or "").strip()
    table = DepartmentRow.__table__
    row = conn.execute(select(table.c.name, table.c.name_en).where(table.c.key == key)).first() if key else None
    name, name_en = (row.name, row.name_en) if row else ("", "")
    names = frozenset(n.strip() for n in (key, name, name_en) if n and n.strip())
    return Department(key, name, name_en, names, account.community or None)


def _guide_departments(conn: Connection) -> dict[str, str]:
    """Each service guide item's department, as the item writes it."""
    return {r.key: str(r.data.get("department") or "").strip() for r in conn.execute(select(GUIDE.c.key, GUIDE.c.data))
            if isinstance(r.data, dict)}


def department_cases(conn: Connection, department: Department, case_ids: Iterable[str] | None = None) -> set[str]:
    """The cases of ``department`` (of ``case_ids`` only, when given)."""
    from sync.server.video.models import VideoCall

    if not department.names:
        return set()
    names = sorted(department.names)
    guide = _guide_departments(conn)
    items = sorted(key for key, named in guide.items() if named in department.names)
    given = set(case_ids) if case_ids is not None else None
    if given is not None:
        candidates = set(given)
    else:  # only the cases some event of which names the department or one of its items
        said = EVENTS.c.payload["department"].as_string().in_(names)
        if items:
            said = said | EVENTS.c.payload["item_id"].as_string().in_(items)
        candidates = {r.aggregate_id for r in conn.execute(select(EVENTS.c.aggregate_id).where(
            EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.status == "applied", said).distinct())}
    found = set()
    for case_id, case_facts in facts(conn, candidates, ("department", "item_id")).items():
        named = str(case_facts.get("department") or "").strip()
        if not named and case_facts.get("item_id"):
            named = guide.get(str(case_facts["item_id"]), "")
        if named in department.names:
            found.add(case_id)
    calls = VideoCall.__table__
    for row in conn.execute(select(calls.c.case_id, calls.c.context).where(calls.c.department == department.key)):
        for case_id in (row.case_id, (row.context or {}).get("case_id") if isinstance(row.context, dict) else None):
            if case_id and (given is None or case_id in given):
                found.add(str(case_id))
    existing: set[str] = set()
    for chunk in _chunks(found):  # cases the server holds (of the staff's community, if any)
        query = select(CASES.c.id).where(CASES.c.id.in_(chunk))
        if department.community:
            query = query.where(CASES.c.community == department.community)
        existing |= {r.id for r in conn.execute(query)}
    return existing


__all__ = ["Department", "community_cases", "department_cases", "department_names", "department_of", "facts",
           "grid_cases"]
