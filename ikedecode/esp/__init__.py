"""ESP (RFC 4303) and AH (RFC 4302): SAs, the SA database and per-packet processing (sans-IO)."""

from ikedecode.esp.algorithms import (
    ENCRYPTION_ALGORITHMS,
    INTEGRITY_ALGORITHMS,
    EncryptionAlgorithm,
    IntegrityAlgorithm,
    UnknownAlgorithm,
    resolve_encryption,
    resolve_integrity,
)
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.inner import decrypted_ip_packet, inner_datagram
from ikedecode.esp.processor import EspProcessor, EspResult, EspStatus
from ikedecode.esp.sa import InvalidSa, IpsecSa, SaCounters, SaState
from ikedecode.esp.sadb import SaDatabase, UnknownSpi
from ikedecode.esp.transforms import (
    IpsecTransform,
    ikev1_ah_transform,
    ikev1_esp_transform,
    ikev2_child_transform,
)

__all__ = [
    "ENCRYPTION_ALGORITHMS",
    "INTEGRITY_ALGORITHMS",
    "EncryptionAlgorithm",
    "EspEncoder",
    "EspProcessor",
    "EspResult",
    "EspStatus",
    "IntegrityAlgorithm",
    "InvalidSa",
    "IpsecSa",
    "IpsecTransform",
    "SaCounters",
    "SaDatabase",
    "SaState",
    "UnknownAlgorithm",
    "UnknownSpi",
    "decrypted_ip_packet",
    "ikev1_ah_transform",
    "ikev1_esp_transform",
    "ikev2_child_transform",
    "inner_datagram",
    "resolve_encryption",
    "resolve_integrity",
]
