"""The keys a user gives on the command line: --psk (``-`` reads it from standard input), --psk-file,
IKEDECODE_PSK, --dh-secret / --dh-private / --ppk, --keys and --keylog files, --ca certificates.
Each reader is imported when its option is used (docs/performance.md, "Start-up")."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ikedecode.terminal.output import UserError

if TYPE_CHECKING:
    from ikedecode.keys.keyring import KeyRing, PresharedKey


def read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: {what} is not UTF-8 text") from None


def collect_psks(psk: tuple[str, ...], psk_file: tuple[str, ...]) -> list[PresharedKey]:
    out: list[PresharedKey] = []
    from ikedecode.keys.cli_inputs import parse_psk, parse_psk_file

    for i, value in enumerate(psk, 1):
        if value == "-":
            value = psk_from_stdin(f"--psk #{i}")
        out.append(parse_psk(value, f"--psk #{i}"))
    for path in psk_file:
        out.extend(parse_psk_file(read_text(path, "PSK file"), path))
    env = os.environ.get("IKEDECODE_PSK")
    if env:
        out.append(parse_psk(env, "IKEDECODE_PSK"))
    return out


def psk_from_stdin(what: str) -> str:
    """``--psk -``: asked for without echo on a terminal; otherwise one line read from standard
    input (a pipe, a file: ``getpass`` would warn that it cannot hide the input)."""
    if sys.stdin is not None and sys.stdin.isatty():
        return str(click.prompt("Preshared key", hide_input=True, err=True))
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise UserError(f"{what}: '-' reads the key from standard input, which is empty")
    return line.rstrip("\r\n")


def load_cas(paths: tuple[str, ...]) -> list[Any]:
    """--ca: every certificate of each file (PEM, one or more; or one DER)."""
    if not paths:
        return []  # no X.509 (cryptography.x509, ~15 ms) imported without --ca
    from ikedecode.ike.certificates import CertificateError, load_certificates

    out: list[Any] = []
    for path in paths:
        try:
            out.extend(load_certificates(Path(path).read_bytes()))
        except OSError as exc:
            raise UserError(f"{path}: cannot read the CA certificate: {exc.strerror or exc}") from None
        except (CertificateError, ValueError) as exc:
            raise UserError(f"{path}: not a PEM or DER certificate ({exc})") from None
    return out


def build_keyring(
    psk: tuple[str, ...],
    psk_file: tuple[str, ...],
    dh_secret: tuple[str, ...],
    dh_private: tuple[str, ...],
    keys: tuple[str, ...],
    keylogs: tuple[str, ...] = (),
    ppks: tuple[str, ...] = (),
) -> KeyRing:
    from ikedecode.keys.cli_inputs import keyring_from_options

    ring = keyring_from_options(collect_psks(psk, psk_file), list(dh_secret), list(dh_private), tuple(ppks))
    if not keys and not keylogs:
        return ring  # the key-file readers (~10 ms of imports) are not needed
    from ikedecode.keys.loader import load_key_file, load_keylog_file

    for path in keys:
        ring.merge(load_key_file(path))
    for path in keylogs:
        ring.merge(load_keylog_file(path))
    return ring
