"""Certificates: templates as data files, rendering data → PDF bytes with an
embedded CJK font, and signing and verifying their QR codes. Never prints, never
talks to a network (printing is drivers.printer's job)."""
