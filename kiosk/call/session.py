"""One video call from the kiosk, in plain asyncio (no Qt: the call screen only shows
its state and forwards taps).

::

    idle ─▶ placing ─▶ queued ─▶ connecting ─▶ in_call ⇄ reconnecting ─▶ ended
                        │  ▲         │                                   ▲
                        ▼  │         └──────────────────────────────────┘
              unanswered / declined ─▶ callback_sent      (failed: the server is gone)

The kiosk makes the WebRTC offer: aiortc gathers every ICE candidate inside
``setLocalDescription`` (it does not trickle), so the offer goes out complete, while
the resident is still in the queue; the staff's browser answers once it takes the
call. The signaling socket pings every second; a silent or closed socket is opened
again with the same token for ``reconnect_s`` (the server keeps the call that long).
Media that stops (no remote video frame for ``stall_s``) is renegotiated with a new
offer; the other side's console dropping is heard from the server (``peer_lost``) at
once. A call longer than ``time_limit_s`` is hung up.

The media's devices (the camera :func:`kiosk.call.media.open_media` started) are
released as soon as the call can no longer use them: when nobody answered (the
call-back form needs no camera), when it ended, and at the latest by :meth:`close`;
a second call opens them afresh.
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from enum import Enum

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from kiosk.call.api import VideoApi
from kiosk.call.errors import CallbackRefused, CallError

log = logging.getLogger(__name__)


class CallState(str, Enum):
    IDLE = "idle"
    PLACING = "placing"
    QUEUED = "queued"
    CONNECTING = "connecting"
    IN_CALL = "in_call"
    RECONNECTING = "reconnecting"
    UNANSWERED = "unanswered"
    DECLINED = "declined"
    CALLBACK_SENT = "callback_sent"
    ENDED = "ended"
    FAILED = "failed"


S = CallState
TRANSITIONS: dict[CallState, frozenset[CallState]] = {
    S.IDLE: frozenset({S.PLACING}),
    S.PLACING: frozenset({S.QUEUED, S.FAILED, S.ENDED}),
    S.QUEUED: frozenset({S.CONNECTING, S.UNANSWERED, S.DECLINED, S.CALLBACK_SENT, S.ENDED, S.FAILED}),
    S.CONNECTING: frozenset({S.IN_CALL, S.RECONNECTING, S.ENDED, S.FAILED}),
    S.IN_CALL: frozenset({S.RECONNECTING, S.ENDED, S.FAILED}),
    S.RECONNECTING: frozenset({S.IN_CALL, S.ENDED, S.FAILED}),
    S.UNANSWERED: frozenset({S.CALLBACK_SENT, S.ENDED}),
    S.DECLINED: frozenset({S.CALLBACK_SENT, S.ENDED}),
    S.CALLBACK_SENT: frozenset(),
    S.ENDED: frozenset(),
    S.FAILED: frozenset(),
}
FINAL = frozenset({S.CALLBACK_SENT, S.ENDED, S.FAILED})
SAY_ONCE_S = 3.0  # how long a hang-up without a socket waits for one of its own
CALLBACK_OFFERED = frozenset({S.UNANSWERED, S.DECLINED})


class CallSession:
    def __init__(self, api: VideoApi, video, audio, *, time_limit_s: float = 1200, reconnect_s: float = 10,
                 stall_s: float = 3.0, silent_s: float = 4.0, closers: list[Callable[[], None]] | None = None) -> None:
        self.api, self.video, self.audio = api, video, audio
        self.closers = list(closers or [])  # what releases the devices behind the tracks (camera.stop)
        self.time_limit_s, self.reconnect_s, self.stall_s, self.silent_s = time_limit_s, reconnect_s, stall_s, silent_s
        self.state = S.IDLE
        self.call_id: str | None = None
        self.department: dict = {}
        self.position = 0
        self.wait_s = 0
        self.staff_online = 0
        self.staff_name = ""
        self.end_reason = ""
        self.peer_lost = False  # the staff's console dropped; the server waits for it
        self.recording = False
        self.frames = {"video": 0, "audio": 0}
        self.latest_video = None  # the last remote av.VideoFrame (the screen shows it)
        self.first_video_at: float | None = None  # time.time() of the first remote picture (bench)
        self.connected_at: float | None = None
        self.ended_at: float | None = None
        self.reconnections = 0  # signaling sockets opened again
        self.renegotiations = 0  # new offers after media stalled
        self.listeners: list[Callable[[CallSession], None]] = []
        self.pc: RTCPeerConnection | None = None
        self._ws = None
        self._token = ""
        self._tasks: list[asyncio.Task] = []
        # one peer connection made or closed at a time: closing one while its offer still
        # gathers candidates leaves the sockets that gathering opens afterwards
        self._media = asyncio.Lock()
        self._closing: set[asyncio.Task] = set()  # peer connections being closed (see _close_pc)
        self._last_video = 0.0
        self._stalled_since: float | None = None

    # -- state ------------------------------------------------------------------------
    def set_state(self, state: CallState, reason: str = "") -> None:
        if state == self.state:
            return
        if state not in TRANSITIONS[self.state]:
            log.warning("call %s: no transition %s -> %s", self.call_id, self.state.value, state.value)
            return
        log.info("call %s: %s -> %s %s", self.call_id, self.state.value, state.value, reason)
        self.state = state
        if reason:
            self.end_reason = reason
        if state == S.IN_CALL and self.connected_at is None:
            self.connected_at = time.monotonic()
        if state in FINAL and self.ended_at is None:
            self.ended_at = time.monotonic()
        self.changed()

    def changed(self) -> None:
        for listener in list(self.listeners):
            try:
                listener(self)
            except Exception:
                log.exception("call listener failed")

    # -- what the screen asks for --------------------------------------------------------
    async def start(self, department: str, context: dict | None = None) -> None:
        """Join the department's queue and get the offer ready. Raises :class:`CallError`
        (its ``resident`` text is for the screen) when the call cannot be placed."""
        self.set_state(S.PLACING)
        try:
            placed = await self.api.place(department, context or {})
        except CallError:
            self.set_state(S.FAILED, "unreachable")
            raise
        self.call_id, self._token = placed["call_id"], placed["token"]
        self.department = placed["department"]
        self.recording = bool(self.department.get("recording"))
        self.position, self.wait_s = placed.get("position", 1), placed.get("wait_s", 0)
        self.set_state(S.QUEUED)
        await self._new_offer(send=False)
        self._tasks = [asyncio.create_task(self._signaling(), name="call-signaling"),
                       asyncio.create_task(self._watch(), name="call-watch")]

    async def hang_up(self, reason: str = "hangup") -> None:
        if self.state in FINAL:
            return
        message = {"type": "hangup", "reason": reason}
        if not await self._send(message) and self._token:
            # no signaling socket open (hung up while the offer was still being made, or
            # while it reconnects): say it on a socket of its own, or the server keeps
            # ringing the department for nobody
            await self._say_once(message)
        await self._finish(S.ENDED if self.state not in CALLBACK_OFFERED else S.ENDED, reason)

    async def request_callback(self, phone: str) -> str:
        """Leave a phone number for the department to call back: a case on the server."""
        if self.state not in (*CALLBACK_OFFERED, S.QUEUED) or self.call_id is None:
            raise CallbackRefused("现在不能登记回电。/ A call-back cannot be left now.", f"state {self.state.value}")
        case_id = await self.api.callback(self.call_id, phone)
        await self._finish(S.CALLBACK_SENT, "callback")
        return case_id

    async def close(self) -> None:
        if self.state not in FINAL:
            await self.hang_up()
        await self._finish(self.state, self.end_reason)
        await self.release_media()
        if self._closing:  # a close whose caller was cancelled: its sockets go now, not at exit
            await asyncio.wait(set(self._closing), timeout=8)
        signaling = [t for t in self._tasks if t.get_name() == "call-signaling" and not t.done()]
        if signaling:
            done, _ = await asyncio.wait(signaling, timeout=8)
            for task in signaling:
                if task not in done:
                    task.cancel()

    async def release_media(self) -> None:
        """Stop the devices behind the tracks (once; each closer off the loop: stopping a
        camera joins its grabber thread). A closer that fails is logged: the next one runs."""
        closers, self.closers = self.closers, []
        for closer in closers:
            try:
                await asyncio.to_thread(closer)
            except Exception:
                log.exception("call %s: releasing the media", self.call_id)

    @property
    def in_call_s(self) -> float:
        if not self.connected_at:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.connected_at

    # -- signaling ------------------------------------------------------------------------
    async def _send(self, message: dict) -> bool:
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(json.dumps(message))
            return True
        except Exception:  # the socket is going; the signaling loop reconnects
            return False

    async def _say_once(self, message: dict) -> bool:
        """Open the call's signaling socket just to send ``message``; False when it cannot."""
        from websockets.asyncio.client import connect

        try:
            async with connect(self.api.socket_url(f"/video/ws/kiosk?token={self._token}"),
                               open_timeout=SAY_ONCE_S, ping_interval=None, close_timeout=1) as ws:
                await ws.send(json.dumps(message))
            return True
        except Exception as exc:  # the server is away: it ends the call itself (kiosk_lost)
            log.info("call %s: could not say %s: %r", self.call_id, message.get("type"), exc)
            return False

    async def _signaling(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        lost_since: float | None = None
        first = True
        while self.state not in FINAL and self.state not in CALLBACK_OFFERED:
            try:
                async with connect(self.api.socket_url(f"/video/ws/kiosk?token={self._token}"),
                                   open_timeout=5, ping_interval=None, close_timeout=1) as ws:
                    if self.state in FINAL:  # ended while the socket was opening
                        return
                    self._ws = ws
                    if not first:
                        self.reconnections += 1
                    lost_since = None
                    if self.pc is not None and self.pc.localDescription and (
                            first or self.state in (S.QUEUED, S.CONNECTING)):
                        await ws.send(json.dumps({"type": "offer", "sdp": self.pc.localDescription.sdp}))
                    first = False
                    if self.state == S.RECONNECTING and self._stalled_since is None:
                        self.set_state(S.IN_CALL)
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except InvalidStatus as exc:
                log.warning("call %s: signaling refused: %s", self.call_id, exc)
            except Exception as exc:  # OSError, ConnectionClosed, TimeoutError …
                log.info("call %s: signaling dropped: %r", self.call_id, exc)
            finally:
                self._ws = None
            if self.state in FINAL or self.state in CALLBACK_OFFERED:
                return
            lost_since = lost_since or time.monotonic()
            if self.state == S.IN_CALL:
                self.set_state(S.RECONNECTING, "")
            if time.monotonic() - lost_since > self.reconnect_s:
                await self._finish(S.FAILED, "server_lost")
                return
            await asyncio.sleep(0.5)

    async def _read(self, ws) -> None:
        pinger = asyncio.create_task(self._ping(ws))
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), self.silent_s)
                except asyncio.TimeoutError:
                    log.info("call %s: signaling silent for %.0f s", self.call_id, self.silent_s)
                    return
                await self._handle(json.loads(raw))
                if self.state in FINAL or self.state in CALLBACK_OFFERED:
                    return
        finally:
            pinger.cancel()

    async def _ping(self, ws) -> None:
        while True:
            await asyncio.sleep(1.0)
            await ws.send('{"type":"ping"}')

    async def _handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "queued" and self.state == S.QUEUED:
            self.position, self.wait_s = message["position"], message["wait_s"]
            self.staff_online = message.get("staff_online", 0)
            self.changed()
        elif kind == "answered":
            self.staff_name = message.get("staff", "")
            if self.state == S.QUEUED:
                self.set_state(S.CONNECTING)
        elif kind == "answer":
            if self.state == S.QUEUED:
                self.set_state(S.CONNECTING)
            if self.pc is not None and self.pc.signalingState == "have-local-offer":
                await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "answer"))
        elif kind in ("unanswered", "declined"):
            await self._finish(S.UNANSWERED if kind == "unanswered" else S.DECLINED, kind, close_media=True)
        elif kind == "ended":
            await self._finish(S.ENDED, message.get("reason", "ended"))
        elif kind in ("peer_lost", "peer_back"):
            self.peer_lost = kind == "peer_lost"
            self.changed()
            if kind == "peer_back" and self.state in (S.IN_CALL, S.RECONNECTING, S.CONNECTING):
                # the console may be a new page with no peer connection: offer afresh
                self.renegotiations += 1
                self._last_video = time.monotonic()
                await self._new_offer()
        elif kind == "error":
            log.warning("call %s: server says %s", self.call_id, message.get("message"))

    # -- media --------------------------------------------------------------------------
    async def _new_offer(self, *, send: bool = True) -> None:
        async with self._media:
            if self.state in FINAL:
                return
            old, self.pc = self.pc, RTCPeerConnection()
            if old is not None:
                await self._close_pc(old)
            pc = self.pc
            pc.addTrack(self.video)
            pc.addTrack(self.audio)

            @pc.on("track")
            def _track(track) -> None:
                self._tasks.append(asyncio.create_task(self._consume(track, pc)))

            await pc.setLocalDescription(await pc.createOffer())  # gathers every candidate first
        if send:
            await self._send({"type": "offer", "sdp": pc.localDescription.sdp})

    async def _close_pc(self, pc: RTCPeerConnection) -> None:
        """Close ``pc`` to the end even when the task waiting for it is cancelled: a close
        cut short stops the media but leaves its ICE sockets open, one set per call."""
        closing = asyncio.ensure_future(pc.close())
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        await asyncio.shield(closing)

    async def _consume(self, track, pc: RTCPeerConnection) -> None:
        while pc is self.pc:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            self.frames[track.kind] = self.frames.get(track.kind, 0) + 1
            if track.kind == "video":
                self.latest_video = frame
                if self.first_video_at is None:
                    self.first_video_at = time.time()
                self._last_video = time.monotonic()
                self._stalled_since = None
                if self.state in (S.CONNECTING, S.RECONNECTING) and self._ws is not None:
                    self.set_state(S.IN_CALL)

    async def _watch(self) -> None:
        """The time limit, and media that stopped arriving."""
        while self.state not in FINAL and self.state not in CALLBACK_OFFERED:
            await asyncio.sleep(0.25)
            now = time.monotonic()
            if self.connected_at and now - self.connected_at > self.time_limit_s:
                await self.hang_up("time_limit")
                return
            if self.state in (S.IN_CALL, S.RECONNECTING) and self._last_video and now - self._last_video > self.stall_s:
                if self._stalled_since is None:
                    self._stalled_since = now
                    self.set_state(S.RECONNECTING)
                    if self._ws is not None:
                        self.renegotiations += 1
                        self._last_video = now  # give the new connection stall_s to bring frames
                        await self._new_offer()
                elif now - self._stalled_since > self.reconnect_s:
                    await self.hang_up("media_lost")
                    return

    async def _finish(self, state: CallState, reason: str, *, close_media: bool = True) -> None:
        self.set_state(state, reason)
        if close_media:
            # after an offer still gathering, not in its middle; and after another _finish
            # still closing (the time limit's, while the server's "ended" comes in): the
            # tasks cancelled below include the one that called it
            async with self._media:
                pc, self.pc = self.pc, None
                if pc is not None:
                    await self._close_pc(pc)
        if close_media and (self.state in FINAL or self.state in CALLBACK_OFFERED):
            await self.release_media()  # the camera is free for the next resident now
        if self.state in FINAL:
            ws, self._ws = self._ws, None
            if ws is not None:
                with contextlib.suppress(Exception):
                    await ws.close()
            # the signaling task is not cancelled: cut off inside websockets' opening
            # handshake it would leave its socket open; it sees the final state and
            # ends by itself (close() waits for it)
            current = asyncio.current_task()
            for task in self._tasks:
                if task is not current and not task.done() and task.get_name() != "call-signaling":
                    task.cancel()
