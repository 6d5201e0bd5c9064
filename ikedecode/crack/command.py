"""``--crack``, ``--export-psk-params`` and ``--export-hashcat``: what the command line asks of this package.

The command line passes in how to talk to the user (``echo`` for one-line notes on stderr,
``progressbar`` for the click bar) and how to analyse the capture again (``reanalyze``, with a
recovered PSK added to the keys), so this module needs neither click nor the pipeline. A found
key is printed only with ``--show-keys``; findings and notes name the word-list line instead.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ikedecode.analysis.report import Report
from ikedecode.crack.errors import PskToolError
from ikedecode.crack.formats import FormatError, hashcat_line, psk_crack_line
from ikedecode.crack.ikev2 import NOT_ATTACKABLE, Ikev2AuthParams, params_of_ikev2_sas, sealed_ikev2_sas
from ikedecode.crack.params import PskParams, params_of_sas
from ikedecode.crack.search import CrackResult, crack, estimate_candidates, measure_rate
from ikedecode.crack.wordlist import WordListError, count_lines
from ikedecode.findings import Finding, finding
from ikedecode.ike.wire_text import escape_controls
from ikedecode.keys.keyring import PresharedKey

NO_PARAMS = "no aggressive-mode exchange with a pre-shared key in the capture (needs AM1 and AM2 with HASH_R)"


@dataclass(slots=True)
class PskTools:
    crack_wordlist: str | None = None
    rule_set: str = "all"
    workers: int | None = None
    export_psk_params: str | None = None
    export_hashcat: str | None = None
    show_keys: bool = False

    @property
    def wanted(self) -> bool:
        return bool(self.crack_wordlist or self.export_psk_params or self.export_hashcat)


Echo = Callable[[str], None]
ProgressBar = Callable[
    [int, str], AbstractContextManager[Any]
]  # (length, label) -> bar with .update(n, item)


def run_psk_tools(
    report: Report,
    tools: PskTools,
    echo: Echo,
    progressbar: ProgressBar,
    reanalyze: Callable[[list[PresharedKey]], Report],
) -> Report:
    """Export and/or crack; returns the report to render (analysed again when a PSK was found).

    Aggressive mode's HASH_R and, for ``--crack``, IKEv2 shared-key AUTH payloads whose signed
    octets the keys given could open (``crack/ikev2.py``); IKEv2 SAs whose IKE_AUTH stayed sealed
    get a note and an ``ikev2-psk-not-attackable`` finding: their PSK cannot be attacked passively.
    """
    params = params_of_sas(report.ike_sas)
    ikev2_params = params_of_ikev2_sas(report.ike_sas) if tools.crack_wordlist else []
    sealed = sealed_ikev2_sas(report.ike_sas) if tools.crack_wordlist else []
    if not params and not ikev2_params:
        if sealed:
            raise PskToolError(
                f"{NOT_ATTACKABLE}; this capture has {len(sealed)} IKEv2 SA(s) whose IKE_AUTH could not "
                "be opened and no aggressive-mode exchange"
            )
        raise PskToolError(NO_PARAMS)
    if not params and (tools.export_psk_params or tools.export_hashcat):
        echo("nothing exported for psk-crack/hashcat: they take aggressive-mode HASH_R, not IKEv2 AUTH")
    if params and tools.export_psk_params:
        _export(tools.export_psk_params, params, "psk-crack", psk_crack_line, echo)
    if params and tools.export_hashcat:
        _export(tools.export_hashcat, params, "hashcat", lambda p: hashcat_line(p)[1], echo)
    if not tools.crack_wordlist:
        return report
    for sa in sealed:
        echo(f"IKEv2 SA {sa.cookies}: its IKE_AUTH could not be opened; {NOT_ATTACKABLE}")
    targets: list[PskParams | Ikev2AuthParams] = [*params, *ikev2_params]
    results = [_crack_one(p, tools, echo, progressbar) for p in targets]
    found = [r for r in results if r.found]
    if found:
        keys = [
            PresharedKey(r.psk, f"--crack {tools.crack_wordlist} line {r.line}")  # type: ignore[arg-type]
            for r in found
        ]
        report = reanalyze(keys)
    report.findings.extend(crack_findings(results, tools.crack_wordlist, tools.show_keys))
    report.findings.extend(
        finding(
            "ikev2-psk-not-attackable",
            f"IKEv2 SA {sa.cookies}: its IKE_AUTH could not be opened, so its AUTH (a PSK's or not) "
            "cannot be tested against the word list",
            {"cookies": sa.cookies, "wordlist": tools.crack_wordlist},
        )
        for sa in sealed
    )
    return report


def _export(
    path: str, params: list[PskParams], tool: str, line_of: Callable[[PskParams], str], echo: Echo
) -> None:
    lines, skipped = [], []
    for p in params:
        try:
            lines.append(line_of(p))
        except FormatError as exc:
            skipped.append(str(exc))
    for reason in skipped:
        echo(f"not exported for {tool}: {reason}")
    if not lines:
        raise PskToolError(
            f"{path}: nothing to write for {tool} ({len(skipped)} exchange(s) not expressible)"
        )
    try:
        Path(path).write_text("".join(line + "\n" for line in lines), encoding="ascii")
    except OSError as exc:
        raise PskToolError(f"{path}: cannot write: {exc.strerror or exc}") from None
    echo(f"wrote {len(lines)} {tool} line(s) to {path}")


def _crack_one(
    params: PskParams | Ikev2AuthParams, tools: PskTools, echo: Echo, progressbar: ProgressBar
) -> CrackResult:
    wordlist = tools.crack_wordlist
    assert wordlist is not None
    try:
        lines = count_lines(wordlist)
        total = estimate_candidates(lines, tools.rule_set)
        echo(plan(params, lines, tools.rule_set, tools.workers or os.cpu_count() or 1))
        label = "cracking"  # the plan line before it names the exchange
        with progressbar(total, label) as bar:
            done, start = [0], time.perf_counter()

            def progress(n: int) -> None:
                done[0] += n
                rate = done[0] / max(time.perf_counter() - start, 1e-9)
                bar.update(n, f"{done[0]:,} candidates, {rate:,.0f}/s")

            result = crack(
                params,
                wordlist,
                rule_set=tools.rule_set,
                workers=tools.workers,
                progress=progress,
            )
    except WordListError as exc:
        raise PskToolError(str(exc)) from None
    except ValueError as exc:  # an algorithm the cracker does not have
        raise PskToolError(str(exc)) from None
    echo(summary(result, wordlist, tools.show_keys))
    return result


def plan(params: PskParams | Ikev2AuthParams, lines: int, rule_set: str, workers: int) -> str:
    """What ``--crack`` is about to do, said before it starts: the candidates the rules make from
    the word list and the time they should take on ``workers`` cores."""
    total = estimate_candidates(lines, rule_set)
    rate = measure_rate(params, rule_set) * workers
    eta = (
        f"about {_duration(total / rate)} at about {rate:,.0f}/s on {workers} free core(s)"
        if rate
        else "time unknown"
    )
    return (
        f"--crack {params.source}: {lines:,} words, rules {rule_set}: up to {total:,} candidates "
        f"({estimate_candidates(1, rule_set):,} per word); {eta}"
    )


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(seconds, 0.1):.1f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def psk_text(psk: bytes) -> str:
    """A found key as a person types it: its text when it is UTF-8 (control characters written
    as \\xNN), else 0x and hex; never Python's b'...' repr."""
    try:
        return escape_controls(psk.decode("utf-8"))
    except UnicodeDecodeError:
        return "0x" + psk.hex()


def summary(result: CrackResult, wordlist: str, show_keys: bool) -> str:
    speed = (
        f"{result.tried:,} candidates in {result.seconds:.2f} s ({result.rate:,.0f}/s, "
        f"{result.workers} worker{'s' if result.workers > 1 else ''})"
    )
    if not result.found:
        return f"PSK not found for {result.params.source}: {speed}"
    where = f"{wordlist} line {result.line}, rule {result.rule}"
    if show_keys:
        assert result.psk is not None
        return f"PSK found for {result.params.source}: {psk_text(result.psk)} ({where}); {speed}"
    return f"PSK found for {result.params.source} at {where} (--show-keys prints it); {speed}"


def crack_findings(results: list[CrackResult], wordlist: str, show_keys: bool = False) -> list[Finding]:
    """psk-cracked / psk-not-cracked per exchange; the key itself only with ``show_keys`` (then
    it is in every format of the report, not only in the note on stderr)."""
    out = []
    for r in results:
        evidence = {
            "source": r.params.source,
            "wordlist": wordlist,
            "candidates": r.tried,
            "seconds": round(r.seconds, 3),
            "rate": round(r.rate),
            "workers": r.workers,
        }
        if r.found and isinstance(r.params, Ikev2AuthParams):
            out.append(
                finding(
                    "ikev2-psk-cracked",
                    f"the pre-shared key behind the IKEv2 AUTH ({r.params.source}) is in the word list "
                    f"{wordlist}: line {r.line}, rule {r.rule}",
                    {**evidence, "line": r.line, "rule": r.rule},
                )
            )
        elif r.found:
            assert r.psk is not None
            shown = {"psk": psk_text(r.psk)} if show_keys else {}
            key = f" ({psk_text(r.psk)})" if show_keys else ""
            out.append(
                finding(
                    "psk-cracked",
                    f"the pre-shared key{key} behind HASH_R ({r.params.source}) is in the word list "
                    f"{wordlist}: line {r.line}, rule {r.rule}",
                    {**evidence, "line": r.line, "rule": r.rule, **shown},
                )
            )
        else:
            out.append(
                finding(
                    "psk-not-cracked",
                    f"none of {r.tried:,} candidates from {wordlist} gives the "
                    f"{'AUTH' if isinstance(r.params, Ikev2AuthParams) else 'HASH_R'} of {r.params.source}",
                    evidence,
                )
            )
    return out
