"""The maintainer's face check::

    python -m kiosk.identity verify --reference A.jpg (--live B.jpg | --camera URL) [--json]
    python -m kiosk.identity models [--json]

``verify`` compares the face in A.jpg with B.jpg (similarity only: a still picture
cannot show liveness), or with the person in front of the camera URL, who is asked
to turn their head or blink (``[identity] challenges``; prompts on stderr). It
prints the decision, score and timings; the exit status is 0 only for a match (1:
no match or not live, 2: usage or a picture without a face, 3: models or camera
unusable). ``models`` checks the face models' and the Haar eye cascades' SHA-256
and prints where they are.

Pictures are read into memory; nothing is written.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_MATCH, EXIT_NO_MATCH, EXIT_USAGE, EXIT_BROKEN = 0, 1, 2, 3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk.identity", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="configuration file (default: see README)")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="compare a reference photo with a still picture or a live camera")
    verify.add_argument("--reference", required=True, help="the reference photo (JPEG/PNG/BMP)")
    live = verify.add_mutually_exclusive_group(required=True)
    live.add_argument("--live", help="a still picture of the person (no liveness check)")
    live.add_argument("--camera", help="a camera URL: camera://0, file:///path.mp4, synthetic://")
    verify.add_argument("--threshold", type=float, help="override [identity] threshold")
    verify.add_argument("--json", action="store_true")
    models = commands.add_parser("models", help="check the face models' and eye cascades' SHA-256 and show where "
                                                "they are")
    models.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from appliance.config import load
    from appliance.errors import ConfigError
    from kiosk.identity.errors import FeedError, IdentityError, ModelError

    try:
        settings = load(args.config, check_devices=False).identity
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        if args.command == "models":
            return _models(settings, args)
        return _verify(settings, args)
    except (ModelError, FeedError) as exc:
        _error(exc)
        return EXIT_BROKEN
    except IdentityError as exc:
        _error(exc)
        return EXIT_USAGE


def _error(exc) -> None:
    print(f"error: {exc.message}", file=sys.stderr)
    if exc.hint:
        print(f"fix: {exc.hint}", file=sys.stderr)


def _models(settings, args) -> int:
    from kiosk.identity.eyes import CASCADES, check_cascades
    from kiosk.identity.models import MODELS, check_models

    paths = check_models(settings.models_dir)
    cascades = check_cascades()
    if args.json:
        print(json.dumps({**paths.as_dict(), **{role: str(path) for role, path in cascades.items()},
                          "sha256": {m.role: m.sha256 for m in (*MODELS, *CASCADES)}}))
    else:
        for model in MODELS:
            print(f"{model.role}: {getattr(paths, model.role)}  sha256 ok  ({model.licence})")
        for cascade in CASCADES:
            print(f"{cascade.role}: {cascades[cascade.role]}  sha256 ok  ({cascade.licence})")
    return 0


def _read(path: str) -> bytes:
    from kiosk.identity.errors import BadReference

    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadReference(f"cannot read {path}: {exc.strerror}") from None


def _verify(settings, args) -> int:
    from kiosk.identity.faces import FaceEngine
    from kiosk.identity.reference import decode_image, reference_from_bytes
    from kiosk.identity.verify import match_still

    if args.threshold is not None:
        settings = settings.model_copy(update={"threshold": args.threshold})
    engine = FaceEngine.from_settings(settings)
    reference = reference_from_bytes(engine, _read(args.reference), "file")
    try:
        if args.live:
            image = decode_image(_read(args.live), what="live picture")
            decision = match_still(engine, reference, image, settings.threshold)
        else:
            decision = _camera(engine, settings, reference, args)
    finally:
        reference.forget()
    if args.json:
        print(json.dumps(decision.record(), ensure_ascii=False))
    else:
        score = "-" if decision.score is None else f"{decision.score:.3f}"
        print(f"{decision.verdict.value}: score {score}, threshold {decision.threshold:.3f}, "
              f"liveness {decision.liveness} — {decision.reason}")
        print("timings: " + ", ".join(f"{k} {v:.0f} ms" for k, v in decision.timings.items()))
        for attempt in decision.attempts:
            print(f"  attempt {attempt.number}: {attempt.verdict.value} ({', '.join(attempt.challenges)}) "
                  f"{attempt.reason}; {attempt.frames} frames, {attempt.resident_ms:.0f} ms")
    return EXIT_MATCH if decision.matched else EXIT_NO_MATCH


def _camera(engine, settings, reference, args):
    from drivers.camera import Camera, CameraError
    from kiosk.identity.errors import FeedError
    from kiosk.identity.feeds import CameraFeed
    from kiosk.identity.session import IdentityCheck

    def show(prompt) -> None:
        print(f"» {prompt.zh} / {prompt.en}", file=sys.stderr, flush=True)

    try:
        camera = Camera(args.camera).start()
    except CameraError as exc:
        raise FeedError(f"camera: {exc.message}", hint=exc.hint) from exc
    try:
        check = IdentityCheck(engine, settings, reference)
        return check.run(CameraFeed(camera), on_prompt=show)
    finally:
        camera.stop()


if __name__ == "__main__":
    sys.exit(main())
