"""Tests of kiosk/identity: face verification with liveness, without a display."""
