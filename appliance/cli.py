"""What every command-line entry point of the appliance shares: ``--config``, the
server's configuration records applied over the file, and stopping with one line
(exit status 2) on a mistake in the file."""
from __future__ import annotations

import argparse
import sys
from typing import Callable

from appliance import config as config_module
from appliance.errors import ConfigError


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH",
                        help=f"the appliance's TOML file (default: ${config_module.ENV_VAR}, "
                             "/etc/kiosk/appliance.toml, then assets/appliance.toml)")


def load_or_exit(path: str | None, *, check_devices: bool = True) -> config_module.Config:
    """The file with the server's configuration records over it (:mod:`appliance.server_config`)."""
    from appliance import server_config

    try:
        return server_config.load(path, check_devices=check_devices)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def main_guard(main: Callable[[list[str] | None], int]) -> Callable[[list[str] | None], int]:
    """Turn a Ctrl-C into a quiet exit status 130 instead of a traceback."""
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except KeyboardInterrupt:
            return 130
    return wrapped
