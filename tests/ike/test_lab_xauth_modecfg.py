"""Acceptance on a real strongSwan IKEv1 XAuth + mode-config negotiation (captures/xauth-modecfg.pcap).

Main mode PSK (authentication method XAUTHInitPreShared), then three transaction exchanges
(draft-beaulieu-ike-xauth-02, draft-dukes-ike-mode-cfg-02): XAuth REQUEST/REPLY, XAuth SET/ACK,
mode-config REQUEST/REPLY, then a quick mode for the virtual IP and ESP. The oracles are the charon
logs (keys/xauth-modecfg.<side>.log.gz: message IDs, attribute payload kinds, the virtual IP) and the
config the lab script wrote (captures/lab/runs/xauth-modecfg/west.swanctl.conf: XAuth user, password).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.keyring import DhSecret, KeyRing, PresharedKey

NAME = "xauth-modecfg"
WEST, EAST = "192.0.2.1", "192.0.2.2"
REDACTED = "(secret: use --show-keys)"
# strongSwan's short names for the attributes payload kinds in its "[ HASH CPRQ(...) ]" log lines
LOG_CFG_TYPES = {
    "CPRQ": "ISAKMP_CFG_REQUEST",
    "CPRP": "ISAKMP_CFG_REPLY",
    "CPS": "ISAKMP_CFG_SET",
    "CPA": "ISAKMP_CFG_ACK",
}
LOG_TRANSACTION = re.compile(
    r"<lab\|1> (generating|parsed) TRANSACTION (?:request|response) (\d+) \[ HASH (\w+)\("
)


@functools.cache
def _cli(capture: str, keys: str, *extra: str) -> str:
    result = CliRunner().invoke(main, [capture, "--keys", keys, "-q", *extra], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def output(captures_dir: Path, keys_dir: Path):  # noqa: ANN201 - returns the cached CLI runner
    return functools.partial(_cli, str(captures_dir / f"{NAME}.pcap"), str(keys_dir / f"{NAME}.toml"))


@pytest.fixture
def report_json(output) -> dict:  # noqa: ANN001
    return json.loads(output("--format", "json"))


@pytest.fixture
def west_log(keys_dir: Path) -> str:
    with gzip.open(keys_dir / f"{NAME}.west.log.gz", "rt", errors="replace") as handle:
        return handle.read()


@pytest.fixture
def xauth_credentials(captures_dir: Path) -> tuple[str, str]:
    """(user, password) from the west daemon's swanctl.conf that the lab script wrote."""
    conf = (captures_dir / "lab" / "runs" / NAME / "west.swanctl.conf").read_text()
    user = re.search(r"xauth_id = (\S+)", conf)[1]
    password = re.search(r'xauth-lab \{\s*id = \S+\s*secret = "([^"]+)"', conf)[1]
    return user, password


def _transactions(report: dict) -> list[dict]:
    (sa,) = report["ike_sas"]
    return [m for m in sa["messages"] if m["exchange_type"] == 6]


def _attributes(message: dict) -> tuple[str, list[dict]]:
    (cfg,) = [p for p in message["payloads"] if p["name"] == "Attributes"]
    return cfg["cfg_type_name"], cfg["attributes"]


def test_three_transaction_exchanges_between_main_mode_and_quick_mode(report_json, west_log):
    (sa,) = report_json["ike_sas"]
    assert [m["label"] for m in sa["messages"]] == (
        [f"MM{n}" for n in range(1, 7)] + ["TRANSACTION"] * 6 + ["QM1", "QM2", "QM3", "INFO", "INFO"]
    )
    # west's log: "parsed" = sent by east, "generating" = sent by west; message ID and payload kind
    logged = [
        (f"0x{int(mid):08x}", LOG_CFG_TYPES[kind], EAST if verb == "parsed" else WEST)
        for verb, mid, kind in LOG_TRANSACTION.findall(west_log)
    ]
    seen = [(m["message_id"], _attributes(m)[0], m["sender"]) for m in _transactions(report_json)]
    assert seen == logged
    assert [kind for _mid, kind, _sender in seen] == [
        "ISAKMP_CFG_REQUEST", "ISAKMP_CFG_REPLY", "ISAKMP_CFG_SET", "ISAKMP_CFG_ACK",
        "ISAKMP_CFG_REQUEST", "ISAKMP_CFG_REPLY",
    ]  # fmt: skip
    mids = [mid for mid, _kind, _sender in seen]
    assert mids[0::2] == mids[1::2] and len(set(mids)) == 3 and "0x00000000" not in mids
    exchanges = [p for p in sa["phase2"] if p["exchange"] == "transaction"]
    assert [(p["message_id"], p["labels"]) for p in exchanges] == [
        (mid, ["TRANSACTION", "TRANSACTION"]) for mid in mids[0::2]
    ]


def test_every_transaction_message_decrypts_and_its_hash_verifies(report_json):
    messages = _transactions(report_json)
    assert len(messages) == 6
    for message in messages:
        assert message["encrypted"] and message["decrypted"], message["frame"]
        assert (message["protection"], message["hash"], message["hash_verified"]) == (
            "verified",
            "HASH(1)",
            True,
        ), message["frame"]
    exchanges = [p for p in report_json["ike_sas"][0]["phase2"] if p["exchange"] == "transaction"]
    assert all(p["decrypted"] is True and p["hashes_verified"] is True for p in exchanges)


def test_xauth_user_name_is_shown_and_the_status_is_ok(report_json, xauth_credentials):
    user, _password = xauth_credentials
    request, reply, set_, ack = _transactions(report_json)[:4]
    assert [a["name"] for a in _attributes(request)[1]] == ["XAUTH_USER_NAME", "XAUTH_USER_PASSWORD"]
    reply_attributes = {a["name"]: a for a in _attributes(reply)[1]}
    assert reply_attributes["XAUTH_USER_NAME"]["text"] == user
    assert reply_attributes["XAUTH_USER_NAME"]["value"] == user.encode().hex()
    assert (request["sender"], reply["sender"]) == (EAST, WEST)  # the responder asks, the client answers
    ((status,),) = [_attributes(set_)[1]]
    assert (status["name"], status["value"], status["value_name"]) == ("XAUTH_STATUS", 1, "OK")
    assert [a["name"] for a in _attributes(ack)[1]] == ["XAUTH_STATUS"]


def test_xauth_password_is_redacted_unless_show_keys(output, report_json, xauth_credentials):
    _user, password = xauth_credentials
    reply = _transactions(report_json)[1]
    (attribute,) = [a for a in _attributes(reply)[1] if a["name"] == "XAUTH_USER_PASSWORD"]
    assert attribute["value"] == REDACTED
    for fmt in ("json", "text"):
        shown = output("--format", fmt)
        assert password not in shown and password.encode().hex() not in shown, fmt
    revealed = json.loads(output("--format", "json", "--show-keys"))
    revealed_reply = _transactions(revealed)[1]
    (attribute,) = [a for a in _attributes(revealed_reply)[1] if a["name"] == "XAUTH_USER_PASSWORD"]
    assert (attribute["text"], attribute["value"]) == (password, password.encode().hex())


def test_mode_config_assigns_the_virtual_ip_the_quick_mode_then_uses(report_json, west_log):
    virtual_ip = re.search(r"installing new virtual IP (\S+)", west_log)[1]
    request, reply = _transactions(report_json)[4:]
    assert (request["sender"], reply["sender"]) == (WEST, EAST)  # pull mode: the client asks
    assert [(a["name"], a["value"]) for a in _attributes(request)[1]] == [("INTERNAL_IP4_ADDRESS", "")]
    assigned = {a["name"]: a["text"] for a in _attributes(reply)[1]}
    assert assigned["INTERNAL_IP4_ADDRESS"] == virtual_ip == "10.3.0.1"
    assert assigned["INTERNAL_IP4_DNS"] == "10.2.0.53"  # the pool's dns attribute (east.swanctl.conf)
    (quick,) = [p for p in report_json["ike_sas"][0]["phase2"] if p["exchange"] == "quick"]
    assert quick["complete"] and quick["hashes_verified"] is True
    assert quick["proxy_ids"]["initiator"] == {"local": virtual_ip, "remote": "10.2.0.0/255.255.255.0"}


def test_phase1_is_xauth_psk_and_esp_keys_from_the_quick_mode_verify_every_packet(
    captures_dir, lab_keys, run_pipeline
):
    keys = lab_keys(NAME)
    ring = KeyRing(
        psks=[PresharedKey(keys["psk"][0]["secret"].encode(), "--psk #1")],
        dh_secrets=[DhSecret(bytes.fromhex(keys["ike_sa"][0]["dh_secret"]), "--dh-secret #1")],
    )
    report = run_pipeline(captures_dir / f"{NAME}.pcap", ring)
    (sa,) = report.ike_sas
    assert (sa.auth_method, sa.established, sa.authenticated) == ("XAUTHInitPreShared", True, True)
    assert sa.keys is not None and sa.keys.skeyid_a.hex() == keys["ike_sa"][0]["skeyid_a"]
    derived = {ipsec.spi: ipsec for ipsec in report.ipsec_sas}
    assert len(derived) == len(keys["ipsec_sa"]) == 2
    for logged in keys["ipsec_sa"]:
        ipsec = derived[int(logged["spi"], 16)]
        assert (ipsec.src, ipsec.dst, ipsec.mode) == (logged["src"], logged["dst"], "tunnel")
        assert ipsec.encryption_key.hex() == logged["encryption_key"]
        assert ipsec.integrity_key.hex() == logged["integrity_key"]
        assert ipsec.counters.packets == ipsec.counters.verified == 8
        assert ipsec.counters.icv_failed == ipsec.counters.replays == 0
    assert report.stats.esp == 16 and not report.unknown_spis
