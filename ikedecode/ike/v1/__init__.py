"""IKEv1 (RFC 2407, 2408, 2409): exchanges, engine, key derivation, hashes, phase 2, fragments.

Beside it ``ike/v2/`` holds IKEv2; both build on what ``ike/`` shares (wire header, registries,
DH groups, hash PRFs, ciphers).
"""
