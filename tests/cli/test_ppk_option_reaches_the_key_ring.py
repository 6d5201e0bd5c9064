"""--ppk ID=HEX on the command line keys an RFC 8784 IKE SA like the key file's ppk does (a merge once
dropped it between the option and the key ring)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from click.testing import CliRunner

from ikedecode.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _ppk_state(*args: str) -> str:
    result = CliRunner().invoke(
        main, [str(ROOT / "captures" / "ikev2-pq-ppk.pcap"), "--format", "json", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)["ike_sas"][0]["ikev2"]["ppk"]


def test_ppk_given_on_the_command_line_is_used(tmp_path):
    key_file = ROOT / "keys" / "ikev2-pq-ppk.toml"
    text = key_file.read_text()
    ppk = next(v for v in tomllib.loads(text).get("ike_sa", []) if "ppk" in v)
    without = tmp_path / "no-ppk.toml"
    without.write_text("\n".join(line for line in text.splitlines() if not line.startswith("ppk")) + "\n")
    assert _ppk_state("--keys", str(without)).startswith("offered")
    assert _ppk_state("--keys", str(without), "--ppk", f"{ppk['ppk_id']}={ppk['ppk']}") == "used"
