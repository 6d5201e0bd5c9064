"""EspWork: worker processes open batches; results come back in submission order."""

from __future__ import annotations

import io

import pytest

from ikedecode.capture import CaptureReader
from ikedecode.esp.opener import EspOpener, summarize_batch
from ikedecode.esp.sadb import SaDatabase
from ikedecode.keys.loader import load_key_text
from ikedecode.parallel.esp_work import EspWork, WorkerFailed
from tests.conftest import CAPTURES_DIR, KEYS_DIR


def _batches_and_sas(name: str) -> tuple[list, list]:
    data = (CAPTURES_DIR / f"{name}.pcap").read_bytes()
    ring = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name)
    batches = [item for item in CaptureReader(io.BytesIO(data)).items(2) if not hasattr(item, "kind")]
    return batches, ring.ipsec_sas


def test_workers_hand_back_the_summaries_an_opener_in_this_process_makes_in_order():
    batches, sas = _batches_and_sas("esp-rekey-delete")
    expected = [summarize_batch(EspOpener(SaDatabase(sas)), b.blob, b.meta) for b in batches]
    with EspWork(SaDatabase(sas), jobs=2, start_after=0) as work:
        got = []
        for batch in batches:
            got.extend(work.submit(batch))
        got.extend(work.finish())
        assert work.started_workers
    assert [batch for batch, _ in got] == batches
    assert [summary for _, summary in got] == expected
    assert sum(len(groups) for _, (_, groups) in got) > 0  # the SAs opened the packets


def test_a_dead_worker_is_reported_not_waited_for():
    batches, sas = _batches_and_sas("esp-rekey-delete")
    with EspWork(SaDatabase(sas), jobs=2, start_after=0) as work:
        work.submit(batches[0])
        for process in work._workers:
            process.kill()
            process.join()
        with pytest.raises(WorkerFailed):
            for batch in batches[1:]:
                work.submit(batch)
            list(work.finish())
