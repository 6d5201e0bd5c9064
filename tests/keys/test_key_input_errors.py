"""Every malformed key input is one line on stderr naming the file and the line, exit status 2."""

from __future__ import annotations

import gzip

import pytest
from click.testing import CliRunner

from ikedecode.cli import main

GOOD_ESP_SA = (
    '"IPv4","192.0.2.1","192.0.2.2","0xf096db6e","AES-CBC [RFC3602]","0x0eb6e13b0c2a26f8ec87d823e8cc1f92",'
    '"HMAC-SHA-1-96 [RFC2404]","0x28c0d4d471d14cbe8edba6d31275c83376970800"'
)
XFRM = (
    "src 192.0.2.1 dst 192.0.2.2\n"
    "\tproto esp spi 0xf096db6e reqid 1 mode tunnel\n"
    "\tenc cbc(aes) 0x0eb6e13b0c2a26f8ec87d823e8cc1f92\n"
)
CHARON = (
    "07:59:17.662 14[IKE] <lab|1> SKEYID => 20 bytes @ 0x559d162a99d0\n"
    "07:59:17.662 14[IKE] <lab|1>    0: 72 DD E1 52 9C B7 83 E3 7D EA 7D AB 35 BD 25 04  r..R....}.}.5.%.\n"
    "07:59:17.662 14[IKE] <lab|1>   32: 90 3E 8B 17                                      .>..\n"
)

CASES = {
    # name: (file name, content, line, words the message must contain)
    "toml bad hex": (
        "k.toml",
        '[[psk]]\nsecret = "x"\n\n[[ike_sa]]\ninitiator_cookie = "0011"\n',
        5,
        "expected 8 bytes",
    ),
    "toml bad dh hex": (
        "k.toml",
        '[[ike_sa]]\ninitiator_cookie = "e0d220bae89f02bd"\n# g^xy\ndh_secret = "0g"\n',
        4,
        "dh_secret: not hex (character 'g')",
    ),
    "toml unknown algorithm": (
        "k.toml",
        '[[ipsec_sa]]\nspi = "0x100"\nencryption = "rot13"\n',
        1,
        "unknown ESP encryption algorithm 'rot13'",
    ),
    "toml syntax": ("k.toml", '[[psk]]\nsecret = "x\n', 2, "not valid TOML"),
    "esp_sa bad hex": ("esp_sa", "# c\n" + GOOD_ESP_SA.replace("0x0eb6", "0xZZb6"), 2, "not a hex digit"),
    "esp_sa unknown algorithm": ("esp_sa", GOOD_ESP_SA.replace("AES-CBC [RFC3602]", "ROT13"), 1, "'ROT13'"),
    "esp_sa short key": (
        "esp_sa",
        GOOD_ESP_SA.replace("0x0eb6e13b0c2a26f8ec87d823e8cc1f92", "0x0eb6"),
        1,
        "needs a",
    ),
    "ikev1 table bad hex": ("ikev1_decryption_table", "fafaeb49382a763c,735bZZ\n", 1, "not hex"),
    "ikev1 table short cookie": (
        "ikev1_decryption_table",
        "# x\nfafaeb49,735b\n",
        2,
        "initiator cookie must be 8",
    ),
    "xfrm bad hex": ("xfrm.txt", XFRM.replace("0x0eb6", "0xZZb6"), 3, "not hex"),
    "charon dump overflow": (
        "charon.log",
        CHARON.replace("   32:", "   16:").replace("90 3E 8B 17", "90 3E 8B 17 00"),
        3,
        "has 21 bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_key_input_is_one_line_naming_file_and_line(case, tmp_path, captures_dir):
    file_name, content, line, words = CASES[case]
    path = tmp_path / file_name
    path.write_text(content)
    result = CliRunner().invoke(
        main, [str(captures_dir / "mm-aes128-sha1-modp2048.pcap"), "--keys", str(path)]
    )
    assert result.exit_code == 2, result.output
    (message,) = result.stderr.strip().splitlines()
    assert "Traceback" not in result.output
    if case == "toml syntax":  # tomllib says where: "(at line 2, column 10)"
        assert message.startswith(f"ikedecode: {path}: not valid TOML") and f"line {line}" in message
    else:
        assert message.startswith(f"ikedecode: {path}:{line}: "), message
    assert words in message


@pytest.mark.parametrize(
    ("file_name", "content", "words"),
    [
        (
            "charon.log",
            "07:59:17.216 00[DMN] Starting IKE charon daemon (strongSwan 5.9.8)\n",
            "no key material",
        ),
        ("empty.toml", "# nothing here\n", "no keys in the file"),
        ("binary.bin", None, "not a text file"),
        ("broken.gz", None, "damaged gzip data"),
    ],
)
def test_whole_file_problems_name_the_file(file_name, content, words, tmp_path, captures_dir):
    path = tmp_path / file_name
    if file_name == "binary.bin":
        path.write_bytes(b"\x00\xff\xfe" * 100)
    elif file_name == "broken.gz":
        path.write_bytes(gzip.compress(b"[[psk]]\nsecret = 'x'\n")[:15])
    else:
        path.write_text(content)
    result = CliRunner().invoke(
        main, [str(captures_dir / "mm-aes128-sha1-modp2048.pcap"), "--keys", str(path)]
    )
    assert result.exit_code == 2
    (message,) = result.stderr.strip().splitlines()
    assert message.startswith(f"ikedecode: {path}: ") and words in message


def test_a_missing_key_file_is_one_line(tmp_path, captures_dir):
    missing = tmp_path / "nope.log"
    result = CliRunner().invoke(
        main, [str(captures_dir / "mm-aes128-sha1-modp2048.pcap"), "--keylog", str(missing)]
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == f"ikedecode: {missing}: cannot read: No such file or directory"
