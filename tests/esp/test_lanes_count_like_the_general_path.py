"""A lane (``EspOpener.lane``) opens and counts a flow's packets in one step; the batch summary it
gives must be exactly the one ``EspOpener.open`` and the general grouping give.

Real captures: CBC + HMAC (the inlined CBC lane), AES-GCM-16 (the AEAD lane), a rekey (SAs
replaced mid-capture), and a damaged copy where some packets fail their ICV and fall back.
"""

from __future__ import annotations

import io

import pytest

from ikedecode.capture import CaptureReader
from ikedecode.capture.batch import EspBatch
from ikedecode.esp import lanes as lanes_module
from ikedecode.esp.batch_summary import summarize_batch
from ikedecode.esp.opener import EspOpener
from ikedecode.esp.outcome import ICV_OK, PAYLOAD, SA_INDEX
from ikedecode.esp.sadb import SaDatabase
from ikedecode.keys.loader import load_key_text
from tests.conftest import CAPTURES_DIR, KEYS_DIR


def _summaries(data: bytes, sas: list, *, lanes: bool, want_plaintext: bool = False) -> list:
    opener = EspOpener(SaDatabase(sas), want_plaintext=want_plaintext)
    if not lanes:
        opener.lane = lambda *args: lanes_module.no_lane  # type: ignore[method-assign]
    batches = [item for item in CaptureReader(io.BytesIO(data)).items(7) if isinstance(item, EspBatch)]
    return [summarize_batch(opener, batch.blob, batch.meta) for batch in batches]


def _damaged(data: bytes) -> bytes:
    """Every ESP packet with sequence number 3 gets its last byte (in the ICV) flipped."""
    out = bytearray(data)
    for item in CaptureReader(io.BytesIO(data)).items(1):
        if isinstance(item, EspBatch):
            esp_start, esp_end = item.meta[4], item.meta[5]
            if int.from_bytes(item.blob[esp_start + 4 : esp_start + 8], "big") == 3:
                frame_end = data.find(item.blob[esp_start:esp_end]) + (esp_end - esp_start)
                out[frame_end - 1] ^= 1
    return bytes(out)


@pytest.mark.parametrize(
    "name", ["mm-aes128-sha1-modp2048", "esp-aes128gcm16", "esp-rekey-delete", "mm-3des-md5-modp1024"]
)
@pytest.mark.parametrize("damage", [False, True])
def test_lanes_summarise_a_lab_capture_as_the_general_path_does(name: str, damage: bool):
    data = (CAPTURES_DIR / f"{name}.pcap").read_bytes()
    if damage:
        data = _damaged(data)
    sas = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name).ipsec_sas
    with_lanes = _summaries(data, sas, lanes=True)
    assert with_lanes == _summaries(data, sas, lanes=False)
    grouped = sum(group[0] for _, groups in with_lanes for group in groups.values())
    singles = [outcome for summary in with_lanes for _, outcome in summary[0]]
    assert grouped > 0  # the lanes did count packets
    if damage:
        assert any(outcome[ICV_OK] is False for outcome in singles)  # the damaged ones fell back, failed
    else:
        assert singles == []


def test_lanes_hand_back_plaintext_when_it_is_wanted():
    name = "mm-aes128-sha1-modp2048"
    data = (CAPTURES_DIR / f"{name}.pcap").read_bytes()
    sas = load_key_text((KEYS_DIR / f"{name}.toml").read_text(), name).ipsec_sas
    with_lanes = _summaries(data, sas, lanes=True, want_plaintext=True)
    assert with_lanes == _summaries(data, sas, lanes=False, want_plaintext=True)
    payloads = [outcome[PAYLOAD] for summary in with_lanes for _, outcome in summary[0]]
    assert len(payloads) == 16 and all(p[0] >> 4 == 4 for p in payloads)  # 16 inner IPv4 packets


@pytest.mark.parametrize("batch_packets", [7, 64])
@pytest.mark.parametrize("want_plaintext", [False, True])
def test_lanes_summarise_interleaved_flows_as_the_general_path_does(batch_packets: int, want_plaintext: bool):
    """Several flows in one batch (two directions, an ESN SA the lanes leave to ``open``, an
    unknown SPI, replays, a damaged packet, VLAN frames from the reader's general path): grouped
    by flow, the lanes' singles must still come out in batch order and the groups equal."""
    from tests.parallel.test_jobs_give_identical_output import _generated_capture

    data, sas = _generated_capture()
    batches = [
        item for item in CaptureReader(io.BytesIO(data)).items(batch_packets) if isinstance(item, EspBatch)
    ]
    summaries = {}
    for lanes in (True, False):
        opener = EspOpener(SaDatabase(sas), want_plaintext=want_plaintext)
        if not lanes:
            opener.lane = lambda *args: lanes_module.no_lane  # type: ignore[method-assign]
        summaries[lanes] = [summarize_batch(opener, batch.blob, batch.meta) for batch in batches]
    assert summaries[True] == summaries[False]
    # batches with singles where several SAs had packets: their singles were merged from flows
    mixed = [
        singles
        for singles, groups in summaries[True]
        if singles
        and len(set(groups) | {outcome[SA_INDEX] for _, outcome in singles if len(outcome) > SA_INDEX}) >= 2
    ]
    assert mixed
    for singles, _ in summaries[True]:
        positions = [position for position, _ in singles]
        assert positions == sorted(positions)
