"""Tests of kiosk/."""
