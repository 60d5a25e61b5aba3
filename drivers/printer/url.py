"""The printer's device URL: ``cups://QUEUE?server=/path/to/cups.sock&timeout=60``.

=====================  ========================================================
``QUEUE``              the CUPS queue; empty (``cups://``) means the server's
                       default destination
``server=``            a cupsd Unix socket path, or ``host[:port]``; absent means
                       the system's (``CUPS_SERVER``, client.conf, /run/cups)
``timeout=``           seconds to follow a job before giving up (default 60)
=====================  ========================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from drivers.errors import ConfigError

DEFAULT_JOB_TIMEOUT = 60.0
_KNOWN = ("server", "timeout")
_EXAMPLE = "write e.g. cups://kiosk?server=/run/cups/cups.sock"


@dataclass(frozen=True)
class PrinterURL:
    raw: str
    queue: str  # "" -> the server's default destination
    server: str | None  # socket path or host[:port]; None -> the system's
    timeout: float = DEFAULT_JOB_TIMEOUT

    @property
    def host_port(self) -> tuple[str | None, int | None]:
        """What ``cups.Connection(host=, port=)`` wants for this server."""
        if self.server is None or self.server.startswith("/"):
            return self.server, None
        host, _, port = self.server.rpartition(":")
        if host and port.isdigit():
            return host, int(port)
        return self.server, None


def parse_printer_url(url: str) -> PrinterURL:
    """Parse a ``cups://`` URL; raise :class:`ConfigError` naming what is wrong."""
    if not isinstance(url, str) or not url.startswith("cups://"):
        raise ConfigError(f"printer URL {url!r} is not a cups:// URL", hint=_EXAMPLE, port=str(url))
    parts = urlsplit(url)
    queue = unquote(parts.netloc + parts.path).strip("/")
    if "/" in queue or any(c.isspace() for c in queue):
        raise ConfigError(f"queue name {queue!r} in {url} is not a CUPS queue name",
                          hint=_EXAMPLE, port=url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(params) - set(_KNOWN))
    if unknown:
        raise ConfigError(f"unknown option {unknown[0]!r} in printer URL {url}",
                          hint=f"known options: {', '.join(_KNOWN)}", port=url)
    server = params.get("server")
    if server is not None and not server:
        raise ConfigError(f"empty server= in {url}", hint=_EXAMPLE, port=url)
    timeout = DEFAULT_JOB_TIMEOUT
    if "timeout" in params:
        try:
            timeout = float(params["timeout"])
        except ValueError:
            raise ConfigError(f"timeout {params['timeout']!r} in {url} is not a number",
                              hint="seconds, e.g. timeout=60", port=url) from None
        if not timeout > 0:
            raise ConfigError(f"timeout {timeout} in {url} must be positive", port=url)
    return PrinterURL(url, queue, server, timeout)
