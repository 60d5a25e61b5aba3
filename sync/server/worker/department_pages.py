"""Department staff's cases (role ``staff``, beside their video console at /staff):
the department's case list, a case page, its materials, the department's statistics.

Which cases are a department's: :mod:`sync.server.worker.scope`. Any other case
answers 404, as one that does not exist does (case numbers do not leak). Staff read
a case as a worker's page shows it (resident masked, materials, timeline, alarms);
the one thing the lifecycle leaves to them is a call-back request (``kind:
callback``, made when nobody answered a resident's call): once they have rung the
resident back they close it (``created → closed``) with a note. Its number is shown
in full while it waits for that call, to them only.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy import select

from sync import lifecycle
from sync.errors import TransitionRefused
from sync.server import web
from sync.server.accounts import Account, signed_in
from sync.server.content import aware
from sync.server.worker import actions, cases, scope
from sync.server.worker.pages import _render, material_response, statistics_page

router = APIRouter(include_in_schema=False)
Staff = Annotated[Account, Depends(signed_in("staff"))]
S = lifecycle.CaseState
DONE = (S.CLOSED.value, S.CANCELLED.value, S.EVALUATED.value, S.PICKED_UP.value)
CALLBACK = "callback"
KIND_NAMES = {"callback": ("回电请求", "call-back request"), "follow_up": ("通话后跟进", "follow-up after a call"),
              "report": ("居民报事", "resident's report"), "dropoff": ("投柜办理", "locker drop-off")}


def _not_found(request: Request, case_id: str) -> Response:
    return web.render(request, "error.html", 404, title=("找不到这个案件", "Case not found"),
                      message=(f"案件 {case_id} 不存在，或不属于您的科室。",
                               f"Case {case_id} does not exist or is not your department's."), back="/staff/cases")


def _records(request: Request, account: Account) -> bool:
    """Whether the department records its calls (the nav then links its recordings)."""
    from sync.server.video.models import Department

    table = Department.__table__
    with request.app.state.engine.connect() as conn:
        return bool(conn.execute(select(table.c.recording).where(table.c.key == (account.department or ""))).scalar())


def _kind(conn, case_id: str) -> str:
    payload = conn.execute(select(cases.EVENTS.c.payload).where(
        cases.EVENTS.c.aggregate_type == lifecycle.CASE, cases.EVENTS.c.aggregate_id == case_id,
        cases.EVENTS.c.event_type == S.CREATED.value, cases.EVENTS.c.status == "applied")
        .order_by(cases.EVENTS.c.server_seq).limit(1)).scalar()
    return str((payload or {}).get("kind") or "") if isinstance(payload, dict) else ""


def staff_actions(kind: str, state: str) -> list[str]:
    """What the lifecycle leaves to department staff: closing a call-back once made."""
    return ["called_back"] if kind == CALLBACK and lifecycle.allowed(state, S.CLOSED) else []


@router.get("/staff/cases")
def case_list(request: Request, account: Staff) -> Response:
    with request.app.state.engine.connect() as conn:
        department = scope.department_of(conn, account)
        ids = scope.department_cases(conn, department)
        rows, ordered = [], sorted(ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start:start + 500]
            rows += conn.execute(select(cases.CASES).where(cases.CASES.c.id.in_(chunk))).all()
        said = scope.facts(conn, ids, ("item", "kind", "request", "department"))
    rows.sort(key=lambda r: aware(r.updated_at), reverse=True)
    listed = [{"id": r.id, "state": r.state, "community": r.community, "updated_at": aware(r.updated_at),
               "item": str(said.get(r.id, {}).get("item") or said.get(r.id, {}).get("request") or ""),
               "kind": KIND_NAMES.get(str(said.get(r.id, {}).get("kind") or ""))} for r in rows]
    return _render(request, "worker/department_cases.html", department=department,
                   staff_records=_records(request, account),
                   open_cases=[c for c in listed if c["state"] not in DONE],
                   done_cases=[c for c in listed if c["state"] in DONE][:100], done_total=sum(
                       1 for c in listed if c["state"] in DONE))


@router.get("/staff/cases/{case_id}")
def case_page(request: Request, case_id: str, account: Staff) -> Response:
    with request.app.state.engine.connect() as conn:
        view = cases.case_view(conn, case_id) if cases.may_see(conn, account, case_id) else None
        if view is not None:
            _for_staff(conn, view)
    if view is None:
        return _not_found(request, case_id)
    return _render(request, "worker/case.html", case=view, refused=None, staff_records=_records(request, account))


def _for_staff(conn, view: cases.CaseView) -> None:
    kind = _kind(conn, view.id)
    view.actions = staff_actions(kind, view.state)
    if view.actions:  # a call-back still to make: the number the resident left, in full
        view.callback_phone = str(scope.facts(conn, [view.id], ("phone",)).get(view.id, {}).get("phone") or "")


@router.post("/staff/cases/{case_id}/act")
def act(request: Request, case_id: str, account: Staff, action: Annotated[str, Form()] = "",
        note: Annotated[str, Form()] = "") -> Response:
    lang = web.language(request)
    engine = request.app.state.engine
    text = note.strip()
    try:
        with engine.begin() as conn:
            if not cases.may_see(conn, account, case_id):
                return _not_found(request, case_id)
            if action != "called_back":
                return web.redirect(f"/staff/cases/{case_id}", "没有这个操作 / no such action")
            case = actions.lock_case(conn, case_id)
            if _kind(conn, case_id) != CALLBACK:  # the grid worker's, not the department's, to move
                raise TransitionRefused(case.state, S.CLOSED.value, [])
            if not 2 <= len(text) <= 300:
                return web.redirect(f"/staff/cases/{case_id}", "请写下回电结果（2 到 300 字） / write what the call-back "
                                                                  "came to (2 to 300 characters)")
            actions.transition(conn, case_id, S.CLOSED, by=actions.actor(account.username),
                               payload={"staff": account.username, "department": account.department,
                                        "by": "console", "note": text[:300]})
    except TransitionRefused as exc:
        with engine.connect() as conn:
            view = cases.case_view(conn, case_id)
            _for_staff(conn, view)
        return _render(request, "worker/case.html", 409, case=view, refused=exc,
                       staff_records=_records(request, account))
    return web.redirect(f"/staff/cases/{case_id}", "Closed: call-back made." if lang == "en" else "已回电，案件已办结。")


@router.get("/staff/cases/{case_id}/materials/{attachment_id}")
def material(request: Request, case_id: str, attachment_id: str, account: Staff) -> Response:
    return material_response(request, account, case_id, attachment_id)


@router.get("/staff/stats")
def statistics(request: Request, account: Staff) -> Response:
    return statistics_page(request, account, staff_records=_records(request, account))
