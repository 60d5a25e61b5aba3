"""Accounts and roles of the admin's community: create, edit role and scope, reset the
password, disable and enable. Staff accounts made here carry the community too, so
its admin manages them. An admin cannot disable or demote themselves."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from sync.server import accounts
from sync.server.accounts.models import AccountRow
from sync.server.admin.pages import Admin, engine_of
from sync.server.web import redirect, render

router = APIRouter(prefix="/admin/accounts", include_in_schema=False)
ACCOUNTS = AccountRow.__table__


def _mine(conn, account: accounts.Account, account_id: int) -> accounts.AccountRecord | None:
    row = conn.execute(select(ACCOUNTS.c.username).where(ACCOUNTS.c.id == account_id,
                                                          ACCOUNTS.c.community == account.community)).first()
    return accounts.find_account(conn, row.username) if row else None


@router.get("", response_class=HTMLResponse)
def listing(request: Request, account: Admin) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        found = accounts.list_accounts(conn, account.community)
    return render(request, "admin/accounts.html", section="accounts", records=found, roles=accounts.ROLE_NAMES)


def _form(request: Request, *, record=None, values: dict | None = None, problem: str | None = None,
          status: int = 200) -> HTMLResponse:
    return render(request, "admin/account_form.html", status=status, section="accounts", record=record,
                  values=values or {}, problem=problem, roles=accounts.ROLE_NAMES)


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, account: Admin) -> HTMLResponse:
    return _form(request, values={"role": "worker"})


@router.post("/new", response_class=HTMLResponse)
def create(request: Request, account: Admin, username: Annotated[str, Form()] = "", name: Annotated[str, Form()] = "",
           role: Annotated[str, Form()] = "", grid: Annotated[str, Form()] = "",
           department: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
           password_again: Annotated[str, Form()] = "") -> Response:
    values = {"username": username, "name": name, "role": role, "grid": grid, "department": department}
    if password != password_again:
        return _form(request, values=values, status=422,
                     problem="两次输入的密码不一致 / the two passwords differ")
    try:
        with engine_of(request).begin() as conn:
            accounts.create_account(conn, username=username, password=password, name=name, role=role,
                                    community=account.community, grid=grid if role == "worker" else None,
                                    department=department if role == "staff" else None)
    except accounts.InvalidAccount as exc:
        return _form(request, values=values, status=422, problem=str(exc))
    return redirect("/admin/accounts", f"已创建账号 {username.strip().lower()}。 / Account "
                                       f"{username.strip().lower()} created.")


@router.get("/{account_id}", response_class=HTMLResponse)
def edit_form(request: Request, account: Admin, account_id: int) -> HTMLResponse:
    with engine_of(request).connect() as conn:
        record = _mine(conn, account, account_id)
    if record is None:
        return _missing(request)
    a = record.account
    return _form(request, record=record, values={"username": a.username, "name": a.name, "role": a.role,
                                                 "grid": a.grid or "", "department": a.department or ""})


def _missing(request: Request) -> HTMLResponse:
    return render(request, "error.html", status=404, title=("找不到账号", "No such account"),
                  message=("本社区没有这个账号。", "This community has no such account."), back="/admin/accounts")


@router.post("/{account_id}", response_class=HTMLResponse)
def change(request: Request, account: Admin, account_id: int, action: Annotated[str, Form()] = "save",
           name: Annotated[str, Form()] = "", role: Annotated[str, Form()] = "", grid: Annotated[str, Form()] = "",
           department: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
           password_again: Annotated[str, Form()] = "") -> Response:
    with engine_of(request).connect() as conn:
        record = _mine(conn, account, account_id)
    if record is None:
        return _missing(request)
    values = {"username": record.account.username, "name": name, "role": role, "grid": grid,
              "department": department}
    myself = account_id == account.id
    try:
        with engine_of(request).begin() as conn:
            if action == "password":
                if password != password_again:
                    raise accounts.InvalidAccount("两次输入的密码不一致 / the two passwords differ")
                accounts.set_password(conn, account_id, password)
                message = "密码已重置，该账号需重新登录。 / Password reset; the account signs in again."
            elif action in ("disable", "enable"):
                if myself:
                    raise accounts.InvalidAccount("不能停用自己的账号 / you cannot disable your own account")
                accounts.set_disabled(conn, account_id, action == "disable")
                message = ("账号已停用。 / Account disabled." if action == "disable"
                           else "账号已启用。 / Account enabled.")
            else:
                if myself and role != "admin":
                    raise accounts.InvalidAccount("不能取消自己的管理员角色 / you cannot take away your own admin role")
                accounts.update_account(conn, account_id, name=name, role=role, community=account.community,
                                        grid=grid if role == "worker" else None,
                                        department=department if role == "staff" else None)
                message = "已保存。 / Saved."
    except accounts.InvalidAccount as exc:
        if action != "save":
            a = record.account
            values = {"username": a.username, "name": a.name, "role": a.role, "grid": a.grid or "",
                      "department": a.department or ""}
        return _form(request, record=record, values=values, status=422, problem=str(exc))
    if myself and action in ("save", "password"):  # their own sessions ended: sign in again
        return redirect("/login", message)
    return redirect("/admin/accounts", f"{record.account.username}：{message}")
