"""Per-SA crypto state: built once per SA, used for every packet of it.

``EspCrypto.open(packet, seq_hi)`` checks the ICV and decrypts one ESP packet (SPI onward).
Keyed objects (AES key schedules, HMAC inner/outer states, AEAD contexts) are created in the
constructor so that the per-packet path only slices, copies a hash state and calls the backend.
"""

from __future__ import annotations

import hmac as std_hmac
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers import algorithms as decrepit
from cryptography.hazmat.primitives import cmac, hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM, AESGCM, ChaCha20Poly1305

from ikedecode.esp.algorithms import EncryptionAlgorithm, IntegrityAlgorithm, UnknownAlgorithm
from ikedecode.esp.xcbc import AesXcbcMac

if TYPE_CHECKING:
    from ikedecode.esp.sa import IpsecSa

ESP_HEADER = 8  # SPI + sequence number (RFC 4303 section 2)
MISALIGNED = "ciphertext not a multiple of the cipher block size"  # RFC 4303 section 2.4
_SEQ_HI = struct.Struct("!I")


def _single_des(key: bytes) -> BlockCipherAlgorithm:
    # DES is 3DES with K1 = K2 = K3 (EDE collapses to one encryption)
    return decrepit.TripleDES(bytes(key) * 3)


BLOCK_CIPHERS: dict[str, Callable[[bytes], BlockCipherAlgorithm]] = {
    "aes": algorithms.AES,
    "des": _single_des,
    "3des": decrepit.TripleDES,
    "blowfish": decrepit.Blowfish,
    "cast5": decrepit.CAST5,
    "camellia": decrepit.Camellia,
}

HMAC_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "md5": hashes.MD5,
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


# --- integrity -------------------------------------------------------------------------------------


class _Mac:
    """Computes the truncated ICV over ``data`` followed by ``extra`` (the ESN high bits)."""

    __slots__ = ("icv_size",)

    def icv(self, data: bytes | memoryview, extra: bytes = b"") -> bytes:
        raise NotImplementedError


class _CryptographyHmac(_Mac):
    __slots__ = ("_base",)

    def __init__(self, key: bytes, hash_name: str, icv_size: int) -> None:
        self._base = crypto_hmac.HMAC(bytes(key), HMAC_HASHES[hash_name]())
        self.icv_size = icv_size

    def icv(self, data: bytes | memoryview, extra: bytes = b"") -> bytes:
        h = self._base.copy()
        h.update(data)
        if extra:
            h.update(extra)
        return h.finalize()[: self.icv_size]


class _StdlibHmac(_Mac):
    """HMAC over a hash ``cryptography`` lacks (RIPEMD-160) via ``hashlib``."""

    __slots__ = ("_base",)

    def __init__(self, key: bytes, hash_name: str, icv_size: int) -> None:
        self._base = std_hmac.new(bytes(key), digestmod=hash_name)
        self.icv_size = icv_size

    def icv(self, data: bytes | memoryview, extra: bytes = b"") -> bytes:
        h = self._base.copy()
        h.update(data)
        if extra:
            h.update(extra)
        return h.digest()[: self.icv_size]


class _Xcbc(_Mac):
    __slots__ = ("_mac",)

    def __init__(self, key: bytes, icv_size: int) -> None:
        self._mac = AesXcbcMac(key)
        self.icv_size = icv_size

    def icv(self, data: bytes | memoryview, extra: bytes = b"") -> bytes:
        return self._mac.mac(data, extra)[: self.icv_size]


class _Cmac(_Mac):
    __slots__ = ("_base",)

    def __init__(self, key: bytes, icv_size: int) -> None:
        self._base = cmac.CMAC(algorithms.AES(bytes(key)))
        self.icv_size = icv_size

    def icv(self, data: bytes | memoryview, extra: bytes = b"") -> bytes:
        c = self._base.copy()
        c.update(bytes(data))
        if extra:
            c.update(extra)
        return c.finalize()[: self.icv_size]


def make_mac(alg: IntegrityAlgorithm, key: bytes) -> _Mac | None:
    """The keyed ICV function of ``alg``; None for null / unchecked integrity."""
    if not alg.checks:
        return None
    if not alg.supported:
        raise UnknownAlgorithm(f"{alg.name} is not available in this Python build")
    if alg.kind == "hmac":
        if alg.hash_name in HMAC_HASHES:
            return _CryptographyHmac(key, alg.hash_name, alg.icv_size)
        return _StdlibHmac(key, alg.hash_name, alg.icv_size)
    if alg.kind == "xcbc":
        return _Xcbc(key, alg.icv_size)
    if alg.kind == "cmac":
        return _Cmac(key, alg.icv_size)
    raise UnknownAlgorithm(f"no ICV implementation for {alg.name}")


# --- confidentiality -------------------------------------------------------------------------------


class _Decryptor:
    """Decrypts ``iv || ciphertext`` (the bytes between the ESP header and the ICV)."""

    __slots__ = ()

    def decrypt(self, iv_and_ciphertext: memoryview) -> bytes:
        raise NotImplementedError


class _NullDecryptor(_Decryptor):
    __slots__ = ()

    def decrypt(self, iv_and_ciphertext: memoryview) -> bytes:
        return iv_and_ciphertext.tobytes()


class _CbcDecryptor(_Decryptor):
    """CBC with one decrypting context for the whole SA (no cipher context built per packet).

    CBC decryption is P_i = D(C_i) XOR C_(i-1) with C_0 = IV (NIST SP 800-38A section 6.2); the
    context chains from the last block it saw. Feeding it the packet's IV as a block first makes
    that IV the chaining value: the first output block is junk, the rest is the plaintext.
    """

    __slots__ = ("_context", "_block")

    def __init__(self, cipher: BlockCipherAlgorithm) -> None:
        self._block = cipher.block_size // 8
        self._context = Cipher(cipher, modes.CBC(bytes(self._block))).decryptor()

    def decrypt(self, iv_and_ciphertext: memoryview) -> bytes:
        return self._context.update(iv_and_ciphertext)[self._block :]


class _CtrDecryptor(_Decryptor):
    """RFC 3686 section 4: keystream block i = AES(nonce (4) | IV (8) | i), i counting from 1.

    The counter restarts with every packet, so this mode needs a cipher context per packet
    (about 10 us for 1,400 bytes; building the counter blocks as one integer and XORing in
    Python measured only 10 % faster, not worth the obscurity).
    """

    __slots__ = ("_aes", "_nonce")

    def __init__(self, key: bytes, nonce: bytes) -> None:
        self._aes = algorithms.AES(key)
        self._nonce = nonce

    def decrypt(self, iv_and_ciphertext: memoryview) -> bytes:
        counter = self._nonce + iv_and_ciphertext[:8].tobytes() + b"\x00\x00\x00\x01"
        return Cipher(self._aes, modes.CTR(counter)).decryptor().update(iv_and_ciphertext[8:])


# --- combined modes --------------------------------------------------------------------------------


class Aead:
    """A combined-mode cipher with its salt: ``decrypt(iv, ciphertext || ICV, aad)``, None on a bad ICV.

    The nonce is salt | explicit IV: RFC 4106 section 4 (GCM), RFC 4309 section 4 (CCM, 3-byte
    salt), RFC 4543 section 3.2 (GMAC), RFC 7634 section 2 (ChaCha20-Poly1305).
    """

    __slots__ = ("icv_size", "_salt")

    def decrypt(self, iv: bytes, data: bytes | memoryview, aad: bytes | memoryview) -> bytes | None:
        raise NotImplementedError


class _AeadBackend(Aead):
    """GCM with a 16-byte tag, CCM, ChaCha20-Poly1305 through ``cryptography``'s one-shot AEADs."""

    __slots__ = ("_aead",)

    def __init__(self, aead: AESGCM | AESCCM | ChaCha20Poly1305, salt: bytes, icv_size: int) -> None:
        self._aead = aead
        self._salt = salt
        self.icv_size = icv_size

    def decrypt(self, iv: bytes, data: bytes | memoryview, aad: bytes | memoryview) -> bytes | None:
        try:
            return self._aead.decrypt(self._salt + iv, data, aad)
        except InvalidTag:
            return None


class _TruncatedGcm(Aead):
    """GCM with an 8- or 12-byte ICV (RFC 4106 section 6): the one-shot AEAD API wants 16 bytes."""

    __slots__ = ("_aes",)

    def __init__(self, key: bytes, salt: bytes, icv_size: int) -> None:
        self._aes = algorithms.AES(key)
        self._salt = salt
        self.icv_size = icv_size

    def decrypt(self, iv: bytes, data: bytes | memoryview, aad: bytes | memoryview) -> bytes | None:
        if len(data) < self.icv_size:
            return None
        split = len(data) - self.icv_size
        mode = modes.GCM(self._salt + iv, bytes(data[split:]), min_tag_length=self.icv_size)
        context = Cipher(self._aes, mode).decryptor()
        context.authenticate_additional_data(aad)
        plaintext = context.update(data[:split])
        try:
            context.finalize()
        except InvalidTag:
            return None
        return plaintext


def make_aead(alg: EncryptionAlgorithm, encryption_key: bytes) -> Aead:
    """The combined-mode cipher of ``alg`` keyed with KEYMAT layout key | salt."""
    split = len(encryption_key) - alg.salt_size
    key, salt = bytes(encryption_key[:split]), bytes(encryption_key[split:])
    if alg.mode in ("gcm", "gmac"):
        if alg.icv_size == 16:
            return _AeadBackend(AESGCM(key), salt, 16)
        return _TruncatedGcm(key, salt, alg.icv_size)
    if alg.mode == "ccm":
        return _AeadBackend(AESCCM(key, tag_length=alg.icv_size), salt, alg.icv_size)
    if alg.mode == "chacha20-poly1305":
        return _AeadBackend(ChaCha20Poly1305(key), salt, 16)
    raise UnknownAlgorithm(f"no combined-mode implementation for {alg.name}")


def _make_decryptor(alg: EncryptionAlgorithm, key: bytes, salt: bytes) -> _Decryptor:
    if alg.mode == "null":
        return _NullDecryptor()
    if alg.mode == "ctr":
        return _CtrDecryptor(key, salt)
    if alg.mode == "cbc":
        return _CbcDecryptor(BLOCK_CIPHERS[alg.primitive](key))
    raise UnknownAlgorithm(f"no decryptor for {alg.name}")


# --- the per-SA object ----------------------------------------------------------------------------


class EspCrypto:
    """Opens ESP packets of one SA.

    ``open`` returns ``(icv_ok, plaintext, problem)``: ``icv_ok`` is None when the SA has no
    integrity check; ``plaintext`` is the decrypted payload *with* the ESP trailer (padding, pad
    length, next header) and without the IV, or None; ``problem`` names a structural defect.
    """

    __slots__ = (
        "encryption",
        "integrity",
        "iv_size",
        "icv_size",
        "min_length",
        "_aead",
        "_gmac",
        "_decryptor",
        "_mac",
        "_block",
        "open_span",
    )

    def __init__(
        self,
        encryption: EncryptionAlgorithm,
        encryption_key: bytes,
        integrity: IntegrityAlgorithm,
        integrity_key: bytes,
    ) -> None:
        if not encryption.supported:
            raise UnknownAlgorithm(f"{encryption.name} is not available in the crypto backend")
        self.encryption = encryption
        self.integrity = integrity
        cipher_key_size = len(encryption_key) - encryption.salt_size
        key = bytes(encryption_key[:cipher_key_size])
        salt = bytes(encryption_key[cipher_key_size:])
        self.iv_size = encryption.iv_size
        self._block = encryption.block_size
        self._aead = make_aead(encryption, encryption_key) if encryption.combined else None
        self._gmac = encryption.mode == "gmac"
        self._decryptor = None if encryption.combined else _make_decryptor(encryption, key, salt)
        self._mac = None if encryption.combined else make_mac(integrity, integrity_key)
        self.icv_size = encryption.icv_size if encryption.combined else integrity.icv_size
        # SPI, seq, IV, then at least pad length + next header, then the ICV (RFC 4303 section 2)
        self.min_length = ESP_HEADER + self.iv_size + 2 + self.icv_size
        self.open_span = self._span_opener()

    def cbc_hmac_parts(self) -> tuple[object, Callable[[bytes | memoryview], bytes], int, int] | None:
        """For CBC with an HMAC from ``cryptography``: (keyed HMAC to ``copy()``, the SA's CBC
        context's ``update``, block size, ICV size), so a hot loop can inline ``open``; else None.
        Feeding ``update`` IV | ciphertext (block-aligned) yields one junk block, then the plaintext."""
        mac, decryptor = self._mac, self._decryptor
        if isinstance(mac, _CryptographyHmac) and isinstance(decryptor, _CbcDecryptor):
            return mac._base, decryptor._context.update, self._block, self.icv_size
        return None

    def aead_parts(self) -> tuple[Callable[..., bytes], bytes, int, int] | None:
        """For GCM-16, CCM and ChaCha20-Poly1305 (not GMAC): (the one-shot ``decrypt(nonce, data,
        aad)`` that raises ``InvalidTag``, salt, IV size, ICV size), so a hot loop can inline ``open``."""
        aead = self._aead
        if isinstance(aead, _AeadBackend) and not self._gmac:
            return aead._aead.decrypt, aead._salt, self.iv_size, self.icv_size
        return None

    def _span_opener(self) -> Callable[[memoryview, int, int], tuple[bool | None, bytes | None]]:
        """``open_span(view, start, end)``: ``open`` for the packet at ``view[start:end]`` without
        ESN; plaintext None on any structural problem (the caller then asks ``open`` for the reason)."""

        def open_any(view: memoryview, start: int, end: int) -> tuple[bool | None, bytes | None]:
            icv_ok, plaintext, problem = self.open(view[start:end])
            return icv_ok, None if problem or plaintext is None or len(plaintext) < 2 else plaintext

        return open_any

    def open(
        self, packet: bytes | memoryview, seq_hi: int | None = None
    ) -> tuple[bool | None, bytes | None, str]:
        view = packet if isinstance(packet, memoryview) else memoryview(packet)
        if self._aead is not None:
            return self._open_combined(view, seq_hi)
        body_end = len(view) - self.icv_size
        icv_ok: bool | None = None
        if self._mac is not None:
            # RFC 4303 section 2.2.1: with ESN the high 32 bits are appended for the ICV only
            extra = _SEQ_HI.pack(seq_hi) if seq_hi is not None else b""
            expected = self._mac.icv(view[:body_end], extra)
            icv_ok = std_hmac.compare_digest(expected, view[body_end:])
        ciphertext_length = body_end - ESP_HEADER - self.iv_size
        if ciphertext_length % self._block:
            return icv_ok, None, MISALIGNED
        decryptor = self._decryptor
        assert decryptor is not None  # a separate (not combined) cipher always has one
        return icv_ok, decryptor.decrypt(view[ESP_HEADER:body_end]), ""

    def _open_combined(self, view: memoryview, seq_hi: int | None) -> tuple[bool, bytes | None, str]:
        aead = self._aead
        assert aead is not None  # a combined-mode cipher always has one
        iv_end = ESP_HEADER + self.iv_size
        iv = view[ESP_HEADER:iv_end].tobytes()
        if self._gmac:
            # RFC 4543 section 3.3: nothing is encrypted; the AAD is the whole packet up to the ICV
            # (SPI | [seq hi] | seq | IV | payload | padding | pad length | next header)
            body_end = len(view) - self.icv_size
            aad = view[:body_end] if seq_hi is None else _with_seq_hi(view[:body_end], seq_hi)
            if aead.decrypt(iv, view[body_end:], aad) is None:
                return False, None, ""
            return True, view[iv_end:body_end].tobytes(), ""
        # RFC 4106 section 5 (also RFC 4309 section 5, RFC 7634 section 2.1): AAD = SPI | [seq hi] | seq
        header = view[:ESP_HEADER]
        aad = header if seq_hi is None else _with_seq_hi(header, seq_hi)
        plaintext = aead.decrypt(iv, view[iv_end:], aad)
        return plaintext is not None, plaintext, ""


def _with_seq_hi(data: memoryview, seq_hi: int) -> bytes:
    """``data`` (which starts with SPI | seq) with the ESN high bits between SPI and seq."""
    return b"".join((data[:4], _SEQ_HI.pack(seq_hi), data[4:]))


class AuthOnly:
    """The ICV function alone, for AH (RFC 4302)."""

    __slots__ = ("integrity", "icv_size", "_mac")

    def __init__(self, integrity: IntegrityAlgorithm, key: bytes) -> None:
        self.integrity = integrity
        self.icv_size = integrity.icv_size
        self._mac = make_mac(integrity, key)

    def icv(self, data: bytes | memoryview, extra: bytes = b"") -> bytes | None:
        return None if self._mac is None else self._mac.icv(data, extra)


def new_crypto(sa: IpsecSa) -> EspCrypto | None:
    """A keyed cipher/MAC state for ``sa``; None when the SA's algorithm is not supported or its
    keys do not fit it."""
    if not sa.supported:
        return None
    try:
        return EspCrypto(sa.encryption_algorithm, sa.encryption_key, sa.integrity_algorithm, sa.integrity_key)
    except (UnknownAlgorithm, ValueError):
        return None
