"""A wrong key is never a success (issue 16): every bundled capture whose key file gives ESP keys,
run with those keys alone and then with one key corrupted (encryption, then integrity). The report
names the wrong key, and --write-decrypted gets nothing of that SA: only packets the right keys
also write."""

from __future__ import annotations

import io
import re
from pathlib import Path

import dpkt
import pytest

from ikedecode.capture import open_capture
from ikedecode.keys.loader import load_key_file
from ikedecode.pipeline import Options, analyze
from tests.conftest import CAPTURES_DIR, KEYS_DIR

_BLOCK = re.compile(r"^\[\[ipsec_sa\]\]\n(?:(?!\n\n|\n#|\n\[).)*", re.M | re.S)
WITH_ESP_KEYS = [path.stem for path in sorted(KEYS_DIR.glob("*.toml")) if "[[ipsec_sa]]" in path.read_text()]


def _ipsec_sa_blocks(name: str) -> list[str]:
    return _BLOCK.findall((KEYS_DIR / f"{name}.toml").read_text())


def _run(name: str, key_text: str, tmp_path: Path, label: str):  # noqa: ANN202 - (report, packets written)
    key_file = tmp_path / f"{name}.{label}.toml"
    key_file.write_text(key_text)
    out = io.BytesIO()
    report = analyze(
        open_capture(CAPTURES_DIR / f"{name}.pcap"),
        load_key_file(str(key_file)),
        Options(decrypted_output=out),
    )
    out.seek(0)
    written = [bytes(data) for _, data in dpkt.pcap.Reader(out)] if out.getvalue() else []
    return report, written


def _flip(block: str, field: str) -> str:
    """The block with the first byte of its ``field`` key changed (one key of the file corrupted)."""
    match = re.search(rf'^{field} = "([0-9a-f]{{2}})', block, re.M)
    assert match is not None, field
    flipped = f"{int(match[1], 16) ^ 0x5A:02x}"
    return block[: match.start(1)] + flipped + block[match.end(1) :]


def _busiest(report, blocks: list[str]) -> tuple[int, str]:  # noqa: ANN001
    """The SPI of the SA with the most packets, and its block."""
    packets = {sa.spi: sa.counters.packets for sa in report.ipsec_sas}
    spi, block = max(
        ((int(re.search(r'spi = "(0x[0-9a-f]+)"', b)[1], 16), b) for b in blocks),
        key=lambda pair: packets.get(pair[0], 0),
    )
    assert packets.get(spi), f"no ESP packets for any [[ipsec_sa]] of {blocks}"
    return spi, block


# Cases left out at collection (they would skip on every run), each checked below to be what it says:
NO_ESP_TRAFFIC = {"qm-transport-refused"}  # libipsec refused the transport-mode SAs: no key to get wrong
AEAD_ONLY = {name for name in WITH_ESP_KEYS if all('integrity = "null"' in b for b in _ipsec_sa_blocks(name))}
CASES = [
    (name, field)
    for name in WITH_ESP_KEYS
    if name not in NO_ESP_TRAFFIC
    for field in ("encryption_key", "integrity_key")
    if not (field == "integrity_key" and name in AEAD_ONLY)  # AEAD: no integrity key of its own
]


def test_the_cases_left_out_are_what_they_say(tmp_path: Path):
    assert AEAD_ONLY == {"esp-aes128gcm16"}
    for name in NO_ESP_TRAFFIC:
        report, written = _run(name, "\n\n".join(_ipsec_sa_blocks(name)) + "\n", tmp_path, "right")
        assert report.stats.esp == 0 and not written
        assert not any(sa.counters.packets for sa in report.ipsec_sas)


@pytest.mark.parametrize(("name", "field"), CASES)
def test_a_corrupted_esp_key_is_named_and_writes_nothing(name: str, field: str, tmp_path: Path):
    blocks = _ipsec_sa_blocks(name)
    right, right_written = _run(name, "\n\n".join(blocks) + "\n", tmp_path, "right")
    assert right_written and not [
        f.code for f in right.all_findings() if f.code.startswith(("icv", "esp-enc"))
    ]
    spi, block = _busiest(right, blocks)
    corrupted = "\n\n".join(_flip(b, field) if b is block else b for b in blocks) + "\n"
    report, written = _run(name, corrupted, tmp_path, field)

    sa = next(sa for sa in report.ipsec_sas if sa.spi == spi)
    named = [f for f in report.all_findings() if f.evidence.get("sa") == sa.label]
    aead = 'integrity = "null"' in block
    expected = "icv-failure" if field == "integrity_key" or aead else "esp-encryption-key-wrong"
    assert [f.code for f in named if f.severity == "error"] == [expected], [f.code for f in named]
    if expected == "esp-encryption-key-wrong":
        assert (
            sa.counters.garbled == sa.counters.garbled_icv_ok == sa.counters.packets
        )  # the ICV still verifies
    c = sa.counters
    assert c.verified == c.decrypted == c.tunnel == c.transport == 0  # no mode guessed from garbage
    assert not [f for f in named if f.code == "esp-sequence-gap"]  # no false gaps from garbage

    right_sa = next(sa for sa in right.ipsec_sas if sa.spi == spi)
    assert set(written) <= set(right_written)
    assert len(written) == len(right_written) - right_sa.counters.verified - right_sa.counters.decrypted
