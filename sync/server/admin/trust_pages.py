"""Certificate revocations (/admin/revocations) and the keys the community's lockers
accept worker and booking codes from (/admin/keys): sync.server.admin.trust."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from appliance.keys import fingerprint
from sync.server.admin import trust
from sync.server.admin.catalogue import Invalid
from sync.server.admin.pages import Admin, engine_of
from sync.server.models import ServerKey
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin", include_in_schema=False)


# -- revocations ------------------------------------------------------------------------
def _revocations(request: Request, account, *, problems=(), values: dict | None = None,
                 status: int = 200) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        found = trust.revocations(conn, account.community)
    return render(request, "admin/revocations.html", status=status, section="revocations", items=found,
                  problems=list(problems), values=values or {})


@router.get("/revocations", response_class=HTMLResponse)
def revocations(request: Request, account: Admin) -> HTMLResponse:
    return _revocations(request, account, values={"code": request.query_params.get("serial", "")})


@router.post("/revocations", response_class=HTMLResponse)
def revoke(request: Request, account: Admin, code: Annotated[str, Form()] = "",
           reason: Annotated[str, Form()] = "") -> Response:
    try:
        with engine_of(request).begin() as conn:
            serial = trust.revoke_certificate(conn, code, reason, account.username, community=account.community)
    except Invalid as exc:
        return _revocations(request, account, problems=exc.problems, values={"code": code, "reason": reason},
                            status=422)
    return redirect("/admin/revocations", f"证明 {serial} 已作废，核验页从现在起显示“已作废”。 / Certificate {serial} is "
                                          f"revoked: the verify page says so from now on.")


@router.post("/revocations/{serial}/withdraw")
def withdraw(request: Request, account: Admin, serial: str) -> Response:
    with engine_of(request).begin() as conn:
        done = trust.withdraw_revocation(conn, serial, community=account.community)
    if not done:
        return redirect("/admin/revocations", f"本社区没有作废证明 {serial}。 / This community has not revoked {serial}.")
    return redirect("/admin/revocations", f"已撤销对 {serial} 的作废，它重新有效。 / The revocation of {serial} is "
                                          f"withdrawn: it is valid again.")


# -- worker keys ------------------------------------------------------------------------
def _keys(request: Request, account, *, problems=(), values: dict | None = None, status: int = 200) -> HTMLResponse:
    import base64

    keys = ServerKey.__table__
    with engine_of(request).connect() as conn:
        found = trust.worker_keys(conn, account.community)
        server = [{"key_id": r.key_id, "fingerprint": fingerprint(base64.b64decode(r.public_key)),
                   "created_at": r.created_at}
                  for r in conn.execute(select(keys.c.key_id, keys.c.public_key, keys.c.created_at)
                                        .order_by(keys.c.key_id))]
    return render(request, "admin/keys.html", status=status, section="keys", items=found, server_keys=server,
                  problems=list(problems), values=values or {})


@router.get("/keys", response_class=HTMLResponse)
def keys(request: Request, account: Admin) -> HTMLResponse:
    return _keys(request, account)


@router.post("/keys", response_class=HTMLResponse)
def publish(request: Request, account: Admin, key_id: Annotated[str, Form()] = "",
            public_key: Annotated[str, Form()] = "",
            note: Annotated[str, Form()] = "") -> Response:
    try:
        with engine_of(request).begin() as conn:
            new = trust.publish_worker_key(conn, account.community, key_id, public_key, account.username, note)
    except Invalid as exc:
        return _keys(request, account, problems=exc.problems, status=422,
                     values={"key_id": key_id, "public_key": public_key, "note": note})
    shown = trust.parse_entry(key_id, public_key)[0]
    if not new:
        return redirect("/admin/keys", f"密钥 {shown} 已经发布过，没有变化。 / Key {shown} was published already.")
    return redirect("/admin/keys", f"密钥 {shown} 已发布，本社区的云柜下次同步后接受它签发的网格员码和预约码。 / Key {shown} is "
                                   f"published: the community's lockers accept worker and booking codes signed with it "
                                   f"after their next sync.")


@router.post("/keys/{key_id}/revoke")
def revoke_key(request: Request, account: Admin, key_id: str) -> Response:
    with engine_of(request).begin() as conn:
        done = trust.revoke_worker_key(conn, key_id, account.username, community=account.community)
    if not done:
        return redirect("/admin/keys", f"本社区没有可作废的密钥 {key_id}。 / This community has no key {key_id} to revoke.")
    return redirect("/admin/keys", f"密钥 {key_id} 已作废，云柜下次同步后拒绝它签发的码。 / Key {key_id} is revoked: lockers "
                                   f"refuse codes signed with it after their next sync.")
