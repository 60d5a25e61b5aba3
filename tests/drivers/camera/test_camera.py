"""The camera's grabber thread over synthetic and file sources, and its failures."""
import os
import tempfile
import threading
import time

import numpy as np
import pytest

from drivers.camera import (Camera, CameraConfigError, CameraEnded, CameraGone, CameraNotRunning,
                            CameraState, CameraTimeout, CameraUnavailable, health, probe)


def grabber_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.endswith("-grabber")]


def test_synthetic_frames(camera):
    cam = camera("synthetic://?width=320&height=240&fps=60").start()
    first = cam.wait_for_next(timeout=2)
    assert first.image.shape == (240, 320, 3) and first.image.dtype == np.uint8
    second = cam.wait_for_next(first.seq, timeout=2)
    assert second.seq > first.seq and second.at > first.at
    assert not np.array_equal(first.image, second.image)  # the picture moves
    with pytest.raises(ValueError):
        second.image[0, 0] = 0  # shared with every consumer: read-only
    assert cam.latest().seq >= second.seq
    seqs = [f.seq for f, _ in zip(cam.frames(timeout=2), range(15))]
    assert seqs == sorted(set(seqs))
    assert 10 < cam.fps < 90  # 60 asked; loose because test machines are shared
    report = cam.health()
    assert report.state == "ok" and "320x240" in report.detail and report.data["fps"]


def test_latest_is_none_before_the_first_frame(camera):
    cam = camera("synthetic://")
    assert cam.latest() is None
    with pytest.raises(CameraNotRunning):
        cam.wait_for_next(timeout=0.1)


def test_latest_never_blocks_while_the_grabber_is_stalled(camera):
    cam = camera("synthetic://?fps=60").start()
    cam.wait_for_next(timeout=2)
    cam.source.stall()  # the next read hangs, like a wedged USB camera
    time.sleep(0.2)
    stuck = cam.latest()
    started = time.perf_counter()
    for _ in range(1000):
        assert cam.latest() is stuck
    assert time.perf_counter() - started < 0.1
    started = time.monotonic()
    with pytest.raises(CameraTimeout) as info:
        cam.wait_for_next(stuck.seq, timeout=0.2)
    assert time.monotonic() - started < 1.0 and "synthetic://" in str(info.value)
    assert cam.health().state in ("ok", "degraded")  # answers at once too
    cam.source.resume()
    assert cam.wait_for_next(stuck.seq, timeout=2).seq > stuck.seq


def test_stop_joins_the_grabber_even_when_stalled(camera):
    before = len(grabber_threads())
    cam = camera("synthetic://?fps=60").start()
    cam.wait_for_next(timeout=2)
    assert cam.running and len(grabber_threads()) == before + 1
    cam.source.stall()
    time.sleep(0.05)
    started = time.monotonic()
    cam.stop()
    assert time.monotonic() - started < 1.0
    assert not cam.running and len(grabber_threads()) == before
    assert cam.state is CameraState.STOPPED
    cam.source.resume()
    with Camera("synthetic://?fps=60") as again:  # a context manager starts and stops too
        assert again.wait_for_next(timeout=2)
    assert len(grabber_threads()) == before


def test_video_file_plays_to_its_end(camera, video):
    cam = camera(f"file://{video}").start()
    frames = list(cam.frames(timeout=2))
    assert len(frames) == 12
    stripes = [int(np.argmax(f.image[60, :, 0] > 128)) for f in frames]  # the white stripe moves
    assert stripes == sorted(stripes) and stripes[0] < 10 < stripes[-1]
    assert cam.state is CameraState.ENDED
    with pytest.raises(CameraEnded):
        cam.wait_for_next(timeout=0.5)
    assert cam.health().state == "degraded" and "loop=1" in cam.health().fix
    cam.start()  # plays again from the start
    assert cam.wait_for_next(frames[-1].seq, timeout=2).seq > frames[-1].seq


def test_video_file_loops(camera, video):
    cam = camera(f"file://{video}?loop=1&fps=120").start()
    frames = [f for f, _ in zip(cam.frames(timeout=2), range(30))]
    assert len(frames) == 30 and frames[-1].image.shape == (120, 160, 3)
    assert cam.state is CameraState.RUNNING


def test_missing_file_is_a_clean_error_naming_the_url(tmp_path, camera):
    url = f"file://{tmp_path}/no-such.mp4"
    with pytest.raises(CameraUnavailable) as info:
        camera(url).start()
    assert url in str(info.value) and "no such file" in str(info.value)
    assert not grabber_threads()


def test_not_a_video_is_a_clean_error(tmp_path, camera):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video")
    with pytest.raises(CameraUnavailable) as info:
        camera(f"file://{junk}").start()
    assert "not a video" in str(info.value)


def test_missing_device_names_the_url_and_the_fix(camera):
    started = time.monotonic()
    with pytest.raises(CameraUnavailable) as info:
        camera("camera://99").start()
    assert time.monotonic() - started < 2
    error = info.value
    assert "camera://99" in str(error) and "/dev/video99" in str(error)
    assert "USB cable" in error.hint and "group video" in error.hint
    report = health("camera://99")
    assert report.state == "down" and report.url == "camera://99" and "group video" in report.fix


def test_bad_url_fails_at_construction():
    with pytest.raises(CameraConfigError):
        Camera("camera://0?resolution=hd")


def test_unplugged_mid_stream_reconnects_with_backoff(camera):
    cam = camera("synthetic://?fps=60", fail_after=3, backoff=(0.05, 0.2))
    states = []
    cam.on_state(lambda old, new: states.append(new))
    cam.start()
    last = cam.wait_for_next(timeout=2)
    cam.source.unplug()
    with pytest.raises(CameraGone) as info:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            last = cam.wait_for_next(last.seq, timeout=0.3)
    assert "synthetic://?fps=60" in str(info.value) and "reconnecting" in info.value.hint
    assert cam.state is CameraState.RECONNECTING
    assert cam.latest() is not None  # the last frame is still there, never blocking
    report = cam.health()
    assert report.state == "down" and report.fix
    time.sleep(0.3)  # a few reopen attempts fail meanwhile
    cam.source.replug()
    assert cam.wait_for_next(last.seq, timeout=2).seq > last.seq
    assert cam.state is CameraState.RUNNING and cam.reconnects == 1
    assert states == [CameraState.RUNNING, CameraState.RECONNECTING, CameraState.RUNNING]


def test_probe_reports_size_and_rate():
    result = probe("synthetic://?width=320&height=240&fps=60", frames=6)
    assert (result.width, result.height, result.frames) == (320, 240, 6)
    assert result.fps and result.fps > 5
    assert health("synthetic://?fps=60").state == "ok"


def test_frames_stay_in_memory(tmp_path, monkeypatch, video, camera):
    """Nothing the camera or the scanner does writes a file: not in the working
    folder, not in the temp folder."""
    from drivers.scanner import FrameScanner

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    for url in (f"file://{video}?loop=1&fps=120", "synthetic://?fps=60&pattern=qr&text=PRIVATE"):
        cam = camera(url).start()
        for _, frame in zip(range(10), cam.frames(timeout=2)):
            assert frame.image.size
        cam.stop()
    with FrameScanner.from_url("synthetic://?fps=60&pattern=qr&text=PRIVATE") as scanner:
        assert scanner.read_code(3).text == "PRIVATE"
    probe("synthetic://?fps=60", frames=3)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert not os.listdir(temp)
