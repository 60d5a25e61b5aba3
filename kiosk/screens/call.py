"""Video consultation (视频咨询): choose a department, wait in its queue (place and
estimated wait), talk face to face (the staff's picture, a big hang-up button), and
when nobody answers leave a phone number on the on-screen keypad for a call-back.
The call itself is :class:`kiosk.call.CallSession` (plain asyncio on the qasync
loop); this screen shows its state and forwards taps.

The call carries the identified resident's context (:func:`kiosk.call.context.resident_context`:
her record's key, her open cases, masked), so the server files it on her record and
the console shows what she has going on. A department that records its calls is
said so first, and the call is placed only once the resident agrees. ``[call]
enabled = false``: :meth:`CallScreen.available` says no, and the screen, reached
anyway, says the service is not offered here without asking the server."""
from __future__ import annotations

import asyncio
import logging

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.screens._journey import PHONE_GAPS, Keypad, centred, code_boxes, notice, result_panel
from kiosk.screens._journey import tall as journey_tall
from kiosk.screens.base import Screen, ScreenState, Tile
from kiosk.widgets import card, label, primary, secondary

log = logging.getLogger(__name__)
SCRATCH = "call"
PHONE_DIGITS = 11
FRAME_MS = 66  # the remote picture is redrawn ~15 times a second


_TASKS: set[asyncio.Task] = set()  # a task only the loop refers to may be collected mid-await


def spawn(coro) -> None:
    """Run ``coro`` on the app's asyncio loop (qasync); without one (the app shutting
    down) it is dropped, as the session it belonged to is."""
    try:
        loop = asyncio.get_event_loop()
    except RuntimeError:
        coro.close()
        return
    if loop.is_closed():
        coro.close()
        return
    task = loop.create_task(coro)
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


def tall(button: QWidget, theme, millimetres: int, css: str = "") -> None:
    """``button`` ``millimetres`` high on the glass (:func:`kiosk.screens._journey.tall`),
    or with ``css`` (the big hang-up button's red and text) in a style sheet of its own."""
    if not css:
        journey_tall(button, theme, millimetres)
        return
    height = theme.tall(millimetres)
    button.setStyleSheet(f"QPushButton {{ min-height: {height}px; max-height: {height}px; {css} }}")
    button.setFixedHeight(height)


class CallScreen(Screen):
    name = "call"
    domain = "call"
    tile = Tile("call.tile", "call.tile_hint", order=80, glyph="视")

    @classmethod
    def available(cls, app) -> bool:
        """Whether this kiosk offers video consultations (``[call] enabled``): home
        shows the tile only then."""
        return bool(app.config.call.enabled)

    def __init__(self, app) -> None:
        super().__init__(app)
        self._frames = QTimer(self)
        self._frames.setInterval(FRAME_MS)
        self._frames.timeout.connect(self._draw)
        self._video: QLabel | None = None
        self._still: np.ndarray | None = None  # screenshots: a fictional picture
        # the call not closed yet, held here as well as in the session's scratch: the
        # session's end empties the scratch before clear() runs, and the call must still
        # hang up and let go of the camera
        self._live = None

    # -- state in the session's scratch (the session's end drops it) -----------------------
    @property
    def data(self) -> dict:
        return self.session.scratch.setdefault(SCRATCH, {"step": "loading", "departments": [], "phone": "",
                                                         "chosen": None, "call": None, "case_id": "",
                                                         "problem": ""})

    @property
    def call(self):
        return self.data["call"]

    def enter(self, **params) -> None:
        self.data["call"] = None
        self._end_call()  # "call again": the last call lets go of its camera first
        if not self.available(self.app):
            self.data.update(step="unavailable", problem="", phone="", case_id="")
            self.refresh()
            return
        self.data.update(step="loading", problem="", phone="", case_id="")
        self.refresh()
        spawn(self._load())

    def leave(self) -> None:
        self._frames.stop()
        self._end_call()

    def clear(self) -> None:
        self._frames.stop()
        self._video = None
        self._end_call()  # the session ended mid-call (idle, the card pulled): hang up

    def _end_call(self) -> None:
        call, self._live = self._live, None
        if call is not None:
            spawn(self._close(call))

    # -- the call's plumbing ---------------------------------------------------------------
    def _api(self):
        """The signed client (blocking: it reads the device key and builds a TLS context,
        tens of milliseconds: made off the UI thread)."""
        from appliance.keys import DeviceKey
        from kiosk.call.api import VideoApi

        config = self.app.config
        return VideoApi(config.sync.server_url, DeviceKey.load_or_create(config.data_dir, config.appliance.id))

    async def _load(self) -> None:
        from kiosk.call import CallError

        api = await asyncio.to_thread(self._api)
        try:
            self.data["departments"] = await api.departments()
            self.data["step"] = "choose"
        except CallError as exc:
            self.data.update(step="problem", problem=exc.resident)
        finally:
            await api.close()
        self.refresh()

    def choose(self, department: dict) -> None:
        self.data["chosen"] = department
        self.data["step"] = "recording" if department.get("recording") else "placing"
        self.refresh()
        if self.data["step"] == "placing":
            spawn(self._place(department))

    def agree_recording(self) -> None:
        self.data["step"] = "placing"
        self.refresh()
        spawn(self._place(self.data["chosen"]))

    async def _place(self, department: dict) -> None:
        from kiosk.call import CallError, CallSession
        from kiosk.call.context import resident_context
        from kiosk.call.media import CameraTrack, ToneAudioTrack, open_media

        config, devices, number = self.app.config, self.app.devices, self.session.number
        call, closers = None, []
        try:
            # the store and the camera are files and devices: read and opened off the UI thread
            resident = self.session.resident
            context = await asyncio.to_thread(lambda: resident_context(devices.store, resident))
            if config.call.microphone == "synthetic" and devices.camera_enabled:
                camera = await asyncio.to_thread(lambda: devices.camera)  # the kiosk's own: it stays open
                video, audio = CameraTrack(camera, config.call.fps), ToneAudioTrack()
            else:
                video, audio, closers = await asyncio.to_thread(open_media, config.camera.url,
                                                                config.call.microphone, config.call.fps)
            api = await asyncio.to_thread(self._api)
            if self.session.number != number:  # the session ended meanwhile: no call for nobody
                await api.close()
                await self._release(None, closers)
                return
            call = CallSession(api, video, audio, time_limit_s=config.call.time_limit_minutes * 60,
                               reconnect_s=config.call.reconnect_seconds, closers=closers)
            closers = []  # the call releases them now
            call.listeners.append(lambda _call: self._changed())
            self.data["call"] = self._live = call
            await call.start(department["key"], context)
            if call is not self._live:  # the session ended while the call was placed: hang it up
                await self._close(call)
        except CallError as exc:
            self._problem(number, exc.resident)
            await self._release(call, closers)
        except Exception as exc:  # a device or network fault: the resident gets plain words
            log.exception("video call could not start")
            self._problem(number, self.t("cannot_start"))
            await self._release(call, closers)
            raise exc from None

    def _problem(self, number: int, text: str) -> None:
        if self.session.number == number:  # else the session it was for is gone, and its screen
            self.data.update(step="problem", problem=text)
            self.refresh()

    async def _release(self, call, closers: list) -> None:
        """A call that could not start lets go of what it opened (its camera, its client)."""
        if call is not None:
            if call is self._live:
                self._live = None
            await self._close(call)
        for closer in closers:
            await asyncio.to_thread(closer)

    def _changed(self) -> None:
        call = self.call
        if call is None or call is not self._live:
            return  # a call of an ended session still closing: nothing of it shows
        self.data["step"] = call.state.value
        self.refresh()

    def hang_up(self) -> None:
        if self.call is not None:
            spawn(self.call.hang_up())

    def want_callback(self) -> None:
        self.data.update(step="callback_form", phone="", problem="")
        self.refresh()

    def key(self, key: str) -> None:
        phone = self.data["phone"]
        if key == "clear":
            phone = ""
        elif key == "back":
            phone = phone[:-1]
        elif len(phone) < 12:
            phone += key
        self.data.update(phone=phone, problem="")
        self.refresh()

    def send_callback(self) -> None:
        spawn(self._callback(self.data["phone"]))

    async def _callback(self, phone: str) -> None:
        from kiosk.call import CallError

        try:
            self.data["case_id"] = await self.call.request_callback(phone)
            self.data["step"] = "callback_sent"
        except CallError as exc:
            self.data["problem"] = exc.resident
        self.refresh()

    async def _close(self, call) -> None:
        try:
            await call.close()
        finally:
            await call.api.close()

    def _draw(self) -> None:
        call, view = self.call, self._video
        if view is None:
            return
        image = self._still
        if call is not None and call.latest_video is not None:
            image = call.latest_video.to_ndarray(format="rgb24")
        if image is None:
            return
        height, width = image.shape[:2]
        picture = QImage(np.ascontiguousarray(image).data, width, height, 3 * width, QImage.Format.Format_RGB888)
        view.setPixmap(QPixmap.fromImage(picture).scaled(view.width(), view.height(),
                                                         Qt.AspectRatioMode.KeepAspectRatio,
                                                         Qt.TransformationMode.SmoothTransformation))

    # -- the look ---------------------------------------------------------------------------
    def render(self) -> QWidget:
        step = self.data["step"]
        self._frames.stop()
        self._video = None
        if step in ("connecting", "in_call", "reconnecting"):
            return self._in_call()
        if step in ("placing", "queued"):
            return self._queued()
        if step in ("unanswered", "declined"):
            return self._nobody()
        if step == "callback_form":
            return self._callback_form()
        if step == "callback_sent":
            return centred(result_panel(self.theme, self.t("callback_sent"),
                                        self.t("callback_sent_hint", case=self.data["case_id"]),
                                        [primary(self.t("common.home"), self.app.home, name="call-home")]))
        if step in ("ended", "failed", "problem"):
            return self._ended(step)
        if step == "unavailable":
            return centred(result_panel(self.theme, self.t("unavailable_title"), self.t("unavailable_text"),
                                        [primary(self.t("common.home"), self.app.home, name="call-home")],
                                        role="ask", name="call-unavailable"))
        if step == "recording":
            return centred(result_panel(
                self.theme, self.t("recording_title"), self.t("recording_text"),
                [primary(self.t("recording_agree"), self.agree_recording, name="call-agree"),
                 secondary(self.t("common.back"), self.enter, name="call-back")], role="ask",
                name="call-recording"))
        return self._choose()

    def _choose(self) -> QWidget:
        th = self.theme
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(th.mm(5))
        outer.addWidget(label(self.t("title"), "heading"))
        outer.addWidget(label(self.t("choose"), "muted"))
        if self.data["step"] == "loading":
            outer.addWidget(label(self.t("loading"), "value"))
        grid = QHBoxLayout()
        grid.setSpacing(th.mm(5))
        for dept in self.data["departments"]:
            name = dept["name"] if self.app.i18n.lang == "zh" else dept["name_en"]
            online = dept.get("staff_online", 0)
            button = primary(f"{name}\n{self.t('online', n=online) if online else self.t('nobody_online')}",
                             lambda d=dept: self.choose(d), name=f"call-dept-{dept['key']}")
            tall(button, th, 30)
            grid.addWidget(button)
        outer.addLayout(grid)
        outer.addWidget(label(self.t("privacy"), "muted"))
        outer.addStretch(1)
        return body

    def _queued(self) -> QWidget:
        call, th = self.call, self.theme
        dept = self.data["chosen"] or {}
        name = dept.get("name", "") if self.app.i18n.lang == "zh" else dept.get("name_en", "")
        if call is None or self.data["step"] == "placing":
            text = self.t("placing")
        elif call.position <= 1:
            text = self.t("next_in_line")
        else:
            text = self.t("position", ahead=call.position - 1, minutes=max(1, round(call.wait_s / 60)))
        hang = primary(self.t("hang_up"), self.hang_up, name="call-hang-up")  # sized by the panel
        buttons = [hang, secondary(self.t("leave_number"), self.want_callback, name="call-leave-number")]
        return centred(result_panel(th, self.t("calling", department=name), text, buttons, role="ask"))

    def _in_call(self) -> QWidget:
        call, th = self.call, self.theme
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(th.mm(4))
        who = call.staff_name if call is not None else ""
        head = QHBoxLayout()
        head.addWidget(label(self.t("talking", staff=who) if who else self.t("connecting"), "heading"), 1)
        if call is not None and call.recording:
            head.addWidget(label(self.t("recording_on"), "muted"))
        outer.addLayout(head)
        video = QLabel()
        video.setObjectName("call-remote-video")
        video.setAlignment(Qt.AlignmentFlag.AlignCenter)
        video.setFixedSize(th.mm(220), th.mm(165))
        video.setStyleSheet("background: #20262E; border-radius: 12px; color: white;")
        self._video = video
        if call is not None and (call.peer_lost or self.data["step"] == "reconnecting"):
            outer.addWidget(notice(th, self.t("reconnecting"), self.t("reconnecting_hint"), name="call-problem"))
        row = QHBoxLayout()
        row.setSpacing(th.mm(8))
        row.addWidget(video)
        side = QVBoxLayout()
        hang = primary(self.t("hang_up"), self.hang_up, name="call-hang-up")
        tall(hang, th, 40, f"background: {th.palette.error}; color: white; font-size: {th.heading}px;")
        side.addStretch(1)
        side.addWidget(hang)
        side.addWidget(label(self.t("time_limit", minutes=self.app.config.call.time_limit_minutes), "muted"))
        row.addLayout(side, 1)
        outer.addLayout(row, 1)
        self._frames.start()
        QTimer.singleShot(0, self._draw)
        return body

    def _nobody(self) -> QWidget:
        th = self.theme
        text = self.t("declined_text") if self.data["step"] == "declined" else self.t("unanswered_text")
        return centred(result_panel(th, self.t("nobody_title"), text,
                                    [primary(self.t("leave_number"), self.want_callback, name="call-leave-number"),
                                     secondary(self.t("common.home"), self.app.home, name="call-home")],
                                    role="ask"))

    def _callback_form(self) -> QWidget:
        th = self.theme
        body = QWidget()
        columns = QHBoxLayout(body)
        columns.setContentsMargins(0, 0, 0, 0)
        columns.setSpacing(th.mm(8))
        left = QVBoxLayout()
        left.setSpacing(th.mm(4))
        left.addWidget(label(self.t("callback_title"), "heading"))
        left.addWidget(label(self.t("callback_hint"), "muted"))
        typed = self.data["phone"]
        left.addWidget(code_boxes(th, typed, max(PHONE_DIGITS, len(typed)), PHONE_GAPS))
        if self.data["problem"]:
            left.addWidget(notice(th, self.t("callback_refused"), self.data["problem"], role="error",
                                  name="call-problem"))
        send = primary(self.t("callback_send"), self.send_callback, name="call-send-number")
        send.setEnabled(len(self.data["phone"]) >= 7)
        tall(send, th, 20)
        left.addWidget(send)
        left.addWidget(secondary(self.t("common.home"), self.app.home, name="call-home"))
        left.addStretch(1)
        columns.addLayout(left, 5)
        columns.addWidget(card(th, Keypad(th, self.key, clear_text=self.t("clear"), back_text=self.t("back"),
                                          prefix="call-key")), 4)
        return body

    def _ended(self, step: str) -> QWidget:
        call = self.call
        reason = call.end_reason if call is not None else ""
        if step == "problem":
            title, text = self.t("problem_title"), self.data["problem"]
        elif reason == "time_limit":
            title, text = self.t("ended_title"), self.t("ended_time_limit")
        elif step == "failed" or reason in ("kiosk_lost", "staff_lost", "media_lost", "server_lost"):
            title, text = self.t("dropped_title"), self.t("dropped_text")
        else:
            title, text = self.t("ended_title"), self.t("ended_text")
        return centred(result_panel(self.theme, title, text,
                                    [primary(self.t("common.home"), self.app.home, name="call-home"),
                                     secondary(self.t("call_again"), self.enter, name="call-again")],
                                    role="ok" if step == "ended" else "error"))

    # -- screenshots (fictional data) ----------------------------------------------------------
    @classmethod
    def states(cls) -> list[ScreenState]:
        from kiosk.call import CallSession, CallState

        depts = [{"key": k, "name": n, "name_en": e, "staff_online": o, "recording": False}
                 for k, n, e, o in (("civil_affairs", "民政", "Civil affairs", 2), ("social_security", "社保",
                                    "Social security", 1), ("family_planning", "计生", "Family planning", 0),
                                    ("veterans", "退役军人", "Veterans' affairs", 1),
                                    ("legal_aid", "法律援助", "Legal aid", 0))]

        def fake(screen: CallScreen, state: CallState, **values) -> None:
            call = CallSession(api=None, video=None, audio=None)
            call.state = state
            for key, value in values.items():
                setattr(call, key, value)
            screen.data.update(departments=depts, chosen=depts[0], call=call, step=state.value)
            if state in (CallState.IN_CALL, CallState.RECONNECTING):
                from kiosk.call.media import SyntheticVideoTrack
                screen._still = SyntheticVideoTrack(640, 480)._base
            screen.refresh()

        def choose(screen: CallScreen) -> None:
            screen.data.update(departments=depts, step="choose")
            screen.refresh()

        def form(screen: CallScreen) -> None:
            fake(screen, CallState.UNANSWERED)
            screen.data.update(step="callback_form", phone="1380013")
            screen.refresh()

        return [ScreenState("choose", choose),
                ScreenState("recording", lambda s: (s.data.update(departments=depts, chosen=depts[4],
                                                                  step="recording"), s.refresh())),
                ScreenState("queued", lambda s: fake(s, CallState.QUEUED, position=3, wait_s=420)),
                ScreenState("in_call", lambda s: fake(s, CallState.IN_CALL, staff_name="王老师")),
                ScreenState("reconnecting", lambda s: fake(s, CallState.RECONNECTING, staff_name="王老师",
                                                           peer_lost=True)),
                ScreenState("unanswered", lambda s: fake(s, CallState.UNANSWERED)),
                ScreenState("callback_form", form),
                ScreenState("callback_sent", lambda s: (fake(s, CallState.CALLBACK_SENT),
                                                        s.data.update(case_id="VC-1a2b3c4d", step="callback_sent"),
                                                        s.refresh())),
                ScreenState("ended", lambda s: fake(s, CallState.ENDED, end_reason="staff_hangup")),
                ScreenState("unavailable", lambda s: (s.data.update(step="unavailable"), s.refresh()))]
