"""Build ESP packets for an SA: test captures and benchmarks with known keys.

The sender's side of RFC 4303 section 3.3, written against ``cryptography``'s encrypting APIs
(CBC/CTR/GCM/CCM/ChaCha20-Poly1305 contexts, stdlib ``hmac``), independently of the decrypting
path in ``ciphers.py``. IVs are derived from SPI and sequence number so output is reproducible;
that is fine for test data and wrong for real traffic.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.ciphers import BLOCK_CIPHERS
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.xcbc import AesXcbcMac

_SEQ_MASK = 0xFFFFFFFF


class EspEncoder:
    """Encapsulates payloads for one outbound ESP SA."""

    def __init__(self, sa: IpsecSa) -> None:
        if sa.protocol != "esp" or sa.spi is None:
            raise ValueError("an ESP SA with a concrete SPI is needed to build packets")
        if not sa.supported:
            raise UnknownAlgorithm(f"{sa.encryption}/{sa.integrity} is not available for encryption")
        self.sa = sa
        self.encryption = sa.encryption_algorithm
        self.integrity = sa.integrity_algorithm
        split = len(sa.encryption_key) - self.encryption.salt_size
        self._key, self._salt = sa.encryption_key[:split], sa.encryption_key[split:]

    def default_iv(self, seq: int) -> bytes:
        digest = hashlib.sha256(struct.pack("!IQ", self.sa.spi or 0, seq)).digest()
        return digest[: self.encryption.iv_size]

    def encode(
        self,
        payload: bytes,
        next_header: int,
        seq: int,
        *,
        iv: bytes | None = None,
        padding: bytes | None = None,
        tfc_padding: int = 0,
    ) -> bytes:
        """The ESP packet (SPI onward) carrying ``payload``; ``seq`` is 64-bit with ESN.

        ``padding`` replaces the RFC 4303 section 2.4 default (1, 2, 3, ...); ``tfc_padding``
        appends that many zero bytes after the payload (traffic flow confidentiality, 2.4).
        """
        enc, sa = self.encryption, self.sa
        iv = self.default_iv(seq) if iv is None else iv
        body = payload + bytes(tfc_padding)
        if padding is None:
            pad_length = -(len(body) + 2) % enc.pad_alignment
            padding = bytes(range(1, pad_length + 1))
        plaintext = body + padding + bytes((len(padding), next_header))
        seq_hi = seq >> 32 if sa.esn else None
        header = struct.pack("!II", sa.spi, seq & _SEQ_MASK)
        if enc.combined:
            return header + iv + self._seal(header, iv, plaintext, seq_hi)
        ciphertext = self._encrypt(iv, plaintext)
        packet = header + iv + ciphertext
        extra = struct.pack("!I", seq_hi) if seq_hi is not None else b""
        return packet + self._icv(packet + extra)

    def _encrypt(self, iv: bytes, plaintext: bytes) -> bytes:
        enc = self.encryption
        if enc.mode == "null":
            return plaintext
        mode: modes.CBC | modes.CTR
        if enc.mode == "cbc":
            mode, algorithm = modes.CBC(iv), BLOCK_CIPHERS[enc.primitive](self._key)
        elif enc.mode == "ctr":  # RFC 3686 section 4
            mode, algorithm = modes.CTR(self._salt + iv + b"\x00\x00\x00\x01"), algorithms.AES(self._key)
        else:
            raise UnknownAlgorithm(f"cannot encrypt with {enc.name}")
        context = Cipher(algorithm, mode).encryptor()
        return context.update(plaintext) + context.finalize()

    def _seal(self, header: bytes, iv: bytes, plaintext: bytes, seq_hi: int | None) -> bytes:
        enc = self.encryption
        nonce = self._salt + iv
        spi_seq = header if seq_hi is None else header[:4] + struct.pack("!I", seq_hi) + header[4:]
        if enc.mode == "gmac":  # RFC 4543 section 3.3: authenticate everything, encrypt nothing
            tag = AESGCM(self._key).encrypt(nonce, b"", spi_seq + iv + plaintext)
            return plaintext + tag
        if enc.mode == "gcm":
            context = Cipher(algorithms.AES(self._key), modes.GCM(nonce)).encryptor()
            context.authenticate_additional_data(spi_seq)
            ciphertext = context.update(plaintext) + context.finalize()
            return ciphertext + context.tag[: enc.icv_size]
        if enc.mode == "ccm":
            return AESCCM(self._key, tag_length=enc.icv_size).encrypt(nonce, plaintext, spi_seq)
        if enc.mode == "chacha20-poly1305":
            return ChaCha20Poly1305(self._key).encrypt(nonce, plaintext, spi_seq)
        raise UnknownAlgorithm(f"cannot seal with {enc.name}")

    def _icv(self, data: bytes) -> bytes:
        integ, key = self.integrity, self.sa.integrity_key
        if integ.kind == "hmac":
            return hmac.new(key, data, integ.hash_name).digest()[: integ.icv_size]
        if integ.kind == "xcbc":
            return AesXcbcMac(key).mac(data)[: integ.icv_size]
        if integ.kind == "cmac":
            mac = cmac.CMAC(algorithms.AES(key))
            mac.update(data)
            return mac.finalize()[: integ.icv_size]
        return bytes(integ.icv_size)  # null (0 bytes) or an unchecked ICV of that size
