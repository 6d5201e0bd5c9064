"""Errors raised by the IKE crypto helpers (``prf``, ``keyderiv``, ``authhash``, ``dh``, ``ciphers``).

Every error is a ``ValueError`` subclass, so callers that only want "this input cannot be
processed" can catch ``ValueError``; callers that want to tell the cases apart catch the
specific class. ``str(error)`` is a complete sentence meant for the user.
"""

from __future__ import annotations


class IkeCryptoError(ValueError):
    """Base class: the inputs cannot be turned into keys, hashes or plaintext."""


class UnsupportedAlgorithm(IkeCryptoError):
    """An algorithm identifier that is unknown, or known but not implemented."""


class InvalidKeyMaterial(IkeCryptoError):
    """A key, nonce, cookie or length argument has an impossible size or value."""


class InvalidPublicValue(IkeCryptoError):
    """A Diffie-Hellman public value (KE payload data) is malformed or not in the group."""


class InvalidPrivateValue(IkeCryptoError):
    """A Diffie-Hellman private value has the wrong size or is out of range."""


class CipherInputError(IkeCryptoError):
    """Cipher input has the wrong size (data not whole blocks, IV or key of the wrong length)."""
