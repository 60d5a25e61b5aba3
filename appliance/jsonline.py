"""One request and one answer, each a JSON object on one line, over a Unix socket:
how the processes of an appliance talk to each other locally (the locker daemon's
API, the simulators' control channels)."""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any


def request(path: str | Path, message: dict[str, Any], *, timeout: float = 40.0,
            peer: str = "the peer") -> dict[str, Any]:
    """Send ``message`` to the socket at ``path`` and return the answer.

    Raises ``OSError`` when the socket cannot be reached, ``ConnectionError`` naming
    ``peer`` when it closes before a whole line came back."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(str(path))
        sock.sendall(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"{peer} at {path} closed the connection")
            data += chunk
    return json.loads(data)
