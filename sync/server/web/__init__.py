"""The server's web pages: shared layout, static files, rendering."""
from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add this feature's routes, mounts and state to the app."""
