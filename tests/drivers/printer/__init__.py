"""Tests of drivers.printer against a private cupsd."""
