"""Linking the resident's mobile number (绑定手机号), in My progress: she was identified
by her ID card and face, types her number on the keypad and confirms; the kiosk
records it with its ``phone_confirmed`` event (:mod:`kiosk.store.phones`) and the sync
agent pushes it; the server links the number to her household record, so the phone
pages show her cases once she signs in with it.

Plain Python, no Qt; :meth:`confirm` is blocking (the store is a file)::

    flow = PhoneLinkFlow(store, resident_key)
    for d in "13900139000": flow.press(d)
    flow.confirm()            # True: flow.linked == "139****9000"; False: flow.problem says why
"""
from __future__ import annotations

import logging

from kiosk.store import phones

LENGTH = 11
log = logging.getLogger("kiosk.phonelink")


class PhoneLinkFlow:
    def __init__(self, store, resident_key: str) -> None:
        self.store, self.resident_key = store, resident_key
        self.digits = ""
        self.problem = ""  # a catalogue key (progress.phone_invalid) when the number was refused
        self.linked = ""  # the number linked, masked

    def press(self, key: str) -> str:
        if key == "back":
            self.digits = self.digits[:-1]
        elif key == "clear":
            self.digits = ""
        elif len(key) == 1 and key.isdigit() and len(self.digits) < LENGTH:
            self.digits += key
        self.problem = ""
        return self.digits

    @property
    def complete(self) -> bool:
        return len(self.digits) == LENGTH

    def confirm(self) -> bool:
        """Record the link (and its event) for the resident; False, with :attr:`problem`
        set and nothing recorded, when the number is not a mobile number."""
        try:
            link = phones.confirm(self.store, self.resident_key, self.digits)
        except phones.PhoneRefused as exc:
            log.info("phone link refused: %s", exc)
            self.problem = "progress.phone_invalid"
            return False
        self.digits, self.linked = "", link.masked_phone  # the whole number is in the outbox, not here
        log.info("phone %s linked at this kiosk", link.masked_phone)
        return True

    def end_session(self) -> None:
        self.digits = self.linked = self.resident_key = ""
