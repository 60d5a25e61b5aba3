"""The cups:// device URL."""
from __future__ import annotations

import pytest

from drivers.errors import ConfigError
from drivers.printer.url import DEFAULT_JOB_TIMEOUT, parse_printer_url


@pytest.mark.parametrize("url,queue,server,host_port,timeout", [
    ("cups://kiosk-pdf", "kiosk-pdf", None, (None, None), DEFAULT_JOB_TIMEOUT),
    ("cups://kiosk-pdf?server=/tmp/x/cups.sock", "kiosk-pdf", "/tmp/x/cups.sock",
     ("/tmp/x/cups.sock", None), DEFAULT_JOB_TIMEOUT),
    ("cups://Office_Laser?server=printhost:631&timeout=5", "Office_Laser", "printhost:631",
     ("printhost", 631), 5.0),
    ("cups://?server=localhost", "", "localhost", ("localhost", None), DEFAULT_JOB_TIMEOUT),
    ("cups://", "", None, (None, None), DEFAULT_JOB_TIMEOUT),
])
def test_urls(url, queue, server, host_port, timeout):
    parsed = parse_printer_url(url)
    assert (parsed.queue, parsed.server, parsed.host_port, parsed.timeout) == \
        (queue, server, host_port, timeout)


@pytest.mark.parametrize("url,names", [
    ("ipp://printer/queue", "cups://"),
    ("", "cups://"),
    ("cups://q?serve=/x", "serve"),
    ("cups://q?server=", "server="),
    ("cups://q?timeout=soon", "soon"),
    ("cups://q?timeout=0", "timeout"),
    ("cups://a/b", "a/b"),
])
def test_bad_urls_say_what_is_wrong(url, names):
    with pytest.raises(ConfigError, match=names.replace("?", r"\?")):
        parse_printer_url(url)
