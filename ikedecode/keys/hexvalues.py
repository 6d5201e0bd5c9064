"""Parsing hex strings from key inputs, with messages that say where the bad value is."""

from __future__ import annotations

from ikedecode.keys.errors import KeyFileError


def parse_hex(text: str, where: str, *, length: int | None = None) -> bytes:
    """Hex with optional ``0x`` prefix, colons or spaces; ``where`` names the source for errors."""
    value = plain_hex(text)  # the commonest value first
    if value is not None and (length is None or len(value) == length):
        return value
    if not isinstance(text, str):
        raise KeyFileError(f"{where}: expected a hex string, got {type(text).__name__}")
    cleaned = text.strip()
    if cleaned[:2].lower() == "0x":
        cleaned = cleaned[2:]
    cleaned = cleaned.replace(":", "").replace(" ", "").replace("\n", "")
    if not cleaned:
        raise KeyFileError(f"{where}: empty hex value")
    if len(cleaned) % 2:
        raise KeyFileError(f"{where}: hex value has an odd number of digits ({len(cleaned)})")
    try:
        value = bytes.fromhex(cleaned)
    except ValueError:
        bad = next((c for c in cleaned if c not in "0123456789abcdefABCDEF"), "?")
        raise KeyFileError(f"{where}: not hex (character {bad!r})") from None
    if length is not None and len(value) != length:
        raise KeyFileError(f"{where}: expected {length} bytes, got {len(value)}")
    return value


def plain_hex(text: object) -> bytes | None:
    """The bytes of ``text`` when it is nothing but hex digits, two per byte (what ``parse_hex``
    reads it as); None for anything else, ``parse_hex`` then says what is wrong with it."""
    if type(text) is not str or not text:
        return None
    try:
        value = bytes.fromhex(text)
    except ValueError:
        return None
    return value if 2 * len(value) == len(text) else None  # fromhex skips whitespace: none here


def parse_int(text: str | int, where: str) -> int:
    if isinstance(text, int):
        return text
    try:
        return int(str(text).strip(), 0)
    except ValueError:
        raise KeyFileError(f"{where}: not a number: {text!r}") from None
