"""EspWork: worker processes open batches; results come back in submission order."""

from __future__ import annotations

import io
import os
import signal

import pytest

from ikedecode.capture import CaptureReader
from ikedecode.esp.batch_summary import summarize_batch
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.sadb import SaDatabase
from ikedecode.keys.loader import load_key_text
from ikedecode.parallel.esp_work import EspWork, WorkerFailed
from tests.conftest import CAPTURES_DIR, KEYS_DIR


def _batches_and_sas(name: str) -> tuple[list, list]:
    data = (CAPTURES_DIR / f"{name}.pcap").read_bytes()
    ring = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name)
    batches = [item for item in CaptureReader(io.BytesIO(data)).items(2) if not hasattr(item, "kind")]
    return batches, ring.ipsec_sas


@pytest.mark.parametrize("jobs", [2, 3])
def test_workers_hand_back_the_summaries_an_opener_in_this_process_makes_in_order(jobs: int):
    batches, sas = _batches_and_sas("esp-rekey-delete")
    expected = [summarize_batch(EspOpener(SaDatabase(sas)), b.blob, b.meta) for b in batches]
    with EspWork(SaDatabase(sas), jobs=jobs, start_after=0) as work:
        got = []
        for batch in batches:
            got.extend(work.submit(batch))
        assert len(work._workers) == jobs - 1  # this process is the last job
        got.extend(work.finish())
        assert work.started_workers
        assert work.opened_by_workers > 0
        assert work.opened_by_workers + work.opened_here == len(batches)
    assert [batch for batch, _ in got] == batches
    assert [summary for _, summary in got] == expected
    assert sum(len(groups) for _, (_, groups) in got) > 0  # the SAs opened the packets


def test_this_process_opens_a_batch_only_when_every_worker_has_enough_queued():
    batches, sas = _batches_and_sas("esp-rekey-delete")
    expected = [summarize_batch(EspOpener(SaDatabase(sas)), b.blob, b.meta) for b in batches[:12]]
    with EspWork(SaDatabase(sas), jobs=3, start_after=0) as work:
        got = work.submit(batches[0])
        for process in work._workers:  # the workers take batches but answer none until resumed
            os.kill(process.pid, signal.SIGSTOP)
        try:
            for batch in batches[1:12]:
                got.extend(work.submit(batch))
            # 2 workers x IN_FLIGHT_PER_WORKER (4): the 9th to 12th batches were opened here
            # (the first may have been answered before the workers stopped: then one fewer)
            assert work.opened_here in (3, 4)
            assert all(batch is not batches[11] for batch, _ in got)  # held back: older ones pending
        finally:
            for process in work._workers:
                os.kill(process.pid, signal.SIGCONT)
        got.extend(work.finish())
    assert [batch for batch, _ in got] == batches[:12]
    assert [summary for _, summary in got] == expected


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
