"""``python -m kiosk [--config FILE] [--windowed] [--screenshot DIR]``: the kiosk app.

Qt and asyncio share the UI thread through qasync (the video call's WebRTC runs on
asyncio); device, file and network work runs on worker threads (:mod:`kiosk.jobs`).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk", description="the kiosk app (社区事务一体机)")
    parser.add_argument("--config", help="the appliance configuration file (default: KIOSK_CONFIG, "
                                         "/etc/kiosk/appliance.toml, assets/appliance.toml)")
    parser.add_argument("--windowed", action="store_true", help="a window instead of fullscreen (development)")
    parser.add_argument("--screenshot", metavar="DIR", help="render every screen state to PNG files in DIR "
                                                            "(offscreen) and exit")
    parser.add_argument("--only", metavar="SCREEN", help="with --screenshot: just this screen")
    args = parser.parse_args(argv)

    from appliance.errors import ConfigError
    from appliance.server_config import load  # the file, the server's config records over it
    from appliance.journal import process_fields
    from appliance.privacy import setup_logging

    try:
        config = load(args.config, check_devices=not args.screenshot)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(config.appliance.log_level)
    process_fields(device=config.appliance.id)  # every line: journalctl KIOSK_DEVICE=…
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    qt = QApplication.instance() or QApplication(sys.argv[:1])
    from kiosk.app import KioskApp, show_kiosk, start_watchdog

    if args.screenshot:
        from kiosk.screenshots import render_all
        window = KioskApp(config)
        written = render_all(window, args.screenshot, only=args.only)
        window.dispose()
        print(f"{len(written)} screenshots in {args.screenshot}")
        return 0

    import qasync

    loop = qasync.QEventLoop(qt)
    asyncio.set_event_loop(loop)
    window = KioskApp(config, watch_cards=True, sync=True)
    show_kiosk(window, windowed=args.windowed)
    start_watchdog(qt)
    closed = asyncio.Event()
    qt.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
    window.dispose()
    from appliance import restart
    if restart.requested():  # the server's configuration changed (kiosk.reconfigure): run again
        restart.reexec()
    return 0


if __name__ == "__main__":
    sys.exit(main())
