"""Where IKE meets ESP: IPsec SAs keyed from what a quick mode produced (``ike.v1.child_sa.ChildSaKeys``).

This sits above both ``ike/`` and ``esp/`` so that neither imports the other; IKEv2 child SAs
will be keyed here too.
"""

from __future__ import annotations

from ikedecode.esp.sa import IpsecSa, Mode
from ikedecode.esp.transforms import ikev1_ah_transform, ikev1_esp_transform
from ikedecode.ike.registries import AUTHENTICATION_ALGORITHM, ENCAPSULATION_MODE, IPSEC_KEY_LENGTH
from ikedecode.ike.v1.child_sa import ChildSaKeys

PROTO_AH, PROTO_ESP = 2, 3
# RFC 2407 4.5 encapsulation modes, RFC 3947 UDP-encapsulated ones and their draft numbers
ENCAPSULATION_TO_MODE: dict[int, Mode] = {
    1: "tunnel",
    2: "transport",
    3: "tunnel",
    4: "transport",
    61443: "tunnel",
    61444: "transport",
}


def _int(value: int | bytes | None) -> int | None:
    if isinstance(value, bytes):
        return int.from_bytes(value, "big") if value else None
    return value


def ipsec_sa_from_child(child: ChildSaKeys) -> IpsecSa:
    """Raises ``UnknownAlgorithm`` / ``InvalidSa`` (both ``ValueError``) for transforms we cannot key."""
    auth = _int(child.attributes.get(AUTHENTICATION_ALGORITHM))
    if child.protocol_id == PROTO_ESP:
        transform = ikev1_esp_transform(
            child.transform_id, _int(child.attributes.get(IPSEC_KEY_LENGTH)), auth
        )
        protocol = "esp"
    elif child.protocol_id == PROTO_AH:
        transform = ikev1_ah_transform(child.transform_id, auth)
        protocol = "ah"
    else:
        raise ValueError(f"protocol {child.protocol_id} carries no ESP/AH traffic (IPCOMP is not decoded)")
    encryption_key, integrity_key = transform.split_keymat(child.keymat)
    encapsulation = _int(child.attributes.get(ENCAPSULATION_MODE))
    return IpsecSa(
        protocol,  # type: ignore[arg-type]
        int.from_bytes(child.spi, "big"),
        child.src,
        child.dst,
        encryption=transform.encryption,
        encryption_key=encryption_key,
        integrity=transform.integrity,
        integrity_key=integrity_key,
        mode=ENCAPSULATION_TO_MODE.get(encapsulation) if encapsulation is not None else None,
        origin=child.origin,
        ike_cookies=child.ike_cookies,
        message_id=child.message_id,
    )
