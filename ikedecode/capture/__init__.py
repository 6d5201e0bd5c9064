"""The input edge of ikedecode: capture files in, IPsec datagrams and per-frame accounting out."""

from .datagram import CaptureStats, Datagram, Kind
from .errors import CaptureError
from .reader import CaptureReader, open_capture

__all__ = ["CaptureError", "CaptureReader", "CaptureStats", "Datagram", "Kind", "open_capture"]
