"""The residents' phone pages (/phone…), the sticker for a device, the admin's phone links.

=================================  ===============================================
GET  /phone/d/<device>             the sticker's QR: this device's community and pages
GET  /phone                        start: guide, apply, my cases, report
GET/POST /phone/signin             number → SMS code → signed in (POST …/verify)
POST /phone/signout
GET  /phone/guide[?q=]             the service guide, search; /phone/guide/<key> an item
GET/POST /phone/apply/<key>        the application for an item (sign-in)
GET  /phone/cases                  her cases; /phone/cases/<id> one with its timeline
POST /phone/cases/<id>/rate        rate after pickup
GET/POST /phone/report             报事 (sign-in)
GET/POST /phone/code               a booking's short code → its QR (rate-limited per IP)
GET  /phone/sticker/<device>       the printable sticker (community admin)
GET  /admin/phones, POST link/unlink  phone numbers linked to household members (admin)
=================================  ===============================================
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sync.server import web
from sync.server.accounts import Account, signed_in
from sync.server.accounts.guard import csrf_for, is_https, same_token
from sync.server.models import Device
from sync.server.phone import cases, guide, links, signin
from sync.server.phone.errors import BadForm, NoCommunity, NotFound, PhoneError
from sync.server.phone.throttle import Policy
from sync.server.worker.qrsvg import qr_svg

router = APIRouter(include_in_schema=False)
CSS = Path(__file__).resolve().parent / "phone.css"
SESSION_COOKIE, ENTRY_COOKIE = "phone_session", "phone_entry"
DEVICES = Device.__table__
Admin = Annotated[Account, Depends(signed_in("admin"))]


def policy(request: Request) -> Policy:
    return getattr(request.app.state, "phone_policy", None) or Policy()


def engine(request: Request):
    return request.app.state.engine


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def public_url(request: Request) -> str:
    settings = getattr(request.app.state, "notify_settings", None)
    return settings.public_url if settings else str(request.base_url).rstrip("/")


def entry(request: Request) -> tuple[str, str] | None:
    """(device id, community) of the sticker this phone came in by."""
    device = request.cookies.get(ENTRY_COOKIE)
    if not device:
        return None
    with engine(request).connect() as conn:
        row = conn.execute(select(DEVICES.c.community).where(DEVICES.c.device_id == device,
                                                             DEVICES.c.revoked_at.is_(None))).first()
    return (device, row.community) if row else None


def who(request: Request) -> tuple[signin.Resident, links.Member | None] | None:
    if "phone_who" not in request.state._state:
        found = None
        with engine(request).begin() as conn:
            resident = signin.session_of(conn, request.cookies.get(SESSION_COOKIE))
            if resident:
                found = (resident, links.linked(conn, resident.community, resident.phone))
        request.state.phone_who = found
    return request.state.phone_who


def page(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    found = who(request)
    here = entry(request)
    token = found[0].csrf if found else csrf_for(request)
    return web.render(request, template, status, resident=found[0] if found else None,
                      member=found[1] if found else None, entry=here, phone_csrf=token, **context)


def problem(request: Request, exc: PhoneError, back: str = "/phone") -> Response:
    return page(request, "phone/error.html", exc.status, error=exc, back=back)


def to_signin(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return web.redirect(f"/phone/signin?next={quote(target, safe='')}")


def csrf_ok(request: Request, given: object) -> bool:
    found = who(request)
    expected = found[0].csrf if found else csrf_for(request)
    return isinstance(given, str) and same_token(given, expected)


def expired_form(request: Request) -> Response:
    return problem(request, PhoneError("页面已过期，请返回刷新后再提交。", "This page has expired: go back, reload it and submit again."))


def safe_next(target: str) -> str:
    return target if target.startswith("/phone") and not target.startswith("//") else "/phone"


# -- entry and start ----------------------------------------------------------------------
@router.get("/phone/phone.css")
def stylesheet() -> Response:
    return Response(CSS.read_bytes(), media_type="text/css", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/phone/d/{device_id}", response_class=HTMLResponse)
def scanned(request: Request, device_id: str) -> Response:
    with engine(request).connect() as conn:
        row = conn.execute(select(DEVICES.c.community).where(DEVICES.c.device_id == device_id,
                                                             DEVICES.c.revoked_at.is_(None))).first()
    if row is None:
        return problem(request, NotFound("这个二维码对应的设备不存在或已停用，请扫描其他云柜或一体机上的二维码。",
                                         "This QR names no device in service: scan the one on another locker or kiosk."))
    response = web.redirect("/phone")
    response.set_cookie(ENTRY_COOKIE, device_id, max_age=365 * 86400, httponly=True, samesite="lax",
                        secure=is_https(request))
    return response


@router.get("/phone", response_class=HTMLResponse)
def start(request: Request) -> Response:
    found = who(request)
    mine = []
    if found:
        with engine(request).connect() as conn:
            mine = [cases.view(conn, found[0], found[1], r.id) for r in cases.mine(conn, found[0], found[1])[:3]]
    place = ""
    here = entry(request)
    if here:
        with engine(request).connect() as conn:
            from sync.server.worker.cases import GRIDS
            place = conn.execute(select(GRIDS.c.name).where(GRIDS.c.device_id == here[0])).scalar() or ""
    return page(request, "phone/start.html", recent=mine, place=place)


# -- sign-in ------------------------------------------------------------------------------
@router.get("/phone/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/phone") -> Response:
    return page(request, "phone/signin.html", next=safe_next(next), phone="", sent=False)


def _community(request: Request, phone: str) -> str:
    here = entry(request)
    if here:
        return here[1]
    with engine(request).connect() as conn:
        found = links.communities_of(conn, phone)
    if len(found) == 1:
        return found[0]
    raise NoCommunity("请先扫描云柜或一体机上的二维码，再登录。",
                      "First scan the QR code on a locker or kiosk, then sign in.")


@router.post("/phone/signin", response_class=HTMLResponse)
async def send_code(request: Request) -> Response:
    form = await request.form()
    target = safe_next(str(form.get("next", "/phone")))
    if not csrf_ok(request, form.get("csrf")):
        return expired_form(request)
    phone = str(form.get("phone", ""))
    try:
        number = signin.normalise(phone)
        community = await run_in_threadpool(_community, request, number)

        def send() -> None:
            with engine(request).begin() as conn:
                signin.send_code(conn, number, client_ip(request), policy(request), community)
        await run_in_threadpool(send)
    except PhoneError as exc:
        return page(request, "phone/signin.html", exc.status, next=target, phone=phone, sent=False, error=exc)
    return page(request, "phone/signin.html", next=target, phone=number, sent=True)


@router.post("/phone/signin/verify", response_class=HTMLResponse)
async def verify(request: Request) -> Response:
    form = await request.form()
    target = safe_next(str(form.get("next", "/phone")))
    if not csrf_ok(request, form.get("csrf")):
        return expired_form(request)
    phone, code = str(form.get("phone", "")), str(form.get("code", ""))

    def check() -> str:
        number = signin.normalise(phone)
        community = _community(request, number)
        with engine(request).begin() as conn:  # a wrong code is counted even though it is refused
            outcome = signin.verify_code(conn, number, code, client_ip(request), policy(request))
        if isinstance(outcome, PhoneError):
            raise outcome
        with engine(request).begin() as conn:
            return signin.new_session(conn, number, community, policy(request))
    try:
        token = await run_in_threadpool(check)
    except PhoneError as exc:
        return page(request, "phone/signin.html", exc.status, next=target, phone=phone, sent=True, error=exc)
    response = web.redirect(target, "登录成功 / Signed in")
    response.set_cookie(SESSION_COOKIE, token, max_age=policy(request).session_days * 86400, httponly=True,
                        samesite="lax", secure=is_https(request))
    return response


@router.post("/phone/signout")
async def signout(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return expired_form(request)

    def end() -> None:
        with engine(request).begin() as conn:
            signin.end_session(conn, request.cookies.get(SESSION_COOKIE))
    await run_in_threadpool(end)
    response = web.redirect("/phone", "已退出 / Signed out")
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- the service guide --------------------------------------------------------------------
def _guide_community(request: Request) -> str | None:
    found = who(request)
    if found:
        return found[0].community
    here = entry(request)
    return here[1] if here else None


@router.get("/phone/guide", response_class=HTMLResponse)
def guide_page(request: Request, q: str = "") -> Response:
    community = _guide_community(request)
    if community is None:
        return problem(request, NoCommunity("请先扫描云柜或一体机上的二维码。", "First scan the QR code on a locker or kiosk."))
    with engine(request).connect() as conn:
        found = guide.items(conn, community, q[:100])
    return page(request, "phone/guide.html", q=q[:100], items=found)


@router.get("/phone/guide/{key:path}", response_class=HTMLResponse)
def guide_item(request: Request, key: str) -> Response:
    community = _guide_community(request)
    with engine(request).connect() as conn:
        item = guide.item(conn, community, key) if community else None
    if item is None:
        return problem(request, NotFound("没有找到这个事项。", "No such service."), "/phone/guide")
    return page(request, "phone/item.html", item=item, materials=guide.materials(item),
                photos=guide.photos_allowed(item))


# -- apply ----------------------------------------------------------------------------------
def _apply_form(request: Request, item: dict, form: dict, status: int = 200, error: PhoneError | None = None):
    return page(request, "phone/apply.html", status, item=item, materials=guide.materials(item),
                photos=guide.photos_allowed(item), form=form, error=error)


@router.get("/phone/apply/{key:path}", response_class=HTMLResponse)
def apply_page(request: Request, key: str) -> Response:
    found = who(request)
    if not found:
        return to_signin(request)
    with engine(request).connect() as conn:
        item = guide.item(conn, found[0].community, key)
    if item is None:
        return problem(request, NotFound("没有找到这个事项。", "No such service."), "/phone/guide")
    member = found[1]
    return _apply_form(request, item, {"address": member.address if member else ""})


async def _photos(form: Any, labels: dict[str, str]) -> list[cases.Photo]:  # the report's
    photos = []
    for name, label in labels.items():
        for upload in form.getlist(name):
            if isinstance(upload, UploadFile) and upload.filename:
                photos.append(cases.Photo(label, await upload.read()))
    return photos


@router.post("/phone/apply/{key:path}", response_class=HTMLResponse)
async def apply(request: Request, key: str) -> Response:
    async with request.form() as form:
        given = form.get("csrf")
        uploads = {name: [u for u in form.getlist(name) if isinstance(u, UploadFile) and u.filename]
                   for name in set(form.keys()) if name.startswith("photo_") and name[6:].isdigit()}
        files = {int(name[6:]): [await u.read() for u in found] for name, found in uploads.items() if found}
        values = {k: str(form.get(k, "")) for k in ("name", "id_number", "address", "note")}
    here = entry(request)
    token = request.cookies.get(SESSION_COOKIE)

    def make() -> Any:
        """One transaction: who she is, the item, the case and its booking (the busy path)."""
        with engine(request).begin() as conn:
            resident = signin.session_of(conn, token)
            if resident is None:
                return None
            if not same_token(given if isinstance(given, str) else None, resident.csrf):
                return "expired"
            member = links.linked(conn, resident.community, resident.phone)
            item = guide.item(conn, resident.community, key)
            if item is None:
                return NotFound("没有找到这个事项。", "No such service.")
            materials = guide.materials(item)
            photos = [cases.Photo(materials[i]["material"] if i < len(materials) else "照片", data)
                      for i in sorted(files) for data in files[i]]
            try:
                return cases.apply(conn, resident, member, item, values, photos,
                                   entry=here[0] if here and here[1] == resident.community else None,
                                   policy=policy(request), key_id=request.app.state.server_key_id)
            except BadForm as exc:
                return exc, item
    made = await run_in_threadpool(make)
    if made is None:
        return to_signin(request)
    if made == "expired":
        return expired_form(request)
    if isinstance(made, NotFound):
        return problem(request, made, "/phone/guide")
    if isinstance(made[0], BadForm):
        values["id_number"] = ""  # never sent back: she types it again
        return _apply_form(request, made[1], values, 400, made[0])
    case_id, short = made
    response = web.redirect(f"/phone/cases/{case_id}", "申请已提交，请保存预约码 / Application sent: keep your booking code")
    response.set_cookie("phone_short", f"{case_id}:{short}", max_age=600, httponly=True, samesite="lax",
                        secure=is_https(request))
    return response


# -- progress -------------------------------------------------------------------------------
@router.get("/phone/cases", response_class=HTMLResponse)
def my_cases(request: Request) -> Response:
    found = who(request)
    if not found:
        return to_signin(request)
    with engine(request).connect() as conn:
        rows = cases.mine(conn, found[0], found[1])
        shown = [cases.view(conn, found[0], found[1], r.id) for r in rows]
    return page(request, "phone/cases.html", cases=shown)


@router.get("/phone/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str) -> Response:
    found = who(request)
    if not found:
        return to_signin(request)
    try:
        with engine(request).connect() as conn:
            shown = cases.view(conn, found[0], found[1], case_id)
    except NotFound as exc:
        return problem(request, exc, "/phone/cases")
    short = request.cookies.get("phone_short", "")
    short = short.split(":", 1)[1] if short.startswith(case_id + ":") else ""
    booking_qr = qr_svg(shown.booking.code, level="L", title="预约二维码 booking QR") if shown.booking else ""
    pickup_qr = qr_svg(shown.pickup["code"], level="L", title="取件二维码 pickup QR") \
        if shown.pickup and shown.pickup.get("code") else ""
    until = ""
    if shown.pickup and shown.pickup.get("expires_at"):
        try:
            until = web.local_time(datetime.fromtimestamp(float(shown.pickup["expires_at"]), timezone.utc))
        except (TypeError, ValueError, OverflowError, OSError):
            until = ""
    response = page(request, "phone/case.html", case=shown, short=short, booking_qr=booking_qr, pickup_qr=pickup_qr,
                    pickup_until=until)
    if short:  # shown once: only its hash is kept
        response.delete_cookie("phone_short")
    return response


@router.get("/phone/cases/{case_id}/photos/{photo_id}")
def case_photo(request: Request, case_id: str, photo_id: int) -> Response:
    found = who(request)
    if not found:
        return Response(status_code=404)
    try:
        with engine(request).connect() as conn:
            row = cases.photo(conn, found[0], found[1], case_id, photo_id)
    except NotFound:
        return Response(status_code=404)
    return Response(row.data, media_type=row.content_type, headers={"Cache-Control": "private, no-store"})


@router.post("/phone/cases/{case_id}/rate", response_class=HTMLResponse)
async def rate(request: Request, case_id: str) -> Response:
    from sync.server.worker.rating import RatingRefused

    found = await run_in_threadpool(who, request)
    if not found:
        return to_signin(request)
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return expired_form(request)

    def store() -> None:
        with engine(request).begin() as conn:
            cases.rate(conn, found[0], found[1], case_id, form.get("score"), form.get("comment", ""))
    try:
        await run_in_threadpool(store)
    except NotFound as exc:
        return problem(request, exc, "/phone/cases")
    except RatingRefused as exc:
        return web.redirect(f"/phone/cases/{case_id}", f"{exc.zh} / {exc.en}")
    return web.redirect(f"/phone/cases/{case_id}", "感谢您的评价 / Thank you for your rating")


# -- report --------------------------------------------------------------------------------
@router.get("/phone/report", response_class=HTMLResponse)
def report_page(request: Request) -> Response:
    found = who(request)
    if not found:
        return to_signin(request)
    return page(request, "phone/report.html", form={}, error=None)


@router.post("/phone/report", response_class=HTMLResponse)
async def report(request: Request) -> Response:
    found = await run_in_threadpool(who, request)
    if not found:
        return to_signin(request)
    async with request.form() as form:
        given = form.get("csrf")
        values = {k: str(form.get(k, "")) for k in ("text", "place")}
        photos = await _photos(form, {"photo": "报事照片"})
    if not csrf_ok(request, given):
        return expired_form(request)
    here = entry(request)

    def make() -> str:
        with engine(request).begin() as conn:
            return cases.report(conn, found[0], found[1], values, photos, entry=here[0] if here else None,
                                policy=policy(request))
    try:
        case_id = await run_in_threadpool(make)
    except BadForm as exc:
        return page(request, "phone/report.html", 400, form=values, error=exc)
    return web.redirect(f"/phone/cases/{case_id}", "已提交，网格员会尽快处理 / Sent to your grid worker")


# -- a booking's short code ------------------------------------------------------------------
@router.get("/phone/code", response_class=HTMLResponse)
def code_page(request: Request) -> Response:
    return page(request, "phone/code.html", found=None, qr="", short="", error=None)


@router.post("/phone/code", response_class=HTMLResponse)
async def code(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        return expired_form(request)
    short = str(form.get("short", ""))[:20]

    def look() -> Any:
        with engine(request).begin() as conn:  # a wrong code is counted even though it is refused
            found = cases.find_booking(conn, short, client_ip(request), policy(request))
        if isinstance(found, PhoneError):
            raise found
        return found
    try:
        found = await run_in_threadpool(look)
    except PhoneError as exc:
        return page(request, "phone/code.html", exc.status, found=None, qr="", short=short, error=exc)
    return page(request, "phone/code.html", found=found, qr=qr_svg(found.code, level="L", title="预约二维码"),
                short=short, error=None)


# -- the admin's side: stickers and phone links -------------------------------------------------
@router.get("/phone/sticker/{device_id}", response_class=HTMLResponse)
def sticker(request: Request, device_id: str, account: Admin) -> Response:
    with engine(request).connect() as conn:
        row = conn.execute(select(DEVICES.c.device_id).where(DEVICES.c.device_id == device_id,
                                                             DEVICES.c.community == account.community)).first()
        from sync.server.worker.cases import GRIDS
        name = conn.execute(select(GRIDS.c.name).where(GRIDS.c.device_id == device_id)).scalar() or ""
    if row is None:
        return problem(request, NotFound("本社区没有这台设备。", "No such device in your community."), "/admin/devices")
    url = f"{public_url(request)}/phone/d/{quote(device_id)}"
    return web.render(request, "phone/sticker.html", device=device_id, name=name, url=url,
                      qr=qr_svg(url, level="M", title=url))


@router.get("/admin/phones", response_class=HTMLResponse)
def phone_links(request: Request, account: Admin, household: str = "") -> Response:
    from sync.server.models import Household
    table = Household.__table__
    with engine(request).connect() as conn:
        data = conn.execute(select(table.c.data).where(table.c.key == household,
                                                       table.c.community == account.community)).scalar()
        linked = links.of_household(conn, household) if data else []
    if not isinstance(data, dict):
        return problem(request, NotFound("本社区没有这户档案。", "No such household record in your community."),
                       "/admin/households")
    members = [{"name": m.get("name", ""), "id_number": m.get("id_number", ""),
                "masked": links.mask_id_number(str(m.get("id_number", ""))), "phone": m.get("phone", "")}
               for m in data.get("members", []) or [] if isinstance(m, dict)]
    return web.render(request, "phone/links.html", section="households", household=household, record=data,
                      members=members, linked=linked)


@router.post("/admin/phones/link")
def link_phone(request: Request, account: Admin, household: Annotated[str, Form()] = "",
               member: Annotated[str, Form()] = "", phone: Annotated[str, Form()] = "") -> Response:
    from sync.server.models import Household
    table = Household.__table__
    back = f"/admin/phones?household={quote(household)}"
    try:
        with engine(request).begin() as conn:
            data = conn.execute(select(table.c.data).where(table.c.key == household,
                                                           table.c.community == account.community)).scalar()
            people = [m for m in (data or {}).get("members", []) or [] if isinstance(m, dict)]
            if not member.isdigit() or int(member) >= len(people):
                raise LookupError("该户档案中没有这位成员 / no such member in this household record")
            links.link(conn, community=account.community, phone=phone, household=household,
                       id_number=str(people[int(member)].get("id_number", "")), source="admin",
                       by=f"admin:{account.username}")
    except PhoneError as exc:
        return web.redirect(back, f"{exc.zh} / {exc.en}")
    except LookupError as exc:
        return web.redirect(back, str(exc))
    return web.redirect(back, "已关联 / Linked")


@router.post("/admin/phones/unlink")
def unlink_phone(request: Request, account: Admin, household: Annotated[str, Form()] = "",
                 phone: Annotated[str, Form()] = "") -> Response:
    with engine(request).begin() as conn:
        gone = links.unlink(conn, account.community, phone)
    return web.redirect(f"/admin/phones?household={quote(household)}",
                        "已取消关联 / Unlinked" if gone else "没有这个关联 / No such link")


# -- the grid worker's side: reports (报事) from residents' phones ---------------------------------
@router.get("/worker/reports", response_class=HTMLResponse)
def worker_reports(request: Request, account: Annotated[Account, Depends(signed_in("worker", "admin"))]) -> Response:
    with engine(request).connect() as conn:
        shown = cases.open_reports(conn, account)
    return web.render(request, "phone/reports.html", reports=shown)


@router.get("/worker/reports/photos/{photo_id}")
def worker_report_photo(request: Request, photo_id: int,
                        account: Annotated[Account, Depends(signed_in("worker", "admin"))]) -> Response:
    from sync.server.worker.cases import may_see

    with engine(request).connect() as conn:
        row = conn.execute(select(cases.PHOTOS).where(cases.PHOTOS.c.id == photo_id)).first()
        if row is None or not may_see(conn, account, row.case_id):
            return Response(status_code=404)
    return Response(row.data, media_type=row.content_type, headers={"Cache-Control": "private, no-store"})
