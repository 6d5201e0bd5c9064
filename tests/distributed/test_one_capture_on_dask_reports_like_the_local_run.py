"""``--dask`` with one capture: its chunks scanned and opened on the cluster give the local report.

A real two-worker ``LocalCluster`` (tests/distributed/conftest.py) scans each chunk of one capture
(read by path, or sent from here for gzip), keeps its ESP batches, and opens them with the SA plan
of the IKE engine running here (``distributed/chunk_tasks.py``). The report (JSON and text) must be
byte for byte the local sequential run's, with chunks of one or a few records, for captures that
cover IKEv1, IKEv2 rekeys, a rekey amid ESP, NAT-T, AH, IP-fragmented ESP reassembled across chunks,
pcapng and gzip (whole and cut short).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("dask.distributed", reason="Dask is not installed (pip install 'ikedecode[dask]')")

from click.testing import CliRunner  # noqa: E402

import ikedecode.distributed.client as dask_client_module  # noqa: E402
from ikedecode import cli  # noqa: E402
from ikedecode.capture import CaptureError, open_capture  # noqa: E402
from ikedecode.capture.chunks import Chunk  # noqa: E402
from ikedecode.cli import main  # noqa: E402
from ikedecode.distributed.chunk_tasks import (  # noqa: E402
    DEFAULT_DASK_CHUNK_BYTES,
    DaskChunkWork,
    forget_built_sas,
    scan_chunk_task,
)
from ikedecode.distributed.client import analyze_on_dask  # noqa: E402
from ikedecode.keys.keyring import KeyRing  # noqa: E402
from ikedecode.keys.loader import load_key_file  # noqa: E402
from ikedecode.parallel.chunk_work import ChunkSettings  # noqa: E402
from ikedecode.pipeline import Options, analyze  # noqa: E402
from ikedecode.render.json_report import render_json  # noqa: E402
from ikedecode.render.text import render_text  # noqa: E402
from tests.parallel.test_chunked_runs_report_like_the_sequential_run import (  # noqa: E402
    ah_and_fragments,  # noqa: F401 - a fixture: the lab capture with AH and IP-fragmented ESP
)

ROOT = Path(__file__).resolve().parents[2]
ONE_RECORD, FEW_RECORDS = 1, 3_000  # chunk_bytes: a chunk ends at the first record boundary past it

CASES = [  # (capture, key file, chunk sizes): one record per chunk where the capture is short
    ("captures/mm-aes128-sha1-modp2048.pcap", "keys/mm-aes128-sha1-modp2048.toml", (ONE_RECORD,)),  # IKEv1
    ("captures/esp-rekey-delete.pcap", "keys/esp-rekey-delete.toml", (FEW_RECORDS,)),  # rekey amid ESP
    ("captures/ikev2-ike-rekey.pcap", "keys/ikev2-ike-rekey.toml", (FEW_RECORDS,)),  # IKEv2 IKE SA rekey
    ("captures/ikev2-child-rekey-pfs.pcap", "keys/ikev2-child-rekey-pfs.toml", (FEW_RECORDS,)),
    ("captures/nat-t.pcap", "keys/nat-t.toml", (ONE_RECORD,)),  # NAT-T
    ("captures/ikev2-pq-init-fragments-lost.pcap", None, (ONE_RECORD,)),  # IP fragments never completed
    ("tests/corpus/unknown-blocks.pcapng", None, (ONE_RECORD,)),  # pcapng
    ("tests/corpus/lab.pcap.gz", None, (FEW_RECORDS,)),  # gzip: read here, the chunks' bytes sent
    ("tests/corpus/cut-gzip-stream.pcap.gz", None, (ONE_RECORD,)),  # gzip cut short: the last chunk says so
    ("tests/corpus/ip-fragments-overlapping.pcap", None, (ONE_RECORD,)),
]


def _ring(keys: Path | None) -> KeyRing:
    ring = KeyRing()
    if keys is not None:
        ring.merge(load_key_file(str(keys)))
    return ring


def _report(report) -> str:  # noqa: ANN001
    return render_json(report) + render_text(report)


@pytest.fixture
def dask_chunks(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The chunks each Dask chunk run handed to the cluster (a test cannot pass by not taking it)."""
    runs: list[int] = []

    class Counted(DaskChunkWork):
        def close(self) -> None:
            runs.append(self._handed)
            super().close()

    monkeypatch.setattr(dask_client_module, "DaskChunkWork", Counted)
    return runs


def _on_dask(client, capture: Path, ring: KeyRing, chunk_bytes: int) -> str:  # noqa: ANN001
    report = analyze_on_dask(client, [str(capture)], ring, Options(chunk_bytes=chunk_bytes))
    for _ in range(100):  # a future is released on the client's event loop, soon after it goes
        if not client.futures:
            break
        time.sleep(0.05)
    assert not client.futures  # every scan, summary, plan and residue released
    assert set(client.run(forget_built_sas).values()) == {0}  # no SA (no key) left on a worker
    return _report(report)


@pytest.mark.parametrize(("capture", "keys", "sizes"), CASES, ids=[Path(c).name for c, _, _ in CASES])
def test_one_capture_in_chunks_on_dask_reports_like_the_local_run(client, dask_chunks, capture, keys, sizes):  # noqa: ANN001
    path = ROOT / capture
    ring = _ring(ROOT / keys if keys else None)
    sequential = _report(analyze(open_capture(path), ring, Options(jobs=1)))
    for chunk_bytes in sizes:
        assert _on_dask(client, path, ring, chunk_bytes) == sequential
    assert len(dask_chunks) == len(sizes) and min(dask_chunks) > 1  # split, and over the cluster


def test_ah_and_fragmented_esp_across_chunks_on_dask(client, dask_chunks, ah_and_fragments):  # noqa: ANN001, F811
    capture, ring = ah_and_fragments
    sequential = analyze(open_capture(capture), ring, Options(jobs=1))
    assert sequential.stats.ah > 0 and sequential.stats.ip_fragments > 0
    assert _on_dask(client, capture, ring, ONE_RECORD) == _report(sequential)
    assert dask_chunks[0] == sequential.stats.packets  # one record per chunk


def test_the_command_line_spreads_one_capture_and_merges_several(client, dask_chunks):  # noqa: ANN001
    name = "esp-rekey-delete"
    one = [str(ROOT / "captures" / f"{name}.pcap"), "--keys", str(ROOT / "keys" / f"{name}.toml")]
    runner = CliRunner()
    arguments = [*one, "--format", "json", "-q"]
    local = runner.invoke(main, arguments, catch_exceptions=False)
    remote = runner.invoke(
        main, [*arguments, "--dask", client.scheduler.address, "--chunk-size", "4K"], catch_exceptions=False
    )
    assert (local.exit_code, remote.exit_code) == (0, 0)
    assert remote.stdout == local.stdout
    assert len(dask_chunks) == 1 and dask_chunks[0] > 1
    several = [*arguments, str(ROOT / "captures" / "nat-t.pcap")]  # two files: one task per file
    merged = runner.invoke(main, [*several, "--dask", client.scheduler.address], catch_exceptions=False)
    assert merged.exit_code == 0 and len(json.loads(merged.stdout)["sources"]) == 2
    assert len(dask_chunks) == 1


def test_a_capture_the_workers_cannot_read_is_one_line(tmp_path: Path):
    chunk = Chunk(0, 24, 100, 0, True, b"")
    settings = ChunkSettings(str(tmp_path / "gone.pcap"), {"name": "gone.pcap"})
    with pytest.raises(CaptureError, match=r"gone\.pcap: no such file on a Dask worker"):
        scan_chunk_task(settings, chunk, None, None)


def test_the_command_line_states_the_dask_chunk_size_of_the_tasks_module():
    assert cli.DEFAULT_DASK_CHUNK_BYTES == DEFAULT_DASK_CHUNK_BYTES  # (written twice: --help stays fast)


def test_dh_private_keys_with_the_dh_pool_beside_the_dask_client(client, dask_chunks, tmp_path: Path):  # noqa: ANN001
    # The IKE engine runs here with its DH pool (--dh-private): interleaved negotiations keyed by
    # the DH values, their ESP opened on the cluster
    sys.path.insert(0, str(ROOT / "bench"))
    from ike_bench import load_keys
    from ike_capture_gen import Settings, generate

    made = generate(tmp_path, 12, Settings(esp_packets=40), concurrent=3)
    keyring = load_keys(made.psk_file, made.dh_private_keys)
    sequential = analyze(open_capture(made.capture), keyring, Options(jobs=1))
    assert sum(sa.counters.verified for sa in sequential.ipsec_sas) > 24  # keyed by the DH values
    remote = analyze_on_dask(client, [str(made.capture)], keyring, Options(jobs=2, chunk_bytes=3_000))
    assert _report(remote) == _report(sequential)
    assert dask_chunks[0] > 1


class _Sent:
    """What a fake client's ``scatter`` returns: the value, under a key."""

    def __init__(self, value: object, key: str) -> None:
        self.value, self.key = value, key


class _FakeClient:
    def __init__(self) -> None:
        self.sent: list[object] = []

    def scatter(self, values: list[object], hash: bool = True) -> list[_Sent]:  # noqa: A002, FBT001, FBT002
        self.sent.extend(values)
        return [_Sent(value, f"piece-{len(self.sent)}") for value in values]


def test_the_sa_plan_goes_in_pieces_that_add_up_to_it_and_stay_few():
    fake = _FakeClient()
    work = DaskChunkWork(fake, iter(()), ChunkSettings(None), [(-1, {"spi": 0})], path=None, workers=2)
    frame = 0
    for added in [0, 1, 3, 0, 2, 1, 1, 7, 1, 1, 1, 1, 20, 5, 4, 3, 2, 1, *[1] * 40, 9, 8, 7, 6, 5]:
        planned = [(frame + i, {"spi": frame + i + 1}) for i in range(added)]
        frame += added
        work.plan(planned)
        work._send_plan()
        sent = [entry for _start, _end, piece in work._pieces for entry in piece.value]
        assert sent == work._plan  # in order, each SA once
        sizes = [end - start for start, end, _piece in work._pieces]
        assert all(a >= 2 * b for a, b in zip(sizes, sizes[1:], strict=False))  # so at most log2 + 1
    assert sum(len(value) for value in fake.sent) < 4 * len(work._plan)  # not the whole plan each time


def test_pcapng_reference_captures_with_esp_on_dask(client, dask_chunks, reference_dir):  # noqa: ANN001
    from tests.parallel.test_chunked_runs_report_like_the_sequential_run import _reference

    for name, chunk_bytes in (
        ("wireshark-wiki/ipsec_ikev2_esp_nat_t/capture.pcapng", FEW_RECORDS),  # IKEv2, NAT-T ESP, pcapng
        ("wireshark/captures/esp-bug-12671.pcapng.gz", ONE_RECORD),  # pcapng in gzip
    ):
        capture = reference_dir / name
        [keys] = [k for _, c, k in _reference() if c == capture]
        ring = KeyRing()
        for key_file in keys:
            ring.merge(load_key_file(str(key_file)))
        sequential = analyze(open_capture(capture), ring, Options(jobs=1))
        assert sum(sa.counters.verified + sa.counters.decrypted for sa in sequential.ipsec_sas)  # it decrypts
        assert _on_dask(client, capture, ring, chunk_bytes) == _report(sequential)
    assert len(dask_chunks) == 2 and min(dask_chunks) > 1


def test_chunk_size_applies_with_dask_for_one_file_and_is_said_ignored_for_several(client, dask_chunks):  # noqa: ANN001
    capture = str(ROOT / "captures" / "nat-t.pcap")
    dask = ["--dask", client.scheduler.address, "--chunk-size", "1", "--format", "json"]
    one = CliRunner().invoke(main, [capture, *dask, "--jobs", "1"], catch_exceptions=False)
    assert one.exit_code == 0 and "--chunk-size" not in one.stderr
    assert len(dask_chunks) == 1 and dask_chunks[0] > 1  # one record per chunk, on the cluster
    several = CliRunner().invoke(main, [capture, str(ROOT / "captures" / "mm-delete.pcap"), *dask])
    assert several.exit_code == 0
    assert "--chunk-size applies to one capture file with --jobs above 1; ignored with several captures" in (
        several.stderr
    )
    assert len(dask_chunks) == 1
