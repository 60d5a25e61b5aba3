"""python -m drivers.camera"""
import json

import cv2

from drivers.camera.__main__ import main


def test_probe_json(capsys):
    assert main(["--url", "synthetic://?width=320&height=240&fps=60", "probe", "--frames", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # at least the frames asked for: the grabber runs on, and on a busy machine the
    # newest frame may be a later one than the fourth
    assert (report["width"], report["height"]) == (320, 240) and report["frames"] >= 4 and report["fps"] > 0


def test_probe_line(capsys):
    assert main(["--url", "synthetic://?fps=60", "probe", "--frames", "3"]) == 0
    assert "640x480" in capsys.readouterr().out


def test_probe_missing_camera(capsys):
    assert main(["--url", "camera://99", "probe"]) == 1
    err = capsys.readouterr().err
    assert "camera://99" in err and "fix:" in err


def test_snapshot_refused_for_a_real_camera(tmp_path, capsys):
    out = tmp_path / "me.png"
    assert main(["--url", "camera://0", "snapshot", str(out)]) == 2
    assert "personal data" in capsys.readouterr().err
    assert not out.exists()


def test_snapshot_of_synthetic_and_file_sources(tmp_path, video, capsys):
    out = tmp_path / "test-picture.png"
    assert main(["--url", "synthetic://?width=320&height=240&pattern=qr&text=SNAP", "snapshot", str(out)]) == 0
    assert cv2.imread(str(out)).shape == (240, 320, 3)
    out2 = tmp_path / "clip.png"
    assert main(["--url", f"file://{video}", "snapshot", str(out2)]) == 0
    assert cv2.imread(str(out2)).shape == (120, 160, 3)
