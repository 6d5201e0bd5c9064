"""What processing one ESP/AH datagram gives: an ``EspResult`` with its ``EspStatus``."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ikedecode.capture.datagram import Datagram
from ikedecode.esp.sa import IpsecSa


class EspStatus(StrEnum):
    VERIFIED = "verified"  # ICV correct, plaintext available
    DECRYPTED = "decrypted"  # plaintext available, the SA has no ICV to check
    ICV_FAILED = "icv-failed"
    BAD_PADDING = "bad-padding"  # plaintext available (ICV ok or absent) but padding is not 1, 2, 3, ...
    GARBLED = "garbled"  # decrypted to noise: a plaintext check failed (esp/plaintext.py), nothing emitted
    REPLAY = "replay"  # authentic, but this sequence number was already seen on the SA
    NO_KEYS = "no-keys"
    TOO_SHORT = "too-short"
    MALFORMED = "malformed"  # block misalignment, pad length beyond the payload, bad AH header
    UNSUPPORTED = "unsupported"  # the SA's algorithm is not available in the crypto backend


PLAINTEXT_STATUSES = frozenset(
    {EspStatus.VERIFIED, EspStatus.DECRYPTED, EspStatus.BAD_PADDING, EspStatus.REPLAY}
)
# AH packets whose payload is looked into although it is not vouched for (no keys, ICV failed, no
# algorithm): AH sends it in clear, and an ESP SA inside may have keys.
AH_PAYLOAD_IN_CLEAR = frozenset({EspStatus.NO_KEYS, EspStatus.ICV_FAILED, EspStatus.UNSUPPORTED})


@dataclass(slots=True)
class EspResult:
    datagram: Datagram
    protocol: str  # "esp" or "ah"
    spi: int | None
    seq: int | None  # full sequence number (64 bits with ESN)
    status: EspStatus
    sa: IpsecSa | None = None
    next_header: int | None = None
    payload: bytes | None = None  # inner IP packet (tunnel) or upper-layer data (transport); trailer removed
    pad_length: int = 0
    mode: str | None = None  # "tunnel" / "transport"
    icv_ok: bool | None = None  # None: not checked (null integrity, or never reached)
    padding_ok: bool = True
    replayed: bool = False
    reason: str = ""
    depth: int = 0  # 0 for the outermost ESP/AH layer of a datagram

    @property
    def has_plaintext(self) -> bool:
        """True when ``payload`` is trustworthy enough to show or write out."""
        return self.status in PLAINTEXT_STATUSES


__all__ = ["AH_PAYLOAD_IN_CLEAR", "PLAINTEXT_STATUSES", "EspResult", "EspStatus"]
