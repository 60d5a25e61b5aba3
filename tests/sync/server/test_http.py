"""The server as a real process over real HTTP (uvicorn on a free loopback port)."""
import requests

from sync.wire import API
from tests.sync.server.support import Signed, ServerProcess, event, new_code, new_key


def test_a_device_enrols_pushes_and_pulls_over_http(database_url):
    with ServerProcess(database_url) as server, requests.Session() as http:
        assert http.get(f"{server.url}/openapi.json", timeout=10).json()["info"]["title"]
        device = Signed(http, new_key("kiosk-http"), base_url=server.url)
        assert device.enrol(new_code(database_url, "kiosk-http")).status_code == 201
        batch = {"events": [event("c-http", "created", 1), event("c-http", "closed", 2)]}
        first = device("POST", "/events", batch)
        assert first.status_code == 200 and device("POST", "/events", batch).json() == first.json()
        changes = device("GET", "/changes").json()["changes"]
        assert [c["key"] for c in changes if c["kind"] == "device_key"] == ["server", "kiosk-http"]
        assert requests.get(f"{server.url}{API}/changes", timeout=10).status_code == 401
