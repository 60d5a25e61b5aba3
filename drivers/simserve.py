"""Serving a device simulator on a pseudo-terminal, so the driver under test does
real serial I/O.

A simulator is any object with::

    receive(data: bytes) -> bytes     # bytes from the host; returns the reply bytes
    poll(now: float) -> bytes         # optional: unsolicited bytes due now (a scanned code)
    control(request: dict) -> dict    # optional: the control channel (close a door, pull a card)

:class:`PtyServer` runs one on the master side of a pty in a thread and exposes the
slave path. :class:`TcpServer` serves it on a TCP port instead, as a serial-to-Ethernet
converter in front of the device would (the driver opens ``socket://HOST:PORT``). The
control channel is a Unix socket speaking one JSON object per line. ``serve_main`` is
the shared CLI of every ``python -m drivers.X.sim``: it prints the pty path (with
``--tcp``, the ``socket://`` URL) on the first line of stdout and the control socket on
the second.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import socket
import sys
import tempfile
import threading
import time
import tty
from typing import Any, Callable

from appliance import jsonline

log = logging.getLogger("drivers.simserve")


class PtyServer:
    def __init__(self, sim: Any, *, baudrate: int = 9600, link: str | None = None,
                 control: str | None = None, tick: float = 0.002) -> None:
        self.sim = sim
        self.baudrate = baudrate
        self.link = link
        self.control_path = control
        self._tick = tick
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._stopping = threading.Lock()  # stop() may race: a "vanish" request and SIGTERM
        self._thread: threading.Thread | None = None
        self._control_sock: socket.socket | None = None
        self._control_thread: threading.Thread | None = None
        self.master = -1
        self.slave = -1
        self.path = ""

    # -- lifetime ----------------------------------------------------------------
    def start(self) -> "PtyServer":
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        if self.link:
            if os.path.lexists(self.link):
                os.unlink(self.link)
            os.symlink(self.path, self.link)
        self._thread = threading.Thread(target=self._serve, name=f"sim:{self.path}", daemon=True)
        self._thread.start()
        if self.control_path:
            self._start_control()
        return self

    def stop(self) -> None:
        with self._stopping:
            self._stop_locked()

    def _stop_locked(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)
        if self._control_sock is not None:
            try:
                self._control_sock.close()
            except OSError:
                pass
            self._control_sock = None
            if self.control_path and os.path.exists(self.control_path):
                os.unlink(self.control_path)
        self._close_wire()

    def _close_wire(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = -1
        if self.link and os.path.islink(self.link):
            os.unlink(self.link)

    def __enter__(self) -> "PtyServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the wire ------------------------------------------------------------------
    def _serve(self) -> None:
        poll = getattr(self.sim, "poll", None)
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], self._tick)
            except (OSError, ValueError):
                return
            out = b""
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                if data:
                    with self._lock:
                        out += self.sim.receive(data) or b""
            if poll is not None:
                with self._lock:
                    out += poll(time.monotonic()) or b""
            if out:
                try:
                    os.write(self.master, out)
                except OSError:
                    return

    # -- control channel -----------------------------------------------------------
    def _start_control(self) -> None:
        assert self.control_path
        if os.path.exists(self.control_path):
            os.unlink(self.control_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.control_path)
        sock.listen(4)
        self._control_sock = sock
        self._control_thread = threading.Thread(target=self._accept, daemon=True, name="sim-control")
        self._control_thread.start()

    def _accept(self) -> None:
        assert self._control_sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._control_sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                    if not isinstance(request, dict):
                        raise ValueError("a control request is a JSON object")
                    reply = self.control(request)
                except Exception as exc:  # the control channel reports, never dies
                    reply = {"ok": False, "error": str(exc)}
                stream.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")
                stream.flush()

    def control(self, request: dict) -> dict:
        """Run one control request in-process (tests may call this directly)."""
        if request.get("cmd") == "vanish":  # the device is unplugged
            threading.Thread(target=self.stop, daemon=True).start()
            return {"ok": True}
        handler = getattr(self.sim, "control", None)
        if handler is None:
            return {"ok": False, "error": "this simulator has no control channel"}
        with self._lock:
            reply = handler(request)
        return {"ok": True, **(reply or {})}


class TcpServer(PtyServer):
    """The simulator on a TCP port: what a serial-to-Ethernet converter (TCP server
    mode) in front of the device looks like. ``path`` is the ``socket://HOST:PORT`` URL
    the driver opens. One client at a time, as such converters allow: a new connection
    replaces the old one. Bytes due while no client is connected are lost, as they are
    on the wire. ``vanish`` closes the port and the connection."""

    def __init__(self, sim: Any, *, host: str = "127.0.0.1", port: int = 0, control: str | None = None,
                 tick: float = 0.002) -> None:
        super().__init__(sim, control=control, tick=tick)
        self.host, self.port = host, port
        self._listener: socket.socket | None = None
        self._client: socket.socket | None = None

    def start(self) -> "TcpServer":
        self._listener = socket.create_server((self.host, self.port))
        self.port = self._listener.getsockname()[1]
        self.path = f"socket://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._serve, name=f"sim:{self.path}", daemon=True)
        self._thread.start()
        if self.control_path:
            self._start_control()
        return self

    def _drop_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _serve(self) -> None:
        poll = getattr(self.sim, "poll", None)
        listener = self._listener
        assert listener is not None
        while not self._stop.is_set():
            client = self._client
            try:
                ready, _, _ = select.select([listener] + ([client] if client else []), [], [], self._tick)
            except (OSError, ValueError):
                return
            out = b""
            if listener in ready:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self._drop_client()
                self._client = conn
            if client is not None and client in ready:
                try:
                    data = client.recv(4096)
                except OSError:
                    data = b""
                if not data:  # the driver closed the port
                    self._drop_client()
                else:
                    with self._lock:
                        out += self.sim.receive(data) or b""
            if poll is not None:
                with self._lock:
                    out += poll(time.monotonic()) or b""
            if out and self._client is not None:
                try:
                    self._client.sendall(out)
                except OSError:
                    self._drop_client()

    def _close_wire(self) -> None:
        self._drop_client()
        if self._listener is not None:
            self._listener.close()
            self._listener = None


def control_request(path: str, request: dict, *, timeout: float = 2.0) -> dict:
    """Send one request to a simulator's control socket and return its reply."""
    return jsonline.request(path, request, timeout=timeout, peer="the simulator")


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", help="also make this symlink to the pty (a stable name for configs)")
    parser.add_argument("--tcp", metavar="[HOST:]PORT",
                        help="serve on TCP instead of a pty, as a serial-to-Ethernet converter would "
                             "(line 1 is then socket://HOST:PORT; port 0 picks a free one)")
    parser.add_argument("--control", help="control socket path (default: a temp file, printed on line 2)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every frame")


def serve_main(build: Callable[[argparse.Namespace], Any], parser: argparse.ArgumentParser,
               argv: list[str] | None = None) -> int:
    """Run a simulator until SIGTERM/SIGINT; print the pty path, then the control socket."""
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    tcp = _tcp_address(parser, args.tcp) if args.tcp else None
    if tcp and args.link:
        parser.error("--link names a pty; with --tcp the driver opens the socket:// URL printed on line 1")
    sim = build(args)
    control = args.control or os.path.join(tempfile.mkdtemp(prefix="sim-"), "control.sock")
    server = TcpServer(sim, host=tcp[0], port=tcp[1], control=control) if tcp else \
        PtyServer(sim, link=args.link, control=control)
    server.start()
    print(server.path, flush=True)
    print(control, flush=True)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    while not done.is_set() and not server._stop.is_set():
        done.wait(0.2)
    server.stop()
    return 0


def _tcp_address(parser: argparse.ArgumentParser, value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        parser.error(f"--tcp {value}: give [HOST:]PORT, e.g. 127.0.0.1:7001 (0: a free port)")
    return host or "127.0.0.1", int(port)


def main(argv: list[str] | None = None) -> int:
    """``python -m drivers.simserve 'sim://NAME?opt=value'``: serve the simulator a
    ``sim://`` URL names as its own process (what ``make run`` does with the sim://
    URLs of the config, so drivers and simulators talk over a real pty)."""
    from drivers.transport import parse_url, simulator_from_params

    parser = argparse.ArgumentParser(prog="python -m drivers.simserve", description=main.__doc__)
    parser.add_argument("url", help="a sim:// URL, as in the configuration file")

    def build(args: argparse.Namespace) -> Any:
        parsed = parse_url(args.url)
        if parsed.scheme != "sim":
            parser.error(f"{args.url} is not a sim:// URL")
        own = {"baud", "baudrate", "timeout"}
        return simulator_from_params(parsed.target, {k: v for k, v in parsed.params.items() if k not in own})

    return serve_main(build, parser, argv)


if __name__ == "__main__":
    sys.exit(main())
