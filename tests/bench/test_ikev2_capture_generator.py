"""The IKEv2 benchmark's generated captures are real IKEv2 that ikedecode decodes completely, and
``--dh-private`` derives the same keys as g^ir.

No lab capture ships the daemons' private DH values, so ``bench/ikev2_capture_gen.py`` is where
``--dh-private`` for IKEv2 is checked: a few SAs per group (MODP-2048, ECP-256, Curve25519), whose
private values it knows, each analysed once with the g^ir key file and once with the private
values (the initiator's for even SAs, the responder's for odd ones): every SA established and
authenticated, every protected message verified, every AUTH verified, the same SKEYSEED and SK_*,
the same Child SA keys (the ESP packets verify).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ikedecode.capture import open_capture
from ikedecode.ike.records import Protection
from ikedecode.keys.cli_inputs import parse_psk_file
from ikedecode.keys.loader import load_key_file
from ikedecode.pipeline import analyze
from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "bench"))

from ikev2_capture_gen import Settings, generate, negotiate  # noqa: E402

SAS = 4
GROUPS = {"MODP-2048": 14, "ECP-256": 19, "Curve25519": 31}


def analyze_generated(capture: Path, psk_file: Path | None, key_file: Path):  # noqa: ANN201
    ring = load_key_file(str(key_file))
    if psk_file is not None:
        ring.psks.extend(parse_psk_file(psk_file.read_text(), str(psk_file)))
    with open_capture(str(capture)) as reader:
        return analyze(reader, ring)


def check_complete(report) -> None:  # noqa: ANN001
    assert len(report.ike_sas) == SAS
    for sa in report.ike_sas:
        assert sa.version == 2 and sa.established and sa.authenticated
        assert [m.label for m in sa.messages] == [
            "IKE_SA_INIT request",
            "IKE_SA_INIT response",
            "IKE_AUTH request",
            "IKE_AUTH response",
        ]
        protected = [m for m in sa.messages if m.encrypted]
        assert len(protected) == 2 and all(m.protection is Protection.VERIFIED for m in protected)
        assert [m.auth_verified for m in protected] == [True, True]
    assert len(report.ipsec_sas) == 2 * SAS
    assert all(sa.counters.verified == 2 and sa.counters.icv_failed == 0 for sa in report.ipsec_sas)
    assert not report.unknown_spis


@pytest.mark.parametrize("group", GROUPS.values(), ids=GROUPS.keys())
def test_dh_private_derives_the_same_ikev2_keys_as_g_ir(tmp_path: Path, group: int):
    made = generate(tmp_path, SAS, Settings(group=group, esp_packets=2))
    with_secret = analyze_generated(made.capture, made.psk_file, made.dh_secret_keys)
    with_private = analyze_generated(made.capture, made.psk_file, made.dh_private_keys)
    check_complete(with_secret)
    check_complete(with_private)
    for by_secret, by_private in zip(with_secret.ike_sas, with_private.ike_sas, strict=True):
        assert by_private.keys.dh_origin != by_secret.keys.dh_origin  # a private value, not the g^ir file
        derived = by_private.keys.to_dict()
        assert derived == by_secret.keys.to_dict()
        assert all(derived[name] for name in ("skeyseed", "sk_d", "sk_ei", "sk_er", "sk_ai", "sk_ar"))
    secret_child = [(sa.spi, sa.encryption_key, sa.integrity_key) for sa in with_secret.ipsec_sas]
    assert secret_child == [(sa.spi, sa.encryption_key, sa.integrity_key) for sa in with_private.ipsec_sas]
    entries = [sa.keys.dh_origin.rsplit(" ", 1)[-1] for sa in with_private.ike_sas]
    assert entries == [f"#{n}" for n in range(1, SAS + 1)]  # each SA its own [[dh_private]] (I, R, I, R)


def test_the_generators_keys_are_what_ikedecode_derives(tmp_path: Path):
    made = generate(tmp_path, 2, Settings(group=19))
    report = analyze_generated(made.capture, made.psk_file, made.dh_secret_keys)
    for sa in report.ike_sas:
        truth = negotiate(report.ike_sas.index(sa), 19).keys
        assert sa.initiator_cookie == negotiate(report.ike_sas.index(sa), 19).spi_i
        assert sa.keys.sk_ei == truth.sk_ei and sa.keys.sk_pr == truth.sk_pr


def test_without_the_psk_messages_decrypt_but_auth_is_not_checked(tmp_path: Path):
    made = generate(tmp_path, SAS, Settings(group=31))
    report = analyze_generated(made.capture, None, made.dh_private_keys)
    protected = [m for sa in report.ike_sas for m in sa.messages if m.encrypted]
    assert len(protected) == 2 * SAS and all(m.protection is Protection.VERIFIED for m in protected)
    assert not any(m.auth_verified for m in protected)
    assert not any(sa.authenticated for sa in report.ike_sas)


def test_a_wrong_psk_does_not_verify(tmp_path: Path):
    made = generate(tmp_path, 2, Settings(group=19))
    wrong = tmp_path / "wrong.psk"
    wrong.write_text("not-the-bench-psk\n")
    report = analyze_generated(made.capture, wrong, made.dh_secret_keys)
    protected = [m for sa in report.ike_sas for m in sa.messages if m.encrypted]
    assert protected and all(
        m.protection is Protection.VERIFIED and m.auth_verified is False for m in protected
    )


def test_generator_gives_the_same_bytes_for_the_same_arguments_whatever_the_processes(tmp_path: Path):
    one = generate(tmp_path / "one", 4, Settings(group=19), concurrent=2, jobs=1)
    two = generate(tmp_path / "two", 4, Settings(group=19), concurrent=2, jobs=2)
    for a, b in ((one.capture, two.capture), (one.dh_private_keys, two.dh_private_keys)):
        assert a.read_bytes() == b.read_bytes()
    assert one.dh_secret_keys.read_bytes() == two.dh_secret_keys.read_bytes()
