"""Camera URLs."""
import pytest

from drivers.camera import CameraConfigError, parse_camera_url


@pytest.mark.parametrize("url,kind,index,path,real", [
    ("camera://0", "device", 0, "", True),
    ("camera://2?width=1280&height=720&fps=15", "device", 2, "", True),
    ("camera:///dev/v4l/by-id/usb-cam-video-index0", "device", None, "/dev/v4l/by-id/usb-cam-video-index0", True),
    ("file:///srv/demo/a%20b.mp4?loop=1", "file", None, "/srv/demo/a b.mp4", False),
    ("synthetic://", "synthetic", None, "", False),
    ("synthetic://?width=320&height=240&fps=30&pattern=qr&text=HI", "synthetic", None, "", False),
])
def test_urls_parse(url, kind, index, path, real):
    parsed = parse_camera_url(url)
    assert (parsed.kind, parsed.index, parsed.path, parsed.is_real_camera) == (kind, index, path, real)


def test_options_are_typed():
    parsed = parse_camera_url("camera://1?width=1280&height=720&fps=7.5")
    assert (parsed.width, parsed.height, parsed.fps, parsed.device_path) == (1280, 720, 7.5, "/dev/video1")
    assert parse_camera_url("file:///x.mp4?loop=1").loop and not parse_camera_url("file:///x.mp4").loop


@pytest.mark.parametrize("url,says", [
    ("", "empty"),
    ("webcam://0", "unknown camera source"),
    ("camera://front", "not a number"),
    ("camera://", "no camera index"),
    ("camera://0?widht=640", "unknown option widht"),
    ("camera://0?width=wide", "not a number"),
    ("camera://0?fps=0", "out of range"),
    ("file://relative/x.mp4", "not an absolute"),
    ("file:///x.mp4?loop=maybe", "yes/no"),
    ("synthetic://?pattern=plaid", "pattern"),
])
def test_bad_urls_name_the_problem(url, says):
    with pytest.raises(CameraConfigError) as info:
        parse_camera_url(url)
    assert says in str(info.value)
