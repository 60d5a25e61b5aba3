"""Bad codes of every kind are refused with a reason (Chinese first) and an audit
entry; a scanner backs off after 5 wrong tries in a minute."""
from __future__ import annotations

import time

import pytest

from appliance.keys import DeviceKey, TrustedKeys
from locker import codes
from locker.errors import Refused
from locker.throttle import Throttle
from tests.locker.conftest import LOCKER, booking_code, door, unlocks, worker_code

OWN = DeviceKey.from_seed(LOCKER, bytes(range(1, 33)))
SERVER = DeviceKey.from_seed("server", bytes(range(32)))


def keys(*extra: DeviceKey, revoked: str = "") -> TrustedKeys:
    ring = TrustedKeys()
    for key in (OWN, SERVER, *extra):
        ring = ring.with_key(key.device_id, key.public_key, revoked=key.device_id == revoked)
    return ring


def check(text: str, ring: TrustedKeys | None = None, **kw) -> codes.Code:
    return codes.check(text, ring or keys(), locker_id=LOCKER, server_key_id="server", worker_max_minutes=30, **kw)


def reason(text: str, ring: TrustedKeys | None = None, **kw) -> str:
    with pytest.raises(Refused) as info:
        check(text, ring, **kw)
    return info.value.reason


def tamper(text: str) -> str:
    prefix, kind, payload, sig = text.split(".")
    body = codes._unb64(payload).replace(b'"w-li"', b'"w-xx"').replace(b'"SF-1"', b'"SF-2"')
    return ".".join([prefix, kind, codes._b64(body), sig])


def test_good_codes_of_each_kind_check():
    assert check(codes.pickup_code(OWN, LOCKER, "SF-1", days=7)).case == "SF-1"
    worker = check(worker_code(SERVER))
    assert worker.kind == "worker" and worker.worker == "w-li"
    booking = check(booking_code(SERVER, "SF-1", "L"))
    assert (booking.kind, booking.case, booking.size) == ("booking", "SF-1", "L")


@pytest.mark.parametrize("text", ["", "hello", "12345", "LKR1.P.x.y", "LKR1.Z.e30.AA", "LKR1.P.e30.AA.extra",
                                  "LKR1.W." + codes._b64(b"[1,2]") + ".AA", "http://example.org/?c=LKR1"])
def test_garbage_is_unreadable(text):
    assert reason(text) == "unreadable"


def test_forged_and_tampered_codes_are_refused():
    assert reason(tamper(worker_code(SERVER))) == "forged"
    assert reason(tamper(codes.pickup_code(OWN, LOCKER, "SF-1", days=7))) == "forged"
    # the locker's own key may not make worker or booking codes
    assert reason(codes.worker_code(OWN, "w-li", [LOCKER], minutes=5)) == "forged"
    # nor the server pickup codes
    assert reason(codes.pickup_code(SERVER, LOCKER, "SF-1", days=7)) == "forged"
    # a key nobody trusts, claiming to be the server
    impostor = DeviceKey.generate("server")
    assert reason(worker_code(impostor)) == "forged"
    stranger = DeviceKey.generate("rogue-01")
    assert reason(codes.worker_code(stranger, "w-li", [LOCKER], minutes=5)) == "unknown_key"


def test_expired_future_too_long_and_revoked():
    long_ago = time.time() - 3600
    assert reason(worker_code(SERVER, minutes=15, now=long_ago)) == "expired"
    assert reason(codes.pickup_code(OWN, LOCKER, "SF-1", days=1, now=time.time() - 2 * 86400)) == "expired"
    assert reason(worker_code(SERVER, minutes=15, now=time.time() + 3600)) == "not_yet_valid"
    assert reason(worker_code(SERVER, minutes=120)) == "too_long"
    assert reason(worker_code(SERVER), keys(revoked="server")) == "revoked"


def test_codes_for_another_locker_are_refused():
    assert reason(worker_code(SERVER, lockers=["locker-elsewhere"])) == "other_locker"
    assert reason(booking_code(SERVER, "SF-1", locker="locker-elsewhere")) == "other_locker"
    other = DeviceKey.from_seed("locker-elsewhere", bytes(range(2, 34)))
    assert reason(codes.pickup_code(other, "locker-elsewhere", "SF-1", days=7), keys(other)) == "other_locker"


def test_short_codes_are_eight_random_digits():
    drawn = {codes.short_code() for _ in range(200)}
    assert all(codes.SHORT.match(c) for c in drawn) and len(drawn) > 190


def test_the_throttle_backs_off_after_five_wrong_tries_a_minute_and_doubles():
    now = [1000.0]
    throttle = Throttle(5, 60, clock=lambda: now[0])
    for _ in range(4):
        throttle.check("scanner")
        throttle.wrong("scanner")
    throttle.check("scanner")  # four wrong: still allowed
    throttle.wrong("scanner")
    with pytest.raises(Refused) as info:
        throttle.check("scanner")
    assert info.value.reason == "backing_off" and info.value.retry_after == pytest.approx(60)
    throttle.check("kiosk")  # another source is not punished
    now[0] += 61
    throttle.check("scanner")
    for _ in range(5):
        throttle.wrong("scanner")
    assert throttle.backing_off("scanner") == pytest.approx(120)  # doubled
    # tries spread over more than a minute never trigger it
    slow = Throttle(5, 60, clock=lambda: now[0])
    for _ in range(20):
        now[0] += 15
        slow.wrong("keypad")
        slow.check("keypad")


def test_short_codes_share_a_bank_wide_budget():
    now = [0.0]
    throttle = Throttle(5, 60, clock=lambda: now[0])
    for i in range(20):  # 4 sources × 4 wrong tries: no source alone trips
        throttle.wrong(f"source-{i % 5}", short=True)
    with pytest.raises(Refused):
        throttle.check("a-fresh-source", short=True)
    throttle.check("a-fresh-source")  # QR codes are not held up by the shared budget


# -- through the daemon -----------------------------------------------------------------
def test_every_bad_code_is_refused_over_the_api_with_an_audit_entry(api, sim, server_key):
    other = DeviceKey.generate("rogue-01")
    bad = {
        "unreadable": "not a code at all",
        "forged": tamper(worker_code(server_key)),
        "unknown_key": codes.worker_code(other, "w-li", [LOCKER], minutes=5),
        "expired": worker_code(server_key, now=time.time() - 3600),
        "other_locker": booking_code(server_key, "SF-9", locker="locker-elsewhere"),
    }
    for expected, text in bad.items():
        answer = api("scan", code=text, source=f"test-{expected}")
        assert answer["ok"] is False and answer["error"] == expected, (expected, answer)
        assert "·" in answer["message"]  # 中文 · English
    refused = api.events("code_refused")
    assert sorted(e["reason"] for e in refused) == sorted(bad)
    assert api.outbox("code_refused") == []  # brute force must not flood the server
    assert unlocks(sim) == 0


def test_a_replayed_booking_code_opens_nothing(api, sim, server_key):
    code = booking_code(server_key, "SF-0600", "M")
    first = api("scan", code=code)
    api.wait_opening(first["opening"]["id"], "opened")
    door(sim, first["door"], "close")
    api.wait_opening(first["opening"]["id"], "closed")
    again = api("scan", code=code)
    assert again["error"] == "replayed" and again["message"].startswith("二维码已使用过")
    assert unlocks(sim) == 1


def test_guessing_short_codes_backs_off(api, sim):
    answers = [api("pickup", code=f"{n:08d}", source="keypad") for n in range(7)]
    assert [a["error"] for a in answers[:5]] == ["wrong_short_code"] * 5
    assert answers[5]["error"] == "backing_off" and answers[5]["retry_after"] > 50
    assert unlocks(sim) == 0
