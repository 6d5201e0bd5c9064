"""``--keys FILE``: recognise a key source by its content and read it into a KeyRing."""

from __future__ import annotations

from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.keys.wireshark import read_esp_sa_table, read_ikev1_decryption_table


def _content_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def looks_like_esp_sa(lines: list[str]) -> bool:
    return bool(lines) and all(line.startswith('"IPv') or line.startswith('"Any') for line in lines)


def looks_like_ikev1_table(lines: list[str]) -> bool:
    def one(line: str) -> bool:
        cookie, sep, key = line.partition(",")
        return (
            bool(sep)
            and len(cookie) == 16
            and "," not in key
            and all(c in "0123456789abcdefABCDEF" for c in cookie + key)
        )

    return bool(lines) and all(one(line) for line in lines)


def load_key_text(text: str, source: str) -> KeyRing:
    """The project's TOML key file, or a Wireshark ``esp_sa`` / ``ikev1_decryption_table``."""
    lines = _content_lines(text)
    if looks_like_esp_sa(lines):
        return KeyRing(ipsec_sas=read_esp_sa_table(text, source))
    if looks_like_ikev1_table(lines):
        return KeyRing(phase1_keys=read_ikev1_decryption_table(text, source))
    if not lines:
        raise KeyFileError(f"{source}: no keys in the file")
    return parse_key_file(text, source).keyring


__all__ = ["KeyFileError", "load_key_text"]
