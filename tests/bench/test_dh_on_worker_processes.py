"""DH work on worker processes, computed ahead, gives the report of computing it in-line, byte for byte.

``compute_dh_ahead`` starts a process pool for the engine's g^xy computations and reads IKE
datagrams ahead of the engine so that they are ready when MM5 is decrypted; only when the values
are computed may change. The captures are generated (``bench/ike_capture_gen.py``): one
negotiation after another with ESP after each quick mode (read-ahead must release the IKE it
holds before the ESP), and negotiations interleaved five at a time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.ike import dh_work
from ikedecode.ike.dh_work import DhFailure
from ikedecode.parallel.dh_pool import ProcessDhProvider, read_ahead
from ikedecode.render.json_report import render_json
from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from ike_bench import analyze_file, load_keys  # noqa: E402
from ike_capture_gen import Settings, generate  # noqa: E402

SAS = 50


@pytest.mark.parametrize(
    ("concurrent", "esp_packets", "window"),
    [(1, 1, 2048), (5, 0, 2048), (5, 0, 12)],
    ids=["one-after-another-with-esp", "interleaved", "interleaved-short-window"],
)
def test_json_is_identical_with_dh_on_two_processes_and_in_line(
    tmp_path: Path, concurrent: int, esp_packets: int, window: int
):
    made = generate(tmp_path, SAS, Settings(esp_packets=esp_packets), concurrent=concurrent)
    keyring = load_keys(made.psk_file, made.dh_private_keys)
    in_line = analyze_file(made.capture, keyring, dh_jobs=1)
    on_workers = analyze_file(made.capture, keyring, dh_jobs=2, window=window)
    assert sum(sa.authenticated for sa in in_line.ike_sas) == SAS
    assert render_json(on_workers) == render_json(in_line)


def test_process_provider_gives_the_in_line_values_and_failures():
    privates = [(n * 0x1000193 + 5).to_bytes(32, "big") for n in range(1, 5)] + [b"\x01" * 300]
    with ProcessDhProvider(2) as provider:
        publics = provider.public_values(14, privates).result()
        assert publics == dh_work.public_values(14, privates)
        assert isinstance(publics[-1], DhFailure)
        pairs = [(privates[0], publics[1]), (privates[1], b"\x00" * 256)]
        assert provider.shared_secrets(14, pairs).result() == dh_work.shared_secrets(14, pairs)


def _datagram(frame: int, kind: Kind) -> Datagram:
    return Datagram(frame, float(frame), kind, "192.0.2.1", "198.51.100.1", 500, 500, b"")


def test_read_ahead_keeps_the_order_and_holds_only_ike_datagrams():
    kinds = [Kind.IKE] * 5 + [Kind.ESP] + [Kind.IKE] * 3 + [Kind.AH, Kind.IKE]
    items = [_datagram(n, kind) for n, kind in enumerate(kinds, 1)]
    shown: list[int] = []
    out: list[int] = []

    def anticipate(datagram: Datagram) -> None:
        shown.append(datagram.frame)

    for item in read_ahead(iter(items), anticipate, window=2):
        out.append(item.frame)
        ahead = [frame for frame in shown if frame > item.frame]
        assert len(ahead) <= 2  # never more than the window ahead of the consumer
        if item.kind is Kind.IKE:
            assert item.frame in shown  # shown to the engine before it receives it
    assert out == list(range(1, len(items) + 1))
    assert shown == [n for n, kind in enumerate(kinds, 1) if kind is Kind.IKE]
