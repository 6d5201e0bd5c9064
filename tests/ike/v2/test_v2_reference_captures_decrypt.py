"""Wireshark's public IKEv2 captures with its ikev2_decryption_table: every SK payload opens with
its ICV (or AEAD tag) verified, and the inner payloads are named."""

from __future__ import annotations

import pytest

from ikedecode.ike.records import Protection
from ikedecode.ike.v2.payloads import Ikev2Payload, UnknownIkev2Payload
from ikedecode.keys.loader import load_key_text
from tests.ike.v2.v2_captures import REFERENCE_CAPTURES, REFERENCE_TABLE


@pytest.fixture
def table_keys(reference_dir):  # noqa: ANN001, ANN201
    path = reference_dir / REFERENCE_TABLE
    return load_key_text(path.read_text(), str(path))


@pytest.mark.parametrize("name", REFERENCE_CAPTURES)
def test_every_sk_payload_opens_with_a_verified_icv(name, reference_dir, table_keys, run_pipeline):
    report = run_pipeline(reference_dir / "wireshark/captures" / name, table_keys)
    (sa,) = report.ike_sas
    assert sa.version == 2
    encrypted = [m for m in sa.messages if m.encrypted]
    assert len(encrypted) >= 2
    assert all(m.protection is Protection.VERIFIED and m.integrity_verified for m in encrypted)
    for m in sa.messages:
        assert all(isinstance(p, Ikev2Payload) for p in m.payloads)
        assert not [p for p in m.payloads if isinstance(p, UnknownIkev2Payload)]
        assert not m.problems
    assert sa.established and sa.identities.keys() == {"initiator", "responder"}
    assert sa.keys is not None and sa.keys.key_origin.endswith("ikev2_decryption_table:" + str(_line(sa)))


def _line(sa) -> int:  # noqa: ANN001
    """The table line of the SA's SPIs (line 1 is the generated-file comment)."""
    spis = {
        "1234567890123456": 2, "19ab98963486359f": 3, "ea684d21597afd36": 4, "a2926ae833c6f138": 5,
        "81f24c0acd8fa55c": 6, "191ccd371a7a1f7b": 7, "cd7ae76304b277e2": 8, "5d48bfeeb7d574da": 9,
        "0158b8fb90b7623d": 10,
    }  # fmt: skip
    return spis[sa.initiator_cookie.hex()]


def test_wireshark_ccm_keys_given_as_ctr_open_as_ccm_with_tag(reference_dir, table_keys, run_pipeline):
    # the table gives this CCM-12 SA as "AES-CTR-128" with unchecked integrity; ikedecode turns
    # the CTR nonce back into CCM's salt and checks the tag
    report = run_pipeline(reference_dir / "wireshark/captures/ikev2-decrypt-aes128ccm12-2.pcap", table_keys)
    sa = report.ike_sas[0]
    assert sa.chosen.transforms[0].id_name == "ENCR_AES_CCM_12"
    assert [m.integrity_verified for m in sa.messages if m.encrypted] == [True] * 4


def test_responder_started_informational_pairs_by_message_id(reference_dir, table_keys, run_pipeline):
    # frames 5/6: the responder asks (I flag clear, message ID 0 of its own numbering)
    report = run_pipeline(reference_dir / "wireshark/captures/ikev2-decrypt-aes256gcm16.pcap", table_keys)
    sa = report.ike_sas[0]
    request, response = sa.messages[4:6]
    assert (request.label, request.sender, request.message_id) == ("INFORMATIONAL request", sa.responder, 0)
    assert (response.label, response.sender) == ("INFORMATIONAL response", sa.initiator)
    (exchange,) = [ex for ex in sa.phase2.values() if ex.exchange == "INFORMATIONAL"]
    assert exchange.summary["started_by"] == "responder" and exchange.summary["deletes_ike_sa"]
    assert sa.state == "DELETED"
