"""Sign-in with an SMS code (read from the log Notifier's file): expiry, single use,
and brute force throttled per number and per IP address, in the database."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from sync.server.content import now
from sync.server.phone import signin
from sync.server.phone.models import PhoneCode
from sync.server.phone.throttle import Policy
from tests.sync.server.phone.conftest import deliver, last_code

NUMBER = "13800138000"


def test_a_code_from_the_sms_signs_in_once_and_the_message_names_no_one_else(phone, seeded, engine, sms_log):
    p = phone()
    assert p.scan(seeded["locker"]).status_code == 303
    assert "验证码已发送" in p.ask_code("138 0013 8000").text
    code = last_code(engine, sms_log, NUMBER)
    answer = p.send_code(NUMBER, code)
    assert answer.status_code == 303 and "phone_session" in answer.cookies
    assert "138****8000" in p.client.get("/phone").text
    again = phone(ip="10.0.0.2")
    again.scan(seeded["locker"])
    assert "验证码不正确" in again.send_code(NUMBER, code).text  # single use
    with engine.connect() as conn:
        stored = conn.execute(select(PhoneCode.__table__.c.code_hash)).scalars().all()
    assert stored and code not in "".join(stored)  # only hashes


def test_an_expired_code_is_refused_saying_so(phone, seeded, engine, sms_log):
    p = phone()
    p.scan(seeded["locker"])
    p.ask_code(NUMBER)
    code = last_code(engine, sms_log, NUMBER)
    with engine.begin() as conn:
        table = PhoneCode.__table__
        conn.execute(update(table).values(expires_at=now() - timedelta(seconds=1)))
    answer = p.send_code(NUMBER, code)
    assert answer.status_code == 400 and "已过期" in answer.text


def test_a_bad_number_and_a_phone_without_a_sticker_are_told_what_to_do(phone, seeded):
    p = phone()
    assert "11 位手机号码" in p.ask_code("12345").text
    assert "扫描云柜或一体机上的二维码" in p.ask_code(NUMBER).text  # no sticker, no link: which community?


def test_guessing_codes_is_throttled_per_number_even_with_the_right_code_afterwards(phone, seeded, engine, sms_log):
    p = phone()
    p.scan(seeded["locker"])
    p.ask_code(NUMBER)
    code = last_code(engine, sms_log, NUMBER)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(Policy().wrong_per_phone.count):
        assert p.send_code(NUMBER, wrong).status_code == 400
    blocked = phone(ip="10.9.9.9")  # another address: the number is still locked
    blocked.scan(seeded["locker"])
    answer = blocked.send_code(NUMBER, code)
    assert answer.status_code == 429 and "错误次数太多" in answer.text and "phone_session" not in answer.cookies


def test_guessing_across_numbers_is_throttled_per_ip(phone, seeded, engine):
    p = phone(ip="10.7.7.7")
    p.scan(seeded["locker"])
    limit = Policy().wrong_per_ip.count
    for n in range(limit):
        assert p.send_code(f"1390000{n:04d}", "000000").status_code == 400
    assert p.send_code("13900009999", "000000").status_code == 429


def test_sending_codes_is_limited_per_number(phone, seeded, engine, sms_log):
    p = phone()
    p.scan(seeded["locker"])
    for _ in range(Policy().sends_per_phone.count):
        assert p.ask_code(NUMBER).status_code == 200
    answer = p.ask_code(NUMBER)
    assert answer.status_code == 429 and "发送太频繁" in answer.text
    sent = [m for m in deliver(engine, sms_log) if m["kind"] == "signin_code"]
    assert len(sent) == Policy().sends_per_phone.count


def test_sending_codes_is_limited_per_ip_across_numbers(phone, seeded, engine, sms_log):
    """One address asking codes for many numbers (an SMS-bombing script) is stopped
    after the per-IP limit; another address is not affected."""
    p = phone(ip="10.6.6.6")
    p.scan(seeded["locker"])
    limit = Policy().sends_per_ip.count
    for n in range(limit):
        assert p.ask_code(f"1370000{n:04d}").status_code == 200
    answer = p.ask_code("13799999999")
    assert answer.status_code == 429 and "发送太频繁" in answer.text
    other = phone(ip="10.6.6.7")
    other.scan(seeded["locker"])
    assert other.ask_code("13799999999").status_code == 200
    sent = []
    while len(sent) < limit + 1 and (batch := [m for m in deliver(engine, sms_log) if m["kind"] == "signin_code"]) \
            != sent:  # the Notifier sends a batch at a time
        sent = batch
    assert len(sent) == limit + 1 and [m["phone"] for m in sent].count("13799999999") == 1


def test_only_the_newest_code_works(engine, seeded):
    policy = Policy()
    with engine.begin() as conn:
        signin.send_code(conn, NUMBER, "1.1.1.1", policy)
        signin.send_code(conn, NUMBER, "1.1.1.1", policy)
        rows = conn.execute(select(PhoneCode.__table__)).all()
    assert [r.used_at is None for r in rows] == [False, True]
