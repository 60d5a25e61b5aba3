"""A process that takes certificate serials as fast as it can, printing each number
once its transaction has returned; the crash test SIGKILLs it mid-stream.

    python -m tests.forms.serial_taker DB_PATH
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone

from appliance.keys import DeviceKey
from forms.register import Register, migrations
from sync.store import Store


def main(path: str) -> None:
    store = Store(path, [migrations])
    register = Register(store, "demo-kiosk-01", pdf_dir=path + ".pdfs")
    key = DeviceKey.from_seed("demo-kiosk-01", bytes(32))
    while True:
        stamp = register.issue(key, template="residence_proof", lang="zh", canonical=b"{}",
                               issued_at=datetime.now(timezone.utc))
        print(stamp.number, flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
