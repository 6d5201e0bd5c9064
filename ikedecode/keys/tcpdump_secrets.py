"""tcpdump's ``-E`` ESP secrets (``tcpdump -E file:FILE``, print-esp.c) as ESP keys.

One SA per line: ``[SPI@DST] [ALGORITHM:]SECRET``. The SPI is ``0x`` hex or decimal and DST the
SA's destination address; without them the secret opens any ESP packet (a wildcard SA). The
algorithm is an OpenSSL cipher name (``3des-cbc``, ``aes128-cbc``, ``des-cbc``, ``cast128-cbc``,
``blowfish-cbc``, ``none``), with ``-hmac96`` appended when a 96-bit ICV follows the ciphertext;
tcpdump does not check that ICV (it has no integrity key), so here the SA's integrity is the
unchecked ``any-96``: such SAs stand or fall by the plaintext checks (esp/plaintext.py). Without an
algorithm tcpdump assumes ``des-cbc``. The secret is ``0x`` hex or the literal ASCII key.
``#`` starts a comment line. IKEv2 lines (``ikev2 I|R ...``) carry IKE SA keys, not read here.
"""

from __future__ import annotations

import ipaddress
import re

from ikedecode.esp.algorithms import UnknownAlgorithm
from ikedecode.esp.sa import InvalidSa, IpsecSa
from ikedecode.keys.errors import KeyFileError

HMAC96_SUFFIX = "-hmac96"
UNCHECKED_96 = "any-96"  # Wireshark's "ANY 96 bit authentication [no checking]"
DEFAULT_ALGORITHM = "des-cbc"  # print-esp.c: a secret without an algorithm
# OpenSSL cipher names tcpdump accepts that ikedecode spells otherwise
OPENSSL_NAMES = {
    "none": "null",
    "cast128-cbc": "cast5-cbc",
    "cast5-cbc": "cast5-cbc",
    "bf-cbc": "blowfish-cbc",
    "des-ede3-cbc": "3des-cbc",
}

_LINE = re.compile(
    r"^(?:(?P<spi>0x[0-9a-fA-F]+|\d+)@(?P<dst>\S+)\s+)?(?:(?P<algorithm>[\w.-]+):)?(?P<secret>\S+)$"
)


def _content(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def looks_like_tcpdump_secrets(text: str) -> bool:
    """Every line is a tcpdump ESP secret (at least one with ``SPI@DST``) or an IKEv2 secret line."""
    lines = _content(text[:100_000])
    esp = [line for _, line in lines if not line.startswith("ikev2 ")]
    return bool(esp) and all(_LINE.match(line) for line in esp) and any("@" in line for line in esp)


def _secret(text: str, source: str, number: int) -> bytes:
    if text[:2].lower() == "0x":
        digits = text[2:]
        try:
            return bytes.fromhex(digits if len(digits) % 2 == 0 else "0" + digits)
        except ValueError:
            raise KeyFileError(f"secret {text[:6]}... is not hex", source, number) from None
    return text.encode()


def parse_tcpdump_secrets(text: str, source: str) -> list[IpsecSa]:
    """The ESP SAs of a tcpdump ``-E`` secrets file; a line that is none raises ``KeyFileError``."""
    sas: list[IpsecSa] = []
    for number, line in _content(text):
        if line.startswith("ikev2 "):
            continue
        match = _LINE.match(line)
        if match is None:
            raise KeyFileError("not a tcpdump ESP secret ([SPI@DST] [ALGORITHM:]SECRET)", source, number)
        algorithm = (match["algorithm"] or DEFAULT_ALGORITHM).lower()
        integrity = "null"
        if algorithm.endswith(HMAC96_SUFFIX):
            algorithm, integrity = algorithm[: -len(HMAC96_SUFFIX)], UNCHECKED_96
        dst = match["dst"]
        if dst is not None:
            try:
                dst = str(ipaddress.ip_address(dst))
            except ValueError:
                raise KeyFileError(f"{dst!r} is not an IP address", source, number) from None
        try:
            sas.append(
                IpsecSa(
                    "esp",
                    int(match["spi"], 0) if match["spi"] else None,
                    None,
                    dst,
                    encryption=OPENSSL_NAMES.get(algorithm, algorithm),
                    encryption_key=_secret(match["secret"], source, number),
                    integrity=integrity,
                    origin=f"{source} line {number}",
                )
            )
        except (UnknownAlgorithm, InvalidSa) as exc:
            raise KeyFileError(str(exc), source, number) from None
    if not sas:
        raise KeyFileError("no ESP secret in this tcpdump secrets file", source)
    return sas


__all__ = ["looks_like_tcpdump_secrets", "parse_tcpdump_secrets"]
