"""One spelling per name in every report of the bundled captures: no literal "\\n" in a vendor ID,
no Python dict repr, one transform spelling, SPIs with 0x, no "TRANSACTION TRANSACTION", and the
IPsec table's columns explained."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.cli import main

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "captures").glob("*.pcap"))
READABLE = ("text", "timeline", "markdown", "html", "cisco", "show")


def report(capture: Path, fmt: str, with_keys: bool = True) -> str:
    keys = ROOT / "keys" / f"{capture.stem}.toml"
    args = [str(capture), "-q", "--format", fmt]
    if with_keys and keys.exists():
        args += ["--keys", str(keys)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0
    return result.stdout


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.stem)
def test_readable_reports_hold_no_escapes_reprs_or_bare_spis(capture):
    for fmt in READABLE:
        text = report(capture, fmt)
        assert "ike-02\\n" not in text and "\\\\n" not in text, fmt
        assert "{'" not in text and "': '" not in text, fmt  # no dict repr
        assert not re.search(r"\b(TRANSACTION|INFO|IKEv2) \1\b", text), fmt
        if fmt != "cisco":  # IOS itself writes "has spi 508190002" (decimal) for the outbound SA
            assert not re.search(r"\bSPIs? (?!0x)[0-9a-f]{8}\b", text, re.IGNORECASE), fmt  # IPsec SPIs
        assert "ESP_AES-CBC-128/HMAC-SHA" not in text, fmt


def test_the_newline_vendor_id_is_named_in_words():
    text = report(ROOT / "captures" / "xauth-modecfg.pcap", "text")
    words = " ".join(text.split())  # the text report wraps at spaces to the terminal's width
    assert "draft-ietf-ipsec-nat-t-ike-02 (newline variant)" in words


def test_proxy_ids_read_local_to_remote():
    text = report(ROOT / "captures" / "mm-aes128-sha1-modp2048.pcap", "text")
    assert re.search(
        r"quick 0x[0-9a-f]{8}: QM1 QM2 QM3, proxy IDs 10\.1\.0\.0/255\.255\.255\.0 <-> 10\.2\.0\.0/", text
    )


def test_repeated_labels_are_counted():
    text = report(ROOT / "captures" / "xauth-modecfg.pcap", "text")
    assert re.search(r"transaction 0x[0-9a-f]{8}: TRANSACTION x2\n", text)


@pytest.mark.parametrize(
    ("capture", "spelling"),
    [
        ("mm-aes128-sha1-modp2048", "aes-cbc-128/hmac-sha1-96"),
        ("mm-aes256-sha256-modp2048", "aes-cbc-256/hmac-sha2-256-128"),
        ("mm-3des-md5-modp1024", "3des-cbc/hmac-md5-96"),
        ("ikev2-aes-gcm", "aes-gcm-16-256"),  # an IKEv2 Child SA, keyed: as its IPsec SA
        ("ikev2-psk-aes-cbc-sha256", "aes-cbc-256/hmac-sha2-256-128"),
    ],
)
def test_one_transform_spelling_in_every_format(capture, spelling):
    path = ROOT / "captures" / f"{capture}.pcap"
    text = report(path, "text")
    ipsec_table = text[text.index("IPsec SAs") : text.index("IKE SA #1")]
    assert spelling in ipsec_table
    assert spelling in report(path, "timeline")
    assert spelling in report(path, "markdown") and spelling in report(path, "html")
    children = json.loads(report(path, "json"))
    assert spelling in json.dumps(children)


def test_ipsec_table_explains_its_counters(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for the IPsec table as a table
    text = report(ROOT / "captures" / "mm-aes128-sha1-modp2048.pcap", "text")
    header = next(line for line in text.splitlines() if line.startswith("proto "))
    assert "verified" in header and "no ICV" in header and " decrypted " not in header
    assert "no ICV: decrypted by an SA with null integrity" in " ".join(text.split())
