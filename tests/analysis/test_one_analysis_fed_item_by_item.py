"""One analysis whoever drives it: ``Analysis`` fed one datagram at a time gives the report the
pipeline gives with ESP in batches (the Dask merger's case is tests/distributed)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest

from ikedecode.analysis.session import Analysis
from ikedecode.capture import CaptureReader
from ikedecode.capture.sources import sources_of
from ikedecode.keys.loader import load_key_text
from ikedecode.pipeline import analyze
from ikedecode.render.json_report import render_json

ROOT = Path(__file__).resolve().parents[2]
LABS = ["mm-aes128-sha1-modp2048", "esp-rekey-delete", "nat-t", "fail-psk-mismatch", "qm-pfs-modp2048"]


@pytest.mark.parametrize("ipsec_keys_given", [True, False], ids=["ipsec-keys-given", "keyed-by-ike-only"])
@pytest.mark.parametrize("name", LABS)
def test_feeding_datagrams_one_by_one_gives_the_pipelines_report(name: str, ipsec_keys_given: bool) -> None:
    data = (ROOT / "captures" / f"{name}.pcap").read_bytes()
    ring = load_key_text((ROOT / "keys" / f"{name}.toml").read_text(), name)
    if not ipsec_keys_given:
        ring = replace(ring, ipsec_sas=[])  # the quick modes key every IPsec SA
    expected = render_json(analyze(CaptureReader(io.BytesIO(data), name=name), ring), show_keys=True)

    reader = CaptureReader(io.BytesIO(data), name=name)
    analysis = Analysis(ring)
    keyed = [sa for datagram in reader for sa in analysis.feed(datagram)]
    report = analysis.finish(reader.name, reader.stats, sources_of(reader))
    assert render_json(report, show_keys=True) == expected
    # what feed returned is what the IKE datagrams added to the SA database after the key file's SAs
    assert keyed == list(analysis.sadb)[len(ring.ipsec_sas) :]
