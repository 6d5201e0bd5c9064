"""--crack on IKEv2 (RFC 7296 2.15): with the DH secret known, the shared-key AUTH payloads of
captures/ikev2-psk-aes-cbc-sha256.pcap are tested against a word list as aggressive mode's HASH_R
is; without DH material the tool says IKEv2 PSKs cannot be attacked passively."""

from __future__ import annotations

import json
import tomllib

from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.crack import crack
from ikedecode.crack.ikev2 import params_of_ikev2_sas
from ikedecode.keys.keyring import DhSecret, KeyRing
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path

from .wordlists import write_word_list

NAME = "ikev2-psk-aes-cbc-sha256"
CAPTURE = str(CAPTURES_DIR / f"{NAME}.pcap")
KEY_FILE = tomllib.loads((KEYS_DIR / f"{NAME}.toml").read_text())
PSK = KEY_FILE["psk"][0]["secret"].encode()
DH_SECRETS = [f"{sa['initiator_cookie']}={sa['dh_secret']}" for sa in KEY_FILE["ike_sa"]]


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, [CAPTURE, *args], catch_exceptions=False)


def dh_args() -> list[str]:
    return [arg for secret in DH_SECRETS for arg in ("--dh-secret", secret)]


def test_an_ikev2_psk_in_the_word_list_is_found_with_the_dh_secret_and_keeps_secret(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 300, {217: PSK})
    result = run(*dh_args(), "--crack", str(words), "--crack-rules", "none", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert PSK.decode() not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    cracked = [f for f in report["findings"] if f["code"] == "ikev2-psk-cracked"]
    assert {f["evidence"]["line"] for f in cracked} == {217}
    assert {"initiator" in f["message"] or "responder" in f["message"] for f in cracked} == {True}
    assert all(f["severity"] == "warning" and "guessable" in f["hint"] for f in cracked)
    # analysed again with the found key: both AUTH payloads verify
    auth = [m for sa in report["ike_sas"] for m in sa["messages"] if m["exchange"] == "IKE_AUTH"]
    assert auth and all(m["auth_verified"] is True for m in auth if not m["retransmission"])


def test_a_word_list_without_the_psk_is_an_info_finding_on_the_auth(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 200, {})
    result = run(*dh_args(), "--crack", str(words), "--crack-rules", "case", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "PSK not found for IKEv2 SA" in result.stderr
    findings = json.loads(result.stdout)["findings"]
    missed = [f for f in findings if f["code"] == "psk-not-cracked"]
    assert len(missed) == 2 and all("gives the AUTH of IKEv2 SA" in f["message"] for f in missed)
    assert all(f["evidence"]["candidates"] > 200 for f in missed)  # each word, then its case variants
    assert not [f for f in findings if f["code"] == "ikev2-psk-cracked"]


def test_without_dh_material_ikev2_psks_cannot_be_attacked_passively(tmp_path):
    words = write_word_list(tmp_path / "words.txt", 20, {5: PSK})
    result = CliRunner().invoke(main, [CAPTURE, "--crack", str(words)])
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert "IKEv2 PSKs cannot be attacked passively" in line and "--dh-secret" in line


def test_the_parallel_search_finds_the_ikev2_psk_on_every_core_count(tmp_path):
    report = analyze_path(
        CAPTURES_DIR / f"{NAME}.pcap",
        KeyRing(
            dh_secrets=[
                DhSecret(bytes.fromhex(sa["dh_secret"]), "key file", bytes.fromhex(sa["initiator_cookie"]))
                for sa in KEY_FILE["ike_sa"]
            ]
        ),
    )
    targets = params_of_ikev2_sas(report.ike_sas)
    assert {t.source.split("AUTH of the ")[1].split(",")[0] for t in targets} == {"initiator", "responder"}
    assert all(t.verify(PSK) and not t.verify(PSK + b"x") for t in targets)
    words = write_word_list(tmp_path / "w.txt", 5_000, {4_321: PSK})
    for workers in (1, 2):
        result = crack(targets[0], words, rule_set="none", workers=workers)
        assert (result.psk, result.line, result.tried) == (PSK, 4_321, 4_321)
