"""The public certificate check (no login): valid, tampered, revoked key, revoked
certificate, unknown device; the holder's masked name; the QR's URL prefix."""
from __future__ import annotations

from datetime import datetime, timezone

from forms import stamp as stamps
from sync.server.content import put
from sync.server.devices import revoke
from tests.sync.server.worker.conftest import RESIDENT_ID
from tests.support import ROOT  # noqa: F401


def certificate(locker, number=42):
    return stamps.make(locker.signed.key, template="residence_proof", number=number, canonical=b'{"name":"x"}',
                       issued_at=datetime(2026, 11, 22, 9, 30, tzinfo=timezone.utc))


def verdict_of(page: str) -> str:
    for word in ("真实有效", "内容被篡改或二维码无效", "已作废", "无法核验"):
        if word in page:
            return word
    raise AssertionError(page[:300])


def test_valid_with_the_holders_masked_name(client, locker, household):
    stamp = certificate(locker)
    locker.push("cert-case-1", "created", household=household, resident_id=RESIDENT_ID, certificate=stamp.serial)
    page = client.post("/verify", data={"code": stamp.text})
    assert page.status_code == 200 and verdict_of(page.text) == "真实有效"
    assert stamp.serial in page.text and "张*明" in page.text and "张晓明" not in page.text
    # a phone opening the QR's URL (``[forms] verify_url`` + the code) gets the same answer
    scanned = client.get("/verify", params={"c": stamp.text})
    assert verdict_of(scanned.text) == "真实有效"
    assert verdict_of(client.post("/verify", data={"code": "https://server.example/verify?c=" + stamp.text}).text) \
        == "真实有效"


def test_tampered_and_garbage(client, locker):
    text = certificate(locker).text
    parts = text.split(".")
    parts[3] = "elderly_subsidy"  # another template under the same signature
    assert verdict_of(client.post("/verify", data={"code": ".".join(parts)}).text) == "内容被篡改或二维码无效"
    assert verdict_of(client.post("/verify", data={"code": "hello"}).text) == "内容被篡改或二维码无效"
    empty = client.get("/verify")
    assert empty.status_code == 200 and "二维码内容" in empty.text


def test_revoked_device_and_revoked_certificate(client, engine, locker):
    first, second = certificate(locker, 1), certificate(locker, 2)
    with engine.begin() as conn:
        put(conn, "revocation", first.serial, {"serial": first.serial, "reason": "issued in error"})
    assert verdict_of(client.post("/verify", data={"code": first.text}).text) == "已作废"
    assert verdict_of(client.post("/verify", data={"code": second.text}).text) == "真实有效"
    with engine.begin() as conn:
        revoke(conn, locker.device_id)
    assert verdict_of(client.post("/verify", data={"code": second.text}).text) == "已作废"


def test_an_unknown_device(client):
    from appliance.keys import DeviceKey

    stranger = DeviceKey.generate("not-enrolled-1")
    stamp = stamps.make(stranger, template="residence_proof", number=1, canonical=b"{}",
                        issued_at=datetime(2026, 11, 22, tzinfo=timezone.utc))
    assert verdict_of(client.post("/verify", data={"code": stamp.text}).text) == "无法核验"


def qr_png(text: str, scale: int = 6) -> bytes:
    import cv2
    import numpy as np

    from forms.qr import encode

    symbol = encode(text.encode("ascii"))
    image = np.where(np.pad(symbol, 4), 0, 255).astype(np.uint8)
    image = np.kron(image, np.ones((scale, scale), dtype=np.uint8))
    return cv2.imencode(".png", image)[1].tobytes()


def test_a_photo_of_the_qr_is_read_and_checked(client, locker, household):
    stamp = certificate(locker)
    page = client.post("/verify", files={"photo": ("qr.png", qr_png(stamp.text), "image/png")})
    assert page.status_code == 200 and verdict_of(page.text) == "真实有效" and stamp.serial in page.text
    blank = client.post("/verify", files={"photo": ("blank.png", qr_png("x")[:0] or b"\x89PNG", "image/png")})
    assert blank.status_code == 422 and "无法读取这张图片" in blank.text
    import cv2
    import numpy as np
    white = cv2.imencode(".png", np.full((200, 200), 255, dtype=np.uint8))[1].tobytes()
    none = client.post("/verify", files={"photo": ("white.png", white, "image/png")})
    assert none.status_code == 422 and "没有找到可读的二维码" in none.text
