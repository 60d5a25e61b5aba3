"""Cases made on a phone and what a resident sees of hers.

An **application** for a service guide item is a case ``created`` by ``web:phone``
(the same ``events`` table appliances push to), its payload saying who, what and
which materials, with a **booking**: a server-signed booking QR
(:func:`sync.server.codes.issue_booking_code`, checked offline by the locker, which
then records ``materials_deposited``) and an 8-character short code for the kiosk or
a worker to find it (only its hash is kept; looking one up is rate-limited per IP).

A **report** (报事) is a case ``created`` with ``kind: "report"``, the place, the
text and the household, so the grid worker of the household's grid sees it.

A resident's cases (:func:`mine`) are those made from her phone number, and, when
the number is linked to a household member, those whose events name that member
(``resident_id``, or the kiosk's ``resident`` key). Any other case id is "not found".
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select

from appliance.privacy import mask_id_number
from sync import lifecycle
from sync.server import codes, content
from sync.server.content import aware, now
from sync.server.models import Case, EventRow
from sync.server.notify.residents import resident_key
from sync.server.phone import guide, throttle
from sync.server.phone.errors import BadForm, NotFound, Throttled
from sync.server.phone.links import Member
from sync.server.phone.models import PhoneBooking, PhoneCase, PhonePhoto
from sync.server.phone.signin import Resident
from sync.server.worker import actions
from sync.server.worker.cases import event_time
from sync.server.worker.models import LockerGrid, Rating

EVENTS = EventRow.__table__
CASES = Case.__table__
MINE = PhoneCase.__table__
BOOKINGS = PhoneBooking.__table__
PHOTOS = PhonePhoto.__table__
GRIDS = LockerGrid.__table__
RATINGS = Rating.__table__
BY = "web:phone"
S = lifecycle.CaseState
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L
ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
IMAGES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png", b"RIFF": "image/webp"}


@dataclass
class Photo:
    label: str
    data: bytes
    content_type: str = ""


def _new_id(prefix: str) -> str:
    day = datetime.now(timezone.utc).astimezone().strftime("%Y%m%d")
    return f"{prefix}{day}-{''.join(secrets.choice(ALPHABET) for _ in range(6))}"


def short_hash(short: str) -> str:
    return hashlib.sha256(re.sub(r"[\s\-]", "", short).upper().encode()).hexdigest()


def _append(conn: Connection, case_id: str, community: str, payload: dict[str, Any], phone: str, kind: str) -> None:
    event_id = actions.append(conn, case_id=case_id, event_type=S.CREATED.value, by=BY, payload=payload,
                              state=S.CREATED.value)
    conn.execute(CASES.insert().values(id=case_id, community=community, state=S.CREATED.value, updated_at=now(),
                                       last_event_id=event_id))
    conn.execute(MINE.insert().values(case_id=case_id, community=community, phone=phone, kind=kind,
                                      created_at=now()))
    # content.publish_cases() last, just before the commit: it takes the change feed's lock, which
    # every other transaction publishing a case then waits for (200 applying at once queued on it)


def check_photo(photo: Photo, policy: throttle.Policy) -> str | None:
    """The photo's type, or None when it is not a JPEG, PNG or WebP picture."""
    if not photo.data or len(photo.data) > policy.photo_max_bytes:
        return None
    for magic, kind in IMAGES.items():
        if photo.data.startswith(magic) and (kind != "image/webp" or photo.data[8:12] == b"WEBP"):
            return kind
    return None


def _photos(conn: Connection, case_id: str, community: str, photos: list[Photo], policy: throttle.Policy) -> None:
    at = now()
    for photo in photos[:policy.photos_per_case]:
        conn.execute(PHOTOS.insert().values(case_id=case_id, community=community, label=photo.label[:120],
                                            content_type=photo.content_type, size=len(photo.data), data=photo.data,
                                            created_at=at, expires_at=at + timedelta(days=policy.photo_days)))


def _photo_problems(photos: list[Photo], policy: throttle.Policy) -> list[tuple[str, str]]:
    problems = []
    for photo in photos:
        kind = check_photo(photo, policy)
        if kind is None:
            mb = policy.photo_max_bytes // 1_000_000
            problems.append((f"照片“{photo.label}”不是 JPG/PNG 图片或大于 {mb} MB，请重新拍照。",
                             f"The photo \"{photo.label}\" is not a JPG/PNG picture or is over {mb} MB: take it again."))
        photo.content_type = kind or ""
    if len(photos) > policy.photos_per_case:
        problems.append((f"最多上传 {policy.photos_per_case} 张照片。", f"At most {policy.photos_per_case} photos."))
    return problems


def apply(conn: Connection, resident: Resident, member: Member | None, item: dict[str, Any], form: dict[str, str],
          photos: list[Photo], *, entry: str | None, policy: throttle.Policy,
          key_id: str = "server") -> tuple[str, str]:
    """Make the application's case and its booking; (case id, short code)."""
    problems: list[tuple[str, str]] = []
    name = (member.name if member else form.get("name", "")).strip()
    number = (member.id_number if member else form.get("id_number", "").strip().upper())
    address = form.get("address", "").strip() or (member.address if member else "")
    note = form.get("note", "").strip()
    if not 1 <= len(name) <= 40:
        problems.append(("请填写申请人姓名（40 字以内）。", "Enter the applicant's name (at most 40 characters)."))
    if not ID_NUMBER.match(number):
        problems.append(("请填写 18 位身份证号码（末位可以是 X）。", "Enter the 18-character ID number (the last may be X)."))
    if len(address) > 200 or len(note) > 500:
        problems.append(("地址最多 200 字，备注最多 500 字。", "Address: at most 200 characters; note: at most 500."))
    if photos and not guide.photos_allowed(item):
        problems.append(("这个事项不接受照片，请带纸质材料到云柜。", "This service takes no photos: bring the paper."))
    problems += _photo_problems(photos, policy)
    if problems:
        raise BadForm(problems)
    case_id = _new_id("SQ")
    locker = entry if entry and conn.execute(select(GRIDS.c.device_id).where(
        GRIDS.c.device_id == entry, GRIDS.c.community == resident.community)).first() else ""
    size = str(item.get("size", "M")) if str(item.get("size", "M")) in ("S", "M", "L") else "M"
    payload = {"source": "phone", "item": str(item.get("name", "")), "item_id": item["_key"],
               "department": str(item.get("department", "")), "resident_id": number, "resident_name": name,
               "phone": resident.phone, "address": address, "note": note, "size": size, "locker": locker,
               "materials": [m["material"] for m in guide.materials(item)],
               "photos": [p.label for p in photos]}
    if member:
        payload["household"] = member.household
    _append(conn, case_id, resident.community, payload, resident.phone, "application")
    _photos(conn, case_id, resident.community, photos, policy)
    code = codes.issue_booking_code(conn, case_id, size, locker, days=codes.BOOKING_DAYS, key_id=key_id)
    while True:
        short = "".join(secrets.choice(ALPHABET) for _ in range(8))
        if conn.execute(select(BOOKINGS.c.case_id).where(BOOKINGS.c.short_hash == short_hash(short))).first() is None:
            break
    conn.execute(BOOKINGS.insert().values(case_id=case_id, code=code, short_hash=short_hash(short), size=size,
                                          locker=locker, expires_at=now() + timedelta(days=codes.BOOKING_DAYS)))
    content.publish_cases(conn, [case_id])
    return case_id, short


def report(conn: Connection, resident: Resident, member: Member | None, form: dict[str, str],
           photos: list[Photo], *, entry: str | None, policy: throttle.Policy) -> str:
    """Make a 报事 case for the grid worker of her household's grid; its id."""
    text, place = form.get("text", "").strip(), form.get("place", "").strip()
    problems: list[tuple[str, str]] = []
    if member is None:
        problems.append(("您的手机号还没有关联户籍档案：请到一体机刷身份证确认，或请社区管理员关联，之后即可报事。",
                         "Your number is not linked to a household record yet: confirm it at the kiosk with your "
                         "ID card, or ask the community admin; then you can report."))
    if not 4 <= len(text) <= 500:
        problems.append(("请描述问题（4 到 500 字）。", "Describe the problem (4 to 500 characters)."))
    if not 2 <= len(place) <= 120:
        problems.append(("请填写地点，例如“12号楼3单元楼道”。", "Say where, such as \"building 12, stairwell 3\"."))
    problems += _photo_problems(photos, policy)
    if problems:
        raise BadForm(problems)
    assert member is not None
    case_id = _new_id("BS")
    payload = {"source": "phone", "kind": "report", "item": "报事", "report": text, "place": place,
               "household": member.household, "resident_id": member.id_number, "resident_name": member.name,
               "phone": resident.phone, "grid": member.grid, "entry": entry or "",
               "photos": [p.label for p in photos]}
    _append(conn, case_id, resident.community, payload, resident.phone, "report")
    _photos(conn, case_id, resident.community, photos, policy)
    content.publish_cases(conn, [case_id])
    return case_id


# -- what she sees ---------------------------------------------------------------------
def mine(conn: Connection, resident: Resident, member: Member | None) -> list[Any]:
    """Her cases, newest first (id, state, updated_at)."""
    ids = {r.case_id for r in conn.execute(select(MINE.c.case_id).where(
        MINE.c.community == resident.community, MINE.c.phone == resident.phone))}
    if member is not None:
        payload = EVENTS.c.payload
        ids |= {r.aggregate_id for r in conn.execute(
            select(EVENTS.c.aggregate_id).join(CASES, CASES.c.id == EVENTS.c.aggregate_id).where(
                EVENTS.c.aggregate_type == lifecycle.CASE, EVENTS.c.status == "applied",
                CASES.c.community == resident.community,
                or_(payload["resident_id"].as_string() == member.id_number,
                    payload["resident"].as_string() == resident_key(member.id_number))).distinct())}
    if not ids:
        return []
    return conn.execute(select(CASES.c.id, CASES.c.state, CASES.c.updated_at).where(CASES.c.id.in_(sorted(ids)))
                        .order_by(CASES.c.updated_at.desc())).all()


STEPS = {  # the event a resident reads on her timeline
    "created": ("已提交", "Submitted"), "materials_deposited": ("材料已投入云柜", "Papers put into the locker"),
    "collected": ("网格员已取走材料", "The grid worker took the papers"), "in_review": ("审核中", "Under review"),
    "approved": ("审核通过", "Approved"), "returned_with_reasons": ("已退回", "Returned"),
    "result_deposited": ("结果已放入云柜", "Result in the locker"),
    "pickup_code_issued": ("取件码已发送", "Pickup code sent"), "picked_up": ("已领取", "Picked up"),
    "evaluated": ("已评价", "Rated"), "closed": ("已办结", "Closed"), "cancelled": ("已取消", "Cancelled"),
    "expired": ("逾期未领，已交回网格员", "Not picked up in time: back with the grid worker"),
    "pickup_expired": ("逾期未领，已交回网格员", "Not picked up in time: back with the grid worker"),
    "resident_contacted": ("网格员给您发了消息", "The grid worker sent you a message"),
}
NEXT = {
    "created": ("带上材料到云柜，扫描预约二维码，柜门打开后放入材料并关门。",
                "Bring your papers to the locker, show the booking QR: a door opens; put them in and close it."),
    "materials_deposited": ("材料已在云柜中，网格员会尽快取走办理。", "Your papers are in the locker; the grid worker will take them."),
    "collected": ("网格员已取走材料，正在办理。", "The grid worker has your papers and is working on it."),
    "in_review": ("正在审核，结果出来后会短信通知您。", "Under review: you get a message when the result is ready."),
    "approved": ("已通过，结果将放入云柜，届时短信通知取件码。", "Approved: the result goes into a locker; you get the pickup code."),
    "returned_with_reasons": ("已退回，请看原因；退回材料将放入云柜。", "Returned: see the reasons; your papers go back into a locker."),
    "result_deposited": ("结果已在云柜中：在柜前扫描取件二维码或输入取件码。",
                         "Your result is in the locker: scan the pickup QR or type the pickup code there."),
    "picked_up": ("已领取。请为本次服务评分。", "Picked up. Please rate the service."),
    "evaluated": ("感谢您的评价。", "Thank you for your rating."), "closed": ("已办结。", "Closed."),
    "cancelled": ("已取消。", "Cancelled."),
    "expired": ("逾期未领，结果已交回网格员，请联系网格员。", "Not picked up in time: contact your grid worker."),
    "quarantined": ("正在核对，请稍候或联系社区。", "Being checked: wait, or contact the community."),
}
REPORT_NEXT = {"created": ("已转给您所在网格的网格员，会尽快处理。", "Sent to the grid worker of your grid, who will deal with it."),
               "in_review": ("网格员正在处理，处理完毕会短信告诉您结果。", "The grid worker is on it: you get a message when it is done."),
               "closed": ("已处理完毕。", "Dealt with."), "cancelled": ("已取消。", "Cancelled.")}


@dataclass
class Step:
    at: datetime
    what: tuple[str, str]
    detail: str = ""


@dataclass
class CaseView:
    id: str
    state: str
    kind: str  # application | report
    item: str
    facts: dict[str, Any]
    steps: list[Step]
    next: tuple[str, str]
    booking: Any = None
    pickup: dict[str, Any] | None = None
    locker: str = ""
    rating: Any = None
    photos: list[Any] = field(default_factory=list)
    item_en: str = ""

    @property
    def masked_id(self) -> str:
        return mask_id_number(str(self.facts.get("resident_id", ""))) if self.facts.get("resident_id") else ""

    @property
    def rateable(self) -> bool:
        return self.rating is None and lifecycle.allowed(self.state, S.EVALUATED)


def view(conn: Connection, resident: Resident, member: Member | None, case_id: str) -> CaseView:
    """Her case, or :class:`NotFound` (also when it is someone else's)."""
    if case_id not in {r.id for r in mine(conn, resident, member)}:
        raise NotFound("没有找到这个事项。", "No such case.")
    case = conn.execute(select(CASES).where(CASES.c.id == case_id)).first()
    rows = conn.execute(select(EVENTS).where(EVENTS.c.aggregate_type == lifecycle.CASE,
                                             EVENTS.c.aggregate_id == case_id, EVENTS.c.status == "applied")
                        .order_by(EVENTS.c.server_seq)).all()
    facts: dict[str, Any] = {}
    steps: list[Step] = []
    pickup = None
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        if row.event_type == "created":
            facts.update({k: v for k, v in payload.items() if v not in (None, "", [])})
        if row.event_type == "pickup_code_issued":
            pickup = {**payload, "device": row.device_id}
        if row.event_type in ("picked_up", "pickup_expired", "expired", "retrieved"):
            pickup = None
        if row.event_type in STEPS and not (row.event_type == "created" and steps):
            detail = "；".join(payload.get("reasons", []) or []) if row.event_type == "returned_with_reasons" else ""
            steps.append(Step(event_time(row.created_at, row.received_at), STEPS[row.event_type], detail))
    if member and not facts.get("resident_name"):  # a kiosk case names her by ID number (or its key) only
        facts["resident_name"] = member.name
        facts.setdefault("resident_id", member.id_number)
    kind = "report" if facts.get("kind") == "report" else "application"
    booking = conn.execute(select(BOOKINGS).where(BOOKINGS.c.case_id == case_id)).first() \
        if case.state == S.CREATED.value else None
    locker = ""
    if pickup:
        locker = conn.execute(select(GRIDS.c.name).where(GRIDS.c.device_id == pickup["device"])).scalar() \
            or pickup["device"]
    nexts = REPORT_NEXT if kind == "report" else NEXT
    if kind == "report":  # a report is handled, not reviewed
        report_steps = {STEPS["in_review"]: ("网格员处理中", "The grid worker is on it"),
                        STEPS["closed"]: ("已处理完毕", "Dealt with")}
        for step in steps:
            step.what = report_steps.get(step.what, step.what)
    item_en = "Report" if kind == "report" else ""
    if facts.get("item_id"):
        item_en = str((guide.item(conn, resident.community, str(facts["item_id"])) or {}).get("name_en", ""))
    shown = CaseView(case.id, case.state, kind, str(facts.get("item", "")), facts, steps,
                    nexts.get(case.state, NEXT.get(case.state, ("", ""))), booking,
                    pickup if case.state == S.RESULT_DEPOSITED.value else None, locker,
                    conn.execute(select(RATINGS).where(RATINGS.c.case_id == case_id)).first(),
                    conn.execute(select(PHOTOS.c.id, PHOTOS.c.label, PHOTOS.c.expires_at)
                                 .where(PHOTOS.c.case_id == case_id).order_by(PHOTOS.c.id)).all())
    shown.item_en = item_en
    return shown


def photo(conn: Connection, resident: Resident, member: Member | None, case_id: str, photo_id: int) -> Any:
    view(conn, resident, member, case_id)  # hers, or NotFound
    row = conn.execute(select(PHOTOS).where(PHOTOS.c.id == photo_id, PHOTOS.c.case_id == case_id)).first()
    if row is None:
        raise NotFound("照片不存在或已过保存期限被删除。", "The photo is gone (kept only for a limited time).")
    return row


def rate(conn: Connection, resident: Resident, member: Member | None, case_id: str, score: object,
         comment: object) -> None:
    from sync.server.worker import rating

    shown = view(conn, resident, member, case_id)
    value, text = rating.check_score(score, comment)
    if not shown.rateable:
        raise rating.RatingRefused("rated", "本次服务已经评价过了，感谢您的评价。", "This service was already rated. Thank you.")
    actions.transition(conn, case_id, S.EVALUATED, by=BY, payload={"score": value, "comment": text, "source": "phone"})
    rating._store(conn, case_id, resident.community, value, text, "phone")


def find_booking(conn: Connection, short: str, ip: str, policy: throttle.Policy) -> Any:
    """The booking a short code names (case id, code, state); else :class:`Throttled`
    raised, or :class:`NotFound` returned (counted per IP: commit, then raise it)."""
    throttle.hold(conn, f"ip:{ip}")
    if not throttle.allowed(conn, policy.booking_wrong_per_ip, f"ip:{ip}"):
        minutes = int(policy.booking_wrong_per_ip.window.total_seconds() // 60)
        raise Throttled(f"输错次数太多，请 {minutes} 分钟后再试。", f"Too many wrong codes: try again in {minutes} minutes.")
    row = conn.execute(select(BOOKINGS.c.case_id, BOOKINGS.c.code, BOOKINGS.c.expires_at, CASES.c.state)
                       .join(CASES, CASES.c.id == BOOKINGS.c.case_id)
                       .where(BOOKINGS.c.short_hash == short_hash(short))).first()
    if row is None or aware(row.expires_at) < now() or row.state != S.CREATED.value:
        throttle.note(conn, "booking", f"ip:{ip}")
        return NotFound("预约码不正确、已使用或已过期，请核对后重新输入。",
                       "The booking code is wrong, used or expired: check it and type it again.")
    return row


def purge(conn: Connection, at: datetime | None = None) -> dict[str, int]:
    """Delete photos past their retention, old attempts, expired sessions and codes."""
    from sync.server.phone import signin

    at = at or now()
    photos = conn.execute(delete(PHOTOS).where(PHOTOS.c.expires_at < at)).rowcount
    return {"photos": photos, "attempts": throttle.forget(conn, at=at), "sessions": signin.forget_expired(conn)}


def counts(conn: Connection) -> dict[str, int]:
    return {"photos": conn.execute(select(func.count()).select_from(PHOTOS)).scalar_one()}


def open_reports(conn: Connection, account: Any) -> list[dict[str, Any]]:
    """Reports (报事) of the account's community not yet closed that she may see (a
    worker: her grid), oldest first, with the place, the text and a masked name."""
    from sync.server.notify.residents import mask_name
    from sync.server.worker.cases import may_see

    rows = conn.execute(select(MINE.c.case_id, MINE.c.created_at, CASES.c.state)
                        .join(CASES, CASES.c.id == MINE.c.case_id)
                        .where(MINE.c.community == account.community, MINE.c.kind == "report",
                               CASES.c.state.notin_([S.CLOSED.value, S.CANCELLED.value]))
                        .order_by(MINE.c.created_at)).all()
    shown = []
    for row in rows:
        if not may_see(conn, account, row.case_id):
            continue
        payload = conn.execute(select(EVENTS.c.payload).where(
            EVENTS.c.aggregate_id == row.case_id, EVENTS.c.event_type == S.CREATED.value,
            EVENTS.c.status == "applied").order_by(EVENTS.c.server_seq).limit(1)).scalar() or {}
        photos = [r.id for r in conn.execute(select(PHOTOS.c.id).where(PHOTOS.c.case_id == row.case_id)
                                             .order_by(PHOTOS.c.id))]
        shown.append({"id": row.case_id, "at": row.created_at, "state": row.state, "place": payload.get("place", ""),
                      "text": payload.get("report", ""), "who": mask_name(str(payload.get("resident_name", ""))),
                      "photos": photos})
    return shown
