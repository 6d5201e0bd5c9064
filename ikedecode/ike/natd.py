"""The NAT detection hash, shared by IKEv1 and IKEv2.

IKEv1 NAT-D (RFC 3947 section 3.2): HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash.
IKEv2 NAT_DETECTION_*_IP (RFC 7296 section 2.23): SHA-1(SPIi | SPIr | IP | Port).
"""

from __future__ import annotations

import ipaddress

from ikedecode.ike.prf import hash_

IKEV2_NATD_HASH = 2  # SHA-1 in the IKE hash table (ike/prf.py): RFC 7296 2.23 fixes it


def natd_hash(hash_id: int, cky_i: bytes, cky_r: bytes, address: str, port: int) -> bytes:
    """HASH(CKY-I | CKY-R | IP | Port): IPv4 or IPv6 address in network order, 2-byte port."""
    ip = ipaddress.ip_address(address).packed
    return hash_(hash_id, cky_i + cky_r + ip + port.to_bytes(2, "big"))


__all__ = ["IKEV2_NATD_HASH", "natd_hash"]
