"""The admin console's pages: the overview, and every section's router.

Every page is ``Depends(signed_in("admin"))`` and sees only the admin's community.
Every change goes through sync.server.content (or devices), so appliances get it on
their next pull.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from sync.server.accounts import Account, signed_in
from sync.server.models import Device, Household
from sync.server.web import render

Admin = Annotated[Account, Depends(signed_in("admin"))]
router = APIRouter(prefix="/admin", include_in_schema=False)


def engine_of(request: Request):
    return request.app.state.engine


@router.get("", response_class=HTMLResponse)
def dashboard(request: Request, account: Admin) -> HTMLResponse:
    from sync.server.admin.quarantine import quarantined_query

    devices = Device.__table__
    with engine_of(request).connect() as conn:
        households = conn.execute(select(func.count()).select_from(Household.__table__)
                                  .where(Household.__table__.c.community == account.community)).scalar_one()
        fleet = conn.execute(select(devices.c.last_heartbeat_at, devices.c.health)
                             .where(devices.c.community == account.community, devices.c.revoked_at.is_(None))).all()
        held = conn.execute(select(func.count()).select_from(quarantined_query(account.community).subquery())
                            ).scalar_one()
    from sync.server.admin.fleet import summarise

    return render(request, "admin/dashboard.html", section="home", households=households,
                  fleet=summarise(fleet), quarantined=held)


def section_routers() -> list[APIRouter]:
    from sync.server.admin import (config_pages, content_pages, device_pages, household_pages, quarantine_pages,
                                   staff_pages, trust_pages)

    return [router, household_pages.router, content_pages.router, staff_pages.router, device_pages.router,
            quarantine_pages.router, config_pages.router, trust_pages.router]
