"""The SMS-gateway HTTP adapter against a real local HTTP server; the log adapter's file."""
import json
import socket
import stat
import urllib.parse

import pytest

from sync.server.notify.adapters import HttpGateway, LogNotifier, Message, notifier_for
from sync.server.notify.errors import DeliveryFailed
from sync.server.notify.settings import from_env

MESSAGE = Message(7, "13800138000", '【社区事务】取件码 12345678，"云柜" A', "pickup_ready", "case-1")


def test_json_body_template_with_headers(gateway):
    adapter = HttpGateway(gateway.url + "/sms/send", "POST",
                          {"Content-Type": "application/json; charset=utf-8", "X-Api-Key": "k-123"},
                          '{"to": "$phone", "content": "$text", "ref": "$id", "sign": "社区"}')
    adapter.send(MESSAGE)
    (got,) = gateway.received
    assert (got.method, got.path) == ("POST", "/sms/send")
    assert got.headers["X-Api-Key"] == "k-123"
    assert got.json() == {"to": "13800138000", "content": MESSAGE.text, "ref": "7", "sign": "社区"}


def test_form_body_and_get_url_are_encoded(gateway):
    HttpGateway(gateway.url + "/f", "POST", {"Content-Type": "application/x-www-form-urlencoded"},
                "mobile=$phone&msg=$text").send(MESSAGE)
    HttpGateway(gateway.url + "/g?to=$phone&msg=$text&id=$id", "GET").send(MESSAGE)
    form, get = gateway.received
    assert urllib.parse.parse_qs(form.body.decode()) == {"mobile": ["13800138000"], "msg": [MESSAGE.text]}
    assert get.method == "GET" and get.body == b""
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(get.path).query) == {
        "to": ["13800138000"], "msg": [MESSAGE.text], "id": ["7"]}


def test_a_refusing_gateway_is_a_delivery_failure_naming_status_and_answer(gateway):
    gateway.fail_next = 1
    with pytest.raises(DeliveryFailed, match=r"answered 503: \{\"error\": \"busy, try later\"\}") as failed:
        HttpGateway(gateway.url, body="$text").send(MESSAGE)
    assert "13800138000" not in str(failed.value)  # no personal data in errors


def test_an_unreachable_gateway_is_a_delivery_failure():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeliveryFailed, match="unreachable"):
        HttpGateway(f"http://127.0.0.1:{port}/", timeout_s=2).send(MESSAGE)


def test_log_adapter_writes_one_private_json_line_per_message(tmp_path, caplog):
    path = tmp_path / "logs" / "sms.jsonl"
    adapter = LogNotifier(path)
    with caplog.at_level("INFO"):
        adapter.send(MESSAGE)
        adapter.send(Message(8, "13900000000", "second"))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], line["phone"], line["text"]) for line in lines] == [
        (7, "13800138000", MESSAGE.text), (8, "13900000000", "second")]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "138****8000" in caplog.text and "13800138000" not in caplog.text


def test_settings_choose_the_adapter():
    assert notifier_for(from_env({})).name == "log"
    http = notifier_for(from_env({"SYNC_NOTIFY_ADAPTER": "http", "SYNC_NOTIFY_HTTP_URL": "https://sms.example/x",
                                  "SYNC_NOTIFY_HTTP_HEADERS": '{"Authorization": "Bearer t"}'}))
    assert isinstance(http, HttpGateway) and http.headers == {"Authorization": "Bearer t"}
