"""Lock-control boards on an RS-485 bus (shared/protocols/lockboard.md): both frame
families, "kerong" (STX…ETX, sum) and "bcc" (8A/80, XOR).

Layers: ``codec`` (pure bytes ⇄ messages and framers) and ``status`` (door states
under a board's polarity) → ``buslink`` (one transaction over
:class:`drivers.link.SerialLink`) and ``turns`` (unlocks before polling) →
``device`` (:class:`LockBus`) → ``doctor`` (``detect``, ``health``) and
``__main__`` (the diagnostic CLI). ``sim`` is a bus of simulated boards speaking
the same wire protocol, with fault modes.

Typical use::

    bus = LockBus("serial:///dev/kiosk-lockbus0", "kerong", [BoardSpec(0, 16), BoardSpec(1, 16)],
                  timeout=0.15, name="bus0")
    result = bus.unlock(0, 3)            # sent once; result.outcome is "opened" or "unknown"
    states = bus.status_all()            # {address: BoardStatus}; offline boards say so
"""
from drivers.lockboard.codec import BCC, FAMILIES, KERONG, Family, family
from drivers.lockboard.device import BoardSpec, LockBus, Outcome, ScanResult, UnlockResult
from drivers.lockboard.doctor import detect, health
from drivers.lockboard.errors import (LockboardConfigError, LockboardError, LockboardFrameError, LockBusGone,
                                      LockBusUnavailable)
from drivers.lockboard.status import BoardStatus, DoorState, DoorStatus

__all__ = [
    "BCC", "FAMILIES", "KERONG", "Family", "family",
    "BoardSpec", "LockBus", "Outcome", "ScanResult", "UnlockResult",
    "detect", "health",
    "LockboardConfigError", "LockboardError", "LockboardFrameError", "LockBusGone", "LockBusUnavailable",
    "BoardStatus", "DoorState", "DoorStatus",
]
