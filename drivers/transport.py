"""Opening a device's byte transport from its URL.

Every serial-style device is configured by one URL and opened here, so production
and tests run the same driver code and only the URL differs:

=================================  ==================================================
``serial:///dev/ttyUSB0?baud=9600``  a serial port (also a bare path: ``/dev/pts/3``)
``socket://127.0.0.1:7001``         pyserial's raw TCP transport
``loop://``                         pyserial's loopback (what you write comes back)
``spy://PORT?file=trace.txt``       pyserial's tracer: hex dump of every byte (to stderr
                                    without ``file=``; the file is line-buffered, so
                                    ``tail -f`` follows it, and closed with the port)
``sim://NAME?opt=value``            the simulator ``drivers.NAME.sim`` started in this
                                    process on a pseudo-terminal; the driver still does
                                    real serial I/O
=================================  ==================================================

Query parameters understood for every URL: ``baud`` (or ``baudrate``) and
``timeout`` (seconds). Other parameters of ``sim://`` URLs go to the simulator's
``from_params``.
"""
from __future__ import annotations

import errno
import importlib
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import parse_qsl, urlsplit

import serial
from serial.urlhandler import protocol_spy

from drivers.errors import ConfigError, PortUnavailable


@dataclass(frozen=True)
class TransportURL:
    """A parsed device URL."""

    raw: str
    scheme: str  # serial, socket, loop, spy, sim
    target: str  # path for serial, NAME for sim, the pyserial URL otherwise
    params: dict[str, str] = field(default_factory=dict)

    @property
    def baudrate(self) -> int | None:
        value = self.params.get("baud", self.params.get("baudrate"))
        if value is None:
            return None
        try:
            baud = int(value)
        except ValueError:
            raise ConfigError(f"baud rate {value!r} in {self.raw} is not a number",
                              hint="use e.g. baud=9600", port=self.raw) from None
        if baud <= 0:
            raise ConfigError(f"baud rate {baud} in {self.raw} must be positive", port=self.raw)
        return baud


def parse_url(url: str) -> TransportURL:
    """Parse a device URL; raise :class:`ConfigError` naming what is wrong."""
    if not url or not isinstance(url, str):
        raise ConfigError("empty device URL", hint="set e.g. serial:///dev/ttyUSB0?baud=9600")
    if url.startswith("/"):
        return TransportURL(url, "serial", url, {})
    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    scheme = parts.scheme
    if scheme == "serial":
        path = parts.path or parts.netloc
        if not path:
            raise ConfigError(f"no device path in {url}", hint="write serial:///dev/ttyUSB0", port=url)
        return TransportURL(url, "serial", path, params)
    if scheme == "sim":
        name = parts.netloc or parts.path.strip("/")
        if not name.isidentifier():
            raise ConfigError(f"no simulator name in {url}", hint="write e.g. sim://lockboard", port=url)
        return TransportURL(url, "sim", name, params)
    if scheme in ("socket", "loop", "spy", "rfc2217"):
        # pyserial understands these itself; strip our own options from the query.
        own = {"baud", "baudrate", "timeout"}
        rest = "&".join(f"{k}={v}" for k, v in params.items() if k not in own)
        base = url.split("?", 1)[0]
        return TransportURL(url, scheme, base + (f"?{rest}" if rest else ""), params)
    raise ConfigError(f"unknown transport {scheme!r} in {url}",
                      hint="use serial://, socket://, loop://, spy:// or sim://", port=url)


def open_transport(url: str, *, baudrate: int | None = None, timeout: float = 0.05) -> serial.SerialBase:
    """Open the transport ``url`` names and return a pyserial port.

    ``baudrate`` is the device's default; a ``baud=`` in the URL wins.
    Raises :class:`PortUnavailable` with the port and the usual fix.
    """
    parsed = parse_url(url)
    baud = parsed.baudrate or baudrate or 9600
    if "timeout" in parsed.params:
        timeout = float(parsed.params["timeout"])
    if parsed.scheme == "sim":
        return _open_simulated(parsed, baud, timeout)
    try:
        if parsed.scheme == "serial":
            return serial.Serial(parsed.target, baudrate=baud, timeout=timeout,
                                 write_timeout=max(1.0, timeout), exclusive=True)
        if parsed.scheme == "spy":
            return _open_traced(parsed, baud, timeout)
        return serial.serial_for_url(parsed.target, baudrate=baud, timeout=timeout)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise PortUnavailable(f"cannot open {parsed.target}: {_reason(exc)}",
                              hint=_hint(parsed.target, exc), port=parsed.target) from exc


def _reason(exc: BaseException) -> str:
    err = getattr(exc, "errno", None)
    if err is None and exc.__cause__ is not None:
        err = getattr(exc.__cause__, "errno", None)
    if err == errno.ENOENT:
        return "no such device"
    if err == errno.EACCES:
        return "permission denied"
    if err in (errno.EBUSY, errno.EAGAIN):
        return "port busy"
    return str(exc).strip() or type(exc).__name__


def _hint(target: str, exc: BaseException) -> str:
    reason = _reason(exc)
    if reason == "no such device":
        return ("check the cable and the port name (ls /dev/ttyUSB* /dev/ttyACM* /dev/kiosk-*); "
                "a USB adapter may have a new name after replugging")
    if reason == "permission denied":
        return f"add this service's user to the group owning {target} (usually dialout), or install the udev rules"
    if reason == "port busy":
        return "another program holds the port; only one process may own a device (is a second daemon running?)"
    return "check the device URL in the config"


class _TracedSerial(protocol_spy.Serial):
    """pyserial's ``spy://`` tracer, whose ``file=`` pyserial opens block-buffered and
    never closes: here the trace file is line-buffered and closed with the port."""

    trace: IO[str] | None = None

    def close(self) -> None:  # noqa: D401 - pyserial API
        super().close()
        if self.trace is not None:
            self.trace.close()
            self.trace = None


def _open_traced(parsed: TransportURL, baud: int, timeout: float) -> serial.SerialBase:
    parts = urlsplit(parsed.target)
    options = parse_qsl(parts.query, keep_blank_values=True)
    files = [value for key, value in options if key == "file"]
    rest = "&".join(f"{k}={v}" for k, v in options if k != "file")
    port = _TracedSerial(None, baudrate=baud, timeout=timeout)
    port.port = f"spy://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
    if files:
        try:
            port.trace = open(files[-1], "a", buffering=1, encoding="ascii", errors="replace")
        except OSError as exc:
            raise ConfigError(f"cannot write the trace file {files[-1]}: {exc.strerror}",
                              hint="give spy:// a file= in a writable folder", port=parsed.raw) from exc
        port.formatter.output = port.trace
    try:
        port.open()
    except BaseException:
        port.close()
        raise
    return port


class _SimulatedSerial(serial.Serial):
    """A real serial port on a pty whose other end is an in-process simulator."""

    server = None  # set after open

    def close(self) -> None:  # noqa: D401 - pyserial API
        super().close()
        if self.server is not None:
            self.server.stop()
            self.server = None


def simulator_from_params(name: str, params: dict[str, str]):
    """Build ``drivers.NAME.sim.from_params(params)``."""
    try:
        module = importlib.import_module(f"drivers.{name}.sim")
    except ModuleNotFoundError as exc:
        raise ConfigError(f"no simulator named {name!r}", hint="known: lockboard, idcard, scanner",
                          port=f"sim://{name}") from exc
    factory = getattr(module, "from_params", None)
    if factory is None:
        raise ConfigError(f"drivers.{name}.sim has no from_params()", port=f"sim://{name}")
    return factory(params)


def _open_simulated(parsed: TransportURL, baud: int, timeout: float) -> serial.Serial:
    from drivers.simserve import PtyServer

    own = {"baud", "baudrate", "timeout"}
    sim = simulator_from_params(parsed.target, {k: v for k, v in parsed.params.items() if k not in own})
    server = PtyServer(sim, baudrate=baud)
    server.start()
    port = _SimulatedSerial(server.path, baudrate=baud, timeout=timeout, write_timeout=1.0)
    port.server = server
    return port

