"""``ip xfrm state`` output as a key source.

The kernels here have no ESP, so ``ip xfrm state`` is empty in the lab: the texts below are in
iproute2's output format (ip/ipxfrm.c) and carry the keys of the lab captures' real SAs (from
keys/<name>.toml), so decoding the capture with them proves the parser's reading.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ikedecode.cli import main
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.loader import load_key_text
from ikedecode.keys.xfrm import looks_like_xfrm_state, parse_xfrm_state

XFRM_NAMES = {"aes-cbc": "cbc(aes)", "3des-cbc": "cbc(des3_ede)"}
AUTH_NAMES = {"hmac-sha1-96": ("hmac(sha1)", 96), "hmac-md5-96": ("hmac(md5)", 96)}
AUTH_NAMES["hmac-sha2-256-128"] = ("hmac(sha256)", 128)


def xfrm_text(sas: list[dict], *, stats: bool = False) -> str:
    """``ip xfrm state`` (or ``ip -s xfrm state``) for the key file's ESP SAs, newest first."""
    blocks = []
    for reqid, sa in enumerate(reversed(sas), 1):
        spi = int(sa["spi"], 16)
        lines = [f"src {sa['src']} dst {sa['dst']}"]
        if stats:
            lines.append(f"\tproto esp spi 0x{spi:08x}({spi}) reqid {reqid}(0x{reqid:08x}) mode tunnel")
            lines.append("\treplay-window 0 seq 0x00000000 flag af-unspec (0x00100000)")
        else:
            lines.append(f"\tproto esp spi 0x{spi:08x} reqid {reqid} mode tunnel")
            lines.append("\treplay-window 0 flag af-unspec")
        bits = f" ({len(sa['encryption_key']) * 4} bits)" if stats else ""
        if sa["encryption"].startswith("aes-gcm"):
            lines.append(f"\taead rfc4106(gcm(aes)) 0x{sa['encryption_key']}{bits} 128")
        else:
            name, trunc = AUTH_NAMES[sa["integrity"]]
            auth_bits = f" ({len(sa['integrity_key']) * 4} bits)" if stats else ""
            lines.append(f"\tauth-trunc {name} 0x{sa['integrity_key']}{auth_bits} {trunc}")
            lines.append(f"\tenc {XFRM_NAMES[sa['encryption']]} 0x{sa['encryption_key']}{bits}")
        lines.append("\tencap type espinudp sport 4500 dport 4500 addr 0.0.0.0")
        if stats:
            lines += [
                "\tlifetime config:",
                "\t  limit: soft (INF)(bytes), hard (INF)(bytes)",
                "\t  limit: soft (INF)(packets), hard (INF)(packets)",
                "\tlifetime current:",
                "\t  1056(bytes), 8(packets)",
                "\t  add 2026-11-22 07:59:17 use 2026-11-22 07:59:18",
                "\tstats:",
                "\t  replay-window 0 replay 0 failed 0",
            ]
        lines.append("\tanti-replay context: seq 0x0, oseq 0x8, bitmap 0x00000000")
        lines.append("\tsel src 0.0.0.0/0 dst 0.0.0.0/0 ")
        blocks.append("\n".join(lines))
    return "\n".join(blocks) + "\n"


def decode_with_xfrm(name: str, text: str, tmp_path, captures_dir) -> list[tuple[str, int, int]]:  # noqa: ANN001
    path = tmp_path / "xfrm.txt"
    path.write_text(text)
    result = CliRunner().invoke(
        main,
        [str(captures_dir / f"{name}.pcap"), "--keys", str(path), "--format", "json"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    return sorted((s["spi"], s["packets"], s["verified"]) for s in json.loads(result.stdout)["ipsec_sas"])


@pytest.mark.parametrize(
    ("name", "stats"),
    [
        ("mm-aes128-sha1-modp2048", False),
        ("mm-3des-md5-modp1024", True),
        ("mm-aes256-sha256-modp2048", False),
        ("esp-aes128gcm16", True),
    ],
)
def test_lab_sa_keys_in_xfrm_format_verify_every_esp_packet(name, stats, lab_keys, tmp_path, captures_dir):
    sas = lab_keys(name)["ipsec_sa"]
    text = xfrm_text(sas, stats=stats)
    assert looks_like_xfrm_state(text)
    parsed = {sa.spi: sa for sa in parse_xfrm_state(text, "xfrm.txt")}
    for want in sas:
        got = parsed[int(want["spi"], 16)]
        assert (got.src, got.dst, got.mode) == (want["src"], want["dst"], "tunnel")
        assert (got.encryption, got.integrity) == (want["encryption"], want["integrity"])
        assert got.encryption_key.hex() == want["encryption_key"]
        assert got.integrity_key.hex() == want.get("integrity_key", "")
    counters = decode_with_xfrm(name, text, tmp_path, captures_dir)
    assert counters == sorted((f"0x{int(s['spi'], 16):08x}", 8, 8) for s in sas)


def test_oneline_output_is_read_like_the_block_output(lab_keys):
    sas = lab_keys("mm-aes128-sha1-modp2048")["ipsec_sa"]
    blocks = xfrm_text(sas).strip().split("\nsrc ")
    oneline = "\n".join(("" if i == 0 else "src ") + b.replace("\n", "\\") for i, b in enumerate(blocks))
    assert oneline.count("\n") == 1 and "\\\tproto esp" in oneline
    as_blocks = [(s.spi, s.encryption_key, s.integrity_key) for s in parse_xfrm_state(xfrm_text(sas), "a")]
    assert [(s.spi, s.encryption_key, s.integrity_key) for s in parse_xfrm_state(oneline, "b")] == as_blocks


def test_auth_without_trunc_uses_the_kernel_default_truncation_and_esn_flag_is_read():
    text = (
        "src 10.0.0.1 dst 10.0.0.2\n"
        "\tproto esp spi 0x00001001 reqid 1 mode transport\n"
        "\treplay-window 128 flag af-unspec esn\n"
        f"\tauth hmac(sha256) 0x{'11' * 32}\n"
        f"\tenc cbc(aes) 0x{'22' * 16}\n"
        "src 10.0.0.1 dst 10.0.0.2\n"
        "\tproto comp spi 0x00004a11 reqid 1 mode tunnel\n"
        "\tcomp deflate \n"
    )
    (sa,) = parse_xfrm_state(text, "x")  # the IPComp state is skipped
    assert (sa.integrity, sa.esn, sa.mode) == ("hmac-sha2-256-96", True, "transport")


def test_gmac_and_chacha_aead_names():
    text = (
        "src 192.0.2.1 dst 192.0.2.2\n\tproto esp spi 0x00000101 reqid 1 mode tunnel\n"
        f"\taead rfc4543(gcm(aes)) 0x{'33' * 20} 128\n"
        "src 192.0.2.2 dst 192.0.2.1\n\tproto esp spi 0x00000102 reqid 1 mode tunnel\n"
        f"\taead rfc7539esp(chacha20,poly1305) 0x{'44' * 36} 128\n"
    )
    assert [sa.encryption for sa in parse_xfrm_state(text, "x")] == ["aes-gmac", "chacha20-poly1305"]


BASE = (
    "src 192.0.2.1 dst 192.0.2.2\n"
    "\tproto esp spi 0xf096db6e reqid 1 mode tunnel\n"
    "\treplay-window 0 flag af-unspec\n"
    "\tauth-trunc hmac(sha1) 0x28c0d4d471d14cbe8edba6d31275c83376970800 96\n"
    "\tenc cbc(aes) 0x0eb6e13b0c2a26f8ec87d823e8cc1f92\n"
)


@pytest.mark.parametrize(
    ("broken", "line", "message"),
    [
        (BASE.replace("0x0eb6e13b", "0x0eZZe13b"), 5, "is not hex (character 'Z')"),
        (
            BASE.replace("0x0eb6e13b0c2a26f8ec87d823e8cc1f92", "0x0eb6e13b0c2a26f8"),
            1,
            "aes-cbc needs a 16/24/32-byte key",
        ),
        (BASE.replace("cbc(aes)", "cbc(rot13)"), 5, "unknown ESP encryption algorithm 'cbc(rot13)'"),
        (BASE.replace("hmac(sha1)", "hmac(crc32)"), 4, "unknown ESP/AH integrity algorithm 'hmac(crc32)'"),
        (
            BASE.replace("0x28c0d4d471d14cbe8edba6d31275c83376970800 96", "<<Keys hidden>> 96"),
            4,
            "keys are hidden",
        ),
        (
            BASE.replace("0x0eb6e13b0c2a26f8ec87d823e8cc1f92", "0x0eb6e13b0c2a26f8ec87d823e8cc1f9"),
            5,
            "odd number",
        ),
    ],
)
def test_malformed_state_is_an_error_naming_file_and_line(broken, line, message):
    with pytest.raises(KeyFileError) as caught:
        load_key_text(broken, "xfrm.txt")
    assert str(caught.value).startswith(f"xfrm.txt:{line}: ")
    assert message in str(caught.value)


def test_states_without_esp_or_ah_are_an_error():
    text = "src 192.0.2.1 dst 192.0.2.2\n\tproto comp spi 0x00004a11 reqid 1 mode tunnel\n\tcomp deflate \n"
    with pytest.raises(KeyFileError, match="^xfrm.txt: no ESP or AH state with keys"):
        parse_xfrm_state(text, "xfrm.txt")
