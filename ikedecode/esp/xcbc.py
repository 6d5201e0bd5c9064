"""AES-XCBC-MAC (RFC 3566), built on AES from ``cryptography``.

RFC 3566 section 4: K1 = E(K, 0x01^16), K2 = E(K, 0x02^16), K3 = E(K, 0x03^16). The message is
CBC-MACed under K1; the last block is XORed with K2 when it is complete, or padded with 0x80 0x00..
and XORed with K3 when it is not (an empty message counts as one incomplete block).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16
_ZERO_IV = bytes(BLOCK)


class AesXcbcMac:
    """A keyed AES-XCBC-MAC; ``mac`` returns the full 128-bit tag (truncate for -96)."""

    __slots__ = ("_k1", "_k1_ecb", "_k2", "_k3")

    def __init__(self, key: bytes) -> None:
        if len(key) != BLOCK:
            raise ValueError(f"AES-XCBC-MAC needs a 16-byte key, got {len(key)} bytes")
        derive = Cipher(algorithms.AES(bytes(key)), modes.ECB()).encryptor()
        k1 = derive.update(b"\x01" * BLOCK)
        self._k2 = int.from_bytes(derive.update(b"\x02" * BLOCK), "big")
        self._k3 = int.from_bytes(derive.update(b"\x03" * BLOCK), "big")
        self._k1 = algorithms.AES(k1)
        self._k1_ecb = Cipher(self._k1, modes.ECB()).encryptor()

    def mac(self, data: bytes | memoryview, extra: bytes = b"") -> bytes:
        message = bytes(data) + extra if extra else memoryview(data)
        length = len(message)
        # Index where the last (possibly partial) block starts; an empty message is one empty block.
        last_start = ((length - 1) // BLOCK) * BLOCK if length else 0
        if last_start:
            chained = Cipher(self._k1, modes.CBC(_ZERO_IV)).encryptor().update(message[:last_start])
            previous = int.from_bytes(chained[-BLOCK:], "big")
        else:
            previous = 0
        last = bytes(message[last_start:])
        if len(last) == BLOCK:
            block = int.from_bytes(last, "big") ^ self._k2
        else:
            padded = last + b"\x80" + bytes(BLOCK - 1 - len(last))
            block = int.from_bytes(padded, "big") ^ self._k3
        return self._k1_ecb.update((block ^ previous).to_bytes(BLOCK, "big"))
