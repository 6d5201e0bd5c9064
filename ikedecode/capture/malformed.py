"""Internal signal that a frame cannot be read as far as classification needs."""

from __future__ import annotations


class Malformed(Exception):  # noqa: N818 - a verdict on a frame, not an error of the program
    """``reason`` is the short category counted in ``CaptureStats.malformed_reasons``; ``detail``
    (numbers, ids) is added in brackets in ``CaptureStats.malformed_frames``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail

    def describe(self) -> str:
        return f"{self.reason} ({self.detail})" if self.detail else self.reason
