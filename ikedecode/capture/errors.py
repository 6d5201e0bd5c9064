"""The one exception the capture layer lets out."""

from __future__ import annotations


class CaptureError(Exception):
    """A capture cannot be opened or read at all; the message is one human-readable line.

    A file that is cut off mid-record is not an error: iteration simply ends and
    ``CaptureStats.truncated`` says where.
    """
