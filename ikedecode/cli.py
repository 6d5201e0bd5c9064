"""Command line: wires options to key sources, the pipeline and a renderer. Nothing else."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ikedecode import __version__
from ikedecode.capture import CaptureError, open_capture
from ikedecode.keys.cli_inputs import keyring_from_options, parse_psk, parse_psk_file
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import KeyRing, PresharedKey
from ikedecode.keys.loader import load_key_text
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from ikedecode.render.text import render_text

RENDERERS = {"text": render_text, "json": render_json}
EXIT_USAGE = 2
EXIT_INTERNAL = 3


class UserError(Exception):
    """A problem with the user's input: reported as one line, exit status 2."""


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: {what} is not UTF-8 text") from None


def _collect_psks(psk: tuple[str, ...], psk_file: tuple[str, ...]) -> list[PresharedKey]:
    out: list[PresharedKey] = []
    for i, value in enumerate(psk, 1):
        if value == "-":
            value = click.prompt("Preshared key", hide_input=True, err=True)
        out.append(parse_psk(value, f"--psk #{i}"))
    for path in psk_file:
        out.extend(parse_psk_file(_read_text(path, "PSK file"), path))
    env = os.environ.get("IKEDECODE_PSK")
    if env:
        out.append(parse_psk(env, "IKEDECODE_PSK"))
    return out


def _build_keyring(psk, psk_file, dh_secret, dh_private, keys) -> KeyRing:  # noqa: ANN001
    ring = keyring_from_options(_collect_psks(psk, psk_file), list(dh_secret), list(dh_private))
    for path in keys:
        ring.merge(load_key_text(_read_text(path, "key file"), path))
    return ring


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("capture", type=click.Path(dir_okay=True, path_type=str))
@click.option(
    "--psk",
    multiple=True,
    metavar="[ADDRESS=]SECRET",
    help="Preshared key to try (repeatable). '-' asks for it without echo; prefer --psk-file "
    "or IKEDECODE_PSK so it stays out of shell history and the process list.",
)
@click.option("--psk-file", multiple=True, metavar="FILE", help="File with one [ADDRESS=]SECRET per line.")
@click.option(
    "--dh-secret",
    multiple=True,
    metavar="[COOKIE=]HEX",
    help="Diffie-Hellman shared secret g^xy (repeatable; COOKIE scopes it to an IKE SA).",
)
@click.option(
    "--dh-private",
    multiple=True,
    metavar="HEX",
    help="One side's private DH value; g^xy is computed from the peer's KE payload.",
)
@click.option("--keys", "keys", multiple=True, metavar="FILE", help="Key file (TOML, see docs/keys.md).")
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="text", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write the report to FILE instead of standard output.")
@click.option(
    "--write-decrypted",
    metavar="OUT.pcap",
    help="Write every decrypted ESP/AH packet (inner IP packet) to a pcap file.",
)
@click.option("--show-keys", is_flag=True, help="Include derived keys in the output (they are secrets).")
@click.option(
    "--ike-port", multiple=True, type=click.IntRange(1, 65535), help="Also look for IKE on this UDP port."
)
@click.option(
    "--max-ike-sas",
    type=click.IntRange(1),
    default=100_000,
    show_default=True,
    help="IKE SAs tracked at once; beyond it the oldest is dropped (with a finding).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.version_option(__version__, prog_name="ikedecode")
def main(
    capture,
    psk,
    psk_file,
    dh_secret,
    dh_private,
    keys,
    fmt,
    output,
    write_decrypted,
    show_keys,
    ike_port,  # noqa: ANN001
    max_ike_sas,
    quiet,
) -> None:
    """Decode, decrypt and explain the IKE/IPsec negotiations in CAPTURE (pcap or pcapng)."""
    try:
        keyring = _build_keyring(psk, psk_file, dh_secret, dh_private, keys)
        reader = open_capture(capture, ike_ports=(500, 4500, *ike_port))
        options = Options(max_ike_sas=max_ike_sas)
        if write_decrypted:
            try:
                options.decrypted_output = open(write_decrypted, "wb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise UserError(f"{write_decrypted}: cannot write: {exc.strerror or exc}") from None
        try:
            report = analyze(reader, keyring, options)
        finally:
            if options.decrypted_output is not None:
                options.decrypted_output.close()
        text = RENDERERS[fmt](report, show_keys=show_keys)
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}") from None
        else:
            click.echo(text, nl=False)
    except (CaptureError, KeyFileError, UserError) as exc:
        click.echo(f"ikedecode: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        raise
    except Exception as exc:  # noqa: BLE001 - a user never sees a traceback
        if os.environ.get("IKEDECODE_DEBUG"):
            raise
        click.echo(
            f"ikedecode: internal error ({type(exc).__name__}: {exc}); "
            "set IKEDECODE_DEBUG=1 for details and please report it",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
