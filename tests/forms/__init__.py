"""Tests of forms/: templates, rendering, signing, verifying, the register."""
