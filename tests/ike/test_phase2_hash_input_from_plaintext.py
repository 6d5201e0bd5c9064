"""HASH(1)/HASH(2) cover the payloads after the HASH payload (RFC 2409 5.5): of a decrypted message
they are taken as one slice of its plaintext, which must be the same bytes as the payloads joined
(the padding after the last payload left out)."""

from __future__ import annotations

import struct

from ikedecode.ike.v1.authentication import _bytes_after
from ikedecode.ike.v1.payloads import parse_payloads


def payload(next_type: int, body: bytes) -> bytes:
    return struct.pack("!BBH", next_type, 0, len(body) + 4) + body


def test_the_plaintext_slice_is_the_joined_payloads_without_the_padding():
    # HASH, NONCE, ID, ID, then 7 bytes of padding (RFC 2409 Appendix B)
    plaintext = (
        payload(10, bytes(20))
        + payload(5, b"\x07" * 16)
        + payload(5, bytes((4, 0, 0, 0, 10, 1, 2, 0, 255, 255, 255, 0)))
        + payload(0, bytes((4, 0, 0, 0, 172, 16, 0, 0, 255, 255, 0, 0)))
        + bytes(6)
        + b"\x07"
    )
    chain = parse_payloads(8, plaintext, 28, padded=True)
    assert not chain.problems and len(chain.payloads) == 4 and len(chain.trailing) == 7
    hash_payload = chain.payloads[0]
    joined = _bytes_after(chain.payloads, hash_payload)
    assert joined == plaintext[24 : len(plaintext) - 7]
    assert _bytes_after(chain.payloads, hash_payload, plaintext) == joined
