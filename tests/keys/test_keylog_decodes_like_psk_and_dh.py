"""Acceptance: a lab capture decoded with only a daemon's own log (``--keylog``) gives the same
decrypted and verified result as the PSK and the DH secrets (``--psk`` + ``--dh-secret``)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from tests.conftest import CAPTURES_DIR, KEYS_DIR, LAB_CAPTURES, load_lab_keys

# Every lab capture with a charon log, IKEv1 and IKEv2 (whose key files give the PSK and g^ir by SPIs,
# and a CREATE_CHILD_SA's PFS g^ir in comments: ``ikev2_pfs_comments``).
WITH_LOGS = sorted(
    p.stem
    for p in LAB_CAPTURES
    if (KEYS_DIR / f"{p.stem}.west.log.gz").exists() or (KEYS_DIR / f"{p.stem}.east.log.gz").exists()
)
assert len(WITH_LOGS) > 20, "keys/<capture>.<side>.log.gz ship with the project"
NO_KEYS_LOGGED = {"fail-unreachable", "fail-ike-proposal", "ikev2-no-proposal"}  # no keys derived
NO_KEYS_LOGGED |= {"ikev2-pq-addke-unsupported", "ikev2-pq-init-fragments-lost"}  # nor here (issue 18)
BOTH_LOGS_NEEDED = {"fail-psk-mismatch"}  # each side encrypted with its own (different) keys
# Issue 18: IKE SAs with IKE_INTERMEDIATE / IKE_FOLLOWUP_KE key stages or an RFC 8784 PPK: the user gives
# each stage's SK(n) as --dh-secret SPIi:n=HEX (a followup's in a [[quick_mode]]) and the PPK as --ppk.


def run_json(*args: str) -> dict:
    result = CliRunner().invoke(main, [*args, "--format", "json", "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def psk_and_dh_args(name: str, tmp_path: Path) -> list[str]:
    """The preshared keys and every g^xy the daemons logged, as a user would type them."""
    keys = load_lab_keys(name)
    args = [str(CAPTURES_DIR / f"{name}.pcap")]
    for psk in keys.get("psk", []):
        args += ["--psk", psk["secret"]]
    for sa in keys.get("ike_sa", []):
        if "dh_secret" in sa:
            args += ["--dh-secret", f"{sa['initiator_cookie']}={sa['dh_secret']}"]
        for n, secret in enumerate(sa.get("additional_secrets", []), 1):  # RFC 9370 SK(n)
            args += ["--dh-secret", f"{sa['initiator_cookie']}:{n}={secret}"]
        if "ppk" in sa:
            args += ["--ppk", f"{sa['ppk_id']}={sa['ppk']}"]
    pfs = [q for q in keys.get("quick_mode", []) if "dh_secret" in q] + ikev2_pfs_comments(name)
    if pfs:  # a PFS quick mode's g(qm)^xy is scoped by message ID: only a key file can say so
        lines = [
            f'[[quick_mode]]\ninitiator_cookie = "{q["initiator_cookie"]}"\n'
            f'message_id = "{q["message_id"]}"\ndh_secret = "{q["dh_secret"]}"\n'
            f"additional_secrets = {q.get('additional_secrets', [])}\n"
            for q in pfs
        ]
        path = tmp_path / "pfs.toml"
        path.write_text("\n".join(lines))
        args += ["--keys", str(path)]
    return args


def ikev2_pfs_comments(name: str) -> list[dict]:
    """IKEv2 key files carry a CREATE_CHILD_SA's PFS g^ir in comments (under "# IKE SA SPIi/SPIr");
    a user gives it as a [[quick_mode]] of that SPIi and message ID."""
    out, spi_i = [], None
    for line in (KEYS_DIR / f"{name}.toml").read_text().splitlines():
        header = re.match(r"# IKE SA ([0-9a-f]{16})/", line)
        if header:
            spi_i = header.group(1)
        pfs = re.search(r"message ID (\d+) .*PFS dh_secret = ([0-9a-f]+)", line)
        if pfs and spi_i:
            out.append({"initiator_cookie": spi_i, "message_id": pfs.group(1), "dh_secret": pfs.group(2)})
            more = re.search(r"additional secrets = ([0-9a-f, ]+)", line)  # RFC 9370 IKE_FOLLOWUP_KE SK(n)
            if more:
                out[-1]["additional_secrets"] = [v.strip() for v in more.group(1).split(",") if v.strip()]
    return out


def outcome(report: dict) -> dict:
    return {
        "ike_sas": [
            (sa["initiator_cookie"], sa["state"], sa["established"], sa["authenticated"])
            for sa in report["ike_sas"]
        ],
        "messages": [
            (m["frame"], m["label"], m["decrypted"], m["protection"], m["hash_verified"])
            for sa in report["ike_sas"]
            for m in sa["messages"]
        ],
        "ipsec_sas": sorted(
            (
                s["spi"],
                s["src"],
                s["dst"],
                s["packets"],
                s["verified"],
                s["decrypted"],
                s["icv_failed"],
                s.get("bad_padding", 0),  # not in the entries of flows without keys
            )
            for s in report["ipsec_sas"]
            if s["packets"]
        ),
    }


@pytest.mark.parametrize(
    "name",
    [n for n in WITH_LOGS if n not in NO_KEYS_LOGGED | BOTH_LOGS_NEEDED],
)
def test_each_daemon_log_alone_decodes_like_psk_and_dh(name, tmp_path):
    reference = outcome(run_json(*psk_and_dh_args(name, tmp_path)))
    assert any(m[2] or m[4] for m in reference["messages"]), "the reference decrypts or verifies something"
    logs = [KEYS_DIR / f"{name}.{side}.log.gz" for side in ("west", "east")]
    logs = [log for log in logs if log.exists()]  # ikescan-aggressive-pskcrack has only one side's
    assert logs
    for log in logs:
        assert outcome(run_json(str(CAPTURES_DIR / f"{name}.pcap"), "--keylog", str(log))) == reference, (
            log.name
        )


def test_psk_mismatch_needs_both_logs_and_each_decrypts_its_own_messages(tmp_path):
    name = "fail-psk-mismatch"
    capture = str(CAPTURES_DIR / f"{name}.pcap")
    west, east = (str(KEYS_DIR / f"{name}.{side}.log.gz") for side in ("west", "east"))
    reference = outcome(run_json(*psk_and_dh_args(name, tmp_path)))
    assert outcome(run_json(capture, "--keylog", west, "--keylog", east)) == reference
    for log, sender in ((west, "192.0.2.1"), (east, "192.0.2.2")):
        report = run_json(capture, "--keylog", log)
        encrypted = [m for sa in report["ike_sas"] for m in sa["messages"] if m["encrypted"]]
        assert encrypted and all(m["decrypted"] == (m["sender"] == sender) for m in encrypted)


@pytest.mark.parametrize("name", sorted(NO_KEYS_LOGGED & set(WITH_LOGS)))
def test_a_log_of_a_negotiation_that_derived_nothing_is_a_one_line_error(name):
    log = KEYS_DIR / f"{name}.west.log.gz"
    result = CliRunner().invoke(main, [str(CAPTURES_DIR / f"{name}.pcap"), "--keylog", str(log)])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"ikedecode: {log}: no key material in this strongSwan log "
        "(charon logs keys at 'ike = 4' and 'chd = 4')"
    ]


def test_keylog_refuses_files_that_are_not_daemon_logs(keys_dir):
    path = keys_dir / "mm-aes128-sha1-modp2048.toml"
    result = CliRunner().invoke(
        main, [str(CAPTURES_DIR / "mm-aes128-sha1-modp2048.pcap"), "--keylog", str(path)]
    )
    assert result.exit_code == 2
    assert "not a strongSwan charon or libreswan pluto log" in result.stderr
