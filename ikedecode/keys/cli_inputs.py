"""Key material from the command line and the environment, parsed into a KeyRing.

``--psk SECRET`` or ``--psk ADDRESS=SECRET`` (scoped to a peer when the part before '=' is an IP
address), ``--psk -`` (read without echo by the caller), ``--psk-file FILE`` (one per line, same
syntax, '#' comments), environment variable ``IKEDECODE_PSK``; ``--dh-secret HEX`` or
``--dh-secret COOKIE=HEX``, and for the n-th additional key exchange of an IKEv2 SA (RFC 9370: the
ML-KEM shared secret SK(n) of its IKE_INTERMEDIATE exchange) ``--dh-secret COOKIE:n=HEX``;
``--dh-private HEX``; ``--ppk ID=HEX`` (RFC 8784: the PPK_ID as text, or ``0xHEX`` for its raw bytes).
"""

from __future__ import annotations

from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.hexvalues import parse_hex
from ikedecode.keys.keyring import DhPrivate, DhSecret, KeyRing, Ppk, PresharedKey, is_address

MAX_ADDITIONAL_KEY_EXCHANGES = 7  # RFC 9370 section 2.1.1: transform types ADDKE1..ADDKE7


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
        cookie_text, colon, stage_text = scope.partition(":")
        cookie = parse_hex(cookie_text, f"{origin} (initiator cookie)", length=8)
        stage = 0
        if colon:
            if not stage_text.isdigit() or not 1 <= int(stage_text) <= MAX_ADDITIONAL_KEY_EXCHANGES:
                raise KeyFileError(
                    f"{origin}: after 'COOKIE:' comes the additional key exchange's number, "
                    f"1 to {MAX_ADDITIONAL_KEY_EXCHANGES} (RFC 9370 ADDKE1..ADDKE7), not '{stage_text}'"
                )
            stage = int(stage_text)
            origin = f"{origin} (SK({stage}))"
        return DhSecret(parse_hex(value, origin), origin, cookie, stage=stage)
    return DhSecret(parse_hex(text, origin), origin)


def parse_ppk(text: str, origin: str) -> Ppk:
    """``ID=HEX``: the PPK_ID as text (``0x...`` for raw bytes) and the PPK in hex (RFC 8784)."""
    identity, sep, value = text.rpartition("=")
    if not sep or not identity:
        raise KeyFileError(f"{origin}: a PPK is given as ID=HEX (its PPK_ID, then the key in hex)")
    return Ppk(ppk_identity(identity, origin), parse_hex(value, origin), origin)


def ppk_identity(text: str, origin: str) -> bytes:
    if text.lower().startswith("0x"):
        return parse_hex(text[2:], f"{origin} (PPK_ID)")
    return text.encode()


def parse_dh_private(text: str, origin: str) -> DhPrivate:
    return DhPrivate(parse_hex(text, origin), origin)


def keyring_from_options(
    psks: list[PresharedKey], dh_secrets: list[str], dh_privates: list[str], ppks: tuple[str, ...] = ()
) -> KeyRing:
    ring = KeyRing()
    ring.ppks.extend(parse_ppk(v, f"--ppk #{i}") for i, v in enumerate(ppks, 1))
    ring.psks.extend(psks)
    ring.dh_secrets.extend(parse_dh_secret(v, f"--dh-secret #{i}") for i, v in enumerate(dh_secrets, 1))
    ring.dh_privates.extend(parse_dh_private(v, f"--dh-private #{i}") for i, v in enumerate(dh_privates, 1))
    return ring
