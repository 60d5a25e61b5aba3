"""The kiosk's side of a video consultation, in plain asyncio with aiortc (no Qt, so
it is tested without a display; kiosk/screens/call.py shows it).

==========  =====================================================================
``session`` :class:`CallSession`: place the call, queue, offer/answer, reconnection,
            time limit, hang-up, call-back request; its state machine
``media``   tracks from the kiosk's camera and microphone, synthetic tracks
``api``     the signed requests to the server's video API
``errors``  the error tree
==========  =====================================================================
"""
from kiosk.call.errors import CallbackRefused, CallError, CallUnavailable, MediaUnavailable
from kiosk.call.session import CallSession, CallState

__all__ = ["CallSession", "CallState", "CallError", "CallUnavailable", "CallbackRefused", "MediaUnavailable"]
