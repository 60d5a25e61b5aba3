"""The kiosk's call client (kiosk.call): its state machine, the time limit, media that
stops and is renegotiated, and what the resident reads when the server is away."""
from __future__ import annotations

import time

import pytest

from kiosk.call import CallbackRefused, CallState, CallUnavailable
from kiosk.call.session import FINAL, TRANSITIONS, CallSession
from tests.sync.server.video.support import CONTEXT, open_console, prepare, wait_for


def test_every_state_is_reachable_and_final_states_lead_nowhere():
    reached, frontier = {CallState.IDLE}, [CallState.IDLE]
    while frontier:
        for target in TRANSITIONS[frontier.pop()]:
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(CallState)
    assert all(not TRANSITIONS[state] for state in FINAL)


def test_a_refused_transition_changes_nothing():
    session = CallSession(api=None, video=None, audio=None)
    seen = []
    session.listeners.append(lambda s: seen.append(s.state))
    session.set_state(CallState.IN_CALL)  # idle cannot jump into a call
    assert session.state == CallState.IDLE and seen == []
    session.set_state(CallState.PLACING)
    assert seen == [CallState.PLACING]


def test_no_server_says_so_in_the_residents_words(kiosk_loop, kiosks):
    from tests.sync.server.video.support import Site
    from appliance.keys import DeviceKey

    class Nowhere:
        url = "http://127.0.0.1:9"  # discard: nothing listens

    session = kiosks(Site(Nowhere(), DeviceKey.generate("kiosk-nowhere")))
    with pytest.raises(CallUnavailable) as refused:
        kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    assert refused.value.resident.startswith("暂时无法连接服务中心")
    assert session.state == CallState.FAILED
    with pytest.raises(CallbackRefused):
        kiosk_loop.run(session.request_callback("13800138000"))


def test_a_call_ended_twice_at_once_closes_every_socket(kiosk_loop):
    """The time limit hangs up while the server's "ended" comes in: the second ending
    cancels the first one's task, which may be in the middle of closing the peer
    connection. The close still runs to the end: no ICE socket is left open."""
    import asyncio
    import re
    import socket

    from kiosk.call.media import SyntheticVideoTrack, ToneAudioTrack

    session = CallSession(api=None, video=SyntheticVideoTrack(), audio=ToneAudioTrack())

    async def race() -> list[int]:
        await session._new_offer(send=False)  # gathers host candidates: real UDP sockets
        ports = [int(p) for p in re.findall(r"a=candidate:\S+ \d+ udp \d+ 127\.0\.0\.1 (\d+)",
                                            session.pc.localDescription.sdp, re.I)]
        for state in (CallState.PLACING, CallState.QUEUED, CallState.CONNECTING, CallState.IN_CALL):
            session.set_state(state)
        limit = asyncio.create_task(session._finish(CallState.ENDED, "time_limit"), name="call-watch")
        session._tasks = [limit]
        await asyncio.sleep(0)  # the time limit's close has begun …
        await session._finish(CallState.ENDED, "ended")  # … when the server's "ended" comes in
        await asyncio.gather(limit, return_exceptions=True)
        await session.close()
        await asyncio.sleep(0.1)  # a closed transport lets its socket go on the next turns of the loop
        return ports

    ports = kiosk_loop.run(race())
    assert ports, "no host candidate gathered on 127.0.0.1"
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", port))  # OSError (address in use) while the call's socket lives


def test_the_time_limit_hangs_up(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    session = kiosks(site, time_limit_s=2)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    page.locator("#queue li.ringing [data-action=take]").click()
    wait_for(lambda: session.state == CallState.IN_CALL, 10, what="the call")
    wait_for(lambda: session.state == CallState.ENDED, 10, what="the time limit")
    assert session.end_reason == "time_limit" and 2 <= session.in_call_s < 4
    page.locator("#after").wait_for()
    assert "已到通话时限" in page.inner_text("#after-reason")


def test_media_that_stops_is_renegotiated(live_server, staff_page, kiosk_loop, kiosks):
    site = prepare(live_server, {"wang": "civil_affairs"})
    page = open_console(staff_page, site, "wang")
    session = kiosks(site, stall_s=2)
    kiosk_loop.run(session.start("civil_affairs", CONTEXT))
    page.locator("#queue li.ringing [data-action=take]").click()
    wait_for(lambda: session.state == CallState.IN_CALL and session.frames["video"] > 5, 10, what="the call")

    # the browser's peer connection dies (a network path gone); signaling stays up
    page.evaluate("window.videoConsole.dropMedia()")
    stopped = time.monotonic()
    wait_for(lambda: session.state == CallState.RECONNECTING, 5, what="the kiosk noticing the picture stopped")
    assert time.monotonic() - stopped < 5
    wait_for(lambda: session.state == CallState.IN_CALL, 10, what="a new peer connection")
    assert session.renegotiations == 1
    before = session.frames["video"]
    wait_for(lambda: session.frames["video"] > before + 5, 5, what="frames again")
    wait_for(lambda: (s := page.evaluate("window.videoConsole.stats()")) and s["video_frames"] > 5, 10,
             what="the console's picture again")
