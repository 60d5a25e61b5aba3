"""Tests of the kiosk flows (plain Python, no display)."""
