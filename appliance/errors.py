"""Errors of the appliance layer::

    ApplianceError
    └── ConfigError     the configuration file is missing, unreadable, not TOML, or
                        holds an unknown key, a wrong type or an impossible value;
                        str() is one line naming the file, line, key and value
    └── KeyFileError    this appliance's signing key or a trusted-keys file is
                        unreadable, malformed or too widely readable; names the
                        file (and the device), never the key's secret
"""
from __future__ import annotations


class ApplianceError(Exception):
    pass


class ConfigError(ApplianceError):
    def __init__(self, file: str, message: str, *, key: str = "", value: object = None, line: int | None = None):
        self.file, self.key, self.value, self.line, self.message = file, key, value, line, message
        where = f"{file}:{line}" if line else file
        what = f"{key} = {value!r}: " if key and value is not None else (f"{key}: " if key else "")
        super().__init__(f"{where}: {what}{message}")


class KeyFileError(ApplianceError):
    def __init__(self, file: str, message: str, *, hint: str = ""):
        self.file, self.message, self.hint = file, message, hint
        super().__init__(f"{file}: {message}" + (f" — {hint}" if hint else ""))
