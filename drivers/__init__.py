"""Device drivers: one subpackage per device kind (lock board, ID card reader,
camera, printer, QR/barcode scanner).

Each subpackage has a pure ``codec`` (bytes ⇄ messages), a ``device`` class over a
transport URL (see :mod:`drivers.transport`), a ``sim`` that speaks the same wire
protocol, and a ``__main__`` diagnostic CLI. Drivers know nothing of residents,
cases or UI.
"""
