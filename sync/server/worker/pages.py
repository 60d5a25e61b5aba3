"""The worker console's pages (role worker, mobile first), the statistics page
(workers and admins; department staff have theirs under /staff, :mod:`.department_pages`),
a case's materials behind an access check, and the public pages: rate a service,
check a certificate."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine, select

from sync.errors import TransitionRefused
from sync.server import web
from sync.server.accounts import Account, list_accounts, signed_in
from sync.server.codes import WORKER_MINUTES, issue_worker_code
from sync.server.models import Device as DeviceRow
from sync.server.notify import notices, outbox
from sync.server.worker import actions, alarms, cases, certificates, materials, photos, rating, stats
from sync.server.worker.qrsvg import qr_svg

router = APIRouter(include_in_schema=False)
Worker = Annotated[Account, Depends(signed_in("worker"))]
Viewer = Annotated[Account, Depends(signed_in("worker", "admin"))]
Admin = Annotated[Account, Depends(signed_in("admin"))]
STATE_NAMES = {
    "created": ("已登记", "created"), "materials_deposited": ("材料已投柜", "materials in the locker"),
    "collected": ("已取件", "collected"), "in_review": ("审核中", "in review"), "approved": ("已通过", "approved"),
    "returned_with_reasons": ("已退回", "returned with reasons"),
    "result_deposited": ("结果已入柜", "result in the locker"), "picked_up": ("居民已领取", "picked up"),
    "evaluated": ("已评价", "rated"), "closed": ("已办结", "closed"), "cancelled": ("已取消", "cancelled"),
    "expired": ("逾期未领", "not picked up in time"), "quarantined": ("待管理员处理", "quarantined"),
    "pickup_code_issued": ("取件码已发出", "pickup code issued"),
    "resident_contacted": ("已联系居民", "resident contacted"),
    "pickup_held": ("取件待核实（柜门可能无人看管时打开）", "pickup held: the door may have opened unwatched"),
    "no_other_door": ("柜门卡住且没有可换的空门", "door jammed, no other free door"),
    "case_moved": ("材料已换门", "moved to another door"), "retrieved": ("网格员已取回", "taken back by the worker"),
    "held_pickup_looked_at": ("网格员已查看柜门", "the worker looked into the door"),
    "pickup_not_made": ("居民未取走，已换新取件码", "not picked up: a new code follows"),
    "dropoff_empty": ("投递柜门关上时是空的", "the drop-off door shut empty"),
}
ACTION_NAMES = {"collect": ("确认已取件", "Mark collected"), "review": ("开始审核", "Start review"),
                "approve": ("审核通过", "Approve"), "return": ("退回并说明原因", "Return with reasons"),
                "start": ("开始处理", "Start handling"), "resolve": ("处理完毕，回复居民", "Resolved: tell the resident")}
REPORT_STATE_NAMES = {"created": ("待处理", "to handle"), "in_review": ("处理中", "being handled"),
                      "closed": ("已处理", "resolved"), "cancelled": ("已取消", "cancelled")}
NOTIFY_STATES = {"pending": ("待发送", "pending"), "sent": ("已发送", "sent"), "failed": ("发送失败", "failed")}


def outbox_counts(conn, community: str) -> dict[str, int]:
    from sqlalchemy import func

    n = outbox.NOTIFICATIONS.c
    return {state: count for state, count in conn.execute(
        select(n.state, func.count()).where(n.community == community).group_by(n.state))}


def _say(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _engine(request: Request) -> Engine:
    return request.app.state.engine


def _render(request: Request, template: str, status: int = 200, **context) -> Response:
    return web.render(request, template, status, state_names=STATE_NAMES, action_names=ACTION_NAMES,
                      report_state_names=REPORT_STATE_NAMES,
                      notify_states=NOTIFY_STATES, **context)


def _not_found(request: Request, case_id: str) -> Response:
    return web.render(request, "error.html", 404, title=("找不到这个案件", "Case not found"),
                      message=(f"案件 {case_id} 不存在，或不在您的网格内。", f"Case {case_id} does not exist or is "
                               "not in your grid."), back="/worker")


# -- the worker's console ----------------------------------------------------------------
@router.get("/worker")
def home(request: Request, account: Worker) -> Response:
    with _engine(request).connect() as conn:
        from sync.server.phone.cases import open_reports

        lockers = cases.my_lockers(conn, account.community or "", account.grid or "")
        reports = open_reports(conn, account)
        shown = {r["id"] for r in reports}
        mine = [c for c in cases.my_cases(conn, account) if c.id not in shown]
        ringing = alarms.open_alarms(conn, [locker.device_id for locker in lockers])
    return _render(request, "worker/home.html", lockers=lockers, mine=mine, reports=reports, alarms=ringing)


@router.post("/worker/alarms/{alarm_id}/handled")
def alarm_handled(request: Request, alarm_id: str, account: Worker, note: Annotated[str, Form()] = "") -> Response:
    """She dealt with an alarm of a locker of her grid (any other: 404)."""
    lang = web.language(request)
    try:
        with _engine(request).begin() as conn:
            mine = {locker.device_id for locker in cases.lockers_in(conn, account.community or "", account.grid or "")}
            marked = alarms.handle(conn, alarm_id, mine, username=account.username, note=note)
    except alarms.AlarmNotFound:
        return web.render(request, "error.html", 404, title=("找不到这条告警", "Alarm not found"),
                          message=("这条告警不存在，或不是您网格的云柜的。", "No such alarm at a locker of your grid."),
                          back="/worker")
    return web.redirect("/worker#alarms", _say(lang, "已标记为处理完毕。" if marked else "这条告警已有人处理过了。",
                                               "Marked handled." if marked else "Someone handled it already."))


@router.get("/worker/lockers/{device_id}/qr")
def locker_qr(request: Request, device_id: str, account: Worker) -> Response:
    engine = _engine(request)
    with engine.begin() as conn:  # (never render inside: a page reads the session on its own connection)
        mine = {locker.device_id: locker for locker in cases.lockers_in(conn, account.community or "",
                                                                           account.grid or "")}
        code = (issue_worker_code(conn, account.username, [device_id], WORKER_MINUTES,
                                  key_id=request.app.state.server_key_id) if device_id in mine else "")
    if not code:
        return web.render(request, "error.html", 404, title=("不是您网格的云柜", "Not a locker of your grid"),
                          message=(f"云柜 {device_id} 不在您的网格内。", f"Locker {device_id} is not in your grid."),
                          back="/worker")
    return _render(request, "worker/qr.html", locker=mine[device_id], qr=qr_svg(code, title="worker code"),
                   minutes=WORKER_MINUTES, case_id=request.query_params.get("case", ""))


@router.get("/worker/cases/{case_id}")
def case_page(request: Request, case_id: str, account: Viewer) -> Response:
    """Her case (a worker); any case of the community, to read (an admin)."""
    with _engine(request).connect() as conn:
        view = cases.case_view(conn, case_id) if cases.may_see(conn, account, case_id) else None
    if view is None:
        return _not_found(request, case_id)
    return _render(request, "worker/case.html", case=view, refused=None)


@router.post("/worker/cases/{case_id}/act")
def act(request: Request, case_id: str, account: Worker, action: Annotated[str, Form()] = "",
        reasons: Annotated[str, Form()] = "", note: Annotated[str, Form()] = "") -> Response:
    engine = _engine(request)
    try:
        with engine.begin() as conn:
            state = (actions.act(conn, case_id, action, username=account.username, reasons=reasons.splitlines(),
                                 note=note) if cases.may_see(conn, account, case_id) else None)
            if state is not None and action == "resolve":  # a report dealt with: the resident is told how
                notices.contact(conn, case_id=case_id, community=account.community, worker_name=account.name,
                                username=account.username, message=note, dedupe=f"resolved:{case_id}")
        if state is None:
            return _not_found(request, case_id)
    except TransitionRefused as exc:
        with engine.connect() as conn:
            view = cases.case_view(conn, case_id)
        return _render(request, "worker/case.html", 409, case=view, refused=exc)
    except ValueError as exc:
        return web.redirect(f"/worker/cases/{case_id}", web.pick(str(exc), web.language(request)))
    zh, en = (REPORT_STATE_NAMES if action in actions.REPORT_ACTIONS else STATE_NAMES).get(state, (state, state))
    return web.redirect(f"/worker/cases/{case_id}", en if web.language(request) == "en" else f"案件已更新：{zh}")


@router.get("/worker/cases/{case_id}/deposit")
def deposit(request: Request, case_id: str, account: Worker) -> Response:
    engine = _engine(request)
    with engine.begin() as conn:
        view = cases.case_view(conn, case_id) if cases.may_see(conn, account, case_id) else None
        mine = cases.lockers_in(conn, account.community or "", account.grid or "")
        locker = next((x for x in mine if view and x.device_id == view.locker), mine[0] if mine else None)
        code = (issue_worker_code(conn, account.username, [locker.device_id], WORKER_MINUTES,
                                  key_id=request.app.state.server_key_id) if locker and view else "")
    if view is None:
        return _not_found(request, case_id)
    ready = view.state in ("approved", "returned_with_reasons")
    return _render(request, "worker/deposit.html", case=view, locker=locker, ready=ready,
                   qr=qr_svg(code, title="worker code") if code else "", minutes=WORKER_MINUTES)


@router.post("/worker/cases/{case_id}/contact")
def contact(request: Request, case_id: str, account: Worker, message: Annotated[str, Form()] = "") -> Response:
    lang = web.language(request)
    text = message.strip()
    if not text or len(text) > 300:
        return web.redirect(f"/worker/cases/{case_id}", _say(lang, "请写一段 1 到 300 字的消息。",
                                                                    "Write a message of 1 to 300 characters."))
    with _engine(request).begin() as conn:
        allowed = cases.may_see(conn, account, case_id)
        if allowed:
            case = actions.lock_case(conn, case_id)
            event_id = actions.append(conn, case_id=case_id, event_type="resident_contacted",
                                      by=actions.actor(account.username), state=case.state,
                                      payload={"worker": account.username, "message": text})
            notices.contact(conn, case_id=case_id, community=case.community, worker_name=account.name,
                            username=account.username, message=text, dedupe=f"contact:{event_id}")
    if not allowed:
        return _not_found(request, case_id)
    return web.redirect(f"/worker/cases/{case_id}", _say(lang, "消息已排队发送给居民。",
                                                                "The message is queued for the resident."))


@router.get("/worker/cases/{case_id}/materials/{attachment_id}")
def material(request: Request, case_id: str, attachment_id: str, account: Viewer) -> Response:
    return material_response(request, account, case_id, attachment_id)


def material_response(request: Request, account: Account, case_id: str, attachment_id: str) -> Response:
    """An attachment of a case the account may see (else 404, as for none): an image
    inline, anything else as a download; never cached, never sniffed, never scripted."""
    engine = _engine(request)
    with engine.connect() as conn:
        found = materials.one(conn, case_id, attachment_id) if cases.may_see(conn, account, case_id) else None
    if found is None:
        return Response("找不到这份材料 · no such material", status_code=404, media_type="text/plain; charset=utf-8",
                        headers={"Cache-Control": "no-store"})
    from urllib.parse import quote

    disposition = "inline" if found.inline else "attachment"
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox", "Content-Length": str(found.size),
               "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(found.filename, safe='')}"}
    return StreamingResponse(materials.content(engine, found.id), headers=headers,
                             media_type=found.content_type if found.inline else "application/octet-stream")


# -- statistics (workers and admins) ---------------------------------------------------------
def statistics_page(request: Request, account: Account, **context) -> Response:
    """The figures the account may see (:func:`sync.server.worker.stats.for_account`)."""
    with _engine(request).connect() as conn:
        only = stats.for_account(conn, account)
        figures = stats.compute(conn, only.community, only)
        names = {r.account.username: r.account.name for r in list_accounts(conn, only.community)}
    for worker in figures.workers:
        worker.name = names.get(worker.name, worker.name)
    return _render(request, "worker/stats.html", stats=figures, scope=only, **context)


@router.get("/worker/stats")
def statistics(request: Request, account: Viewer) -> Response:
    return statistics_page(request, account)


# -- notifications (admins) -------------------------------------------------------------------
@router.get("/worker/notifications")
def notifications(request: Request, account: Admin, state: str = "") -> Response:
    with _engine(request).connect() as conn:
        shown = cases.community_notifications(conn, account.community or "", state if state in NOTIFY_STATES else None)
        totals = outbox_counts(conn, account.community or "")
    return _render(request, "worker/notifications.html", notifications=shown, totals=totals, state=state)


# -- lockers' grids (admins) -----------------------------------------------------------------
@router.get("/worker/grids")
def grids(request: Request, account: Admin, device: str = "") -> Response:
    devices = DeviceRow.__table__
    with _engine(request).connect() as conn:
        lockers = cases.lockers_in(conn, account.community or "", None)
        enrolled = [r.device_id for r in conn.execute(select(devices.c.device_id).where(
            devices.c.community == account.community, devices.c.revoked_at.is_(None)).order_by(devices.c.device_id))]
    placed = {locker.device_id for locker in lockers}
    return _render(request, "worker/grids.html", lockers=lockers, devices=enrolled,
                   unassigned=[d for d in enrolled if d not in placed], device=device)


@router.post("/worker/grids")
def set_grid(request: Request, account: Admin, device_id: Annotated[str, Form()] = "",
             grid: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "") -> Response:
    lang = web.language(request)
    if not device_id.strip() or not grid.strip():
        return web.redirect("/worker/grids", _say(lang, "请填写云柜编号和网格。", "Give the locker id and the grid."))
    with _engine(request).begin() as conn:
        cases.set_locker_grid(conn, device_id.strip(), account.community or "", grid.strip(), name.strip())
    return web.redirect("/worker/grids", _say(lang, "已保存。", "Saved."))


# -- public: rate the service, check a certificate ----------------------------------------------
@router.get("/rate/{token}")
def rate_page(request: Request, token: str) -> Response:
    try:
        with _engine(request).connect() as conn:
            case_id = rating.link_case(conn, token)
    except rating.RatingRefused as exc:
        return _render(request, "worker/rate.html", 410 if exc.reason in ("used", "expired", "rated") else 404,
                       refused=exc, done=False, case_id="", error=None)
    return _render(request, "worker/rate.html", refused=None, done=False, case_id=case_id, error=None)


@router.post("/rate/{token}")
def rate(request: Request, token: str, score: Annotated[str, Form()] = "",
         comment: Annotated[str, Form()] = "") -> Response:
    try:
        with _engine(request).begin() as conn:
            case_id = rating.rate_by_link(conn, token, score, comment)
    except rating.RatingRefused as exc:
        if exc.reason in ("score", "comment"):
            try:
                with _engine(request).connect() as conn:
                    case_id = rating.link_case(conn, token)
            except rating.RatingRefused as gone:
                return _render(request, "worker/rate.html", 410, refused=gone, done=False, case_id="", error=None)
            return _render(request, "worker/rate.html", 422, refused=None, done=False, case_id=case_id, error=exc)
        return _render(request, "worker/rate.html", 410, refused=exc, done=False, case_id="", error=None)
    return _render(request, "worker/rate.html", refused=None, done=True, case_id=case_id, error=None)


@router.get("/verify")
def verify_page(request: Request, c: str = "") -> Response:
    checked = None
    if c.strip():
        with _engine(request).connect() as conn:
            checked = certificates.check(conn, c)
    return _render(request, "worker/verify.html", checked=checked, text=c, problem=None)


@router.post("/verify")
def verify(request: Request, code: Annotated[str, Form()] = "",
           photo: Annotated[UploadFile | None, File()] = None) -> Response:
    """The pasted text, or the QR read from a photo (kept in memory only)."""
    checked, problem = None, None
    if photo is not None and photo.filename:
        try:
            code = photos.qr_text(photo.file.read(photos.MAX_BYTES + 1))
        except photos.PhotoUnreadable as exc:
            problem = exc
    if code.strip() and problem is None:
        with _engine(request).connect() as conn:
            checked = certificates.check(conn, code)
    return _render(request, "worker/verify.html", 422 if problem else 200, checked=checked, text=code,
                   problem=problem)
