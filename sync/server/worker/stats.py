"""Service statistics per department and per grid worker: cases, time from the
result's deposit to its pickup, ratings. Computed from the events and ratings of a
community, or of the cases a console may see (times as the appliances' clocks said).

Who sees which figures (:func:`for_account`): an admin her community's; a grid worker
her grid's cases, and among the workers only herself; department staff their
department's cases (:mod:`sync.server.worker.scope`), all under the department's name."""
from __future__ import annotations

from dataclasses import dataclass, field
from statistics import median
from typing import Any

from sqlalchemy import Connection, select

from sync import lifecycle
from sync.server.models import Case, EventRow
from sync.server.notify.residents import FIELDS, department_of_item
from sync.server.worker.cases import event_time
from sync.server.worker.models import Rating

EVENTS = EventRow.__table__
CASES = Case.__table__
RATINGS = Rating.__table__
UNKNOWN = "—"


@dataclass
class Figures:
    name: str
    cases: int = 0
    picked_up: int = 0
    waits_h: list[float] = field(default_factory=list)  # deposit → pickup, hours
    scores: list[int] = field(default_factory=list)

    @property
    def median_wait_h(self) -> float | None:
        return round(median(self.waits_h), 1) if self.waits_h else None

    @property
    def mean_wait_h(self) -> float | None:
        return round(sum(self.waits_h) / len(self.waits_h), 1) if self.waits_h else None

    @property
    def rating(self) -> float | None:
        return round(sum(self.scores) / len(self.scores), 2) if self.scores else None

    @property
    def rated(self) -> int:
        return len(self.scores)


@dataclass
class Statistics:
    departments: list[Figures]
    workers: list[Figures]
    total: Figures


def _worker_of(payload: dict, device_id: str) -> str | None:
    if isinstance(payload, dict) and payload.get("worker"):
        return str(payload["worker"])
    return device_id.split(":", 1)[1] if device_id.startswith("console:") else None


@dataclass
class Scope:
    """Which cases and workers a set of figures covers, and how the page names it."""

    community: str | None  # None: every community (department staff without one)
    cases: set[str] | None = None  # None: every case of the community
    workers: set[str] | None = None  # None: every worker
    department: str | None = None  # the one name every case is counted under
    label: tuple[str, str] = ("", "")


def for_account(conn: Connection, account: Any) -> Scope:
    """What ``account`` may see: an admin her community; a worker her grid and
    herself; department staff their department."""
    from sync.server.worker import scope

    if account.role == "admin":
        return Scope(account.community or "", label=(f"社区：{account.community}", f"community: {account.community}"))
    if account.role == "worker":
        return Scope(account.community or "", scope.grid_cases(conn, account.community or "", account.grid or ""),
                     {account.username}, label=(f"网格：{account.grid}", f"grid: {account.grid}"))
    if account.role == "staff":
        department = scope.department_of(conn, account)
        zh, en = department.label
        return Scope(department.community, scope.department_cases(conn, department) if account.department else set(),
                     department=zh, label=(f"科室：{zh}", f"department: {en}"))
    return Scope(account.community or "", set(), set())


def compute(conn: Connection, community: str | None, only: Scope | None = None) -> Statistics:
    """The figures of ``community``'s cases (``only``: of those it allows)."""
    case_ids = scope_cases(conn, community, only)
    department: dict[str, str] = {}
    item_of: dict[str, str] = {}
    worker: dict[str, str] = {}
    deposited: dict[str, object] = {}
    picked: dict[str, object] = {}
    for start in range(0, len(case_ids), 500):
        chunk = case_ids[start:start + 500]
        for row in conn.execute(select(EVENTS.c.aggregate_id, EVENTS.c.event_type, EVENTS.c.payload,
                                       EVENTS.c.device_id, EVENTS.c.created_at, EVENTS.c.received_at)
                                .where(EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.aggregate_id.in_(chunk),
                                       EVENTS.c.status == "applied").order_by(EVENTS.c.server_seq)):
            payload = row.payload or {}
            if isinstance(payload, dict) and payload.get("department"):
                department[row.aggregate_id] = str(payload["department"])
            if isinstance(payload, dict) and payload.get("item_id"):
                item_of[row.aggregate_id] = str(payload["item_id"])
            if row.event_type in ("collected", "in_review", "approved", "returned_with_reasons", "result_deposited"):
                who = _worker_of(payload, row.device_id)
                if who:
                    worker[row.aggregate_id] = who
            if row.event_type == "result_deposited":
                deposited[row.aggregate_id] = event_time(row.created_at, row.received_at)
            elif row.event_type == "picked_up":
                picked[row.aggregate_id] = event_time(row.created_at, row.received_at)
    guide: dict[str, str] = {}
    for case_id, item_id in item_of.items():
        if case_id not in department:
            if item_id not in guide:
                guide[item_id] = department_of_item(conn, item_id)
            if guide[item_id]:
                department[case_id] = guide[item_id]
    scores: dict[str, int] = {}
    for start in range(0, len(case_ids), 500):
        scores.update({r.case_id: r.score for r in conn.execute(select(RATINGS.c.case_id, RATINGS.c.score).where(
            RATINGS.c.case_id.in_(case_ids[start:start + 500])))})
    if only is not None and only.department:
        department = {case_id: only.department for case_id in case_ids}
    else:  # a department named by its key (a video call's cases) counts under its name
        from sync.server.worker.scope import department_names

        names = department_names(conn)
        department = {case_id: names.get(named, named) for case_id, named in department.items()}
    by_department: dict[str, Figures] = {}
    by_worker: dict[str, Figures] = {}
    total = Figures("")
    for case_id in case_ids:
        groups = [total, by_department.setdefault(department.get(case_id, UNKNOWN),
                                                  Figures(department.get(case_id, UNKNOWN)))]
        if case_id in worker and (only is None or only.workers is None or worker[case_id] in only.workers):
            groups.append(by_worker.setdefault(worker[case_id], Figures(worker[case_id])))
        for figures in groups:
            figures.cases += 1
            if case_id in picked:
                figures.picked_up += 1
                if case_id in deposited:
                    figures.waits_h.append(max(0.0, (picked[case_id] - deposited[case_id]).total_seconds() / 3600))
            if case_id in scores:
                figures.scores.append(scores[case_id])
    order = lambda f: (f.name == UNKNOWN, f.name)  # noqa: E731
    return Statistics(sorted(by_department.values(), key=order), sorted(by_worker.values(), key=order), total)


def scope_cases(conn: Connection, community: str | None, only: Scope | None) -> list[str]:
    query = select(CASES.c.id)
    if community is not None:
        query = query.where(CASES.c.community == community)
    found = [r.id for r in conn.execute(query)]
    return found if only is None or only.cases is None else [c for c in found if c in only.cases]


__all__ = ["FIELDS", "Figures", "Scope", "Statistics", "compute", "for_account"]
