"""Notifications to residents: the Notifier interface, its adapters, delivery state and retries."""
from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add this feature's routes, mounts and state to the app."""
