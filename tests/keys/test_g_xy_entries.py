"""A key file's ``[[ike_sa]]`` entries holding only a g^xy (cookies and ``dh_secret``) take a
shorter path in ``parse_key_file``; it must give what the general path gives: the same DhSecret
(value, origin, cookie), or the same error, whatever the values look like."""

from __future__ import annotations

from typing import Any

import pytest

from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.hexvalues import parse_hex, plain_hex
from ikedecode.keys.tomlfile import parse_key_file

COOKIE, OTHER_COOKIE, SECRET = "0011223344556677", "8899aabbccddeeff", "ab" * 256

VALUES = [
    COOKIE,
    COOKIE.upper(),
    "0x" + COOKIE,
    "00:11:22:33:44:55:66:77",
    " " + COOKIE + " ",
    "00 11 22 33 44 55 66 77",
    "0011\t22334455667",  # a tab inside: an odd number of digits
    "00112233445566",  # 7 bytes
    "001122334455667788",  # 9 bytes
    "0011223344556g77",
    "",
    "0",
    5,
]


def _toml(value: object) -> str:
    return (
        str(value) if isinstance(value, int) or value == "[]" else '"' + str(value).replace("\t", "\\t") + '"'
    )


def _parsed(entries: list[dict[str, Any]]) -> Any:  # noqa: ANN401 - the secrets found, or the error
    text = "".join(
        "[[ike_sa]]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in entry.items())
        for entry in entries
    )
    try:
        ring = parse_key_file(text, "k.toml").keyring
    except KeyFileError as exc:
        return str(exc)
    return [(s.value, s.origin, s.initiator_cookie, s.message_id, s.stage) for s in ring.dh_secrets]


@pytest.mark.parametrize("field", ["initiator_cookie", "responder_cookie", "dh_secret"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_g_xy_entry_reads_like_any_other_entry(field, value):
    entry = {"initiator_cookie": COOKIE, "responder_cookie": OTHER_COOKIE, "dh_secret": SECRET, field: value}
    general = {**entry, "additional_secrets": "[]"}  # nothing more, but not a g^xy entry alone
    assert _parsed([entry, entry]) == _parsed([general, general])


def test_a_g_xy_entry_gives_its_secret_scoped_to_its_cookie():
    entry = {"initiator_cookie": COOKIE, "responder_cookie": OTHER_COOKIE, "dh_secret": SECRET}
    assert _parsed([entry]) == [
        (bytes.fromhex(SECRET), "k.toml [[ike_sa]] #1 dh_secret", bytes.fromhex(COOKIE), None, 0)
    ]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_plain_hex_reads_only_what_parse_hex_reads_the_same(value):
    plain = plain_hex(value)
    if plain is not None:
        assert plain == parse_hex(value, "x")
        assert value == value.strip() and ":" not in value and not value.lower().startswith("0x")
