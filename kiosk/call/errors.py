"""The call client's errors; each carries a message for the resident (Chinese first)
and one for the log.

    CallError
    ├── CallUnavailable     the server cannot be reached, or refused the call (unknown
    │                       department, device not enrolled or revoked)
    ├── CallbackRefused     the call-back number was refused (not a phone number)
    └── MediaUnavailable    the camera or microphone could not be opened
"""
from __future__ import annotations


class CallError(Exception):
    def __init__(self, resident: str, detail: str = "") -> None:
        self.resident, self.detail = resident, detail or resident
        super().__init__(self.detail)


class CallUnavailable(CallError):
    pass


class CallbackRefused(CallError):
    pass


class MediaUnavailable(CallError):
    pass
