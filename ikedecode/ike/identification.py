"""Identification data as text (RFC 2407 4.6.2.2 - 4.6.2.12), including a small DER reader for
ID_DER_ASN1_DN (X.501 Name). Shared by IKEv1 and IKEv2: the IKEv2 ID types 1, 2, 3, 5, 9, 11 have
the same numbers and layouts (RFC 7296 3.5)."""

from __future__ import annotations

import ipaddress

from ikedecode.ike.payload_chain import printable_text
from ikedecode.ike.registries import ID_TYPES
from ikedecode.ike.wire_text import escape_controls

IDENTIFICATION_SIZES = {1: 4, 4: 8, 5: 16, 6: 32, 7: 8, 8: 32}


def identification_text(id_type: int, data: bytes) -> tuple[str, str | None]:
    """Readable form of identification data of ``id_type``, and a problem text or ``None``.

    IPv4/IPv6 address, subnet (``10.1.0.0/255.255.0.0``, IPv6 as a prefix length when the mask
    is contiguous) and range (``10.1.1.1-10.1.1.9``); FQDN and USER_FQDN as text; DER_ASN1_DN as
    ``C=.., O=.., CN=..`` when it parses; KEY_ID as text when printable. Otherwise hex.
    """
    size = IDENTIFICATION_SIZES.get(id_type)
    if size is not None and len(data) != size:
        return data.hex(), f"{ID_TYPES.name(id_type)} data is {len(data)} bytes, expected {size}"
    if id_type == 1:
        return ipv4_text(data), None
    if id_type == 5:
        return str(ipaddress.IPv6Address(data)), None
    if id_type == 4:
        return f"{ipv4_text(data[:4])}/{ipv4_text(data[4:])}", None
    if id_type == 6:
        return _ipv6_subnet(data[:16], data[16:]), None
    if id_type == 7:
        return f"{ipv4_text(data[:4])}-{ipv4_text(data[4:])}", None
    if id_type == 8:
        return f"{ipaddress.IPv6Address(data[:16])}-{ipaddress.IPv6Address(data[16:])}", None
    if id_type in (2, 3):
        return escape_controls(data.decode("utf-8", "backslashreplace")), None
    if id_type == 9:
        return distinguished_name_text(data) or data.hex(), None
    if id_type == 11:
        return escape_controls(printable_text(data) or data.hex()), None
    return data.hex(), None


def ipv4_text(data: bytes) -> str:
    """Dotted decimal of 4 bytes, as ``str(ipaddress.IPv4Address(data))`` writes it, faster."""
    return "%d.%d.%d.%d" % (data[0], data[1], data[2], data[3])  # noqa: UP031


def _ipv6_subnet(address: bytes, mask: bytes) -> str:
    value = int.from_bytes(mask, "big")
    prefix = bin(value).count("1")
    contiguous = value == ((1 << 128) - 1) ^ ((1 << (128 - prefix)) - 1)
    suffix = str(prefix) if contiguous else str(ipaddress.IPv6Address(mask))
    return f"{ipaddress.IPv6Address(address)}/{suffix}"


# X.520 / PKCS #9 attribute types as strongSwan and OpenSSL abbreviate them
DN_ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "street",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.42": "GN",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}
DER_SEQUENCE, DER_SET, DER_OID = 0x30, 0x31, 0x06
DER_STRING_CODECS = {0x0C: "utf-8", 0x13: "ascii", 0x16: "ascii", 0x14: "latin-1", 0x1E: "utf-16-be"}


def _der_element(data: bytes, position: int, end: int) -> tuple[int, int, int]:
    """(tag, value start, value end) of the DER element at ``position``; ValueError if bad."""
    if position + 2 > end:
        raise ValueError("truncated DER header")
    tag, first = data[position], data[position + 1]
    position += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or position + count > end:
            raise ValueError("bad DER length")
        length = int.from_bytes(data[position : position + count], "big")
        position += count
    else:
        length = first
    if position + length > end:
        raise ValueError("DER value past the end")
    return tag, position, position + length


def oid_text(raw: bytes) -> str | None:
    """Dotted form of the content octets of a DER OBJECT IDENTIFIER (X.690 8.19); None if empty."""
    if not raw:
        return None
    arcs = [raw[0] // 40, raw[0] % 40] if raw[0] < 80 else [2, raw[0] - 80]
    value = 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    return ".".join(str(arc) for arc in arcs)


def distinguished_name_text(der: bytes) -> str | None:
    """``C=AT, O=Example, CN=gw`` from a DER-encoded X.501 Name, ``None`` if it does not parse."""
    try:
        tag, position, end = _der_element(der, 0, len(der))
        if tag != DER_SEQUENCE or end != len(der):
            return None
        parts: list[str] = []
        while position < end:
            tag, rdn_start, rdn_end = _der_element(der, position, end)
            if tag != DER_SET:
                return None
            values: list[str] = []
            inner = rdn_start
            while inner < rdn_end:
                tag, pair_start, pair_end = _der_element(der, inner, rdn_end)
                if tag != DER_SEQUENCE:
                    return None
                tag, oid_start, oid_end = _der_element(der, pair_start, pair_end)
                if tag != DER_OID:
                    return None
                oid = oid_text(der[oid_start:oid_end])
                if oid is None:
                    raise ValueError("empty OID")
                tag, value_start, value_end = _der_element(der, oid_end, pair_end)
                raw_value = der[value_start:value_end]
                codec = DER_STRING_CODECS.get(tag)
                text = "#" + raw_value.hex()
                if codec:
                    text = escape_controls(raw_value.decode(codec, "backslashreplace"))
                values.append(f"{DN_ATTRIBUTE_NAMES.get(oid, oid)}={text}")
                inner = pair_end
            parts.append("+".join(values))
            position = rdn_end
        return ", ".join(parts)
    except ValueError:
        return None
