"""``--keys FILE`` / ``--keylog FILE``: recognise a key source by its content and read it into a KeyRing.

Recognised, in this order: a strongSwan charon log, a libreswan pluto log, ``ip xfrm state``
output, Wireshark's ``esp_sa`` / ``ikev1_decryption_table`` / ``ikev2_decryption_table`` (also as
strongSwan's save-keys plugin writes them), tcpdump's ``-E`` secrets (ESP ``SPI@DST ALG:KEY`` and
IKEv2 ``ikev2 I|R SPIi SPIr integ:key cipher:key`` lines), and the project's TOML key file
(docs/keys.md). Files may be gzip-compressed.
"""

from __future__ import annotations

import gzip
import re
import zlib
from pathlib import Path

from ikedecode.keys.charon_log import looks_like_charon_log, parse_charon_log
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.pluto_log import looks_like_pluto_log, parse_pluto_log
from ikedecode.keys.tcpdump_ikev2 import is_ikev2_line, parse_tcpdump_ikev2
from ikedecode.keys.tcpdump_secrets import looks_like_tcpdump_secrets, parse_tcpdump_secrets
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.keys.wireshark import (
    read_esp_sa_table,
    read_ikev1_decryption_table,
    read_ikev2_decryption_table,
    split_uat_line,
)
from ikedecode.keys.xfrm import looks_like_xfrm_state, parse_xfrm_state

GZIP_MAGIC = b"\x1f\x8b"
_EMPTY_EXPORT = re.compile(
    r"^# (?:ikev1_decryption_table|ikev2_decryption_table|esp_sa) written by ikedecode ", re.M
)
MAX_KEY_FILE_BYTES = 512 * 1024 * 1024  # a daemon log of half a gigabyte is already unusual


def _content_lines(text: str) -> list[str]:
    return [stripped for line in text.splitlines() if (stripped := line.strip()) and stripped[0] != "#"]


def _head(text: str, size: int = 65536) -> str:
    """The lines of ``text`` in its first ``size`` characters and the line under way there: their
    content lines are the first content lines of ``text``."""
    cut = text.find("\n", size)
    return text if cut < 0 else text[: cut + 1]


def _may_start_a_table(line: str) -> bool:
    """Whether a file whose first content line is ``line`` may be one of the tables, or tcpdump's
    IKEv2 lines, that every content line must match (a TOML key file's ``[[table]]`` is not)."""
    first = [line]
    return (
        looks_like_esp_sa(first)
        or looks_like_ikev1_table(first)
        or looks_like_ikev2_table(first)
        or is_ikev2_line(line)
    )


def looks_like_esp_sa(lines: list[str]) -> bool:
    return bool(lines) and all(line.startswith('"IPv') or line.startswith('"Any') for line in lines)


def _uat_lines(lines: list[str], fields: int) -> bool:
    """Every line is ``fields`` comma-separated UAT fields (TOML lines have '=' or '[')."""

    def one(line: str) -> bool:
        split = split_uat_line(line)
        return split is not None and len(split) == fields and "=" not in line and not line.startswith("[")

    return bool(lines) and all(one(line) for line in lines)


def looks_like_ikev1_table(lines: list[str]) -> bool:
    """``<initiator cookie>,<encryption key>`` lines (checked in detail by the reader)."""
    return _uat_lines(lines, 2)


def looks_like_ikev2_table(lines: list[str]) -> bool:
    """``SPIi,SPIr,SK_ei,SK_er,"encr",SK_ai,SK_ar,"integ"`` lines (checked in detail by the reader)."""
    return _uat_lines(lines, 8)


def load_key_text(text: str, source: str) -> KeyRing:
    """Any key source ikedecode reads, recognised by its content."""
    if looks_like_charon_log(text):
        return parse_charon_log(text, source)
    if looks_like_pluto_log(text):
        return parse_pluto_log(text, source)
    if looks_like_xfrm_state(text):
        return KeyRing(ipsec_sas=parse_xfrm_state(text, source))
    lines = _content_lines(_head(text))
    if not lines or _may_start_a_table(lines[0]):
        lines = _content_lines(text)  # every line decides (a TOML key file is told by its first)
    if looks_like_esp_sa(lines):
        return KeyRing(ipsec_sas=read_esp_sa_table(text, source))
    if looks_like_ikev1_table(lines):
        return KeyRing(phase1_keys=read_ikev1_decryption_table(text, source))
    if looks_like_ikev2_table(lines):
        return KeyRing(ikev2_keys=read_ikev2_decryption_table(text, source))
    if lines and all(is_ikev2_line(line) for line in lines):  # tcpdump -E IKEv2 lines alone
        return KeyRing(ikev2_keys=parse_tcpdump_ikev2(text, source))
    if looks_like_tcpdump_secrets(text):
        lines = _content_lines(text)
        ikev2 = parse_tcpdump_ikev2(text, source) if any(is_ikev2_line(line) for line in lines) else []
        return KeyRing(ipsec_sas=parse_tcpdump_secrets(text, source), ikev2_keys=ikev2)
    if not lines:
        if _EMPTY_EXPORT.search(text):
            return KeyRing()  # a table --export-wireshark wrote with nothing to put in it
        raise KeyFileError(f"{source}: no keys in the file")
    try:
        return parse_key_file(text, source).keyring
    except KeyFileError as exc:
        raise _with_toml_line(exc, text, source) from None


_TOML_WHERE = re.compile(r"\[\[(?P<table>\w+)\]\] #(?P<index>\d+)(?: (?P<field>\w+))?")


def _with_toml_line(exc: KeyFileError, text: str, source: str) -> KeyFileError:
    """Add the line number to a key-file error naming ``[[table]] #n field`` (tomllib gives none)."""
    message = str(exc)
    if exc.line or not message.startswith(f"{source} "):
        return exc
    where = _TOML_WHERE.match(message, len(source) + 1)
    if where is None:
        return exc
    line = _toml_line(text, where["table"], int(where["index"]), where["field"])
    return KeyFileError(message[len(source) + 1 :], source, line) if line else exc


def _toml_line(text: str, table: str, index: int, field: str | None) -> int:
    """The line of the ``index``-th ``[[table]]`` header, or of ``field`` inside that table."""
    seen, header_line = 0, 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            if header_line:
                break
            if re.fullmatch(rf"\[\[\s*{re.escape(table)}\s*\]\](?:\s*#.*)?", stripped):
                seen += 1
                if seen == index:
                    header_line = number
        elif header_line and field and re.match(rf"{re.escape(field)}\s*=", stripped):
            return number
    return header_line


def load_keylog_text(text: str, source: str) -> KeyRing:
    """``--keylog``: a strongSwan charon or libreswan pluto log, nothing else."""
    if looks_like_charon_log(text):
        return parse_charon_log(text, source)
    if looks_like_pluto_log(text):
        return parse_pluto_log(text, source)
    raise KeyFileError(
        f"{source}: not a strongSwan charon or libreswan pluto log (use --keys for key files and tables)"
    )


def read_key_source(path: str) -> str:
    """The text of a key file or log, gunzipped when it is gzip-compressed."""
    try:
        with Path(path).open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data.startswith(GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise KeyFileError(f"{path}: damaged gzip data: {exc}") from None
    if len(data) > MAX_KEY_FILE_BYTES:
        raise KeyFileError(f"{path}: larger than {MAX_KEY_FILE_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            return data.decode("latin-1") if _mostly_text(data) else _not_text(path, exc)
        except UnicodeDecodeError:
            return _not_text(path, exc)


def _mostly_text(data: bytes) -> bool:
    """Daemon logs may carry a stray non-UTF-8 byte (an ID, a banner); binary files have NULs."""
    return b"\x00" not in data[:65536]


def _not_text(path: str, exc: UnicodeDecodeError) -> str:
    raise KeyFileError(f"{path}: not a text file (byte {exc.start} is not UTF-8)")


def load_key_file(path: str) -> KeyRing:
    return load_key_text(read_key_source(path), path)


def load_keylog_file(path: str) -> KeyRing:
    return load_keylog_text(read_key_source(path), path)


__all__ = [
    "KeyFileError",
    "load_key_file",
    "load_key_text",
    "load_keylog_file",
    "load_keylog_text",
    "read_key_source",
]
