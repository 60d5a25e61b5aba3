"""Personal data in text: ID numbers are masked wherever text leaves memory (logs,
support bundles, CLI output) as ``3701**********1234``: the first four characters
(province and city) and the last four, never the birth date or sequence."""
from __future__ import annotations

import logging
import re

# 18-character resident ID numbers (GB 11643); also 15-digit first-generation ones.
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{4})(\d{10})(\d{3}[0-9Xx])(?![0-9A-Za-z])"
                        r"|(?<![0-9A-Za-z])(\d{4})(\d{7})(\d{4})(?![0-9A-Za-z])")


def mask_id_number(number: str) -> str:
    """``11010519491231002X`` → ``1101**********002X``."""
    number = number.strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_text(text: str) -> str:
    """Mask every ID number inside free text."""
    return _ID_NUMBER.sub(lambda m: mask_id_number(m.group(0)), text)


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID numbers in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once for a process, masking ID numbers: to journald with
    structured fields under systemd, else to stderr (:mod:`appliance.journal`)."""
    from appliance.journal import handler as log_handler

    handler = log_handler()
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
