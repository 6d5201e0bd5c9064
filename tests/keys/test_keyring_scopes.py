"""Preshared keys scoped to a peer address or identity are tried only where they apply."""

from __future__ import annotations

from ikedecode.keys.keyring import PresharedKey


def test_address_scope_matches_either_peer_in_any_spelling():
    key = PresharedKey(b"k", "t", "2001:db8::1")
    assert key.applies_to(("192.0.2.1", "2001:DB8:0::1"))
    assert not key.applies_to(("192.0.2.1", "192.0.2.2"))


def test_identity_scope_is_tried_until_identities_are_known():
    key = PresharedKey(b"k", "t", "west@lab.example")
    assert key.applies_to(("192.0.2.1", "192.0.2.2"))  # main mode before MM5 is decrypted
    assert key.applies_to(("192.0.2.1",), ("west@lab.example", "east.lab.example"))
    assert not key.applies_to(("192.0.2.1",), ("someone@else.example",))


def test_unscoped_key_applies_everywhere():
    assert PresharedKey(b"k", "t").applies_to(("198.51.100.7",), ("x",))
