"""Errors of the appliance layer::

    ApplianceError
    └── ConfigError     the configuration file is missing, unreadable, not TOML, or
                        holds an unknown key, a wrong type or an impossible value;
                        str() is one line naming the file, line, key and value
"""
from __future__ import annotations


class ApplianceError(Exception):
    pass


class ConfigError(ApplianceError):
    def __init__(self, file: str, message: str, *, key: str = "", value: object = None, line: int | None = None):
        self.file, self.key, self.value, self.line = file, key, value, line
        where = f"{file}:{line}" if line else file
        what = f"{key} = {value!r}: " if key and value is not None else (f"{key}: " if key else "")
        super().__init__(f"{where}: {what}{message}")
