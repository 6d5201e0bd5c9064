"""Wireshark ``esp_sa`` UAT files (Preferences > Protocols > ESP > ESP SAs).

One SA per line: ``"IPv4","src","dst","SPI","<encryption>","<key>","<authentication>","<key>"``
(Wireshark 4.0, epan/dissectors/packet-ipsec.c). Addresses and SPI may be ``*``; the SPI is
``0x`` hex or decimal; keys are ``0x`` hex (an odd digit count gets a leading zero, as
Wireshark does) or the literal ASCII string. Quoted UAT strings may contain ``\\xHH`` escapes.

Newer Wireshark releases add two columns for extended sequence numbers (RFC 4303 section 2.2.1):
the sequence number length (``32-bit`` / ``64-bit``; anything naming 64 bits or ESN turns ESN
on) and the high 32 bits at the start (``0x`` hex or decimal). Both are optional here.
"""

from __future__ import annotations

import re

from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.sa import InvalidSa, IpsecSa
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.hexvalues import parse_hex
from ikedecode.keys.keyring import Ikev2KeyMaterial, Phase1KeyMaterial
from ikedecode.keys.wireshark_names import IKEV2_ENCRYPTION_NAMES, IKEV2_INTEGRITY_NAMES, IKEV2_SALT

ESP_SA_FIELDS = (
    "protocol",
    "source",
    "destination",
    "SPI",
    "encryption",
    "encryption key",
    "authentication",
    "authentication key",
)
ADDRESS_FAMILIES = frozenset({"ipv4", "ipv6", "any"})  # first field, case-insensitive; not used for matching

# A UAT field: a double-quoted string with backslash escapes, or bare text up to the next comma.
_FIELD = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,"]*?))\s*(,|$)')
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)")


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        return chr(int(code[1:], 16)) if code[0] == "x" and len(code) == 3 else code

    return _ESCAPE.sub(replace, text)


def split_uat_line(line: str) -> list[str] | None:
    """The fields of one UAT line, or None when it is not well-formed."""
    fields: list[str] = []
    pos = 0
    while True:
        match = _FIELD.match(line, pos)
        if match is None:
            return None
        quoted, bare, separator = match.groups()
        fields.append(_unescape(quoted) if quoted is not None else bare)
        pos = match.end()
        if separator != ",":
            return fields if pos >= len(line) else None


def parse_key(text: str) -> bytes:
    """A Wireshark key: ``0x`` hex digits (odd count: implicit leading 0) or ASCII text."""
    if len(text) >= 2 and text[:2] in ("0x", "0X"):
        digits = text[2:]
        if len(digits) % 2:
            digits = "0" + digits
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise ValueError(f"key {text!r} has a character that is not a hex digit") from None
    return text.encode("utf-8")


def _parse_spi(text: str) -> int | None:
    if text in ("*", ""):
        return None
    try:
        spi = int(text, 16) if text[:2].lower() == "0x" else int(text, 10)
    except ValueError:
        raise ValueError(f"SPI {text!r} is neither 0x-hex, decimal nor '*'") from None
    if not 0 <= spi <= 0xFFFFFFFF:
        raise ValueError(f"SPI {text!r} does not fit 32 bits")
    return spi


def _parse_address(text: str) -> str | None:
    # "*" is a wildcard; Wireshark also accepts per-component wildcards such as "10.0.*.*",
    # which are treated as a full wildcard here (the ICV still decides which SA fits).
    if text == "" or "*" in text:
        return None
    return text


def read_esp_sa_table(text: str, source_name: str) -> list[IpsecSa]:
    """The SAs of a Wireshark ``esp_sa`` file; any unusable line raises ``KeyFileError``."""
    sas: list[IpsecSa] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = split_uat_line(line)
        if fields is None:
            raise KeyFileError("not a list of comma-separated (quoted) fields", source_name, number)
        if len(fields) < len(ESP_SA_FIELDS):
            raise KeyFileError(
                f"{len(fields)} fields, an esp_sa line has {len(ESP_SA_FIELDS)}: " + ", ".join(ESP_SA_FIELDS),
                source_name,
                number,
            )
        family, src, dst, spi, encryption, encryption_key, integrity, integrity_key = fields[:8]
        sn_length, sn_upper = (*fields[8:10], "", "")[:2]
        if family.lower() not in ADDRESS_FAMILIES:
            raise KeyFileError(f"protocol {family!r} is not IPv4, IPv6 or Any", source_name, number)
        try:
            sas.append(
                IpsecSa(
                    protocol="esp",
                    spi=_parse_spi(spi),
                    src=_parse_address(src),
                    dst=_parse_address(dst),
                    encryption=encryption,
                    encryption_key=parse_key(encryption_key),
                    integrity=integrity,
                    integrity_key=parse_key(integrity_key),
                    esn="64" in sn_length or "esn" in sn_length.lower(),
                    initial_seq_hi=int(sn_upper, 0) if sn_upper.strip() else 0,
                    origin=f"key file {source_name} line {number}",
                )
            )
        except (UnknownAlgorithm, InvalidSa, ValueError) as exc:
            raise KeyFileError(str(exc), source_name, number) from None
    return sas


def read_ikev1_decryption_table(text: str, source_name: str) -> list[Phase1KeyMaterial]:
    """Wireshark's ``ikev1_decryption_table`` UAT: ``<initiator cookie>,<encryption key>`` per line.

    The key is the final phase-1 cipher key (after RFC 2409 Appendix B expansion), so it
    decrypts but cannot verify hashes (no SKEYID_a).
    """
    out: list[Phase1KeyMaterial] = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = split_uat_line(stripped)
        if fields is None or len(fields) != 2:
            raise KeyFileError("expected '<initiator cookie>,<encryption key>'", source_name, number)
        cookie, key = (parse_hex(f, f"{source_name}:{number}") for f in fields)
        if len(cookie) != 8:
            raise KeyFileError(f"initiator cookie must be 8 bytes, got {len(cookie)}", source_name, number)
        out.append(Phase1KeyMaterial(cookie, f"{source_name}:{number}", encryption_key=key))
    return out


IKEV2_TABLE_FIELDS = (
    "initiator SPI",
    "responder SPI",
    "SK_ei",
    "SK_er",
    "encryption algorithm",
    "SK_ai",
    "SK_ar",
    "integrity algorithm",
)


def read_ikev2_decryption_table(text: str, source_name: str) -> list[Ikev2KeyMaterial]:
    """Wireshark's ``ikev2_decryption_table`` UAT: ``SPIi,SPIr,SK_ei,SK_er,"encr",SK_ai,SK_ar,"integ"``.

    Keys are bare hex (SK_e* include the CTR/GCM/CCM salt, RFC 5930/5282); their lengths must fit
    the named algorithms, as Wireshark checks. strongSwan's save-keys plugin appends a line each
    time it derives an SA's keys: several lines for one SPI pair are successive key stages (RFC
    9370), numbered in file order (``Ikev2KeyMaterial.stage``), not duplicates.
    """
    out: list[Ikev2KeyMaterial] = []
    stages: dict[tuple[bytes, bytes], int] = {}
    encryption_names = {k.lower(): v for k, v in IKEV2_ENCRYPTION_NAMES.items()}
    integrity_names = {k.lower(): v for k, v in IKEV2_INTEGRITY_NAMES.items()}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        fields = split_uat_line(stripped)
        if fields is None or len(fields) != len(IKEV2_TABLE_FIELDS):
            fields_wanted = f"expected {len(IKEV2_TABLE_FIELDS)} fields: " + ", ".join(IKEV2_TABLE_FIELDS)
            raise KeyFileError(fields_wanted, source_name, number)
        spi_i, spi_r, sk_ei, sk_er, encryption, sk_ai, sk_ar, integrity = fields
        where = f"{source_name}:{number}"
        hex_fields = {"initiator SPI": spi_i, "responder SPI": spi_r, "SK_ei": sk_ei, "SK_er": sk_er}
        hex_fields |= {"SK_ai": sk_ai, "SK_ar": sk_ar}
        values = {
            name: parse_hex(value, f"{where} {name}") if value.strip() else b""
            for name, value in hex_fields.items()
        }
        for name in ("initiator SPI", "responder SPI"):
            if len(values[name]) != 8:
                raise KeyFileError(f"{name} must be 8 bytes, got {len(values[name])}", source_name, number)
        if encryption.lower() not in encryption_names:
            raise KeyFileError(f"unknown IKEv2 encryption algorithm {encryption!r}", source_name, number)
        if integrity.lower() not in integrity_names:
            raise KeyFileError(f"unknown IKEv2 integrity algorithm {integrity!r}", source_name, number)
        enc_name, key_bytes = encryption_names[encryption.lower()]
        integ_name, integ_bytes = integrity_names[integrity.lower()]
        expected = key_bytes + IKEV2_SALT.get(enc_name, 0)
        for name in ("SK_ei", "SK_er"):
            if len(values[name]) != expected:
                message = f"{name} has {len(values[name])} bytes, {encryption} needs {expected}"
                raise KeyFileError(message, source_name, number)
        for name in ("SK_ai", "SK_ar"):
            if integ_bytes is not None and len(values[name]) != integ_bytes:
                message = f"{name} has {len(values[name])} bytes, {integrity} needs {integ_bytes}"
                raise KeyFileError(message, source_name, number)
        pair = (values["initiator SPI"], values["responder SPI"])
        stage = stages[pair] = stages.get(pair, -1) + 1
        out.append(
            Ikev2KeyMaterial(
                values["initiator SPI"],
                values["responder SPI"],
                where + (f" (key stage {stage + 1})" if stage else ""),
                stage=stage,
                encryption=enc_name,
                integrity=integ_name,
                sk_ei=values["SK_ei"],
                sk_er=values["SK_er"],
                sk_ai=values["SK_ai"],
                sk_ar=values["SK_ar"],
            )
        )
    return out
