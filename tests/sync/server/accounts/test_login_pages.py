"""The login page in headless Chromium, on a phone and a desktop: sign in, a wrong
password, the English switch, sign out. Screenshots in test-artifacts/."""
from __future__ import annotations

import pytest

from tests.browser import screenshot, sign_in


@pytest.mark.parametrize("live_server", ["sqlite", "postgresql"], indirect=True)
def test_sign_in_and_out_on_a_phone(live_server, phone_page, artifacts):
    live_server.add_account("wang", "grid-worker-1", "worker", name="王芳", community="示范社区", grid="一网格")
    page = phone_page
    page.goto(f"{live_server.url}/admin")  # not signed in: the login page first
    assert "/login?next=%2Fadmin" in page.url
    assert page.get_by_role("heading", name="工作人员登录").is_visible()
    assert page.locator("main").count() == 1 and page.locator("header").count() == 1
    screenshot(page, artifacts, "login-phone")
    page.get_by_label("用户名").fill("wang")
    page.get_by_label("密码").fill("not her password")
    page.get_by_role("button", name="登录").click()
    assert "用户名或密码不正确" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("用户名").input_value() == "wang"
    screenshot(page, artifacts, "login-phone-wrong-password")
    box = page.get_by_role("button", name="登录").bounding_box()
    assert box["height"] >= 44 and box["width"] >= 300  # a thumb finds it
    page.get_by_label("密码").fill("grid-worker-1")
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    assert page.url == f"{live_server.url}/admin"  # where she was going (a 403 page: she is no admin)
    assert "没有权限" in page.locator("main").inner_text()
    # signed in: /login sends her home, the sign-out button is in the top bar
    page.goto(f"{live_server.url}/login")
    assert page.url.endswith("/worker")  # her home


def test_english_switch_and_sign_out(live_server, page, artifacts):
    live_server.add_account("alice", "admin-pass-1", "admin", name="李敏", community="示范社区")
    page.goto(f"{live_server.url}/login")
    page.get_by_role("link", name="English").click()
    assert page.get_by_role("heading", name="Staff sign-in").is_visible()
    screenshot(page, artifacts, "login-desktop-en")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("admin-pass-1")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/admin")
    page.goto(f"{live_server.url}/login?lang=zh")  # signed in: home again, in Chinese from now on
    page.get_by_role("button", name="退出").click()
    page.wait_for_url(f"{live_server.url}/login")
    assert "您已退出登录" in page.get_by_role("status").inner_text()
    page.goto(f"{live_server.url}/admin")
    assert "/login" in page.url


def test_sign_in_helper_and_wrong_role(live_server, page):
    live_server.add_account("li", "staff-pass-1", "staff", name="李", department="民政")
    sign_in(page, live_server, "li", "staff-pass-1")
    assert page.url.endswith("/staff")
    with pytest.raises(AssertionError, match="用户名或密码不正确"):
        sign_in(page.context.browser.new_page(), live_server, "li", "wrong-pass")
