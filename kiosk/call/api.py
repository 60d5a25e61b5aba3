"""The kiosk's signed requests to the server's video API (``/api/v1/video``), signed
with the appliance's device key exactly as the sync agent's (:mod:`sync.wire`)."""
from __future__ import annotations

import base64
import json
import secrets
import time

import httpx

from appliance.keys import DeviceKey
from kiosk.call.errors import CallbackRefused, CallUnavailable
from sync.wire import (API, HEADER_DEVICE, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP,
                       canonical_request)

UNREACHABLE = "暂时无法连接服务中心，请稍后再试或到窗口办理。/ The service centre cannot be reached; try later or ask at the counter."


class VideoApi:
    def __init__(self, server_url: str, key: DeviceKey, *, timeout: float = 10.0) -> None:
        self.server_url = server_url.rstrip("/")
        self.key = key
        self.client = httpx.AsyncClient(timeout=timeout, trust_env=False)

    async def close(self) -> None:
        await self.client.aclose()

    async def request(self, method: str, path: str, body: object = None) -> dict:
        data = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
        full = f"{API}{path}"
        stamp = int(time.time() * 1000)
        nonce = secrets.token_urlsafe(12)
        headers = {HEADER_DEVICE: self.key.device_id, HEADER_TIMESTAMP: str(stamp), HEADER_NONCE: nonce,
                   HEADER_SIGNATURE: base64.b64encode(self.key.sign(
                       canonical_request(method, full, stamp, nonce, data))).decode(),
                   "Content-Type": "application/json"}
        try:
            answer = await self.client.request(method, self.server_url + full, content=data or None, headers=headers)
        except httpx.HTTPError as exc:
            raise CallUnavailable(UNREACHABLE, f"{method} {full}: {exc!r}") from exc
        if answer.status_code >= 400:
            try:
                detail = answer.json().get("detail", answer.text)
            except ValueError:
                detail = answer.text
            if answer.status_code == 422 and path.endswith("/callback"):
                raise CallbackRefused(str(detail), f"{method} {full}: {answer.status_code} {detail}")
            raise CallUnavailable(UNREACHABLE if answer.status_code >= 500 else
                                  "无法发起视频咨询，请到窗口办理。/ The call cannot be made; please ask at the counter.",
                                  f"{method} {full}: {answer.status_code} {detail}")
        return answer.json()

    async def departments(self) -> list[dict]:
        return (await self.request("GET", "/video/departments"))["departments"]

    async def place(self, department: str, context: dict) -> dict:
        return await self.request("POST", "/video/calls", {"department": department, "context": context})

    async def callback(self, call_id: str, phone: str) -> str:
        return (await self.request("POST", f"/video/calls/{call_id}/callback", {"phone": phone}))["case_id"]

    def socket_url(self, path: str) -> str:
        return ("wss://" if self.server_url.startswith("https://") else "ws://") + \
            self.server_url.split("://", 1)[1] + path
