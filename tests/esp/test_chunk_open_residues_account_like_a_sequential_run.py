"""Stage 2 of a chunked run: ESP opened late, with an SA plan, accounts exactly like a sequential run.

The ESP batches of a capture are joined into runs across the IKE datagrams between them (as a
chunk worker holds them) and opened only after the engine has read the whole capture, with every
SA planned at the frame of the IKE datagram that keyed it: the plan must split the runs where an
SA appears. The residues (``esp/chunk_open.py``) are accounted by the unchanged
``EspProcessor.account_summary``, the SAs installed at their frames; the report must be the
sequential run's, byte for byte.
"""

from __future__ import annotations

import io

import pytest

from ikedecode.analysis.session import Analysis, OpenedBatch
from ikedecode.capture import CaptureReader
from ikedecode.capture.batch import EspBatch
from ikedecode.capture.datagram import Kind
from ikedecode.esp.chunk_open import open_batches
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sa_plan import SaPlan
from ikedecode.esp.sadb import SaDatabase
from ikedecode.keys.loader import load_key_text
from ikedecode.parallel.esp_work import sa_spec
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from tests.conftest import CAPTURES_DIR, KEYS_DIR


def _joined(batches: list[EspBatch]) -> EspBatch:
    run = EspBatch()
    for batch in batches:
        meta, blob = batch.meta, batch.blob
        for at in range(0, len(meta), 6):
            frame, time_ns, ip, payload, esp, end = meta[at : at + 6]
            run.add(frame, time_ns, blob[ip:end], 0, payload - ip, esp - ip, end - ip)
    return run.seal()


def _late_opened_report(data: bytes, name: str) -> tuple[str, int]:
    """The report, and by how many spans the plan split the runs."""
    ring = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name)
    analysis = Analysis(ring, install_keyed=False)
    keyed = []  # (frame of the IKE datagram, its SAs)
    runs: list[list] = [[]]  # ESP batches joined across IKE datagrams; AH ends a run
    order: list = []  # what to account, in capture order: a run's number or an AH datagram
    for item in CaptureReader(io.BytesIO(data), name).items(8):
        if isinstance(item, EspBatch):
            if not runs[-1]:
                order.append(len(runs) - 1)
            runs[-1].append(item)
        elif item.kind is Kind.IKE:
            sas = analysis.feed(item)
            if sas:
                keyed.append((item.frame, sas))
        else:
            runs.append([])
            order.append(item)
    plan = SaPlan(EspOpener(SaDatabase()), [(-1, sa_spec(sa)) for sa in analysis.sadb])
    plan.extend((frame, sa_spec(sa)) for frame, sas in keyed for sa in sas)
    installed = 0

    def install_before(frame: int) -> None:
        nonlocal installed
        while installed < len(keyed) and keyed[installed][0] < frame:
            for sa in keyed[installed][1]:
                analysis.install(sa)
            installed += 1

    spans = 0
    for entry in order:
        if isinstance(entry, int):
            for residues in open_batches(plan, [_joined(runs[entry])]):
                for residue, summary in residues:
                    spans += 1
                    install_before(residue.meta[0])
                    analysis.feed(OpenedBatch(residue, summary))
        else:
            install_before(entry.frame)
            analysis.feed(entry)
    install_before(1 << 62)
    reader = CaptureReader(io.BytesIO(data), name)
    for _ in reader:
        pass
    split = spans - len([e for e in order if isinstance(e, int)])
    return render_json(analysis.finish(name, reader.stats, [])), split


@pytest.mark.parametrize("name", ["esp-rekey-delete", "ikev2-child-rekey-pfs", "nat-t", "qm-pfs-modp2048"])
def test_esp_opened_after_the_engine_with_a_plan_accounts_like_the_sequential_run(name: str):
    data = (CAPTURES_DIR / f"{name}.pcap").read_bytes()
    ring = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name)
    reader = CaptureReader(io.BytesIO(data), name)
    sequential = analyze(reader, ring, Options(jobs=1))
    sequential.sources = []
    report, split = _late_opened_report(data, name)
    assert report == render_json(sequential)
    if name == "esp-rekey-delete":  # a rekey amid the traffic: the new SA opens only what follows it
        assert split > 0
