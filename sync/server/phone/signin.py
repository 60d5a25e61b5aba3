"""Sign-in with a phone number and a one-time SMS code, and the signed-in phone's session.

- A code is 6 random digits, sent through the Notifier (the notifications outbox, so
  the delivery loop sends it like every message to residents), valid
  ``Policy.code_minutes``, single use; only a salted SHA-256 is stored. A new code
  replaces the number's earlier ones.
- Limits (:mod:`.throttle`, in the database): codes sent per number and per IP
  address; wrong codes per number and per IP. Over a limit nothing is checked or
  sent, and the resident is told how long to wait.
- The session is a random cookie (``phone_session``); only its SHA-256 is kept, with
  its community, a CSRF token for its forms, and an expiry.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, delete, select, update

from sync.server.content import aware, now
from sync.server.notify import outbox
from sync.server.notify.notices import SIGNATURE
from sync.server.phone import throttle
from sync.server.phone.errors import BadPhone, PhoneError, Throttled, WrongCode
from sync.server.phone.models import PhoneCode, PhoneSession

CODES = PhoneCode.__table__
SESSIONS = PhoneSession.__table__
MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise(phone: str) -> str:
    """"138 0013 8000", "+86 138-0013-8000" → "13800138000"; else :class:`BadPhone`."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE.match(digits):
        raise BadPhone("请输入 11 位手机号码，例如 13800138000。",
                       "Enter an 11-digit mobile number, such as 13800138000.")
    return digits


def mask(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 11 else "*" * len(phone)


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _wait_text(limit: throttle.Limit) -> tuple[str, str]:
    minutes = int(limit.window.total_seconds() // 60)
    return (f"{minutes} 分钟" if minutes < 120 else f"{minutes // 60} 小时",
            f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours")


def send_code(conn: Connection, phone: str, ip: str, policy: throttle.Policy, community: str | None = None) -> int:
    """Store a new code for ``phone`` and queue its SMS; the notification's id."""
    phone = normalise(phone)
    throttle.hold(conn, f"phone:{phone}", f"ip:{ip}")
    for limit, key in ((policy.sends_per_phone, f"phone:{phone}"), (policy.sends_per_ip, f"ip:{ip}")):
        if not throttle.allowed(conn, limit, key):
            zh, en = _wait_text(limit)
            raise Throttled(f"验证码发送太频繁，请 {zh} 后再试。", f"Too many codes sent: try again in {en}.")
    throttle.note(conn, "send", f"phone:{phone}", f"ip:{ip}")
    code, salt, at = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(8), now()
    conn.execute(update(CODES).where(CODES.c.phone == phone, CODES.c.used_at.is_(None)).values(used_at=at))
    code_id = conn.execute(CODES.insert().values(
        phone=phone, salt=salt, code_hash=_hash(salt, code), created_at=at,
        expires_at=at + timedelta(minutes=policy.code_minutes), used_at=None).returning(CODES.c.id)).scalar_one()
    text = (f"{SIGNATURE}您的登录验证码是 {code}，{policy.code_minutes} 分钟内有效。"
            f"请勿告诉他人，工作人员不会向您索要验证码。")
    outbox.enqueue(conn, dedupe=f"signin:{code_id}", kind="signin_code", phone=phone, text=text,
                   community=community, data={"short": code})
    return code_id


def verify_code(conn: Connection, phone: str, code: str, ip: str, policy: throttle.Policy) -> str | PhoneError:
    """The normalised number when ``code`` is its live code (then spent); else the
    :class:`WrongCode` (counted: commit the transaction, then raise it) or
    :class:`Throttled` to raise."""
    try:
        return _verify(conn, phone, code, ip, policy)
    except PhoneError as exc:
        return exc


def _verify(conn: Connection, phone: str, code: str, ip: str, policy: throttle.Policy) -> str:
    phone = normalise(phone)
    throttle.hold(conn, f"phone:{phone}", f"ip:{ip}")
    for limit, key in ((policy.wrong_per_phone, f"phone:{phone}"), (policy.wrong_per_ip, f"ip:{ip}")):
        if not throttle.allowed(conn, limit, key):
            zh, en = _wait_text(limit)
            raise Throttled(f"验证码错误次数太多，请 {zh} 后再试。",
                            f"Too many wrong codes: try again in {en}.")
    code = re.sub(r"\s", "", code or "")
    at = now()
    row = conn.execute(select(CODES).where(CODES.c.phone == phone, CODES.c.used_at.is_(None))
                       .order_by(CODES.c.id.desc()).limit(1)).first()
    good = (row is not None and aware(row.expires_at) > at and re.fullmatch(r"\d{6}", code) is not None
            and hmac.compare_digest(_hash(row.salt, code), row.code_hash))
    if good and conn.execute(update(CODES).where(CODES.c.id == row.id, CODES.c.used_at.is_(None))
                             .values(used_at=at)).rowcount == 1:
        return phone
    throttle.note(conn, "wrong", f"phone:{phone}", f"ip:{ip}")
    if row is not None and aware(row.expires_at) <= at:
        raise WrongCode("验证码已过期，请重新获取。", "The code has expired: ask for a new one.")
    raise WrongCode("验证码不正确，请核对短信后重新输入。", "The code is wrong: check the message and type it again.")


@dataclass(frozen=True)
class Resident:
    """A signed-in phone."""
    phone: str
    community: str
    csrf: str

    @property
    def masked_phone(self) -> str:
        return mask(self.phone)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(conn: Connection, phone: str, community: str, policy: throttle.Policy) -> str:
    token, at = secrets.token_urlsafe(32), now()
    conn.execute(SESSIONS.insert().values(token_hash=_token_hash(token), phone=phone, community=community,
                                          csrf=secrets.token_urlsafe(24), created_at=at,
                                          expires_at=at + timedelta(days=policy.session_days)))
    return token


def session_of(conn: Connection, token: str | None) -> Resident | None:
    if not token:
        return None
    row = conn.execute(select(SESSIONS).where(SESSIONS.c.token_hash == _token_hash(token))).first()
    if row is None or aware(row.expires_at) <= now():
        return None
    return Resident(row.phone, row.community, row.csrf)


def end_session(conn: Connection, token: str | None) -> None:
    if token:
        conn.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == _token_hash(token)))


def forget_expired(conn: Connection) -> int:
    at = now()
    gone = conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < at)).rowcount
    return gone + conn.execute(delete(CODES).where(CODES.c.expires_at < at - timedelta(days=1))).rowcount
