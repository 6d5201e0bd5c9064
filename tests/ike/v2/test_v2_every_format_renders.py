"""Every output format renders every IKEv2 capture (lab captures with and without keys, Wireshark's
with its table), through the CLI, without an error; secrets stay out unless --show-keys."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.terminal.formats import RENDERERS
from tests.ike.v2.v2_captures import (
    LAB_CAPTURES,
    PROJECT_ROOT,
    REFERENCE_CAPTURES,
    REFERENCE_TABLE,
    lab_keyring,
)

FORMATS = sorted(RENDERERS)


def _run(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--jobs", "1"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name", LAB_CAPTURES)
def test_lab_capture_renders_in_every_format(name):
    capture = str(PROJECT_ROOT / "captures" / f"{name}.pcap")
    keys = str(PROJECT_ROOT / "keys" / f"{name}.toml")
    for fmt in FORMATS:
        assert _run(capture, "--format", fmt).strip()
        assert _run(capture, "--keys", keys, "--format", fmt).strip()


@pytest.mark.parametrize("name", REFERENCE_CAPTURES)
def test_reference_capture_renders_in_every_format(name, reference_dir):
    capture = str(reference_dir / "wireshark/captures" / name)
    for fmt in FORMATS:
        assert _run(capture, "--keys", str(reference_dir / REFERENCE_TABLE), "--format", fmt).strip()


def test_ikev2_keys_only_with_show_keys():
    name = "ikev2-psk-aes-cbc-sha256"
    capture, keys = (
        str(PROJECT_ROOT / "captures" / f"{name}.pcap"),
        str(PROJECT_ROOT / "keys" / f"{name}.toml"),
    )
    hidden = _run(capture, "--keys", keys, "--format", "json")
    shown = json.loads(_run(capture, "--keys", keys, "--format", "json", "--show-keys"))
    (sa,) = shown["ike_sas"]
    assert sa["version"] == 2 and set(sa["keys"]) >= {"skeyseed", "sk_d", "sk_ei", "sk_er", "sk_pi", "sk_pr"}
    for value in [v for v in sa["keys"].values() if v] + [s.hex() for s in lab_keyring(name).secrets]:
        assert value not in hidden
    message = sa["messages"][2]
    assert (message["label"], message["integrity_verified"], message["auth_verified"]) == (
        "IKE_AUTH request",
        True,
        True,
    )


def test_derived_ikev2_keys_export_to_a_table_that_decrypts_again(tmp_path):
    name = "ikev2-aes-gcm"
    capture = str(PROJECT_ROOT / "captures" / f"{name}.pcap")
    keys = str(PROJECT_ROOT / "keys" / f"{name}.toml")
    first = json.loads(_run(capture, "--keys", keys, "--export-wireshark", str(tmp_path), "--format", "json"))
    table = (tmp_path / "ikev2_decryption_table").read_text().splitlines()
    spi_i = first["ike_sas"][0]["initiator_cookie"]
    assert [line.split(",")[0] for line in table if not line.startswith("#")] == [spi_i]
    again = json.loads(_run(capture, "--keys", str(tmp_path / "ikev2_decryption_table"), "--format", "json"))
    messages = again["ike_sas"][0]["messages"]
    assert [m["integrity_verified"] for m in messages if m["encrypted"]] == [True] * 6
