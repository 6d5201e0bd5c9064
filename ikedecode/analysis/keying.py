"""Where IKE meets ESP: IPsec SAs keyed from what a quick mode produced (``ike.v1.child_sa.ChildSaKeys``).

This sits above both ``ike/`` and ``esp/`` so that neither imports the other; IKEv2 child SAs
are keyed here too (``ipsec_sa_from_ikev2_child``).
"""

from __future__ import annotations

from functools import lru_cache

from ikedecode.esp import transforms
from ikedecode.esp.sa import IpsecSa, Mode, Protocol
from ikedecode.esp.transforms import IpsecTransform
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


# A capture's SAs negotiate a few transforms over and over: each is resolved once (the functions
# are pure; an unknown transform raises each time, lru_cache keeps none).
ikev2_child_transform = lru_cache(maxsize=256)(transforms.ikev2_child_transform)


def _int(value: int | bytes | None) -> int | None:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big") if value else None
    return value


@lru_cache(maxsize=256)
def _ikev1_keying(
    protocol_id: int,
    transform_id: int,
    key_length: int | bytes | None,
    authentication: int | bytes | None,
    encapsulation: int | bytes | None,
) -> tuple[Protocol, IpsecTransform, Mode | None]:
    """The protocol, transform and mode an IKEv1 child SA's protocol, transform ID and IPsec DOI
    attributes (RFC 2407 4.5) give its record: once per distinct combination."""
    auth = _int(authentication)
    if protocol_id == PROTO_IPSEC_ESP:
        protocol: Protocol = "esp"
        transform = transforms.ikev1_esp_transform(transform_id, _int(key_length), auth)
    elif protocol_id == PROTO_IPSEC_AH:
        protocol = "ah"
        transform = transforms.ikev1_ah_transform(transform_id, auth)
    else:
        raise ValueError(f"protocol {protocol_id} carries no ESP/AH traffic (IPCOMP is not decoded)")
    mode = _int(encapsulation)
    return protocol, transform, ENCAPSULATION_TO_MODE.get(mode) if mode is not None else None


def ipsec_sa_from_child(child: ChildSaKeys | Ikev2ChildSaKeys) -> IpsecSa:
    """Raises ``UnknownAlgorithm`` / ``InvalidSa`` (both ``ValueError``) for transforms we cannot key."""
    if isinstance(child, Ikev2ChildSaKeys):
        return ipsec_sa_from_ikev2_child(child)
    attributes = child.attributes
    protocol, transform, mode = _ikev1_keying(
        child.protocol_id,
        child.transform_id,
        attributes.get(IPSEC_KEY_LENGTH),
        attributes.get(AUTHENTICATION_ALGORITHM),
        attributes.get(ENCAPSULATION_MODE),
    )
    encryption_key, integrity_key = transform.split_keymat(child.keymat.prefix(transform.keymat_length))
    return IpsecSa.derived(
        protocol,
        int.from_bytes(child.spi, "big"),
        child.src,
        child.dst,
        transform.encryption,
        encryption_key,
        transform.integrity,
        integrity_key,
        mode,
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
