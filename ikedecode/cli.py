"""Command line: wires options to key sources, the pipeline and a renderer. Nothing else."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from ikedecode import __version__
from ikedecode.crack.rules import RULE_SETS
from ikedecode.terminal.formats import (
    EXTENSION_FORMATS,
    ON_EVERY_CORE,
    PERSPECTIVE_FORMATS,
    RENDERERS,
    write_report,
)
from ikedecode.terminal.key_inputs import build_keyring, load_cas
from ikedecode.terminal.output import UserError
from ikedecode.terminal.progress import progress_bar, terminal_bar

if TYPE_CHECKING:  # the engine and the pipeline are imported when a capture is analysed, not for --help
    from ikedecode.analysis.report import Report
    from ikedecode.keys.keyring import KeyRing, PresharedKey
    from ikedecode.pipeline import Options

# Defaults shown by --help without importing the modules that own them (a test keeps them equal):
DEFAULT_FRAGMENT_BUFFERS = 1024  # ikedecode.capture.reader.DEFAULT_FRAGMENT_BUFFERS
DEFAULT_MAX_PHASE2_PER_SA = 10_000  # the IKEv1 engine's DEFAULT_MAX_PHASE2_PER_SA
DEFAULT_CHUNK_BYTES = 4 << 20  # ikedecode.pipeline.DEFAULT_CHUNK_BYTES
DEFAULT_CHUNK_AFTER = 32 << 20  # ikedecode.pipeline.DEFAULT_CHUNK_AFTER
DEFAULT_DASK_CHUNK_BYTES = 16 << 20  # ikedecode.distributed.chunk_tasks.DEFAULT_DASK_CHUNK_BYTES
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


class ByteSize(click.ParamType):
    """A size in bytes: a number, optionally followed by K, M or G (KiB, MiB, GiB)."""

    name = "SIZE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("B").removesuffix("I")
        unit = text[-1:] if text[-1:] in SIZE_UNITS else ""
        number = text[: len(text) - len(unit)]
        if not number.isdigit() or int(number) < 1:
            self.fail(f"{value!r} is not a size (a positive number of bytes, or with K, M or G)", param, ctx)
        return int(number) * SIZE_UNITS[unit]


EXIT_FINDINGS = 1  # --fail-on: findings of that severity or worse (docs/findings.md)
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_BROKEN_PIPE = 128 + 13  # as a shell reports a process that SIGPIPE ended
EXIT_INTERRUPTED = 128 + 2  # Ctrl-C, as a shell reports a process that SIGINT ended


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


class GroupedCommand(click.Command):
    """A command whose --help lists its options under headings (``OPTION_GROUPS``): click has no
    option groups of its own, and a new dependency for them is not worth it."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        records = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None and param.name is not None and isinstance(param, click.Option):
                records[param.name] = record
        placed: set[str] = set()
        for title, names in OPTION_GROUPS:
            rows = [records[name] for name in names if name in records]
            placed.update(names)
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)
        rest = [record for name, record in records.items() if name not in placed]
        if rest:
            with formatter.section("Other options"):
                formatter.write_dl(rest)


OPTION_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Keys", ("psk", "psk_file", "dh_secret", "dh_private", "ppk", "keys", "keylog", "ca")),
    ("Report", ("fmt", "output", "as_", "show_keys", "fail_on", "quiet")),
    ("Exports", ("write_decrypted", "export_wireshark", "export_psk_params", "export_hashcat")),
    ("Aggressive-mode PSK recovery", ("crack", "crack_rules")),
    ("Capture and limits", ("ike_port", "max_ike_sas", "max_phase2_per_sa", "max_fragment_buffers")),
    ("Performance", ("jobs", "chunk_size", "dask_scheduler")),
)

EXAMPLES = """\b
Examples:
  ikedecode capture.pcap --psk-file psk.txt
  ikedecode capture.pcap --keys keys.toml -o report.html
  ikedecode capture.pcap --keylog charon.log --show-keys -o keys-report.md
  ikedecode capture.pcap --psk - --format cisco --as responder
  ikedecode aggressive.pcap --crack words.txt --show-keys
  ikedecode 'captures/*.pcap' --format json --fail-on error
"""


@click.command(cls=GroupedCommand, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXAMPLES)
@click.argument("capture", nargs=-1, required=True, metavar="CAPTURE...")
@click.option(
    "--psk",
    multiple=True,
    metavar="[ADDRESS=]SECRET",
    help="Preshared key to try (repeatable). '-' reads it from standard input (asked for without echo "
    "on a terminal); prefer --psk-file "
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
    "--ca",
    multiple=True,
    metavar="FILE",
    help="CA certificate(s) the peers trust, PEM or DER (repeatable): IKEv1 signers' certificates and "
    "the peer's certificate of an IKEv2 AUTHENTICATION_FAILED are checked against them.",
)
@click.option(
    "--export-wireshark",
    metavar="DIR",
    help="Write ikev1_decryption_table, ikev2_decryption_table and esp_sa with the derived keys into "
    "DIR (a Wireshark profile / WIRESHARK_CONFIG_DIR). The files hold secrets.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(RENDERERS), case_sensitive=False),
    default=None,
    help="Report format (any case) [default: from -o's extension (.html, .md, .json, .txt), else text].",
)
@click.option(
    "--as",
    "as_",
    default="initiator",
    show_default=True,
    metavar="initiator|responder|ADDRESS",
    help="Whose router --format cisco/show is written for: a role, or a peer's IP address "
    "(other formats ignore it, with a note).",
)
@click.option(
    "--output",
    "-o",
    metavar="FILE",
    help="Write the report to FILE instead of standard output (mode 0600 with --show-keys).",
)
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
    "--chunk-size",
    type=ByteSize(),
    default=None,
    help=f"With --jobs above 1, one capture file is read in chunks of about this many bytes, each "
    f"scanned and opened by a worker process (e.g. 4M) [default: {DEFAULT_CHUNK_BYTES >> 20}M, for a "
    f"file of {DEFAULT_CHUNK_AFTER >> 20} MiB or more; given, for any file; with --dask, one file's "
    f"chunks go to the cluster's workers, default {DEFAULT_DASK_CHUNK_BYTES >> 20}M]. Not for several "
    "files (merged by time). The report is the same for any value.",
)
@click.option(
    "--dask",
    "dask_scheduler",
    metavar="SCHEDULER",
    help="Run the work as Dask tasks: a scheduler address (tcp://host:8786) or 'local' for a cluster "
    "on this machine. One capture file is spread over the workers in chunks (--chunk-size); several "
    "files, one task per file. The workers read the files by path (shared storage). Needs "
    "ikedecode[dask]; docs/scale.md.",
)
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="No progress bar (it is shown only when stderr is a terminal) and no notes on stderr: not the "
    "'wrote ...' confirmations of the exports, nor the --crack summary (the report has the result). "
    "Errors are still reported.",
)
@click.version_option(__version__, prog_name="ikedecode")
def main(**options: Any) -> None:
    """Decode, decrypt and explain the IKE/IPsec negotiations in CAPTURE (pcap or pcapng).

    Several captures (files, directories, glob patterns) are merged by capture time into one
    report, as mergecap would merge them.
    """
    as_given = click.get_current_context().get_parameter_source("as_") is not ParameterSource.DEFAULT
    try:
        with _interrupts():
            _run(as_given=as_given, **options)
    except (KeyboardInterrupt, click.exceptions.Abort):
        # Ctrl-C (or at the --psk - prompt): one line, the status a shell gives SIGINT, no traceback
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        click.echo("ikedecode: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)


_interrupted = threading.Event()


@contextlib.contextmanager
def _interrupts() -> Iterator[None]:
    """Ctrl-C while ikedecode runs: this process raises KeyboardInterrupt (``main`` reports it on
    one line); the worker processes forked from it (ESP, DH, --crack, rendering) inherit the
    handler and leave at once, silently, instead of each printing a traceback."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    main_pid = os.getpid()
    _interrupted.clear()

    def on_sigint(_signum: int, _frame: object) -> None:
        if os.getpid() != main_pid:
            os._exit(EXIT_INTERRUPTED)  # a worker: no traceback, no clean-up of the parent's state
        _interrupted.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _run(
    capture,  # noqa: ANN001
    psk,  # noqa: ANN001
    psk_file,  # noqa: ANN001
    dh_secret,  # noqa: ANN001
    dh_private,  # noqa: ANN001
    keys,  # noqa: ANN001
    fmt,  # noqa: ANN001
    output,  # noqa: ANN001
    write_decrypted,  # noqa: ANN001
    show_keys,  # noqa: ANN001
    ike_port,  # noqa: ANN001
    max_ike_sas,  # noqa: ANN001
    max_phase2_per_sa,  # noqa: ANN001
    max_fragment_buffers,  # noqa: ANN001
    quiet,  # noqa: ANN001
    jobs=None,  # noqa: ANN001
    chunk_size=None,  # noqa: ANN001
    keylog=(),  # noqa: ANN001
    ca=(),  # noqa: ANN001
    export_wireshark=None,  # noqa: ANN001
    as_="initiator",  # noqa: ANN001
    fail_on=None,  # noqa: ANN001
    crack=None,  # noqa: ANN001
    crack_rules="all",  # noqa: ANN001
    export_psk_params=None,  # noqa: ANN001
    export_hashcat=None,  # noqa: ANN001
    dask_scheduler=None,  # noqa: ANN001
    ppk=(),  # noqa: ANN001
    as_given=False,  # noqa: ANN001
) -> None:
    from ikedecode.terminal.allocator import fix_thresholds

    fix_thresholds()  # the C allocator's, before the run allocates anything big (terminal/allocator.py)
    # the engine, the pipeline and the key readers: imported here, so that --help stays fast
    from ikedecode.capture import CaptureError
    from ikedecode.capture.inputs import expand_inputs
    from ikedecode.capture.merge import open_captures
    from ikedecode.crack.errors import PskToolError
    from ikedecode.distributed.errors import DaskError
    from ikedecode.findings import SEVERITY_ORDER, Severity
    from ikedecode.keys.errors import KeyFileError
    from ikedecode.parallel import render_work
    from ikedecode.parallel.esp_work import available_cores
    from ikedecode.pipeline import Options, analyze
    from ikedecode.render.cisco.perspective import Perspective, PerspectiveError

    def note(line: str) -> None:
        """A note on stderr (what was written, what was ignored); ``-q`` silences every one."""
        if not quiet:
            click.echo(f"ikedecode: {line}", err=True)

    try:
        perspective = Perspective.parse(as_)
        if dask_scheduler and write_decrypted:
            raise UserError("--write-decrypted cannot be combined with --dask (run it without --dask)")
        if fmt is None:  # -o report.html / .md / .json: the format its extension names
            fmt = EXTENSION_FORMATS.get(Path(output).suffix.lower(), "text") if output else "text"
        if as_given and fmt not in PERSPECTIVE_FORMATS:
            note(f"note: --as applies to --format cisco and show only; the {fmt} report ignores it")
        inputs = expand_inputs(capture)
        for line in inputs.notes:
            note(f"note: {line}")
        paths = inputs.paths
        keyring = build_keyring(psk, psk_file, dh_secret, dh_private, keys, keylog, ppk)
        keyring.trusted_certificates.extend(load_cas(ca))
        reader_options = {"ike_ports": (500, 4500, *ike_port), "max_fragment_buffers": max_fragment_buffers}
        options = Options(
            max_ike_sas=max_ike_sas, max_phase2_per_sa=max_phase2_per_sa, jobs=jobs or available_cores()
        )
        if chunk_size is not None:  # asked for: chunks whatever the file's size
            options.chunk_bytes, options.chunk_after = chunk_size, 0
            # with --dask, one file's chunks go to the cluster's workers, whatever --jobs
            if len(paths) > 1 or (options.jobs == 1 and not dask_scheduler):
                why = "--jobs 1" if options.jobs == 1 and not dask_scheduler else "several captures"
                note(
                    f"note: --chunk-size applies to one capture file with --jobs above 1; ignored with {why}"
                )
        elif dask_scheduler:  # a chunk costs the Dask client ~10 ms: larger chunks than here
            options.chunk_bytes = DEFAULT_DASK_CHUNK_BYTES
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
                dh = bool(keyring.dh_privates) and (jobs or available_cores()) != 1
                with progress_bar(reader, paths, quiet, dh) as progress:
                    options.progress = progress
                    report = analyze(reader, keyring, options)
            finally:
                if options.decrypted_output is not None:
                    options.decrypted_output.close()
        if export_wireshark:
            from ikedecode.render.wireshark_tables import write_wireshark_tables

            tables = write_wireshark_tables(export_wireshark, report, keyring)
            note(
                f"wrote Wireshark key tables to {export_wireshark}: "
                f"{len(tables.ikev1)} IKEv1 SA(s), {len(tables.ikev2)} IKEv2 SA(s), "
                f"{len(tables.esp)} ESP SA(s)"
                + (f", {len(tables.skipped)} not expressible" if tables.skipped else "")
            )
            for skipped in tables.skipped:  # also a comment in the table it concerns
                note(f"not usable by Wireshark: {skipped}")
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
                return terminal_bar(length, label, item_show_func=str, hidden=hidden)

            report = run_psk_tools(report, tools, note, bar, reanalyze)
        extra: dict[str, Any] = {"perspective": perspective} if fmt in PERSPECTIVE_FORMATS else {}
        if fmt in ON_EVERY_CORE:  # the per-SA sections on --jobs processes (same output)
            extra["map_in_order"] = render_work.map_in_order(jobs or available_cores())
        write_report(report, fmt, output, show_keys, extra)
        if fail_on and any(
            SEVERITY_ORDER[f.severity] >= SEVERITY_ORDER[Severity(fail_on)] for f in report.all_findings()
        ):
            sys.exit(EXIT_FINDINGS)
    except (CaptureError, KeyFileError, UserError, PerspectiveError, PskToolError, DaskError) as exc:
        click.echo(f"ikedecode: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except (click.exceptions.Abort, KeyboardInterrupt):
        raise
    except BrokenPipeError:
        # the reader of stdout went away (`ikedecode ... | head`): stop quietly, as a shell tool does
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error again at exit
        sys.exit(EXIT_BROKEN_PIPE)
    except Exception as exc:  # noqa: BLE001 - a user never sees a traceback
        if _interrupted.is_set():  # a worker that Ctrl-C ended, seen before the KeyboardInterrupt
            raise KeyboardInterrupt from None
        if os.environ.get("IKEDECODE_DEBUG"):
            raise
        click.echo(
            f"ikedecode: internal error ({type(exc).__name__}: {exc}); "
            "set IKEDECODE_DEBUG=1 for details and please report it",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
