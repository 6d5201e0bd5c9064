"""The two offline-cracking formats for aggressive-mode HASH_R: ike-scan's psk-crack and hashcat.

Both are one line of nine colon-separated hex fields (ike-scan ``--pskcrack`` output):

    g_xr:g_xi:cky_r:cky_i:sai_b:idir_b:ni_b:nr_b:hash_r

psk-crack takes MD5 or SHA1 HASH_R (told apart by length). hashcat reads the same line as mode
5300 (IKE-PSK MD5) or 5400 (IKE-PSK SHA1) and keeps fields 1-6 in a 512-byte buffer and fields
7-8 (the nonces) in a 64-byte one, so exchanges with large KE values (DH group 14 and up: two
256-byte values) cannot be given to it.
"""

from __future__ import annotations

from ikedecode.crack.params import HASH_ID_BY_DIGEST_LENGTH, PskParams

FIELDS = ("g_xr", "g_xi", "cky_r", "cky_i", "sai_b", "idir_b", "ni_b", "nr_b", "hash_r")
PSK_CRACK_HASHES = {1: "MD5", 2: "SHA1"}  # psk-crack.c: chosen by the HASH_R length (16 or 20)
HASHCAT_MODES = {1: 5300, 2: 5400}
HASHCAT_MESSAGE_MAX = 512  # module_05300.c / module_05400.c: msg_len[5] > 512 is rejected
HASHCAT_NONCES_MAX = 64  # nr_len > 64 is rejected


class FormatError(ValueError):
    """The exchange cannot be written in the format (algorithm or size), or a line is not one."""


def params_line(p: PskParams) -> str:
    return ":".join(getattr(p, name).hex() for name in FIELDS)


def psk_crack_line(p: PskParams) -> str:
    if p.hash_id not in PSK_CRACK_HASHES:
        raise FormatError(
            f"{p.source}: psk-crack handles MD5 and SHA1 HASH_R only, this one is {p.hash_name}"
        )
    return params_line(p)


def hashcat_line(p: PskParams) -> tuple[int, str]:
    """(hashcat mode, line)."""
    if p.hash_id not in HASHCAT_MODES:
        raise FormatError(
            f"{p.source}: hashcat's IKE-PSK modes take MD5 (5300) and SHA1 (5400) only, "
            f"this one is {p.hash_name}"
        )
    if len(p.message) > HASHCAT_MESSAGE_MAX:
        raise FormatError(
            f"{p.source}: hashcat takes at most {HASHCAT_MESSAGE_MAX} bytes of g^xr|g^xi|cookies|SA|ID, this "
            f"exchange has {len(p.message)} (KE values of {len(p.g_xr)} bytes); use --export-psk-params"
        )
    if len(p.nonces) > HASHCAT_NONCES_MAX:
        raise FormatError(
            f"{p.source}: hashcat takes at most {HASHCAT_NONCES_MAX} bytes of nonces, this exchange has "
            f"{len(p.nonces)}; use --export-psk-params"
        )
    return HASHCAT_MODES[p.hash_id], params_line(p)


def parse_params_line(line: str, source: str = "") -> PskParams:
    """A psk-crack / hashcat line back into PskParams (the hash algorithm from the HASH_R length)."""
    fields = line.strip().split(":")
    if len(fields) != len(FIELDS):
        raise FormatError(f"{source}: {len(fields)} fields, a psk-crack line has {len(FIELDS)}")
    try:
        values = [bytes.fromhex(f) for f in fields]
    except ValueError:
        raise FormatError(f"{source}: a field is not hex") from None
    hash_id = HASH_ID_BY_DIGEST_LENGTH.get(len(values[-1]))
    if hash_id is None:
        raise FormatError(f"{source}: a {len(values[-1])}-byte HASH_R matches no IKE hash")
    g_xr, g_xi, cky_r, cky_i, sai_b, idir_b, ni_b, nr_b, hash_r = values
    return PskParams(
        g_xr, g_xi, cky_r, cky_i, sai_b, idir_b, ni_b, nr_b, hash_r, hash_id=hash_id, source=source
    )
