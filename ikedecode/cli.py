"""Command line: wires options to key sources, the pipeline and a renderer. Nothing else."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from ikedecode import __version__
from ikedecode.analysis.report import Report
from ikedecode.capture import CaptureError, CaptureReader
from ikedecode.capture.inputs import expand_inputs
from ikedecode.capture.merge import open_captures
from ikedecode.capture.reader import DEFAULT_FRAGMENT_BUFFERS
from ikedecode.crack.errors import PskToolError
from ikedecode.crack.rules import RULE_SETS
from ikedecode.distributed.errors import DaskError
from ikedecode.findings import SEVERITY_ORDER, Severity
from ikedecode.ike.v1.engine import DEFAULT_MAX_PHASE2_PER_SA
from ikedecode.keys.cli_inputs import keyring_from_options, parse_psk, parse_psk_file
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import KeyRing, PresharedKey
from ikedecode.keys.loader import load_key_file, load_keylog_file
from ikedecode.parallel import render_work
from ikedecode.parallel.esp_work import available_cores
from ikedecode.pipeline import Options, analyze
from ikedecode.render.cisco.perspective import Perspective, PerspectiveError

# format -> "module:function", imported when used: start-up pays only for the renderer it needs
RENDERERS: dict[str, Any] = {
    "text": "ikedecode.render.text:render_text",
    "json": "ikedecode.render.json_report:render_json",
    "cisco": "ikedecode.render.cisco.debug:render_cisco",
    "show": "ikedecode.render.show:render_show",
    "timeline": "ikedecode.render.timeline:render_timeline",
    "markdown": "ikedecode.render.markdown:render_markdown",
    "html": "ikedecode.render.html:render_html",
}
# formats written to the output as they are made (large reports)
STREAMED: dict[str, Any] = {"json": "ikedecode.render.json_report:write_json"}
ON_EVERY_CORE = frozenset({"text", "json"})  # formats whose renderer takes map_in_order=
PERSPECTIVE_FORMATS = frozenset({"cisco", "show"})  # formats written from one peer's side (--as)
EXIT_FINDINGS = 1  # --fail-on: findings of that severity or worse (docs/findings.md)
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_BROKEN_PIPE = 128 + 13  # as a shell reports a process that SIGPIPE ended


def _loaded(table: dict[str, Any], fmt: str) -> Callable[..., Any]:
    """The renderer for ``fmt`` from ``table`` (imported on first use)."""
    entry = table[fmt]
    if isinstance(entry, str):
        module, name = entry.split(":")
        entry = table[fmt] = getattr(importlib.import_module(module), name)
    return entry


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


@contextlib.contextmanager
def _progress_bar(
    reader: CaptureReader, paths: list[str], quiet: bool
) -> Iterator[Callable[[int], None] | None]:
    """click's progress bar on stderr over the bytes of the captures, when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    size = 0
    for path in paths:
        try:
            size += os.path.getsize(path)
        except OSError:
            pass
    if not size:
        yield None
        return
    with click.progressbar(length=size, label="reading", file=sys.stderr, show_pos=False) as bar:
        done = 0

        def advance(_frames: int) -> None:
            nonlocal done
            now = min(reader.bytes_read(), size)
            bar.update(now - done)
            done = now

        yield advance
        bar.update(size - done)


def _analyze_on_dask(
    scheduler: str,
    paths: list[str],
    keyring: KeyRing,
    options: Options,
    reader_options: dict[str, object],
    quiet: bool,
) -> Report:
    """The per-file work on a Dask cluster (docs/scale.md); the Report is the local one's."""
    from ikedecode.distributed.client import analyze_on_dask, dask_client

    def note(line: str) -> None:
        if not quiet:
            click.echo(f"ikedecode: note: {line}", err=True)

    with dask_client(scheduler) as client:
        return analyze_on_dask(client, paths, keyring, options, reader_options, note)


class _Echo:
    """Standard output as a stream for a streamed renderer, written as ``click.echo`` writes."""

    @staticmethod
    def write(text: str) -> None:
        click.echo(text, nl=False)


def _write_streamed(output: str | None, write: Callable[[TextIO], None]) -> None:
    """A streamed renderer's text to ``--output`` (same bytes as ``Path.write_text``) or stdout.

    The file is written under a temporary name beside it and renamed when complete, so that a
    failure part way leaves no half report where the whole one is expected."""
    if not output:
        write(_Echo())  # type: ignore[arg-type]
        return
    # a device or a pipe (-o /dev/stdout) is written as it is; a file goes through a partial one
    partial = f"{output}.partial" if not os.path.exists(output) or os.path.isfile(output) else output
    try:
        with open(partial, "w", encoding="utf-8") as stream:
            write(stream)
        if partial != output:
            os.replace(partial, output)
    except BaseException as exc:
        if partial != output:
            with contextlib.suppress(OSError):
                os.unlink(partial)
        if isinstance(exc, OSError):
            raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}") from None
        raise


def _build_keyring(psk, psk_file, dh_secret, dh_private, keys, keylogs=(), ppks=()) -> KeyRing:  # noqa: ANN001
    ring = keyring_from_options(_collect_psks(psk, psk_file), list(dh_secret), list(dh_private), tuple(ppks))
    for path in keys:
        ring.merge(load_key_file(path))
    for path in keylogs:
        ring.merge(load_keylog_file(path))
    return ring


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("capture", nargs=-1, required=True, metavar="CAPTURE...")
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
    metavar="[COOKIE[:N]=]HEX",
    help="Diffie-Hellman shared secret g^xy (repeatable; COOKIE scopes it to an IKE SA). COOKIE:N "
    "gives an IKEv2 SA's N-th additional key exchange secret (RFC 9370 SK(N), e.g. ML-KEM's).",
)
@click.option(
    "--dh-private",
    multiple=True,
    metavar="HEX",
    help="One side's private DH value; g^xy is computed from the peer's KE payload. For ML-KEM: "
    "the initiator's 64-byte private key seed, which decapsulates the responder's ciphertext.",
)
@click.option(
    "--ppk",
    "ppk",
    multiple=True,
    metavar="ID=HEX",
    help="RFC 8784 postquantum preshared key: its PPK_ID (text, or 0xHEX) and the key in hex.",
)
@click.option(
    "--keys",
    "keys",
    multiple=True,
    metavar="FILE",
    help="Key file (repeatable, recognised by content): TOML (docs/keys.md), strongSwan/libreswan "
    "log, 'ip xfrm state' output, Wireshark esp_sa / ikev1 / ikev2 decryption table; .gz accepted.",
)
@click.option(
    "--keylog",
    multiple=True,
    metavar="FILE",
    help="strongSwan charon (ike 4, chd 4, mgr 2) or libreswan pluto debug log with the keys (repeatable).",
)
@click.option(
    "--export-wireshark",
    metavar="DIR",
    help="Write ikev1_decryption_table, ikev2_decryption_table and esp_sa with the derived keys into "
    "DIR (a Wireshark profile / WIRESHARK_CONFIG_DIR). The files hold secrets.",
)
@click.option("--format", "fmt", type=click.Choice(sorted(RENDERERS)), default="text", show_default=True)
@click.option(
    "--as",
    "as_",
    default="initiator",
    show_default=True,
    metavar="initiator|responder|ADDRESS",
    help="Whose router --format cisco/show is written for: a role, or a peer's IP address.",
)
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
@click.option(
    "--max-phase2-per-sa",
    type=click.IntRange(1),
    default=DEFAULT_MAX_PHASE2_PER_SA,
    show_default=True,
    help="Phase-2 exchanges (quick mode, informational) kept per IKE SA; beyond it the oldest is "
    "dropped (with a finding).",
)
@click.option(
    "--max-fragment-buffers",
    type=click.IntRange(0),
    default=DEFAULT_FRAGMENT_BUFFERS,
    show_default=True,
    help="IP datagrams under reassembly at once; beyond it the oldest is dropped (with a finding). "
    "0 disables IP reassembly.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    help="Exit with status 1 when there are findings of this severity or worse (for CI / monitoring).",
)
@click.option(
    "--crack",
    metavar="WORDLIST",
    help="Recover an aggressive-mode PSK: test every word (and --crack-rules variants) against HASH_R on "
    "all cores. The key is printed only with --show-keys.",
)
@click.option(
    "--crack-rules",
    type=click.Choice(list(RULE_SETS)),
    default="all",
    show_default=True,
    help="Word variants tried after the words themselves: other letter cases, one or two digits appended.",
)
@click.option(
    "--export-psk-params",
    metavar="FILE",
    help="Write the aggressive-mode HASH_R parameters in psk-crack's format (ike-scan --pskcrack).",
)
@click.option(
    "--export-hashcat",
    metavar="FILE",
    help="Write the aggressive-mode HASH_R parameters for hashcat (-m 5300 MD5, -m 5400 SHA1).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(1),
    default=None,
    help="Processes that open ESP packets [default: all cores]. The report is the same for any value.",
)
@click.option(
    "--dask",
    "dask_scheduler",
    metavar="SCHEDULER",
    help="Run the per-file work as Dask tasks: a scheduler address (tcp://host:8786) or 'local' for a "
    "cluster on this machine. The workers read the files by path (shared storage). Needs "
    "ikedecode[dask]; docs/scale.md.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bar (it is shown only when stderr is a terminal) and no notes on stderr.",
)
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
    max_phase2_per_sa,
    max_fragment_buffers,
    quiet,
    jobs=None,
    keylog=(),
    export_wireshark=None,
    as_="initiator",
    fail_on=None,
    crack=None,
    crack_rules="all",
    export_psk_params=None,
    export_hashcat=None,
    dask_scheduler=None,
    ppk=(),
) -> None:
    """Decode, decrypt and explain the IKE/IPsec negotiations in CAPTURE (pcap or pcapng).

    Several captures (files, directories, glob patterns) are merged by capture time into one
    report, as mergecap would merge them.
    """
    try:
        perspective = Perspective.parse(as_)
        if dask_scheduler and write_decrypted:
            raise UserError("--write-decrypted cannot be combined with --dask (run it without --dask)")
        inputs = expand_inputs(capture)
        if not quiet:
            for line in inputs.notes:
                click.echo(f"ikedecode: note: {line}", err=True)
        paths = inputs.paths
        keyring = _build_keyring(psk, psk_file, dh_secret, dh_private, keys, keylog, ppk)
        reader_options = {"ike_ports": (500, 4500, *ike_port), "max_fragment_buffers": max_fragment_buffers}
        options = Options(
            max_ike_sas=max_ike_sas, max_phase2_per_sa=max_phase2_per_sa, jobs=jobs or available_cores()
        )
        if dask_scheduler:
            report = _analyze_on_dask(dask_scheduler, paths, keyring, options, reader_options, quiet)
        else:
            reader = open_captures(paths, **reader_options)
            if write_decrypted:
                try:
                    options.decrypted_output = open(write_decrypted, "wb")  # noqa: SIM115 - closed below
                except OSError as exc:
                    raise UserError(f"{write_decrypted}: cannot write: {exc.strerror or exc}") from None
            try:
                with _progress_bar(reader, paths, quiet) as progress:
                    options.progress = progress
                    report = analyze(reader, keyring, options)
            finally:
                if options.decrypted_output is not None:
                    options.decrypted_output.close()
        if export_wireshark:
            from ikedecode.render.wireshark_tables import write_wireshark_tables

            tables = write_wireshark_tables(export_wireshark, report, keyring)
            if not quiet:
                click.echo(
                    f"ikedecode: wrote Wireshark key tables to {export_wireshark}: "
                    f"{len(tables.ikev1)} IKEv1 SA(s), {len(tables.ikev2)} IKEv2 SA(s), "
                    f"{len(tables.esp)} ESP SA(s)"
                    + (f", {len(tables.skipped)} not expressible" if tables.skipped else ""),
                    err=True,
                )
                for note in tables.skipped:  # also a comment in the table it concerns
                    click.echo(f"ikedecode: not usable by Wireshark: {note}", err=True)
        if crack or export_psk_params or export_hashcat:  # the PSK tools (imported only then)
            from ikedecode.crack.command import PskTools, run_psk_tools

            tools = PskTools(crack, crack_rules, None, export_psk_params, export_hashcat, show_keys)

            def reanalyze(found: list[PresharedKey]) -> Report:
                keyring.psks.extend(found)
                limits = Options(max_ike_sas=max_ike_sas, max_phase2_per_sa=max_phase2_per_sa)
                if dask_scheduler:
                    return _analyze_on_dask(dask_scheduler, paths, keyring, limits, reader_options, quiet)
                return analyze(open_captures(paths, **reader_options), keyring, limits)  # every input again

            def bar(length: int, label: str):  # noqa: ANN202 - a click progress bar on stderr
                hidden = quiet or not sys.stderr.isatty()
                return click.progressbar(
                    length=length, label=label, file=sys.stderr, item_show_func=str, hidden=hidden
                )

            note = lambda line: click.echo(f"ikedecode: {line}", err=True)  # noqa: E731
            report = run_psk_tools(report, tools, note, bar, reanalyze)
        extra = {"perspective": perspective} if fmt in PERSPECTIVE_FORMATS else {}
        if fmt in ON_EVERY_CORE:  # the per-SA sections on --jobs processes (same output)
            extra["map_in_order"] = render_work.map_in_order(jobs or available_cores())
        if fmt in STREAMED:
            _write_streamed(
                output, lambda stream: _loaded(STREAMED, fmt)(report, stream, show_keys=show_keys, **extra)
            )
        else:
            text = _loaded(RENDERERS, fmt)(report, show_keys=show_keys, **extra)
            if output:
                try:
                    Path(output).write_text(text, encoding="utf-8")
                except OSError as exc:
                    raise UserError(f"{output}: cannot write the report: {exc.strerror or exc}") from None
            else:
                click.echo(text, nl=False)
        if fail_on and any(
            SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[Severity(fail_on)] for f in report.all_findings()
        ):
            sys.exit(EXIT_FINDINGS)
    except (CaptureError, KeyFileError, UserError, PerspectiveError, PskToolError, DaskError) as exc:
        click.echo(f"ikedecode: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except click.exceptions.Abort:
        raise
    except BrokenPipeError:
        # the reader of stdout went away (`ikedecode ... | head`): stop quietly, as a shell tool does
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error again at exit
        sys.exit(EXIT_BROKEN_PIPE)
    except Exception as exc:  # noqa: BLE001 - a user never sees a traceback
        if os.environ.get("IKEDECODE_DEBUG"):
            raise
        click.echo(
            f"ikedecode: internal error ({type(exc).__name__}: {exc}); "
            "set IKEDECODE_DEBUG=1 for details and please report it",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
