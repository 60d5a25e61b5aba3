"""``python -m sync.agent [--config PATH] [--once]``: the sync agent in the foreground.

It opens the appliance store (``[store] path``) itself, so it runs only where no
daemon owns that store (see :mod:`sync.agent`: daemons run the Agent as a thread).
Its heartbeat carries what it owns or shares (:mod:`sync.agent.health`: the store and
its outbox, the printer as cupsd sees it), never a device another daemon owns.
"""
from __future__ import annotations

import argparse
import signal
import sys

from appliance import restart, server_config, systemd
from appliance.server_config import load
from appliance.errors import ApplianceError
from appliance.keys import DeviceKey
from appliance.journal import process_fields
from appliance.privacy import setup_logging
from sync.agent.agent import Agent
from sync.agent.health import standalone_health
from sync.errors import AgentError, SyncError
from sync.store import Store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sync.agent", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="the appliance configuration file")
    parser.add_argument("--once", action="store_true", help="one round (enrol, push, pull, heartbeat), then exit")
    args = parser.parse_args(argv)
    try:
        config = load(args.config, check_devices=False)
    except ApplianceError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(config.appliance.log_level)
    process_fields(device=config.appliance.id)  # every line: journalctl KIOSK_DEVICE=…
    if not config.sync.enabled:
        print("[sync] enabled = false: nothing to do", file=sys.stderr)
        return 0
    try:
        key = DeviceKey.load_or_create(config.data_dir, config.appliance.id)
        store = Store(config.store_path)
    except (ApplianceError, SyncError) as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        with Agent.from_config(store, config, key=key, health=standalone_health(store, config),
                               source="agent") as agent:
            if args.once:
                try:
                    done = agent.run_once()
                except AgentError as exc:
                    print(exc, file=sys.stderr)
                    return 1
                print(f"pushed {done.pushed} event(s) ({done.quarantined} quarantined), "
                      f"pulled {done.pulled} change(s)")
                return 0
            signal.signal(signal.SIGTERM, lambda *_: agent.stop(timeout=0))
            watchdog = systemd.Watchdog(status=f"syncing with {config.sync.server_url}",
                                        stuck_after=_stuck_after(config))
            agent.step = _following(agent, server_config.of(config), watchdog.watched(agent.step))
            watchdog.ready()
            try:
                agent.run()
            except KeyboardInterrupt:
                pass
            finally:
                watchdog.stop()
            return 0
    finally:
        store.close()
        if restart.requested():
            restart.reexec()


def _following(agent: Agent, effective: server_config.Effective, step):
    """A round (WATCHDOG=1 only while none hangs), then: did the server's configuration
    records change what this agent runs? Then stop after this round and run again."""
    def run() -> float:
        delay = step()
        changed = effective.changed()
        if changed is not None:
            keys = server_config.differences(effective.config, changed.config)
            restart.request(f"the server's configuration changed {', '.join(keys)}")
            agent.stop(timeout=0)
        return delay
    return run


def _stuck_after(config) -> float:
    """A round is a few requests of at most ``[sync] timeout_s`` each (enrol, pushes of
    ``batch_size`` events, pulls, heartbeat): longer than ten of them is a hang."""
    return max(60.0, 10.0 * config.sync.timeout_s)


if __name__ == "__main__":
    sys.exit(main())
