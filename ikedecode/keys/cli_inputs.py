"""Key material from the command line and the environment, parsed into a KeyRing.

``--psk SECRET`` or ``--psk ADDRESS=SECRET`` (scoped to a peer when the part before '=' is an IP
address), ``--psk -`` (read without echo by the caller), ``--psk-file FILE`` (one per line, same
syntax, '#' comments), environment variable ``IKEDECODE_PSK``; ``--dh-secret HEX`` or
``--dh-secret COOKIE=HEX``; ``--dh-private HEX``.
"""

from __future__ import annotations

from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.hexvalues import parse_hex
from ikedecode.keys.keyring import DhPrivate, DhSecret, KeyRing, PresharedKey, is_address


def parse_psk(text: str, origin: str) -> PresharedKey:
    scope, sep, secret = text.partition("=")
    if sep and is_address(scope):
        if not secret:
            raise KeyFileError(f"{origin}: empty preshared key after '{scope}='")
        return PresharedKey(secret.encode(), origin, scope)
    if not text:
        raise KeyFileError(f"{origin}: empty preshared key")
    return PresharedKey(text.encode(), origin)


def parse_psk_file(text: str, source: str) -> list[PresharedKey]:
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.rstrip("\r\n")
        if not stripped.strip() or stripped.lstrip().startswith("#"):
            continue
        out.append(parse_psk(stripped, f"{source} line {n}"))
    if not out:
        raise KeyFileError(f"{source}: no preshared key in the file")
    return out


def parse_dh_secret(text: str, origin: str) -> DhSecret:
    scope, sep, value = text.partition("=")
    if sep:
        cookie = parse_hex(scope, f"{origin} (initiator cookie)", length=8)
        return DhSecret(parse_hex(value, origin), origin, cookie)
    return DhSecret(parse_hex(text, origin), origin)


def parse_dh_private(text: str, origin: str) -> DhPrivate:
    return DhPrivate(parse_hex(text, origin), origin)


def keyring_from_options(psks: list[PresharedKey], dh_secrets: list[str], dh_privates: list[str]) -> KeyRing:
    ring = KeyRing()
    ring.psks.extend(psks)
    ring.dh_secrets.extend(parse_dh_secret(v, f"--dh-secret #{i}") for i, v in enumerate(dh_secrets, 1))
    ring.dh_privates.extend(parse_dh_private(v, f"--dh-private #{i}") for i, v in enumerate(dh_privates, 1))
    return ring
