"""Drop-off receipts (投递回执) on the appliance's printer, where it has one.

The receipt is the ``dropoff_receipt`` certificate template of :mod:`forms`,
issued by this appliance (so its QR code verifies like any certificate) and
printed on ``[printer]``. Its register lives in its own store file
(``data_dir/locker-receipts.db``): the locker daemon's store holds the queue of
receipts to print, and a failed print is recorded there, never raised into a flow.
"""
from __future__ import annotations

import threading
from typing import Any

from appliance.config import Config

TEMPLATE = "dropoff_receipt"


class ReceiptPrinter:
    def __init__(self, config: Config) -> None:
        self.config = config
        self._office: Any = None
        self._store: Any = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._office is None:
            from forms.office import CertificateOffice
            from forms.register import migrations
            from sync.store import Store

            self._store = Store(self.config.data_dir / "locker-receipts.db", [migrations])
            self._office = CertificateOffice.from_config(self.config, self._store)
        return self._office

    def close(self) -> None:
        if self._office is not None:
            self._store.close()
            self._office = None

    def __call__(self, data: dict[str, Any]) -> None:
        from drivers.printer import Printer

        filled = {**data, "item": data.get("item") or "办事材料", "name": data.get("name") or "居民",
                  # no progress page of its own yet: the QR carries the case number, which the
                  # server's pages and the staff console look up
                  "progress_code": data.get("progress_code") or str(data.get("case_number", ""))}
        with self._lock:
            certificate = self._open().issue(TEMPLATE, filled)
        Printer(self.config.printer.url).print_pdf(certificate.pdf, title=f"receipt {data.get('case_number')}",
                                                   timeout=60)
