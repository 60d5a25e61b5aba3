"""Appliance configuration for the community and its devices (/admin/config):
sync.server.admin.appliance_config."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from sync.server.admin import appliance_config
from sync.server.admin.catalogue import Invalid
from sync.server.admin.pages import Admin, engine_of
from sync.server.models import Device
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin/config", include_in_schema=False)
DEVICES = Device.__table__
EXAMPLE = '[kiosk]\nidle_seconds = 90\nelderly_scale = 1.5\n\n[locker]\npickup_days = 10\n'


def _page(request: Request, account, *, problems=(), values: dict | None = None, status: int = 200) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        found = appliance_config.records(conn, account.community)
        devices = list(conn.execute(select(DEVICES.c.device_id).where(DEVICES.c.community == account.community,
                                                                      DEVICES.c.revoked_at.is_(None))
                                    .order_by(DEVICES.c.device_id)).scalars())
    values = values or {}
    if "toml" not in values:  # the form starts from what the chosen scope has now
        current = next((r for r in found if (r.get("device_id") or "") == values.get("device_id", "")), None)
        values["toml"] = current["toml"] if current else ""
    return render(request, "admin/config.html", status=status, section="config", items=found, devices=devices,
                  problems=list(problems), values=values, example=EXAMPLE)


@router.get("", response_class=HTMLResponse)
def listing(request: Request, account: Admin, device: str = "") -> HTMLResponse:
    return _page(request, account, values={"device_id": device})


@router.post("", response_class=HTMLResponse)
def save(request: Request, account: Admin, toml: Annotated[str, Form()] = "",
         device_id: Annotated[str, Form()] = "") -> Response:
    values = {"toml": toml, "device_id": device_id}
    try:
        with engine_of(request).begin() as conn:
            appliance_config.save(conn, account.community, toml.replace("\r\n", "\n"), account.username, device_id)
    except Invalid as exc:
        return _page(request, account, problems=exc.problems, values=values, status=422)
    target = f"终端 {device_id}" if device_id else "全社区的终端"
    target_en = f"device {device_id}" if device_id else "every device of the community"
    return redirect("/admin/config", f"已发布给{target}，下次同步送达。 / Published for {target_en}: it arrives at the next "
                                     f"sync.")


@router.post("/remove")
def remove(request: Request, account: Admin, device_id: Annotated[str, Form()] = "") -> Response:
    with engine_of(request).begin() as conn:
        done = appliance_config.remove(conn, account.community, device_id)
    if not done:
        return redirect("/admin/config", "没有这条配置。 / There is no such record.")
    return redirect("/admin/config", "配置已删除，终端下次同步后不再收到它。 / Removed: appliances drop it at their next sync.")
