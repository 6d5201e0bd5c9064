"""After the packets: what explains an SA's failures (sans-IO, on what the counters kept).

An ICV failure on every packet usually means a wrong integrity key, but one other setting changes
the ICV input: extended sequence numbers. With ESN (RFC 4303 section 2.2.1) the high 32 bits of
the sequence number are appended to the ICV input (and, for AEAD ciphers, are part of the AAD,
RFC 4106 section 5), though never sent. An SA given without ESN whose peer uses it (or the
reverse) fails every packet with the right keys. ``esn_explanation`` tries the first failed
packet (``SaCounters.icv_failed_sample``) the other way.
"""

from __future__ import annotations

from typing import NamedTuple

from ikedecode.esp.ciphers import new_crypto
from ikedecode.esp.sa import IpsecSa


class EsnVerdict(NamedTuple):
    verifies_with: str  # "esn" or "no esn"
    seq_hi: int | None  # the high bits that verified ("esn")


def esn_explanation(sa: IpsecSa) -> EsnVerdict | None:
    """Whether the SA's first ICV failure verifies with the other sequence number size."""
    sample = sa.counters.icv_failed_sample
    if sample is None or sa.protocol != "esp":
        return None
    crypto = new_crypto(sa)  # its own: the SA's state is the opener's
    if crypto is None or crypto.icv_size == 0:
        return None
    if sa.esn:
        icv_ok, _, _ = crypto.open(sample)
        return EsnVerdict("no esn", None) if icv_ok else None
    # high bits: those the key file gave for the start of the capture, and their neighbours
    for seq_hi in dict.fromkeys((sa.initial_seq_hi, 0, sa.initial_seq_hi + 1, 1)):
        if 0 <= seq_hi <= 0xFFFFFFFF:
            icv_ok, _, _ = crypto.open(sample, seq_hi)
            if icv_ok:
                return EsnVerdict("esn", seq_hi)
    return None
