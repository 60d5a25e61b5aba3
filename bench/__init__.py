"""Benchmarks: figures and ratios against a bare baseline measured in the same run.
Run by ``make bench`` (``python -m bench [NAME…]``), never by ``make test``."""
