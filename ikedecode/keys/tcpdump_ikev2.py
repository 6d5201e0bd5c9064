"""IKEv2 SA keys in tcpdump's ``-E`` secrets format (print-esp.c ``esp_print_decode_ikeline``; its
tests/ikev2pI2-secrets.txt), one line per side, in the same files as the ESP secrets
(``keys/tcpdump_secrets.py``)::

    ikev2 I 0x0001020304050607 0xc02e7a3031a03188 sha1:0x<SK_ai> aes128:0x<SK_ei>
    ikev2 R 0x0001020304050607 0xc02e7a3031a03188 sha1:0x<SK_ar> aes128:0x<SK_er>

``I``: the keys of what the initiator sends (SK_ai, SK_ei; RFC 7296 2.14), ``R``: the
responder's; the initiator and responder SPIs; the integrity name, then the cipher (an OpenSSL
name: ``aes128``, ``aes256-cbc``, ``3des``, ...) with its key. tcpdump reads only ``sha1`` and
``md5`` (a 12-byte ICV) and never checks the ICV; ``sha256``/``sha384``/``sha512`` are read too
(RFC 4868). These SAs keep tcpdump's leniency (``Ikev2KeyMaterial.icv_unchecked``): a message
whose ICV does not verify is still shown when it decrypts to a sound payload chain, marked
unverified. Pure text in, key material out.
"""

from __future__ import annotations

import re

from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import Ikev2KeyMaterial

IKEV2_LINE = re.compile(
    r"^ikev2\s+(?P<side>[IR])\s+0x(?P<spi_i>[0-9a-fA-F]{16})\s+0x(?P<spi_r>[0-9a-fA-F]{16})"
    r"\s+(?P<integ>[^\s:]+):(?P<integ_key>\S*)\s+(?P<encr>[^\s:]+):(?P<encr_key>\S+)\s*$",
    re.IGNORECASE,
)
# OpenSSL cipher names (after tcpdump drops "-cbc") -> (project name, key bytes)
CIPHERS = {
    "3des": ("3des-cbc", 24),
    "des-ede3": ("3des-cbc", 24),
    "aes128": ("aes-cbc", 16),
    "aes-128": ("aes-cbc", 16),
    "aes192": ("aes-cbc", 24),
    "aes-192": ("aes-cbc", 24),
    "aes256": ("aes-cbc", 32),
    "aes-256": ("aes-cbc", 32),
}
INTEGRITY = {
    "sha1": "hmac-sha1-96",
    "md5": "hmac-md5-96",
    "sha256": "hmac-sha2-256-128",
    "sha384": "hmac-sha2-384-192",
    "sha512": "hmac-sha2-512-256",
}


def is_ikev2_line(line: str) -> bool:
    return line.lstrip().lower().startswith("ikev2 ")


def _key(text: str, source: str, number: int) -> bytes:
    if text[:2].lower() != "0x":
        return text.encode()
    digits = text[2:]
    try:
        return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
    except ValueError:
        raise KeyFileError(f"key {text[:6]}... is not hex", source, number) from None


def parse_tcpdump_ikev2(text: str, source: str) -> list[Ikev2KeyMaterial]:
    """The IKEv2 SAs of the ``ikev2`` lines of a tcpdump secrets file (other lines are skipped)."""
    sides: dict[tuple[bytes, bytes], dict[str, object]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        if not is_ikev2_line(raw):
            continue
        match = IKEV2_LINE.match(raw.strip())
        if match is None:
            raise KeyFileError("not 'ikev2 I|R 0xSPIi 0xSPIr integ:key cipher:key'", source, number)
        _side(match, sides, source, number)
    out = []
    for (spi_i, spi_r), entry in sides.items():
        keys: dict[str, bytes] = {k: v for k, v in entry.items() if isinstance(v, bytes)}
        out.append(
            Ikev2KeyMaterial(
                spi_i,
                spi_r,
                str(entry["origin"]),
                encryption=str(entry["encryption"]),
                integrity=str(entry["integrity"]),
                sk_ei=keys.get("I_encr", b""),
                sk_er=keys.get("R_encr", b""),
                sk_ai=keys.get("I_integ", b""),
                sk_ar=keys.get("R_integ", b""),
                icv_unchecked=True,  # tcpdump skips the ICV: its test captures need not verify
            )
        )
    return out


def _side(
    match: re.Match[str], sides: dict[tuple[bytes, bytes], dict[str, object]], source: str, number: int
) -> None:
    cipher = match["encr"].lower().removesuffix("-cbc")
    if cipher not in CIPHERS:
        raise KeyFileError(
            f"IKEv2 cipher {match['encr']!r} is not one of {', '.join(CIPHERS)}", source, number
        )
    encryption, size = CIPHERS[cipher]
    encr_key = _key(match["encr_key"], source, number)
    if len(encr_key) != size:
        raise KeyFileError(
            f"{match['encr']} needs a {size}-byte key, this one has {len(encr_key)}", source, number
        )
    integrity = INTEGRITY.get(match["integ"].lower())
    if integrity is None:
        raise KeyFileError(
            f"IKEv2 integrity {match['integ']!r} is not one of {', '.join(INTEGRITY)}", source, number
        )
    pair = (bytes.fromhex(match["spi_i"]), bytes.fromhex(match["spi_r"]))
    entry = sides.setdefault(pair, {"origin": f"{source} line {number}"})
    for name, value in (("encryption", encryption), ("integrity", integrity)):
        if entry.setdefault(name, value) != value:
            raise KeyFileError(
                f"the I and R lines of one IKE SA name different {name} algorithms", source, number
            )
    side = match["side"].upper()
    if f"{side}_encr" in entry:
        raise KeyFileError(
            f"a second '{side}' line for IKE SA {match['spi_i']}/{match['spi_r']}", source, number
        )
    entry[f"{side}_encr"], entry[f"{side}_integ"] = encr_key, _key(match["integ_key"], source, number)


__all__ = ["is_ikev2_line", "parse_tcpdump_ikev2"]
