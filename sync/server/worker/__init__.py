"""The grid-worker console (mobile first), evaluation and statistics, the certificate verify page."""
from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add this feature's routes, mounts and state to the app."""
