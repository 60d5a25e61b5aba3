"""A case's uploaded materials in the consoles, in-process on SQLite and PostgreSQL:
uploaded by the locker through the resumable attachment API, listed on the case page
with type, size and time, an image shown inline through the access-checked route
(no-store, nosniff), refused (404) to another grid's worker, to another department's
staff and to nobody signed in; a PDF or an image whose bytes lie is a download."""
from __future__ import annotations

import re
import uuid

import cv2
import numpy as np

from tests.sync.server.support import Signed, new_code, new_key
from tests.sync.server.worker.conftest import deposit_case, upload


def scan_png() -> bytes:
    """A small picture of a document page (what a scanner or a phone camera gives)."""
    page = np.full((240, 180, 3), 250, np.uint8)
    cv2.rectangle(page, (10, 10), (170, 230), (40, 40, 40), 2)
    for y in range(40, 220, 18):
        cv2.line(page, (24, y), (150, y), (90, 90, 90), 2)
    ok, data = cv2.imencode(".png", page)
    assert ok
    return data.tobytes()


def material_urls(page: str, case_id: str) -> list[str]:
    return re.findall(rf'src="(/worker/cases/{re.escape(case_id)}/materials/[0-9a-f-]+)"', page)


def test_her_case_shows_its_materials_and_only_she_gets_the_image(client, engine, locker, household, staff,
                                                                  database_url):
    case_id = deposit_case(locker, household)
    png = scan_png()
    image_id = locker.upload(case_id, png, "image/png", "身份证复印件.png", chunk=1000)
    pdf = b"%PDF-1.4\n" + b"x" * 3000 + b"\n%%EOF\n"
    pdf_id = locker.upload(case_id, pdf, "application/pdf", "户口本.pdf")
    liar_id = locker.upload(case_id, b"<html><script>alert(1)</script></html>", "image/png", "not-an-image.png")
    upload(locker.signed, case_id, png, "image/png", "half.png", finish=False)  # incomplete: not shown
    # a device of another community naming this case id: not the case's material
    key = new_key(f"far-{uuid.uuid4().hex[:4]}")
    far = Signed(client, key)
    assert far.enrol(new_code(database_url, key.device_id, "别的社区")).status_code == 201
    far_status = far("POST", "/attachments", {"id": str(uuid.uuid4()), "case_id": case_id, "content_type": "image/png",
                                              "size": 3, "sha256": "0" * 64})
    assert far_status.status_code == 403  # refused at upload already (the case exists)

    wang = staff("wang")
    page = wang.get(f"/worker/cases/{case_id}").text
    section = page.split('id="materials-h"', 1)[1].split("</section>", 1)[0]
    assert "身份证复印件.png" in section and "图片（PNG）" in section and f"{len(png) / 1024:.0f} KB" in section
    assert "户口本.pdf" in section and "PDF 文件" in section and "下载" in section
    assert "half.png" not in section
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", section)  # when it arrived
    assert material_urls(page, case_id) == [f"/worker/cases/{case_id}/materials/{image_id}"]  # the only inline one

    got = wang.get(f"/worker/cases/{case_id}/materials/{image_id}")
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    assert "no-store" in got.headers["cache-control"] and got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("inline")
    pdf_got = wang.get(f"/worker/cases/{case_id}/materials/{pdf_id}")
    assert pdf_got.content == pdf and pdf_got.headers["content-type"] == "application/octet-stream"
    assert pdf_got.headers["content-disposition"].startswith("attachment")
    liar = wang.get(f"/worker/cases/{case_id}/materials/{liar_id}")  # says PNG, is HTML: never drawn or run
    assert liar.headers["content-type"] == "application/octet-stream" and "sandbox" in liar.headers[
        "content-security-policy"]

    other = staff("zhao", grid="二网格")
    for path in (f"/worker/cases/{case_id}/materials/{image_id}", f"/worker/cases/{case_id}/materials/{pdf_id}"):
        refused = other.get(path)
        assert refused.status_code == 404 and png[:8] not in refused.content
    # the right image id under another case of hers is no way round it either
    mine = deposit_case(locker, household)
    assert wang.get(f"/worker/cases/{mine}/materials/{image_id}").status_code == 404
    civil = staff("civil", role="staff", department="social_security")  # not the case's department
    assert civil.get(f"/staff/cases/{case_id}/materials/{image_id}").status_code == 404
    assert client.get(f"/worker/cases/{case_id}/materials/{image_id}").status_code == 401  # nobody signed in
    admin = staff("li", role="admin")
    assert admin.get(f"/worker/cases/{case_id}/materials/{image_id}").content == png  # the community's admin reads
