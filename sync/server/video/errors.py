"""The video feature's errors; each says what to do next.

    VideoError
    ├── UnknownDepartment     no such department key (add it: python -m sync.server department add)
    ├── BadDepartment         a department's key, name or timeout is malformed
    ├── CallNotFound          no such call, or not this kiosk's / department's
    ├── CallStateError        the call is not in a state that allows this (already taken, ended …)
    ├── BadPhoneNumber        a call-back number that is no phone number
    ├── BadToken              a signaling token that is malformed, forged, expired or for another call
    ├── NotRecorded           a recording for a call that is not recorded (its department does not
    │                         record, it was never answered, or it ended too long ago)
    ├── BadRecording          a recording's piece that is empty, too large, not WebM, or
    │                         different from the piece already received under its number
    └── RecordingConfigError  SYNC_RECORDING_DAYS is not a whole number of days (the server stops)
"""
from __future__ import annotations


class VideoError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class UnknownDepartment(VideoError):
    status = 404


class BadDepartment(VideoError):
    status = 422


class CallNotFound(VideoError):
    status = 404


class CallStateError(VideoError):
    status = 409


class BadPhoneNumber(VideoError):
    status = 422


class BadToken(VideoError):
    status = 401


class NotRecorded(VideoError):
    status = 409


class BadRecording(VideoError):
    status = 422


class RecordingConfigError(VideoError):
    status = 500
