"""With --dh-private and --jobs > 1 the DH pool runs a thread; the ESP workers must be forked
before it (a process is forked only while single-threaded, else its workers are spawned and the
batches go through pipes, twice as slow), and the report must not change."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path

from ikedecode.capture import CaptureReader
from ikedecode.parallel import esp_work
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from ike_bench import load_keys  # noqa: E402
from ike_capture_gen import Settings, generate  # noqa: E402


def test_esp_workers_are_forked_before_the_dh_pool_and_change_nothing(tmp_path: Path, monkeypatch):
    made = generate(tmp_path, 12, Settings(esp_packets=40), concurrent=1)
    keyring = load_keys(made.psk_file, made.dh_private_keys)
    data = made.capture.read_bytes()
    threads_at_start: list[int] = []
    start = esp_work.EspWork._start

    def recording_start(self) -> None:  # noqa: ANN001
        threads_at_start.append(threading.active_count())
        start(self)
        assert self._shared is not None  # forked: batches through shared memory

    monkeypatch.setattr(esp_work.EspWork, "_start", recording_start)
    one = analyze(CaptureReader(io.BytesIO(data)), keyring, Options(jobs=1))
    assert threads_at_start == []
    options = Options(jobs=2, parallel_after=0, batch_packets=8)
    two = analyze(CaptureReader(io.BytesIO(data)), keyring, options)
    assert threads_at_start == [1]
    assert render_json(two) == render_json(one)
    assert sum(sa.authenticated for sa in one.ike_sas) == 12
    assert sum(sa.counters.verified for sa in one.ipsec_sas) == 12 * 2 * 40  # every ESP packet, both ways
