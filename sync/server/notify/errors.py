"""Errors of the notifications feature::

    NotifyError                 base
    ├── NotifyConfigError       a SYNC_NOTIFY_* / SYNC_PUBLIC_URL variable is wrong: names it
    └── DeliveryFailed          one attempt to hand a message to the gateway failed;
                                the delivery loop retries it with backoff

A DeliveryFailed message names the gateway and what it said, never the phone number
or the text (they are personal).
"""
from __future__ import annotations


class NotifyError(Exception):
    pass


class NotifyConfigError(NotifyError):
    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem} (see README, \"Residents' notifications\")")


class DeliveryFailed(NotifyError):
    pass
