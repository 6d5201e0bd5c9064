"""With --dh-private and --jobs > 1 the DH pool runs a thread; the ESP workers must be started
before it (a process is forked only while single-threaded, else its workers are spawned and the
batches go through pipes, twice as slow), and the report must not change."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

from ikedecode.capture import CaptureReader
from ikedecode.parallel import dh_pool, esp_work
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from ike_bench import load_keys  # noqa: E402
from ike_capture_gen import Settings, generate  # noqa: E402


def test_esp_workers_start_before_the_dh_pool_and_change_nothing(tmp_path: Path, monkeypatch):
    made = generate(tmp_path, 12, Settings(esp_packets=40), concurrent=1)
    keyring = load_keys(made.psk_file, made.dh_private_keys)
    data = made.capture.read_bytes()
    threads_before = threading.active_count()  # other tests (Dask) may leave threads behind
    events: list[tuple[str, int]] = []
    start_workers = esp_work.EspWork._start
    make_pool = dh_pool.ProcessDhProvider.__init__

    def recording_start(self) -> None:  # noqa: ANN001
        events.append(("esp workers", threading.active_count()))
        start_workers(self)
        # forked, with batches through shared memory, whenever this process had no other thread
        assert (self._shared is not None) == (threads_before == 1)

    def recording_pool(self, *args) -> None:  # noqa: ANN001, ANN002
        events.append(("dh pool", threading.active_count()))
        make_pool(self, *args)

    monkeypatch.setattr(esp_work.EspWork, "_start", recording_start)
    monkeypatch.setattr(dh_pool.ProcessDhProvider, "__init__", recording_pool)
    one = analyze(CaptureReader(io.BytesIO(data)), keyring, Options(jobs=1))
    assert events == []
    options = Options(jobs=2, parallel_after=0, batch_packets=8)
    two = analyze(CaptureReader(io.BytesIO(data)), keyring, options)
    assert events == [("esp workers", threads_before), ("dh pool", threads_before)]
    assert render_json(two) == render_json(one)
    assert sum(sa.authenticated for sa in one.ike_sas) == 12
    assert sum(sa.counters.verified for sa in one.ipsec_sas) == 12 * 2 * 40  # every ESP packet, both ways
