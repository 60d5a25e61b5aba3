"""Resident ID card readers: the SAM serial protocol (``codec``, ``device``, ``sim``)
and PC/SC smart-card readers (``pcsc``) for staff cards, social security cards and
NFC tags. See shared/protocols/idcard.md."""
