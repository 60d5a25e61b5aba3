"""Camera diagnostics::

    python -m drivers.camera --url URL probe [--frames N] [--json]
    python -m drivers.camera --url URL snapshot OUT.png

``snapshot`` works only for ``synthetic://`` and ``file://`` sources: a picture
from a real camera is personal data and never goes to disk.
"""
from __future__ import annotations

import argparse
import json
import sys

from drivers.camera.errors import CameraError
from drivers.camera.url import parse_camera_url

REFUSED = ("snapshot refused for {url}: pictures from a real camera are personal data and are "
           "never written to disk on this appliance. Use `probe` to check the camera, or "
           "snapshot a synthetic:// or file:// source to check the picture path.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m drivers.camera", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="synthetic://", help="camera URL (default synthetic://)")
    commands = parser.add_subparsers(dest="command", required=True)
    probe_cmd = commands.add_parser("probe", help="open, grab N frames, report size and frame rate")
    probe_cmd.add_argument("--frames", type=int, default=10)
    probe_cmd.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for the frames")
    probe_cmd.add_argument("--json", action="store_true")
    snap = commands.add_parser("snapshot", help="save one frame (synthetic:// and file:// only)")
    snap.add_argument("out", help="PNG file to write")
    args = parser.parse_args(argv)
    try:
        if args.command == "probe":
            return _probe(args)
        return _snapshot(args)
    except CameraError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"fix: {exc.hint}", file=sys.stderr)
        return 1


def _probe(args: argparse.Namespace) -> int:
    from drivers.camera.probe import probe

    result = probe(args.url, frames=max(2, args.frames), timeout=args.timeout)
    print(json.dumps(result.as_dict()) if args.json else result.line())
    return 0


def _snapshot(args: argparse.Namespace) -> int:
    import cv2

    from drivers.camera.device import Camera

    if parse_camera_url(args.url).is_real_camera:
        print(REFUSED.format(url=args.url), file=sys.stderr)
        return 2
    with Camera(args.url) as camera:
        frame = camera.wait_for_next(0, timeout=5.0)
    if not cv2.imwrite(args.out, frame.image):
        print(f"error: cannot write {args.out} (use a .png or .jpg name in a writable folder)", file=sys.stderr)
        return 1
    print(f"{args.out}: {frame.image.shape[1]}x{frame.image.shape[0]} from {args.url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
