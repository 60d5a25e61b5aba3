"""The kiosk's data: the ONLY place kiosk code touches SQL. One module per domain.

==================  ===================================================================
``content``         :class:`SyncedContent`: what the sync agent pulled (households,
                    subsidy records, guide items, templates, config, announcements),
                    read-only from ``<store>.sync.db``
``households``      the resident's household record (一户一档): address, living since,
                    the reference photo for the face check
``subsidy``         elderly subsidy (高龄补贴): eligibility, this year's certification,
                    payments; recording a certification (an outbox event)
``announcements``   the home screen's strip
``guide``           the service guide (the journeys' module)
``cases``           drop-offs and reported problems (the journeys' module)
==================  ===================================================================

:func:`open_store` opens the kiosk's own store file (``[store] path``) with the
migrations of the certificate register and of every module here that has a
``migrations`` (found by import: a new module adds its tables without editing this
file). The kiosk process is that file's one writer; its sync agent pushes the
outbox.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from appliance.config import Config

if TYPE_CHECKING:  # imported when a store is opened, not when home shows (sqlite_utils)
    from sync.store import Migrations, Store


def kiosk_migrations() -> list[Migrations]:
    from sync.store import Migrations

    found: list[Migrations] = []
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        migrations = getattr(loaded, "migrations", None)
        if isinstance(migrations, Migrations):
            found.append(migrations)
    return found


def open_store(config: Config) -> Store:
    from forms.register import migrations as register
    from sync.store import Store

    config.store_path.parent.mkdir(parents=True, exist_ok=True)
    return Store(config.store_path, [register, *kiosk_migrations()])
