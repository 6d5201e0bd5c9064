"""The IKE benchmark's generated captures are real IKEv1 that ikedecode decodes completely.

Every SA of ``bench/ike_capture_gen.py`` must come out established and authenticated, every
encrypted message decrypted with its hash verified, and its quick mode's ESP SAs keyed (the ESP
packets that follow verify), with either kind of key file it writes; and the same arguments must
give the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ikedecode.capture import open_capture
from ikedecode.ike.records import Protection
from ikedecode.ike.v1.anticipation import clear_phase1_values
from ikedecode.keys.cli_inputs import parse_psk_file
from ikedecode.keys.loader import load_key_file
from ikedecode.pipeline import analyze
from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from ike_capture_gen import Settings, generate, negotiate  # noqa: E402

SAS = 20


def analyze_generated(capture: Path, psk_file: Path, key_file: Path):  # noqa: ANN201
    ring = load_key_file(str(key_file))
    ring.psks.extend(parse_psk_file(psk_file.read_text(), str(psk_file)))
    with open_capture(str(capture)) as reader:
        return analyze(reader, ring)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    return generate(tmp_path_factory.mktemp("ike-gen"), SAS, Settings(esp_packets=2))


@pytest.mark.parametrize("keys", ["dh_secret_keys", "dh_private_keys"])
def test_every_generated_sa_is_established_with_every_message_verified(generated, keys: str):  # noqa: ANN001
    report = analyze_generated(generated.capture, generated.psk_file, getattr(generated, keys))
    assert len(report.ike_sas) == SAS
    for sa in report.ike_sas:
        assert sa.established and sa.authenticated and sa.state == "QM_IDLE"
        assert [m.label for m in sa.messages] == [
            "MM1",
            "MM2",
            "MM3",
            "MM4",
            "MM5",
            "MM6",
            "QM1",
            "QM2",
            "QM3",
        ]
        encrypted = [m for m in sa.messages if m.encrypted]
        assert len(encrypted) == 5 and all(m.protection is Protection.VERIFIED for m in encrypted)
        assert sa.keys is not None and sa.keys.psk_origin is not None and sa.keys.dh_origin is not None
    assert len(report.ipsec_sas) == 2 * SAS
    assert all(sa.counters.verified == 2 and sa.counters.icv_failed == 0 for sa in report.ipsec_sas)
    assert not report.unknown_spis
    assert not [f for f in report.findings if f.severity.value in ("error", "warning")]


def test_dh_private_keys_alternate_initiator_and_responder_values(generated):  # noqa: ANN001
    report = analyze_generated(generated.capture, generated.psk_file, generated.dh_private_keys)
    sides = [sa.keys.dh_origin.rsplit(" ", 1)[-1] for sa in report.ike_sas]
    assert sides == ["(initiator)", "(responder)"] * (SAS // 2)


def test_generator_gives_the_same_bytes_for_the_same_arguments_whatever_the_processes(tmp_path: Path):
    one = generate(tmp_path / "one", 6, Settings(group=2), concurrent=3, jobs=1)
    two = generate(tmp_path / "two", 6, Settings(group=2), concurrent=3, jobs=2)
    for a, b in ((one.capture, two.capture), (one.dh_private_keys, two.dh_private_keys)):
        assert a.read_bytes() == b.read_bytes()
    assert one.dh_secret_keys.read_bytes() == two.dh_secret_keys.read_bytes()


@pytest.mark.parametrize("group", [2, 19])
def test_other_dh_groups_decode_with_private_values(tmp_path: Path, group: int):
    made = generate(tmp_path, 4, Settings(group=group), concurrent=2)
    report = analyze_generated(made.capture, made.psk_file, made.dh_private_keys)
    groups = [sa.chosen.get(4) for sa in report.ike_sas]
    assert groups == [group] * 4
    assert all(sa.established and sa.authenticated for sa in report.ike_sas)
    assert all(
        m.protection is Protection.VERIFIED for sa in report.ike_sas for m in sa.messages if m.encrypted
    )


def test_clear_phase1_values_read_group_and_ke_from_generated_messages():
    negotiation = negotiate(3, group_id=14, exponent_bits=256)
    udp_payload = [packet[28:] for _, _, packet in negotiation.frames[:4]]  # past IPv4 + UDP headers
    values = [clear_phase1_values(message) for message in udp_payload]
    assert [v[0] for v in values] == [negotiation.initiator_cookie] * 4
    assert [v[1] for v in values] == [None, 14, None, None]  # the group of the responder's SA only
    g_xi, g_xr = values[2][2], values[3][2]
    assert values[0][2] is None and values[1][2] is None
    assert negotiation.dh_private_side == "responder"
    from ikedecode.ike import dh

    assert dh.public_value(14, negotiation.dh_private) == g_xr and g_xi != g_xr
    assert clear_phase1_values(negotiation.frames[4][2][28:]) is None  # MM5 is encrypted
