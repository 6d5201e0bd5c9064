"""Errors raised by the ISAKMP wire-format parsers (``header``, ``payloads``).

Only ``parse_header`` raises, and only ``MalformedMessage``: a datagram that cannot be an
ISAKMP message at all. Everything below the header (payload chains, attributes) reports
problems as text and never raises.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ikedecode.ike.header import IsakmpHeader


class MalformedMessage(ValueError):
    """The bytes are not a readable ISAKMP message.

    ``reason`` is one sentence for the user. ``header`` is the header when it could be read
    (for example a message whose length field points past the end of the datagram), so the
    caller can still tell which negotiation it belonged to; it is ``None`` otherwise.
    """

    def __init__(self, reason: str, header: IsakmpHeader | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.header = header
