"""The one error type key-file readers raise."""

from __future__ import annotations


class KeyFileError(ValueError):
    """A key file that cannot be used, naming the file and line (1-based; 0 = whole file)."""

    def __init__(self, message: str, source: str = "", line: int = 0) -> None:
        self.message = message
        self.source = source
        self.line = line
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {message}" if where else message)
