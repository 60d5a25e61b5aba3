"""The service guide journey: browse by category or search, read one item (materials,
where to go, when), print its materials checklist (办事材料清单).

Plain Python, no Qt; the screen (:mod:`kiosk.screens.guide`) shows :attr:`results`
and :attr:`item` and forwards taps::

    flow = GuideFlow(guide, printing)
    flow.search("补贴")          # flow.results: the items found
    flow.open("elderly-subsidy")
    result = flow.print_checklist()   # blocking: the screen runs it off the UI thread
    if not result.printed: show(result.advice.zh)

The checklist is the ``materials_checklist`` form of :mod:`forms`, printed by
:class:`kiosk.flows.printing.CertificatePrinting` (a completed CUPS job, or the
printer's reason in plain words).
"""
from __future__ import annotations

from typing import Any

from kiosk.flows.printing import CertificatePrinting, PrintJob, PrintResult
from kiosk.store.guide import Guide, GuideItem

TEMPLATE = "materials_checklist"


class GuideFlow:
    def __init__(self, guide: Guide, printing: CertificatePrinting | None = None) -> None:
        self.guide = guide
        self.printing = printing
        self.query = ""
        self.category: str | None = None
        self.results: list[GuideItem] = list(guide.items)
        self.item: GuideItem | None = None
        self.printed: PrintResult | None = None

    # -- browsing --------------------------------------------------------------------------
    def search(self, query: str) -> list[GuideItem]:
        """Items matching ``query`` (within the chosen category, if one is)."""
        self.query = query
        found = self.guide.search(query)
        self.results = [i for i in found if self.category is None or i.category == self.category]
        return self.results

    def choose_category(self, category: str | None) -> list[GuideItem]:
        """None: every category."""
        self.category = category
        return self.search(self.query)

    def open(self, item_id: str) -> GuideItem:
        self.item = self.guide.item(item_id)
        self.printed = None
        return self.item

    def back(self) -> None:
        self.item = None
        self.printed = None

    # -- printing --------------------------------------------------------------------------
    def checklist_data(self) -> dict[str, Any]:
        if self.item is None:
            raise RuntimeError("no guide item is open")
        return self.item.checklist()

    def submit_checklist(self, lang: str = "zh") -> PrintJob:
        """Issue the checklist and queue it (the first half: quick)."""
        if self.printing is None:
            raise RuntimeError("this kiosk has no printer")
        return self.printing.submit(TEMPLATE, self.checklist_data(), lang=lang)

    def finish_checklist(self, job: PrintJob) -> PrintResult:
        """Follow the job to its end (the second half: seconds)."""
        assert self.printing is not None
        self.printed = self.printing.finish(job)
        return self.printed

    def print_checklist(self, lang: str = "zh") -> PrintResult:
        return self.finish_checklist(self.submit_checklist(lang))

    def reset(self) -> None:
        """The session ended: nothing of what the resident looked at stays."""
        self.query, self.category, self.item, self.printed = "", None, None, None
        self.results = list(self.guide.items)
