"""One capture read in chunks (``--jobs`` > 1, ``parallel/chunk_work.py``) reports like ``--jobs 1``.

The whole report (JSON and text) and the decrypted pcap of every capture we have are compared
with the sequential run's, byte for byte: in this process (``chunk_processes=0``, the same two
stages) with chunks of one record and of a few records for every capture, and through real worker
processes (``--jobs 2`` and ``3``) for a subset that covers IKEv1, IKEv2 rekeys, NAT-T, pcapng,
gzip, AH, IP-fragmented ESP reassembled across chunks, and what makes ESP accounting depend on
order (replays, ESN across 2^32, an unknown SPI: tests/parallel/test_jobs_give_identical_output.py).
"""

from __future__ import annotations

import io
import os
import struct
import sys
import threading
from pathlib import Path

import dpkt
import pytest
from click.testing import CliRunner

import ikedecode.capture.chunk_walk as chunk_walk
import ikedecode.parallel.chunk_work as chunk_work
import ikedecode.pipeline as pipeline
from ikedecode.capture import open_capture
from ikedecode.capture.chunks import plan_chunks
from ikedecode.capture.merge import open_captures
from ikedecode.cli import main as cli_main
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.loader import load_key_file
from ikedecode.keys.tomlfile import parse_key_file
from ikedecode.parallel import dh_pool
from ikedecode.parallel.esp_work import WorkerFailed
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from ikedecode.render.text import render_text
from tests.capture.builders import ethernet_pcap, ipv4, ipv4_fragments, udp
from tests.conftest import CAPTURES_DIR, KEYS_DIR, PROJECT_ROOT, REFERENCE_DIR, shipped
from tests.esp.test_esp_inside_ah import _keys as ah_and_esp_keys
from tests.esp.test_esp_inside_ah import _wrap_in_ah
from tests.parallel.test_jobs_give_identical_output import _generated_capture

CORPUS_DIR = PROJECT_ROOT / "tests" / "corpus"
REFERENCE_KEY_FILES = ("esp_sa", "ikev1_decryption_table", "ikev2_decryption_table")
ONE_RECORD, FEW_RECORDS = 1, 5000  # chunk_bytes: a chunk ends at the first record boundary past it


def _bundled() -> list[tuple[str, Path, list[Path]]]:
    """(id, capture, key files) of every capture the project ships."""
    cases = []
    for capture in shipped(CAPTURES_DIR, "*.pcap*"):
        keys = KEYS_DIR / f"{capture.name.split('.pcap')[0]}.toml"
        cases.append((capture.name, capture, [keys] if keys.exists() else []))
    for capture in sorted(CORPUS_DIR.rglob("*.pcap*")):
        cases.append((str(capture.relative_to(CORPUS_DIR)), capture, []))
    return cases


def _reference() -> list[tuple[str, Path, list[Path]]]:
    """The public reference captures (where present), each with the Wireshark key tables beside it."""
    if not REFERENCE_DIR.is_dir():
        return []
    cases = []
    for capture in sorted(REFERENCE_DIR.rglob("*.pcap*")):
        folder = (
            REFERENCE_DIR / "wireshark" / "config" if capture.parent.name == "captures" else capture.parent
        )
        keys = [folder / name for name in REFERENCE_KEY_FILES if (folder / name).exists()]
        cases.append((str(capture.relative_to(REFERENCE_DIR)), capture, keys))
    return cases


def _ring(keys: list[Path]) -> KeyRing:
    ring = KeyRing()
    for path in keys:
        ring.merge(load_key_file(str(path)))
    return ring


def _run(capture: Path, ring: KeyRing, **options: object) -> tuple[str, bytes]:
    """The report (JSON and text) and the decrypted pcap, or the one-line error of a bad capture."""
    decrypted = io.BytesIO()
    try:
        report = analyze(open_capture(capture), ring, Options(decrypted_output=decrypted, **options))
    except Exception as exc:  # noqa: BLE001 - a capture the reader rejects: both runs must say the same
        return f"{type(exc).__name__}: {exc}", b""
    return render_json(report) + render_text(report), decrypted.getvalue()


def _chunked(capture: Path, ring: KeyRing, chunk_bytes: int, **options: object) -> tuple[str, bytes]:
    options.setdefault("jobs", 2)
    return _run(capture, ring, chunk_bytes=chunk_bytes, chunk_after=0, **options)


@pytest.fixture
def chunk_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the runs that took the chunk path (so that a test cannot pass by not taking it)."""
    taken: list[int] = []
    run = pipeline.ChunkRun.run

    def counted(self):  # noqa: ANN001, ANN202
        taken.append(1)
        return run(self)

    monkeypatch.setattr(pipeline.ChunkRun, "run", counted)
    return taken


def _assert_alike_in_chunks(capture: Path, ring: KeyRing, sequential: tuple[str, bytes]) -> None:
    """In chunks of one record, of a few, and (a pcap) walked in parts of one chunk, each part's
    start guessed (capture/chunk_walk.py): the sequential run's report."""
    assert _chunked(capture, ring, ONE_RECORD, chunk_processes=0) == sequential
    assert _chunked(capture, ring, FEW_RECORDS, chunk_processes=0) == sequential
    assert _chunked(capture, ring, 300, chunk_processes=0, part_bytes=1) == sequential


@pytest.mark.parametrize(
    ("capture", "keys"), [(c, k) for _, c, k in _bundled()], ids=[i for i, _, _ in _bundled()]
)
def test_every_bundled_capture_reports_alike_in_chunks_of_one_and_a_few_records(capture, keys, chunk_runs):  # noqa: ANN001
    ring = _ring(keys)
    sequential = _run(capture, ring, jobs=1)
    _assert_alike_in_chunks(capture, ring, sequential)
    if keys:  # and without them: every ESP packet an SPI without keys, accounted one by one
        assert _chunked(capture, KeyRing(), ONE_RECORD, chunk_processes=0) == _run(capture, KeyRing(), jobs=1)
    assert chunk_runs or sequential[0].startswith("CaptureError")  # no capture: nothing to chunk


@pytest.mark.parametrize(
    ("capture", "keys"), [(c, k) for _, c, k in _reference()], ids=[i for i, _, _ in _reference()]
)
def test_every_reference_capture_reports_alike_in_chunks(capture, keys, chunk_runs):  # noqa: ANN001
    ring = _ring(keys)
    sequential = _run(capture, ring, jobs=1)
    _assert_alike_in_chunks(capture, ring, sequential)
    assert chunk_runs


def test_reference_captures_are_checked_where_present():
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"public reference data not present at {REFERENCE_DIR} (only on developer/CI machines)")
    assert _reference()  # the folder is there: its captures are in the test above


# --- generated: AH, ESP in IP fragments across chunks, order-sensitive ESP ---------------------------

AH_NAME = "mm-aes128-sha1-modp2048"


@pytest.fixture(scope="module")
def ah_and_fragments(tmp_path_factory) -> tuple[Path, KeyRing]:  # noqa: ANN001
    """The lab capture with every third ESP packet wrapped in AH and every fifth sent as IPv4
    fragments, its second fragment after the next frame (so reassembly spans records and chunks)."""
    out = tmp_path_factory.mktemp("chunks") / f"{AH_NAME}-ah-fragments.pcap"
    esp_packets = 0
    with (CAPTURES_DIR / f"{AH_NAME}.pcap").open("rb") as src, out.open("wb") as dst:
        reader = dpkt.pcap.Reader(src)
        writer = dpkt.pcap.Writer(dst, linktype=reader.datalink())
        held: list[tuple[float, bytes]] = []
        for ts, frame in reader:
            ip = dpkt.ethernet.Ethernet(frame).data
            esp = (
                isinstance(ip, dpkt.ip.IP)
                and ip.p == 17
                and ip.data.dport == 4500
                and ip.data.data[:4] != bytes(4)
            )
            if esp:
                esp_packets += 1
                if esp_packets % 3 == 0:
                    frame = frame[:14] + _wrap_in_ah(bytes(ip), esp_packets)
                elif esp_packets % 5 == 0:
                    src_ip, dst_ip = (".".join(map(str, a)) for a in (ip.src, ip.dst))
                    pieces = ipv4_fragments(src_ip, dst_ip, 17, bytes(ip.data), 64, ident=esp_packets)
                    writer.writepkt(frame[:14] + pieces[0], ts)
                    held = [(ts, frame[:14] + piece) for piece in pieces[1:]]
                    continue
            writer.writepkt(frame, ts)
            for ts_held, piece in held:
                writer.writepkt(piece, ts_held)
            held = []
        for ts_held, piece in held:
            writer.writepkt(piece, ts_held)
    assert esp_packets >= 15
    return out, parse_key_file(ah_and_esp_keys(True), "keys").keyring


@pytest.fixture(scope="module")
def order_sensitive(tmp_path_factory) -> tuple[Path, KeyRing]:  # noqa: ANN001
    data, sas = _generated_capture()
    out = tmp_path_factory.mktemp("chunks") / "order-sensitive.pcap"
    out.write_bytes(data)
    ring = KeyRing()
    ring.ipsec_sas.extend(sas)
    return out, ring


def test_ah_and_fragmented_esp_report_alike_in_chunks(ah_and_fragments, chunk_runs):  # noqa: ANN001
    capture, ring = ah_and_fragments
    sequential = _run(capture, ring, jobs=1)
    assert len(sequential[1]) > 24  # packets decrypted
    for chunk_bytes in (ONE_RECORD, FEW_RECORDS):
        assert _chunked(capture, ring, chunk_bytes, chunk_processes=0) == sequential
    assert _chunked(capture, ring, ONE_RECORD, jobs=3) == sequential
    report = analyze(open_capture(capture), ring, Options(jobs=2, chunk_bytes=1, chunk_after=0))
    assert report.stats.ah > 0 and report.stats.ip_fragments > 0
    assert len(chunk_runs) == 4


@pytest.fixture
def part_walks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(parts, misses) of every pcap walked in parts: each PartPlan when its last chunk is given."""
    walks: list[tuple[int, int]] = []
    accept = chunk_walk.PartPlan.accept

    def counted(self, number, walked):  # noqa: ANN001, ANN202
        chunks = accept(self, number, walked)
        if chunks and chunks[-1].last:
            walks.append((self.parts, self.misses))
        return chunks

    monkeypatch.setattr(chunk_walk.PartPlan, "accept", counted)
    return walks


def test_pcap_parts_walked_by_workers_report_alike_even_where_the_guess_is_fooled(  # noqa: ANN201
    tmp_path: Path,
    part_walks,
    chunk_runs,  # noqa: ANN001
):
    # an ESP capture with keys, and packets whose payload is a run of pcap records (a pcap file
    # sent over the network) in between: a part starting in one guesses its start wrong
    capture, keys = CAPTURES_DIR / "esp-rekey-delete.pcap", KEYS_DIR / "esp-rekey-delete.toml"
    ring = _ring([keys])
    raw = capture.read_bytes()
    records = [chunk.start for chunk in plan_chunks(raw, 1)] + [len(raw)]
    inner = b"".join(struct.pack("<IIII", 1, i, 20, 20) + bytes([i]) * 20 for i in range(40))  # pcap records
    carrier = ethernet_pcap([ipv4("192.0.2.7", "192.0.2.8", 17, udp(4000, 4000, inner))] * 3)[24:]
    mixed = raw[:24] + b"".join(
        raw[a:b] + (carrier if n % 10 == 5 else b"")
        for n, (a, b) in enumerate(zip(records, records[1:], strict=False))
    )
    path = tmp_path / "fooling.pcap"
    path.write_bytes(mixed)
    sequential = _run(path, ring, jobs=1)
    for chunk_bytes, jobs in ((300, 2), (1000, 3), (FEW_RECORDS, 2)):
        assert _chunked(path, ring, chunk_bytes, jobs=jobs, part_bytes=1) == sequential
    assert _chunked(path, ring, 300, chunk_processes=0, part_bytes=1) == sequential
    assert len(part_walks) == 4 and all(parts > 10 for parts, _ in part_walks)
    assert sum(misses for _, misses in part_walks) > 0  # the guess was fooled, the report is the same
    assert len(chunk_runs) == 4


def test_a_worker_walks_and_scans_the_part_of_the_bytes_the_main_process_mapped(tmp_path: Path) -> None:
    raw = (CAPTURES_DIR / "esp-rekey-delete.pcap").read_bytes()
    path = tmp_path / "growing.pcap"
    path.write_bytes(raw)
    plan = chunk_walk.PartPlan(raw, 300, part_bytes=1000)
    part = plan.part(3)
    stages = chunk_work._Stages(chunk_work.ChunkSettings(str(path)), [], None)
    try:
        assert stages.scan_part(3, part, 300, plan.layout, len(raw) + 1) is None  # shorter than mapped there
        with open(path, "ab") as file:  # a file growing while it is read: its first bytes walked
            file.write(raw[24:2000])
        scanned = stages.scan_part(3, part, 300, plan.layout, len(raw))
    finally:
        stages.close()
    assert scanned is not None
    assert scanned.walked == chunk_walk.walk_part(raw, plan.layout, *part, 300)
    assert scanned.walked.start > part[0] and scanned.walked.cuts
    starts = [scanned.walked.start] + [at for at, _ in scanned.walked.cuts]
    assert [scan.chunk.start for scan in scanned.scans] == starts  # one scan per chunk of the walk
    assert sum(scan.frames for scan in scanned.scans) == scanned.walked.records


def test_order_sensitive_esp_reports_alike_in_chunks(order_sensitive, chunk_runs):  # noqa: ANN001
    capture, ring = order_sensitive
    sequential = _run(capture, ring, jobs=1)
    assert _chunked(capture, ring, ONE_RECORD, chunk_processes=0) == sequential
    assert _chunked(capture, ring, 20_000, jobs=2) == sequential
    assert _chunked(capture, ring, 7_000, jobs=3) == sequential
    assert len(chunk_runs) == 3


# --- through worker processes: a representative subset ------------------------------------------------

WORKER_CASES = [
    ("captures/mm-aes128-sha1-modp2048.pcap", "keys/mm-aes128-sha1-modp2048.toml"),  # IKEv1, NAT-T
    ("captures/qm-pfs-modp2048.pcap", "keys/qm-pfs-modp2048.toml"),  # IKEv1 quick mode with PFS
    ("captures/esp-rekey-delete.pcap", "keys/esp-rekey-delete.toml"),  # a rekey amid ESP
    ("captures/ikev2-child-rekey-pfs.pcap", "keys/ikev2-child-rekey-pfs.toml"),  # IKEv2 CHILD_SA rekey
    ("captures/ikev2-ike-rekey.pcap", "keys/ikev2-ike-rekey.toml"),  # IKEv2 IKE SA rekey
    ("captures/ikev2-nat-t-ecp.pcap", "keys/ikev2-nat-t-ecp.toml"),  # IKEv2 NAT-T
    ("captures/ikev2-pq-init-fragments-lost.pcap", None),  # IP fragments never completed
    ("tests/corpus/lab.pcap.gz", None),  # gzip: read here once, chunks through shared memory
    ("tests/corpus/cut-gzip-stream.pcap.gz", None),  # gzip cut short: the last chunk says so
    ("tests/corpus/unknown-blocks.pcapng", None),  # pcapng
    ("tests/corpus/ip-fragments-overlapping.pcap", None),
]


@pytest.mark.parametrize(("capture", "keys"), WORKER_CASES, ids=[Path(c).name for c, _ in WORKER_CASES])
def test_worker_processes_report_like_the_sequential_run(capture: str, keys: str | None, chunk_runs):  # noqa: ANN001
    path = PROJECT_ROOT / capture
    ring = _ring([PROJECT_ROOT / keys] if keys else [])
    sequential = _run(path, ring, jobs=1)
    assert _chunked(path, ring, ONE_RECORD, jobs=2) == sequential
    assert _chunked(path, ring, FEW_RECORDS, jobs=3) == sequential
    assert len(chunk_runs) == 2


def test_pcapng_and_gzip_reference_captures_through_workers(reference_dir, chunk_runs):  # noqa: ANN001
    for name in (
        "wireshark-wiki/ipsec_ikev2_esp_nat_t/capture.pcapng",
        "wireshark/captures/esp-bug-12671.pcapng.gz",
    ):
        capture = reference_dir / name
        keys = [k for _, c, k in _reference() if c == capture][0]
        ring = _ring(keys)
        sequential = _run(capture, ring, jobs=1)
        assert len(sequential[1]) > 24  # it decrypts
        assert _chunked(capture, ring, ONE_RECORD, jobs=2) == sequential
    assert len(chunk_runs) == 2


def test_the_command_line_chunk_size_gives_the_same_report_and_decrypted_pcap(tmp_path: Path):
    name = "esp-rekey-delete"
    outputs = []
    for extra in (
        ["--jobs", "1"],
        ["--jobs", "2", "--chunk-size", "1"],
        ["--jobs", "2", "--chunk-size", "2K"],
    ):
        decrypted = tmp_path / f"decrypted-{len(outputs)}.pcap"
        args = [str(CAPTURES_DIR / f"{name}.pcap"), "--keys", str(KEYS_DIR / f"{name}.toml"), "-q"]
        result = CliRunner().invoke(
            cli_main, [*args, "--format", "json", "--write-decrypted", str(decrypted), *extra]
        )
        assert result.exit_code == 0, result.output
        outputs.append((result.stdout_bytes, decrypted.read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]
    assert len(outputs[0][1]) > 24


def test_a_chunk_size_that_cannot_apply_is_said_to_be_ignored():
    capture = str(CAPTURES_DIR / "nat-t.pcap")
    for extra, why in (
        (["--jobs", "1"], "--jobs 1"),
        ([str(CAPTURES_DIR / "mm-delete.pcap")], "several captures"),
    ):
        result = CliRunner().invoke(cli_main, [capture, "--chunk-size", "1M", "--format", "json", *extra])
        assert result.exit_code == 0
        assert (
            f"--chunk-size applies to one capture file with --jobs above 1; ignored with {why}"
            in result.stderr
        )


def test_a_bad_chunk_size_is_one_line():
    result = CliRunner().invoke(cli_main, [str(CAPTURES_DIR / "nat-t.pcap"), "--chunk-size", "4Q"])
    assert result.exit_code == 2 and "is not a size" in result.output and "Traceback" not in result.output


# --- when the chunk path is taken, and when a worker dies --------------------------------------------


def test_small_captures_and_merged_files_keep_the_one_pass_path(chunk_runs):  # noqa: ANN001
    ring = KeyRing()
    capture = CAPTURES_DIR / "nat-t.pcap"
    analyze(open_capture(capture), ring, Options(jobs=2))  # under the default threshold
    analyze(open_captures([capture, CAPTURES_DIR / "mm-delete.pcap"]), ring, Options(jobs=2, chunk_after=0))
    analyze(open_capture(capture), ring, Options(jobs=1, chunk_after=0))
    assert not chunk_runs
    analyze(open_capture(capture), ring, Options(jobs=2, chunk_after=os.path.getsize(capture)))
    assert chunk_runs


def test_a_dead_chunk_worker_ends_the_run_with_one_error(monkeypatch: pytest.MonkeyPatch):
    opened = chunk_work.ChunkWork.open

    def open_after_a_kill(self, index: int) -> None:  # noqa: ANN001
        for process in self._processes:
            process.kill()  # killed (out of memory, say) with a chunk scanned and kept
            process.join()
        opened(self, index)

    monkeypatch.setattr(chunk_work.ChunkWork, "open", open_after_a_kill)
    options = Options(jobs=2, chunk_bytes=1, chunk_after=0)
    with pytest.raises(WorkerFailed, match="died"):
        analyze(open_capture(CAPTURES_DIR / "esp-rekey-delete.pcap"), KeyRing(), options)


def test_reader_options_reach_the_chunk_workers(ah_and_fragments, chunk_runs):  # noqa: ANN001
    capture, ring = ah_and_fragments
    for reader_options in (
        {"max_fragment_buffers": 0},
        {"ike_ports": (500, 4500, 1234), "fragment_timeout": 0.0},
    ):
        sequential = analyze(open_capture(capture, **reader_options), ring, Options(jobs=1))
        chunked = analyze(
            open_capture(capture, **reader_options), ring, Options(jobs=2, chunk_bytes=1, chunk_after=0)
        )
        assert render_json(chunked) == render_json(sequential)
    assert len(chunk_runs) == 2


def test_progress_follows_the_chunks_accounted_up_to_every_frame(chunk_runs):  # noqa: ANN001
    capture = CAPTURES_DIR / "esp-rekey-delete.pcap"
    seen: list[int] = []
    options = Options(jobs=2, chunk_bytes=4_000, chunk_after=0, progress=seen.append)
    report = analyze(open_capture(capture), KeyRing(), options)
    assert len(seen) > 2 and seen == sorted(seen) and seen[-1] == report.stats.packets
    assert chunk_runs


def test_chunk_workers_start_before_the_dh_pool_and_change_nothing(tmp_path: Path, monkeypatch, chunk_runs):  # noqa: ANN001
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    from ike_bench import load_keys
    from ike_capture_gen import Settings, generate

    made = generate(tmp_path, 12, Settings(esp_packets=40), concurrent=3)  # interleaved negotiations
    keyring = load_keys(made.psk_file, made.dh_private_keys)
    events: list[str] = []
    start_workers, make_pool = chunk_work.ChunkWork._start, dh_pool.ProcessDhProvider.__init__

    def recording_start(self, *args) -> None:  # noqa: ANN001, ANN002
        events.append(f"chunk workers, {threading.active_count()} thread(s)")
        start_workers(self, *args)

    def recording_pool(self, *args) -> None:  # noqa: ANN001, ANN002
        events.append("dh pool")
        make_pool(self, *args)

    monkeypatch.setattr(chunk_work.ChunkWork, "_start", recording_start)
    monkeypatch.setattr(dh_pool.ProcessDhProvider, "__init__", recording_pool)
    one = _run(made.capture, keyring, jobs=1)
    assert events == [] and len(one[1]) > 24  # keyed by the DH values: ESP decrypted
    threads = threading.active_count()
    assert _chunked(made.capture, keyring, 3000, jobs=2) == one
    assert events == [f"chunk workers, {threads} thread(s)", "dh pool"]
    assert chunk_runs


def test_spawned_chunk_workers_read_the_file_themselves_and_change_nothing(monkeypatch, chunk_runs):  # noqa: ANN001
    started = chunk_work.ChunkWork._start
    methods: list[bool] = []

    def spawned(self, *args) -> None:  # noqa: ANN001, ANN002
        monkeypatch.setattr(threading, "active_count", lambda: 2)  # as if the DH pool's thread ran
        started(self, *args)
        methods.append(self._shared is None and self._processes[0]._popen.method == "spawn")

    monkeypatch.setattr(chunk_work.ChunkWork, "_start", spawned)
    ring = _ring([KEYS_DIR / "esp-rekey-delete.toml"])
    for capture in (CAPTURES_DIR / "esp-rekey-delete.pcap", CORPUS_DIR / "lab.pcap.gz"):
        sequential = _run(capture, ring, jobs=1)
        assert _chunked(capture, ring, FEW_RECORDS, jobs=2) == sequential
    assert methods == [True, True] and len(chunk_runs) == 2


@pytest.mark.parametrize("processes", [0, None], ids=["in-process", "workers"])
@pytest.mark.parametrize(
    ("chunk_bytes", "part_bytes"), [(1, 0), (300, 1)], ids=["walked-here", "parts-of-one-chunk"]
)
def test_at_most_max_live_chunks_are_held_however_far_the_engine_could_run_ahead(  # noqa: ANN201
    monkeypatch,  # noqa: ANN001
    processes,  # noqa: ANN001
    chunk_bytes,  # noqa: ANN001
    part_bytes,  # noqa: ANN001
):
    # a part of a pcap file (capture/part_scan.py) is scanned whole: its chunks are live together,
    # so the limit counts chunks where the parts are single chunks (the default: parts of at
    # least a chunk, chunks of 4 MiB)
    held: list[tuple[int, int]] = []  # (chunks live, their limit) after every hand-out
    hand_out = chunk_work.ChunkWork._hand_out

    def recorded(self) -> None:  # noqa: ANN001
        hand_out(self)
        held.append((len(self._live) + len(self._parts_out), self.max_live))
        assert len(self._scans) + len(self._residues) <= self.max_live

    monkeypatch.setattr(chunk_work.ChunkWork, "_hand_out", recorded)
    capture = CAPTURES_DIR / "esp-rekey-delete.pcap"
    options = Options(
        jobs=2, chunk_bytes=chunk_bytes, chunk_after=0, chunk_processes=processes, part_bytes=part_bytes
    )
    report = analyze(open_capture(capture), KeyRing(), options)
    limit = held[0][1]
    assert report.stats.packets > 10 * limit  # one record per chunk: far more chunks than the limit
    assert max(live for live, _ in held) == limit  # the limit was reached, never passed
