"""SA attributes and transforms in IOS words (``ISAKMP:      hash SHA``, ``transform 1, ESP_3DES``)."""

from __future__ import annotations

import struct

from ikedecode.ike.registries import PROTO_IPSEC_AH, PROTO_IPSEC_ESP
from ikedecode.ike.v1.payloads import SaPayload, Transform
from ikedecode.render.cisco import vocabulary as v

AF_BIT = 0x8000  # RFC 2408 3.3: basic (TV) attribute
# RFC 2409 Appendix A / RFC 2407 4.5 attribute numbers
IKE_ENCRYPTION, IKE_HASH, IKE_AUTH, IKE_GROUP, IKE_LIFE_TYPE, IKE_LIFE_DURATION, IKE_KEY_LENGTH = (
    1,
    2,
    3,
    4,
    11,
    12,
    14,
)
SA_LIFE_TYPE, SA_LIFE_DURATION, SA_GROUP, SA_ENCAPS, SA_AUTH, SA_KEY_LENGTH = 1, 2, 3, 4, 5, 6


def wire_values(payload: SaPayload, transform: Transform) -> list[tuple[int, bool, bytes]]:
    """(type, basic?, value bytes) of each attribute as on the wire, to print ``(VPI) of 0x0 0x1 ...``."""
    start = transform.offset - payload.offset
    raw = payload.raw
    if start < 0 or start + 8 > len(raw):
        return []
    (length,) = struct.unpack_from("!H", raw, start + 2)
    data = raw[start + 8 : start + length]
    out: list[tuple[int, bool, bytes]] = []
    position = 0
    while position + 4 <= len(data):
        word, second = struct.unpack_from("!HH", data, position)
        if word & AF_BIT:
            out.append((word & ~AF_BIT, True, data[position + 2 : position + 4]))
            position += 4
        else:
            out.append((word, False, data[position + 4 : position + 4 + second]))
            position += 4 + second
    return out


def _duration(prefix: str, basic: bool, raw: bytes, value: int) -> str:
    if basic:
        return f"{prefix} (basic) of {value}"
    return f"{prefix} (VPI) of  " + " ".join(f"0x{byte:x}" for byte in raw)


def ike_attribute_lines(payload: SaPayload, transform: Transform) -> list[str]:
    """Example 13-3: ``encryption 3DES-CBC``, ``hash SHA``, ``default group 1``, ``auth pre-share``,
    ``life type in seconds``, ``life duration (VPI) of  0x0 0x1 0x51 0x80``."""
    raws = wire_values(payload, transform)
    out: list[str] = []
    for i, attribute in enumerate(transform.attributes):
        value = attribute.value
        basic, raw = (raws[i][1], raws[i][2]) if i < len(raws) else (attribute.is_basic, b"")
        kind = attribute.type
        if kind == IKE_ENCRYPTION and isinstance(value, int):
            out.append(f"encryption {v.IKE_ENCRYPTION.get(value, attribute.text)}")
        elif kind == IKE_HASH and isinstance(value, int):
            out.append(f"hash {v.IKE_HASH.get(value, attribute.text)}")
        elif kind == IKE_GROUP:
            out.append(f"default group {_number(value)}")
        elif kind == IKE_AUTH and isinstance(value, int):
            out.append(f"auth {v.IKE_AUTH.get(value, attribute.text)}")
        elif kind == IKE_LIFE_TYPE and isinstance(value, int):
            out.append(f"life type in {v.LIFE_UNITS.get(value, attribute.text)}")
        elif kind == IKE_LIFE_DURATION and isinstance(value, int):
            out.append(_duration("life duration", basic, raw or value.to_bytes(4, "big"), value))
        elif kind == IKE_KEY_LENGTH:
            out.append(f"keylength of {_number(value)}")
        else:
            out.append(f"{attribute.name} {attribute.text}")
    return ["     " + line for line in out]


def _number(value: int | bytes) -> int:
    """An attribute's value as IOS prints it: a number, also when the peer sent it as a TLV
    (RFC 2408 3.3: a variable-length attribute holds the number in network byte order)."""
    return int.from_bytes(value, "big") if isinstance(value, bytes) else value


def ipsec_attribute_lines(payload: SaPayload, transform: Transform) -> list[str]:
    """Example 13-3: ``encaps is 1``, ``SA life type in seconds``, ``SA life duration (basic) of
    3600``, ``authenticator is HMAC-MD5``, in the order of the wire."""
    raws = wire_values(payload, transform)
    out: list[str] = []
    for i, attribute in enumerate(transform.attributes):
        value = attribute.value
        basic, raw = (raws[i][1], raws[i][2]) if i < len(raws) else (attribute.is_basic, b"")
        kind = attribute.type
        if kind == SA_ENCAPS:
            out.append(f"encaps is {_number(value)}")
        elif kind == SA_LIFE_TYPE and isinstance(value, int):
            out.append(f"SA life type in {v.LIFE_UNITS.get(value, attribute.text)}")
        elif kind == SA_LIFE_DURATION and isinstance(value, int):
            out.append(_duration("SA life duration", basic, raw or value.to_bytes(4, "big"), value))
        elif kind == SA_AUTH and isinstance(value, int):
            out.append(f"authenticator is {v.IPSEC_AUTHENTICATOR.get(value, attribute.text)}")
        elif kind == SA_KEY_LENGTH:
            out.append(f"key length is {_number(value)}")
        elif kind == SA_GROUP:
            out.append(f"group is {_number(value)}")
        else:
            out.append(f"{attribute.name} {attribute.text}")
    return ["    " + line for line in out]


def ios_transform_name(protocol_id: int, transform: Transform) -> str:
    """``ESP_3DES`` / ``AH_SHA_HMAC`` (seed) or the IANA name."""
    table = (
        v.ESP_TRANSFORMS
        if protocol_id == PROTO_IPSEC_ESP
        else v.AH_TRANSFORMS
        if protocol_id == PROTO_IPSEC_AH
        else {}
    )
    return table.get(transform.transform_id, transform.transform_name)


def transform_set(protocol_id: int, transform: Transform) -> str:
    """``esp-3des esp-md5-hmac`` (seed): the transform-set keywords IOS prints in key engine messages."""
    if protocol_id == PROTO_IPSEC_AH:
        return v.AH_KEYWORDS.get(transform.transform_id, transform.transform_name.lower())
    cipher = v.ESP_CIPHER_KEYWORDS.get(transform.transform_id, transform.transform_name.lower())
    key_length = transform.get(SA_KEY_LENGTH)
    if isinstance(key_length, int) and cipher in ("esp-aes", "esp-gcm") and key_length != 128:
        cipher += f" {key_length}"
    parts = [cipher]
    auth = transform.get(SA_AUTH)
    if isinstance(auth, int):
        parts.append(v.ESP_AUTH_KEYWORDS.get(auth, f"esp-auth-{auth}"))
    return " ".join(parts)


def lifetimes(transform: Transform) -> tuple[int | None, int | None]:
    """(seconds, kilobytes) of an IPsec transform (RFC 2407 4.5; a duration without type is seconds)."""
    seconds = kilobytes = None
    unit = 1
    for attribute in transform.attributes:
        if attribute.type == SA_LIFE_TYPE and isinstance(attribute.value, int):
            unit = attribute.value
        elif attribute.type == SA_LIFE_DURATION and isinstance(attribute.value, int):
            if unit == 2:
                kilobytes = attribute.value
            else:
                seconds = attribute.value
    return seconds, kilobytes


def _signature(transform: Transform, ignore: frozenset[int] = frozenset()) -> tuple:
    return (
        transform.transform_id,
        tuple(sorted((a.type, a.value) for a in transform.attributes if a.type not in ignore)),
    )


def matching_transform(
    offered: list[Transform], chosen: Transform, lifetime_types: tuple[int, int]
) -> Transform | None:
    """The offered transform the responder accepted. Responders may renumber the transform they
    return (strongSwan answers with number 1) or reorder its attributes, so it is matched by
    transform ID and attributes; lifetimes may legitimately differ, then the number decides."""
    exact = [t for t in offered if _signature(t) == _signature(chosen)]
    if exact:
        return exact[0]
    ignore = frozenset(lifetime_types)
    loose = [t for t in offered if _signature(t, ignore) == _signature(chosen, ignore)]
    if loose:
        return loose[0]
    return next((t for t in offered if t.number == chosen.number), None)
