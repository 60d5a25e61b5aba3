"""Staff accounts, roles and scopes, password hashing, sessions, lock-out and CSRF."""
from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add this feature's routes, mounts and state to the app."""
