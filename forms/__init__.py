"""Certificates: templates as data files, rendering data → PDF bytes with an
embedded CJK font, and signing and verifying their QR codes. Never prints, never
talks to a network (printing is drivers.printer's job).

- :mod:`forms.schema`, :mod:`forms.templates`: what a template file may say; loading
  one (a broken file is named with its line and field)
- :mod:`forms.fields`: data → checked, canonical printed values
- :mod:`forms.stamp`, :mod:`forms.qr`: the signed code a certificate's QR holds
- :mod:`forms.render`, :mod:`forms.layout`: the one-page A4 PDF
- :mod:`forms.register`: serial numbers and certificate states in the local store
- :mod:`forms.office`: issuing = check, take a serial, sign, render, keep the PDF
- :mod:`forms.record`, :mod:`forms.verify`: checking a code or a PDF offline
- ``python -m forms``: list, fields, render, verify, public-key
"""
