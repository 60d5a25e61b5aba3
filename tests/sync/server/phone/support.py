"""Helpers for the phone pages in a real browser: a live server whose log Notifier
writes to a file, its data seeded through the database, signing in by reading the SMS
code from that file, and reading a QR on the page with an independent decoder (zbarimg)."""
from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import requests

from sync.server import db
from sync.server.content import put
from sync.server.phone import links
from sync.server.worker.cases import set_locker_grid
from tests.support import require_program
from tests.sync.server.phone.conftest import GRID, HOUSEHOLD, ITEM, LI, ZHANG
from tests.sync.server.support import COMMUNITY, Signed, new_code, new_key

MAX_PAGE_BYTES = 200_000


def seed(database_url: str, server_url: str, *, lockers: tuple[str, ...] = ("locker-fxl-01",),
         linked: bool = True) -> None:
    """Enrol ``lockers`` (unless they enrol themselves) and a kiosk; a household, two
    guide items, the lockers in GRID; Zhang's number linked."""
    for device in lockers:
        signed = Signed(requests, new_key(device), base_url=server_url)
        assert signed.enrol(new_code(database_url, device, COMMUNITY)).status_code == 201
    engine = db.create(database_url)
    try:
        with engine.begin() as conn:
            put(conn, "household", HOUSEHOLD, {"household_id": "XF-0001", "community": COMMUNITY, "grid": GRID,
                                               "address": "幸福里12号楼3单元401室", "note": "", "members": [ZHANG, LI]},
                COMMUNITY)
            put(conn, "guide_item", ITEM, {
                "name": "高龄补贴申请", "name_en": "Old-age allowance", "category": "民政", "department": "民政科",
                "department_en": "Civil affairs office", "place": "社区服务中心一楼 3 号窗口",
                "place_en": "Community centre, ground floor, window 3", "hours": "周一至周五 9:00–17:00",
                "hours_en": "Mon–Fri 9:00–17:00", "time_limit": "10 个工作日", "time_limit_en": "10 working days",
                "contact": "010-12345678",
                "materials": [{"material": "身份证复印件", "form": "copy", "copies": 1},
                              {"material": "户口本复印件", "form": "copy", "copies": 1},
                              {"material": "银行卡复印件", "form": "copy", "copies": 1}]}, COMMUNITY)
            put(conn, "guide_item", f"{COMMUNITY}/juzhu", {
                "name": "居住证明", "name_en": "Proof of residence", "category": "证明", "department": "社区居委会",
                "department_en": "Residents' committee", "place": "社区居委会办公室", "hours": "工作日 9:00–17:00",
                "materials": [{"material": "身份证原件", "form": "original", "copies": 1}]}, COMMUNITY)
            put(conn, "guide_item", f"{COMMUNITY}/canji", {
                "name": "残疾人证申领", "name_en": "Disability card", "category": "残联", "department": "残联",
                "materials": [{"material": "二寸照片", "form": "original", "copies": 2}]}, COMMUNITY)
            for device in lockers:
                set_locker_grid(conn, device, COMMUNITY, GRID, "幸福里 1 号柜")
            if linked:
                links.link(conn, community=COMMUNITY, phone=ZHANG["phone"], household=HOUSEHOLD,
                           id_number=ZHANG["id_number"], source="admin", by="test")
    finally:
        engine.dispose()


def sms_code(log: Path, phone: str, timeout: float = 15.0) -> str:
    """The newest sign-in code the log Notifier wrote for ``phone``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            codes = [re.search(r"验证码是 (\d{6})", m["text"]).group(1)
                     for m in map(json.loads, log.read_text(encoding="utf-8").splitlines())
                     if m["phone"] == phone and m["kind"] == "signin_code"]
            if codes:
                return codes[-1]
        time.sleep(0.1)
    raise AssertionError(f"no SMS code for {phone} in {log}")


def phone_sign_in(page, server_url: str, log: Path, phone: str, artifacts: Path | None = None) -> None:
    page.goto(f"{server_url}/phone/signin")
    page.get_by_label("手机号码").fill(phone)
    page.get_by_role("button", name="获取验证码").click()
    page.get_by_label("短信验证码").wait_for()
    if artifacts:
        page.screenshot(path=str(artifacts / "02-code.png"), full_page=True)
    page.get_by_label("短信验证码").fill(sms_code(log, phone))
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()


def read_qr(page, selector: str, path: Path) -> str:
    """The text of the QR ``selector`` shows, as a camera would read it (zbarimg)."""
    zbarimg = require_program("zbar-tools", "zbarimg")
    page.locator(selector).screenshot(path=str(path))
    out = subprocess.run([zbarimg, "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(path)],
                         capture_output=True, timeout=20)
    assert out.returncode == 0, f"zbarimg read no QR in {path}: {out.stderr!r}"
    return out.stdout.decode().strip()


class Weigh:
    """Bytes each document (with what it loads) weighs, by listening to responses."""

    def __init__(self, page) -> None:
        self.sizes: dict[str, int] = {}
        page.on("response", self._seen)

    def _seen(self, response) -> None:
        try:
            self.sizes[response.url] = len(response.body())
        except Exception:  # noqa: BLE001  (a redirect has no body)
            self.sizes[response.url] = 0

    def heaviest(self) -> tuple[str, int]:
        return max(self.sizes.items(), key=lambda kv: kv[1])


def unlabelled_fields(page) -> list[str]:
    """Visible form fields without a label a screen reader would read."""
    return page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                     && getComputedStyle(e).position !== 'absolute')
        .map(e => e.outerHTML)""")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def low_contrast(page, normal: float = 4.5, large: float = 3.0) -> list[str]:
    """Visible text whose colour against the background behind it falls below WCAG 2
    AA (4.5:1, or 3:1 for large text: 24 px, or 18.66 px bold). The background is the
    nearest ancestor's opaque colour (the pages use no background images under text)."""
    return page.evaluate("""([normal, large]) => {
        const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
        const lum = ([r, g, b]) => {
            const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const behind = e => {
            for (let n = e; n; n = n.parentElement) {
                const c = rgb(getComputedStyle(n).backgroundColor);
                if (c.length >= 3 && (c.length < 4 || c[3] > 0.5)) return c;
            }
            return [255, 255, 255];
        };
        const out = [];
        for (const e of document.querySelectorAll('body *')) {
            const own = [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
            const box = e.getBoundingClientRect();
            const style = getComputedStyle(e);
            if (!own || !box.width || !box.height || style.visibility === 'hidden' || +style.opacity === 0) continue;
            const a = lum(rgb(style.color)), b = lum(behind(e));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            const px = parseFloat(style.fontSize), bold = +style.fontWeight >= 700;
            const needed = (px >= 24 || (bold && px >= 18.66)) ? large : normal;
            if (ratio < needed) out.push(`${e.tagName.toLowerCase()}.${e.className} "${e.textContent.trim().slice(0, 30)}" ` +
                                         `${ratio.toFixed(2)}:1 < ${needed}:1`);
        }
        return out;
    }""", [normal, large])


def reading_order_problems(page) -> list[str]:
    """What a screen reader or a keyboard would meet out of order: a positive tabindex,
    focusable elements whose tab order runs against the page top to bottom, headings
    that skip a level or a page without exactly one h1, and a page without its lang."""
    return page.evaluate("""() => {
        const out = [];
        if (!document.documentElement.lang) out.push('html has no lang');
        const h1 = document.querySelectorAll('h1').length;
        if (h1 !== 1) out.push(`${h1} h1 headings`);
        let level = 0;
        for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
            const n = +h.tagName[1];
            if (level && n > level + 1) out.push(`h${n} "${h.textContent.trim().slice(0, 20)}" after h${level}`);
            level = n;
        }
        const focusable = [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
            .filter(e => e.type !== 'hidden' && e.getBoundingClientRect().height > 0);
        for (const e of focusable) if (e.tabIndex > 0) out.push(`tabindex=${e.tabIndex} on ${e.outerHTML.slice(0, 60)}`);
        let last = -Infinity;  // the lowest top so far: an element wholly above it comes too late
        for (const e of focusable) {
            const box = e.getBoundingClientRect();
            if (box.bottom + window.scrollY < last) out.push(`${e.outerHTML.slice(0, 60)} comes after something below it`);
            last = Math.max(last, box.top + window.scrollY);
        }
        return out;
    }""")
