"""python -m kiosk.identity verify: exit 0 only for a match."""
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from kiosk.identity.__main__ import main
from tests.support import ROOT

from .conftest import id_card_photo, jpeg


@pytest.fixture
def photos(tmp_path, astronaut, cameraman):
    # Public sample pictures, written for the CLI to read: test data, not a resident's.
    paths = {"card": tmp_path / "card.jpg", "same": tmp_path / "same.jpg", "other": tmp_path / "other.jpg"}
    paths["card"].write_bytes(id_card_photo(astronaut))
    paths["same"].write_bytes(jpeg(astronaut, 85))
    paths["other"].write_bytes(jpeg(cameraman, 85))
    return paths


def test_a_match_exits_0(photos, capsys):
    assert main(["verify", "--reference", str(photos["card"]), "--live", str(photos["same"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("match: score ") and "liveness not checked" in out and "total_ms" in out


def test_no_match_exits_1_with_json(photos, capsys):
    code = main(["verify", "--reference", str(photos["card"]), "--live", str(photos["other"]), "--json"])
    assert code == 1
    result = json.loads(capsys.readouterr().out)
    assert result["decision"] == "no_match" and result["score"] < result["threshold"]
    assert set(result["timings_ms"]) >= {"reference_ms", "live_ms", "total_ms"}


def test_a_picture_without_a_face_is_a_usage_error(photos, tmp_path, capsys):
    blank = tmp_path / "blank.png"
    blank.write_bytes(cv2.imencode(".png", np.zeros((200, 200, 3), np.uint8))[1].tobytes())
    assert main(["verify", "--reference", str(blank), "--live", str(photos["same"])]) == 2
    assert "no face" in capsys.readouterr().err


def test_a_still_video_as_the_camera_fails_liveness(photos, tmp_path, astronaut, capsys):
    """The real camera driver on a file:// source showing one still picture."""
    video = tmp_path / "still.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15, (640, 480))
    frame = np.full((480, 640, 3), 120, np.uint8)
    frame[:, 64:576] = cv2.resize(astronaut, (512, 480))
    for _ in range(15):
        writer.write(frame)
    writer.release()
    config = tmp_path / "appliance.toml"
    config.write_text("[identity]\nattempts = 1\nsettle_timeout_ms = 1000\nchallenge_timeout_ms = 1000\n")
    code = main(["--config", str(config), "verify", "--reference", str(photos["card"]),
                 "--camera", f"file://{video}?loop=1&fps=30", "--json"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    result = json.loads(captured.out)
    assert result["decision"] == "not_live" and result["liveness"] == "checked"
    assert "请向" in captured.err  # the challenge was shown


def test_models_command_checks_the_sha256():
    run = subprocess.run([sys.executable, "-m", "kiosk.identity", "models", "--json"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["sha256"]["detector"].startswith("49f000ec")
    assert result["sha256"]["eye"].startswith("71cc64fc") and result["eye"].endswith("haarcascade_eye.xml")
