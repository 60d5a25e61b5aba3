"""Attachments uploaded by appliances in resumable chunks."""
from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add this feature's routes, mounts and state to the app."""
