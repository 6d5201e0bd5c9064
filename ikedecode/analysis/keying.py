"""Where IKE meets ESP: IPsec SAs keyed from what a quick mode produced (``ike.v1.child_sa.ChildSaKeys``).

This sits above both ``ike/`` and ``esp/`` so that neither imports the other; IKEv2 child SAs
are keyed here too (``ipsec_sa_from_ikev2_child``).
"""

from __future__ import annotations

from functools import lru_cache

from ikedecode.esp import transforms
from ikedecode.esp.sa import IpsecSa, Mode
from ikedecode.ike.registries import (
    AUTHENTICATION_ALGORITHM,
    ENCAPSULATION_MODE,
    IPSEC_KEY_LENGTH,
    PROTO_IPSEC_AH,
    PROTO_IPSEC_ESP,
)
from ikedecode.ike.v1.child_sa import ChildSaKeys
from ikedecode.ike.v2.child_sa import Ikev2ChildSaKeys

# RFC 2407 4.5 encapsulation modes, RFC 3947 UDP-encapsulated ones and their draft numbers
ENCAPSULATION_TO_MODE: dict[int, Mode] = {
    1: "tunnel",
    2: "transport",
    3: "tunnel",
    4: "transport",
    61443: "tunnel",
    61444: "transport",
}


# A capture's SAs negotiate a few transforms over and over: each (ID, key length, integrity) is
# resolved once (the functions are pure; an unknown transform raises each time, lru_cache keeps none).
ikev1_esp_transform = lru_cache(maxsize=256)(transforms.ikev1_esp_transform)
ikev1_ah_transform = lru_cache(maxsize=256)(transforms.ikev1_ah_transform)
ikev2_child_transform = lru_cache(maxsize=256)(transforms.ikev2_child_transform)


def _int(value: int | bytes | None) -> int | None:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big") if value else None
    return value


def ipsec_sa_from_child(child: ChildSaKeys | Ikev2ChildSaKeys) -> IpsecSa:
    """Raises ``UnknownAlgorithm`` / ``InvalidSa`` (both ``ValueError``) for transforms we cannot key."""
    if isinstance(child, Ikev2ChildSaKeys):
        return ipsec_sa_from_ikev2_child(child)
    auth = _int(child.attributes.get(AUTHENTICATION_ALGORITHM))
    if child.protocol_id == PROTO_IPSEC_ESP:
        transform = ikev1_esp_transform(
            child.transform_id, _int(child.attributes.get(IPSEC_KEY_LENGTH)), auth
        )
        protocol = "esp"
    elif child.protocol_id == PROTO_IPSEC_AH:
        transform = ikev1_ah_transform(child.transform_id, auth)
        protocol = "ah"
    else:
        raise ValueError(f"protocol {child.protocol_id} carries no ESP/AH traffic (IPCOMP is not decoded)")
    encryption_key, integrity_key = transform.split_keymat(child.keymat.prefix(transform.keymat_length))
    encapsulation = _int(child.attributes.get(ENCAPSULATION_MODE))
    return IpsecSa.derived(
        protocol,  # type: ignore[arg-type]
        int.from_bytes(child.spi, "big"),
        child.src,
        child.dst,
        transform.encryption,
        encryption_key,
        transform.integrity,
        integrity_key,
        ENCAPSULATION_TO_MODE.get(encapsulation) if encapsulation is not None else None,
        False,
        child.origin,
        child.ike_cookies,
        child.message_id,
    )


def ipsec_sa_from_ikev2_child(child: Ikev2ChildSaKeys) -> IpsecSa:
    """An IKEv2 Child SA direction (RFC 7296 2.17: keys already split) as an ESP/AH SA."""
    if child.protocol_id == PROTO_IPSEC_ESP:
        if child.encryption_id is None:
            raise ValueError("ESP Child SA without an encryption transform")
        transform = ikev2_child_transform(child.encryption_id, child.key_length, child.integrity_id)
        protocol = "esp"
    elif child.protocol_id == PROTO_IPSEC_AH:
        transform = ikev2_child_transform(11, None, child.integrity_id)  # AH: integrity only (ENCR_NULL)
        protocol = "ah"
    else:
        raise ValueError(f"protocol {child.protocol_id} carries no ESP/AH traffic")
    return IpsecSa.derived(
        protocol,  # type: ignore[arg-type]
        int.from_bytes(child.spi, "big"),
        child.src,
        child.dst,
        transform.encryption,
        child.encryption_key[: transform.encryption_key_length],
        transform.integrity,
        child.integrity_key[: transform.integrity_key_length],
        child.mode,  # type: ignore[arg-type]
        child.esn,
        child.origin,
        child.ike_cookies,
        child.message_id,
    )
