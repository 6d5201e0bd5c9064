"""The post-quantum IKEv2 lab captures decoded end to end (issue 18): with what a user has (the key
file's PSK, g^ir, RFC 9370 SK(n) and RFC 8784 PPK, given on the command line as --dh-secret SPIi:n=HEX
and --ppk ID=HEX), every SK/SKF message opens with its ICV under the key stage in force when it was
sent, both AUTH payloads verify (with the RFC 9242 IntAuth chain), every ESP packet verifies, and the
keys the SA ends with are the ones charon logged (captures/lab/ikev2_keys.py reads the logs)."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from tests.conftest import CAPTURES_DIR, KEYS_DIR, load_lab_keys, shipped

PQ = [p.stem for p in shipped(CAPTURES_DIR, "ikev2-pq-*.pcap")]
assert len(PQ) >= 11, "captures/ikev2-pq-*.pcap ship with the project"
NOT_ESTABLISHED = {"ikev2-pq-addke-unsupported", "ikev2-pq-init-fragments-lost"}
SK_NAMES = ("sk_d", "sk_ai", "sk_ar", "sk_ei", "sk_er", "sk_pi", "sk_pr")
IKE_INTERMEDIATE = "IKE_INTERMEDIATE"


def _lab_tool():  # noqa: ANN202
    spec = importlib.util.spec_from_file_location("ikev2_keys", CAPTURES_DIR / "lab" / "ikev2_keys.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("ikev2_keys", module)
    spec.loader.exec_module(module)
    return module


LAB = _lab_tool()


def user_args(name: str, tmp_path: Path) -> list[str]:
    """What the user knows, typed on the command line (a followup's SK(n) in a small key file)."""
    keys = load_lab_keys(name)
    args = [str(CAPTURES_DIR / f"{name}.pcap"), "--show-keys"]
    args += [a for psk in keys.get("psk", []) for a in ("--psk", psk["secret"])]
    for sa in keys.get("ike_sa", []):
        spi = sa["initiator_cookie"]
        args += ["--dh-secret", f"{spi}={sa['dh_secret']}"]
        for n, secret in enumerate(sa.get("additional_secrets", []), 1):
            args += ["--dh-secret", f"{spi}:{n}={secret}"]
        if "ppk" in sa:
            args += ["--ppk", f"{sa['ppk_id']}={sa['ppk']}"]
    tables, spi_i = [], None
    for line in (KEYS_DIR / f"{name}.toml").read_text().splitlines():
        header = re.match(r"# IKE SA ([0-9a-f]{16})/", line)
        spi_i = header.group(1) if header else spi_i
        pfs = re.search(
            r"message ID (\d+) .*PFS dh_secret = ([0-9a-f]+)(?:, additional secrets = ([0-9a-f, ]+))?", line
        )
        if pfs and spi_i:
            more = [v.strip() for v in (pfs.group(3) or "").split(",") if v.strip()]
            tables.append(
                f'[[quick_mode]]\ninitiator_cookie = "{spi_i}"\nmessage_id = "{pfs.group(1)}"\n'
                f'dh_secret = "{pfs.group(2)}"\nadditional_secrets = {more}\n'
            )
    if tables:
        path = tmp_path / "followups.toml"
        path.write_text("\n".join(tables))
        args += ["--keys", str(path)]
    return args


def report(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(set(PQ) - NOT_ESTABLISHED))
def test_every_message_opens_under_its_key_stage_auth_and_esp_verify(name, tmp_path):
    doc = report(*user_args(name, tmp_path))
    logged = {sa.spi_i: sa for sa in LAB.parse_charon_log(KEYS_DIR / f"{name}.west.log.gz").ike_sas}
    for sa in doc["ike_sas"]:
        assert sa["established"] and sa["authenticated"], sa["initiator_cookie"]
        stage, encrypted = 0, [m for m in sa["messages"] if m["encrypted"]]
        assert encrypted
        for m in sa["messages"]:
            if m["encrypted"]:
                assert m["protection"] == "verified" and m["integrity_verified"], m["frame"]
                assert m["key_stage"] == stage, m["frame"]  # IKE_INTERMEDIATE: the stage before its own
            if m["exchange"] == IKE_INTERMEDIATE and m["response"] and not m["retransmission"]:
                stage += any(p["name"] == "Key Exchange" for p in m["payloads"])
        auth = [
            m["auth_verified"]
            for m in sa["messages"]
            if m["exchange"] == "IKE_AUTH" and not m["retransmission"]
        ]
        if sa["ikev2"]["rekeyed_from"] is None:
            assert auth == [True, True], sa["initiator_cookie"]
        lab = logged[sa["initiator_cookie"]]
        stages = lab.key_stages
        assert [s["stage"] for s in sa["ikev2"]["key_stages"]] == (
            list(range(len(stages))) if len(stages) > 1 else []
        )
        final = {n: sa["keys"][n] for n in SK_NAMES if sa["keys"][n]}
        assert final == {n: lab.keys[n].hex() for n in final}  # the last stage, PPK applied: charon's
        assert set(final) >= {"sk_d", "sk_ei", "sk_er", "sk_pi", "sk_pr"}
    esp = [s for s in doc["ipsec_sas"] if s["packets"]]
    assert esp and all(s["verified"] == s["packets"] and not s["icv_failed"] for s in esp)
    assert not [f["code"] for f in doc["findings"] if f["severity"] in ("error", "warning")]


def test_the_ppk_fallback_checks_auth_with_the_ppk_and_no_ppk_auth_without(tmp_path):
    doc = report(*user_args("ikev2-pq-ppk-fallback", tmp_path))
    (sa,) = doc["ike_sas"]
    assert sa["ikev2"]["ppk"] == "offered, not used (NO_PPK_AUTH)"
    request = next(m for m in sa["messages"] if m["exchange"] == "IKE_AUTH" and not m["response"])
    assert request["auth_verified"] is True and "NO_PPK_AUTH (without the PPK) verifies" in request["note"]
    used = report(*user_args("ikev2-pq-ppk", tmp_path))["ike_sas"][0]
    assert used["ikev2"]["ppk"] == "used"
    answer = next(m for m in used["messages"] if m["exchange"] == "IKE_AUTH" and m["response"])
    assert not answer["problems"]  # the responder's PPK_IDENTITY carries no data (RFC 8784 3)
    assert {"ppk_used": True} in [p.get("decoded") for p in answer["payloads"]]


def test_without_the_ppk_auth_is_named_unchecked_and_decryption_goes_on(tmp_path):
    args = user_args("ikev2-pq-ppk", tmp_path)
    at = args.index("--ppk")
    doc = report(*args[:at], *args[at + 2 :])
    (sa,) = doc["ike_sas"]
    request = next(m for m in sa["messages"] if m["exchange"] == "IKE_AUTH" and not m["response"])
    assert request["auth_verified"] is None and "keyed with the PPK" in request["note"]
    assert all(m["protection"] == "verified" for m in sa["messages"] if m["encrypted"])
    wrong = [*args[:at], "--ppk", f"lab-ppk={'00' * 32}", *args[at + 2 :]]
    assert report(*wrong)["ike_sas"][0]["authenticated"] is False


def test_a_missing_stage_input_is_named_and_stops_decryption_there(tmp_path):
    keys = load_lab_keys("ikev2-pq-mlkem1024-two-addke")
    (sa_keys,) = keys["ike_sa"]
    spi = sa_keys["initiator_cookie"]
    doc = report(
        str(CAPTURES_DIR / "ikev2-pq-mlkem1024-two-addke.pcap"),
        "--psk", keys["psk"][0]["secret"],
        "--dh-secret", f"{spi}={sa_keys['dh_secret']}",
        "--dh-secret", f"{spi}:1={sa_keys['additional_secrets'][0]}",
    )  # fmt: skip
    (sa,) = doc["ike_sas"]
    stages = {m["frame"]: m["key_stage"] for m in sa["messages"] if m["decrypted"]}
    assert set(stages.values()) == {0, 1}  # both IKE_INTERMEDIATE exchanges open, nothing after
    later = [m for m in sa["messages"] if m["encrypted"] and not m["decrypted"]]
    assert later and all("no keys for key stage 2" in m["note"] for m in later)
    assert all(f"--dh-secret {spi}:2=HEX" in m["note"] for m in later)
    (missing,) = [f for f in doc["findings"] if f["code"] == "key-stage-missing"]
    assert missing["evidence"]["stage"] == 2 and missing["evidence"]["key_exchange"] == "ml-kem-1024"
    assert sa["ikev2"]["key_stages"][2]["missing"].startswith("SK(2) of ADDKE2")


def test_the_peer_without_addke_and_the_lost_fragments_are_named():
    unsupported = report(str(CAPTURES_DIR / "ikev2-pq-addke-unsupported.pcap"))
    assert "ikev2-addke-unsupported" in [f["code"] for f in unsupported["findings"]]
    lost = report(str(CAPTURES_DIR / "ikev2-pq-init-fragments-lost.pcap"))
    (finding,) = [f for f in lost["findings"] if f["code"] == "ikev2-init-fragments-lost"]
    assert (
        finding["evidence"]["key_share_bytes"] == 1568
        and len(finding["evidence"]["request"]["ip_frames"]) == 2
    )
    declined = report(str(CAPTURES_DIR / "ikev2-pq-addke-optional.pcap"))
    assert "ikev2-addke-declined" in [f["code"] for f in declined["findings"]]


def test_auth_verifies_only_with_the_intauth_chain(tmp_path, monkeypatch):
    """RFC 9242 3.3.2: without IntAuth in the signed octets the same AUTH payloads do not verify."""
    from ikedecode.ike.v2 import intermediate

    monkeypatch.setattr(intermediate, "int_auth_for", lambda state, message_id: None)
    doc = report(*user_args("ikev2-pq-mlkem1024-two-addke", tmp_path))
    auth = [m["auth_verified"] for m in doc["ike_sas"][0]["messages"] if m["exchange"] == "IKE_AUTH"]
    assert auth == [False, False]
    assert "auth-mismatch" in [f["code"] for f in doc["findings"]]


def _state_not_found_capture(tmp_path: Path) -> Path:
    """ikev2-pq-child-rekey-addke with its IKE_FOLLOWUP_KE response (frame 20) replaced by one
    carrying N(STATE_NOT_FOUND), sealed with the responder's stage-1 SK_er from the charon log
    (AES-GCM-16-256, RFC 5282: nonce = salt | IV, AAD = IKE header | SK header)."""
    import struct

    import dpkt  # type: ignore[import-untyped]
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    log = LAB.parse_charon_log(KEYS_DIR / "ikev2-pq-child-rekey-addke.west.log.gz")
    sk_er = log.ike_sas[0].key_stages[1]["sk_er"]
    source = CAPTURES_DIR / "ikev2-pq-child-rekey-addke.pcap"
    out = tmp_path / "state-not-found.pcap"
    with source.open("rb") as f_in, out.open("wb") as f_out:
        reader = dpkt.pcap.Reader(f_in)
        writer = dpkt.pcap.Writer(f_out, linktype=reader.datalink())
        for frame, (ts, buf) in enumerate(reader, 1):
            if frame == 20:
                eth = dpkt.ethernet.Ethernet(buf)
                udp = bytes(eth.data.data.data)
                marker, old = udp[:4], udp[4:]  # UDP 4500: the non-ESP marker first (RFC 3948)
                assert marker == bytes(4)
                inner = struct.pack("!BBHBBH", 0, 0, 8, 0, 0, 47) + b"\x00"  # N(STATE_NOT_FOUND), pad 0
                iv = bytes(8)
                length = 28 + 4 + 8 + len(inner) + 16
                header = old[:16] + bytes([46]) + old[17:24] + struct.pack("!I", length)  # next: SK
                sk_header = struct.pack("!BBH", 41, 0, length - 28)  # first inner payload: Notify
                sealed = AESGCM(sk_er[:32]).encrypt(sk_er[32:] + iv, inner, header + sk_header)
                eth.data.data.data = marker + header + sk_header + iv + sealed
                length += 4
                eth.data.data.ulen = 8 + length
                eth.data.data.sum = 0
                eth.data.len = 20 + 8 + length
                eth.data.sum = 0
                buf = bytes(eth)
            writer.writepkt(buf, ts)
    return out


def test_a_followup_answered_with_state_not_found_is_named(tmp_path):
    capture = _state_not_found_capture(tmp_path)
    args = user_args("ikev2-pq-child-rekey-addke", tmp_path)
    doc = report(str(capture), *args[1:])
    (sa,) = doc["ike_sas"]
    answer = next(m for m in sa["messages"] if m["frame"] == 20)
    assert answer["protection"] == "verified" and answer["key_stage"] == 1
    assert "STATE_NOT_FOUND: the responder no longer holds CREATE_CHILD_SA 0x00000003" in answer["note"]
    (notify,) = [f for f in doc["findings"] if f["code"] == "error-notify"]
    assert notify["evidence"]["notify"] == "STATE_NOT_FOUND"
    assert [p.get("refused") for p in sa["phase2"] if p["message_id"] == "0x00000003"] == [
        ["STATE_NOT_FOUND"]
    ]
    keyed = {s["spi"] for s in doc["ipsec_sas"] if s["verified"]}
    assert "0x668531bc" not in keyed  # the Child SA the lost exchange would have made
