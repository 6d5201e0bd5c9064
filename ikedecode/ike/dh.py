"""Diffie-Hellman groups of IKE: public values and shared secrets.

``GROUPS`` maps IANA "IKE Attributes / Group Description" numbers to ``DhGroup`` entries:

* MODP: 1, 2 (RFC 2409 s6.1, s6.2), 5, 14-18 (RFC 3526), 22-24 (RFC 5114 s2.1-2.3, with their
  prime-order subgroups). Public value and shared secret are big-endian integers left-padded
  to the length of the prime (RFC 2409 s5, "pre-pending the value with zeros").
* ECP: 19-21 (NIST P-256/384/521, RFC 5903), 25/26 (P-192/224, RFC 5114 s2.4/2.5), 28-30
  (brainpoolP256r1/384r1/512r1, RFC 6932). The KE payload is x | y, each coordinate padded to
  the field size, without the 0x04 prefix of SEC 1 (RFC 5903 s7); the shared secret is the x
  coordinate of the common point (RFC 5903 s7, s9).
* Montgomery: 31 Curve25519, 32 Curve448 (RFC 8031): 32 / 56-byte little-endian strings as in
  RFC 7748.

All arithmetic runs in OpenSSL through ``cryptography``. Errors are ``UnsupportedAlgorithm``,
``InvalidPublicValue`` and ``InvalidPrivateValue`` (all ``ValueError`` subclasses).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from cryptography.exceptions import UnsupportedAlgorithm as _BackendUnsupported
from cryptography.hazmat.primitives.asymmetric import dh, ec, x448, x25519
from cryptography.utils import CryptographyDeprecationWarning

from ikedecode.ike.crypto_errors import InvalidPrivateValue, InvalidPublicValue, UnsupportedAlgorithm

__all__ = [
    "GROUPS",
    "UNSUPPORTED_GROUPS",
    "DhGroup",
    "GroupKind",
    "dh_group",
    "public_value",
    "shared_secret",
]


class GroupKind(StrEnum):
    MODP = "modp"
    ECP = "ecp"
    MONTGOMERY = "montgomery"  # RFC 7748 X25519 / X448


@dataclass(frozen=True, slots=True)
class DhGroup:
    id: int
    name: str  # strongSwan proposal keyword, e.g. "modp1024", "ecp256", "curve25519"
    kind: GroupKind
    public_length: int  # bytes of KE payload data
    secret_length: int  # bytes of g^xy
    prime: int = 0  # MODP only
    generator: int = 0  # MODP only
    subgroup_order: int | None = None  # MODP groups of RFC 5114 only
    curve: Callable[[], ec.EllipticCurve] | None = None  # ECP only
    rfc: str = ""


def _hex(text: str) -> int:
    return int("".join(text.split()), 16)


# --- MODP primes, transcribed from the RFCs (checked in tests/ike/test_dh_groups.py) ----------

_MODP_768 = _hex(  # RFC 2409 section 6.1, 2^768 - 2^704 - 1 + 2^64 * { [2^638 pi] + 149686 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A63A3620 FFFFFFFF FFFFFFFF
    """
)

_MODP_1024 = _hex(  # RFC 2409 section 6.2, 2^1024 - 2^960 - 1 + 2^64 * { [2^894 pi] + 129093 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE65381
    FFFFFFFF FFFFFFFF
    """
)

_MODP_1536 = _hex(  # RFC 3526 section 2, 2^1536 - 2^1472 - 1 + 2^64 * { [2^1406 pi] + 741804 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
    C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
    83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA237327 FFFFFFFF FFFFFFFF
    """
)

_MODP_2048 = _hex(  # RFC 3526 section 3, 2^2048 - 2^1984 - 1 + 2^64 * { [2^1918 pi] + 124476 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
    C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
    83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
    DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
    15728E5A 8AACAA68 FFFFFFFF FFFFFFFF
    """
)

_MODP_3072 = _hex(  # RFC 3526 section 4, 2^3072 - 2^3008 - 1 + 2^64 * { [2^2942 pi] + 1690314 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
    C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
    83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
    DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
    15728E5A 8AAAC42D AD33170D 04507A33 A85521AB DF1CBA64
    ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B
    F12FFA06 D98A0864 D8760273 3EC86A64 521F2B18 177B200C
    BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31
    43DB5BFC E0FD108E 4B82D120 A93AD2CA FFFFFFFF FFFFFFFF
    """
)

_MODP_4096 = _hex(  # RFC 3526 section 5, 2^4096 - 2^4032 - 1 + 2^64 * { [2^3966 pi] + 240904 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
    C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
    83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
    DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
    15728E5A 8AAAC42D AD33170D 04507A33 A85521AB DF1CBA64
    ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B
    F12FFA06 D98A0864 D8760273 3EC86A64 521F2B18 177B200C
    BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31
    43DB5BFC E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7
    88719A10 BDBA5B26 99C32718 6AF4E23C 1A946834 B6150BDA
    2583E9CA 2AD44CE8 DBBBC2DB 04DE8EF9 2E8EFC14 1FBECAA6
    287C5947 4E6BC05D 99B2964F A090C3A2 233BA186 515BE7ED
    1F612970 CEE2D7AF B81BDD76 2170481C D0069127 D5B05AA9
    93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34063199
    FFFFFFFF FFFFFFFF
    """
)

_MODP_6144 = _hex(  # RFC 3526 section 6, 2^6144 - 2^6080 - 1 + 2^64 * { [2^6014 pi] + 929484 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1 29024E08
    8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD EF9519B3 CD3A431B
    302B0A6D F25F1437 4FE1356D 6D51C245 E485B576 625E7EC6 F44C42E9
    A637ED6B 0BFF5CB6 F406B7ED EE386BFB 5A899FA5 AE9F2411 7C4B1FE6
    49286651 ECE45B3D C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8
    FD24CF5F 83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B E39E772C
    180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9 DE2BCBF6 95581718
    3995497C EA956AE5 15D22618 98FA0510 15728E5A 8AAAC42D AD33170D
    04507A33 A85521AB DF1CBA64 ECFB8504 58DBEF0A 8AEA7157 5D060C7D
    B3970F85 A6E1E4C7 ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226
    1AD2EE6B F12FFA06 D98A0864 D8760273 3EC86A64 521F2B18 177B200C
    BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31 43DB5BFC
    E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7 88719A10 BDBA5B26
    99C32718 6AF4E23C 1A946834 B6150BDA 2583E9CA 2AD44CE8 DBBBC2DB
    04DE8EF9 2E8EFC14 1FBECAA6 287C5947 4E6BC05D 99B2964F A090C3A2
    233BA186 515BE7ED 1F612970 CEE2D7AF B81BDD76 2170481C D0069127
    D5B05AA9 93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34028492
    36C3FAB4 D27C7026 C1D4DCB2 602646DE C9751E76 3DBA37BD F8FF9406
    AD9E530E E5DB382F 413001AE B06A53ED 9027D831 179727B0 865A8918
    DA3EDBEB CF9B14ED 44CE6CBA CED4BB1B DB7F1447 E6CC254B 33205151
    2BD7AF42 6FB8F401 378CD2BF 5983CA01 C64B92EC F032EA15 D1721D03
    F482D7CE 6E74FEF6 D55E702F 46980C82 B5A84031 900B1C9E 59E7C97F
    BEC7E8F3 23A97A7E 36CC88BE 0F1D45B7 FF585AC5 4BD407B2 2B4154AA
    CC8F6D7E BF48E1D8 14CC5ED2 0F8037E0 A79715EE F29BE328 06A1D58B
    B7C5DA76 F550AA3D 8A1FBFF0 EB19CCB1 A313D55C DA56C9EC 2EF29632
    387FE8D7 6E3C0468 043E8F66 3F4860EE 12BF2D5B 0B7474D6 E694F91E
    6DCC4024 FFFFFFFF FFFFFFFF
    """
)

_MODP_8192 = _hex(  # RFC 3526 section 7, 2^8192 - 2^8128 - 1 + 2^64 * { [2^8062 pi] + 4743158 }
    """
    FFFFFFFF FFFFFFFF C90FDAA2 2168C234 C4C6628B 80DC1CD1
    29024E08 8A67CC74 020BBEA6 3B139B22 514A0879 8E3404DD
    EF9519B3 CD3A431B 302B0A6D F25F1437 4FE1356D 6D51C245
    E485B576 625E7EC6 F44C42E9 A637ED6B 0BFF5CB6 F406B7ED
    EE386BFB 5A899FA5 AE9F2411 7C4B1FE6 49286651 ECE45B3D
    C2007CB8 A163BF05 98DA4836 1C55D39A 69163FA8 FD24CF5F
    83655D23 DCA3AD96 1C62F356 208552BB 9ED52907 7096966D
    670C354E 4ABC9804 F1746C08 CA18217C 32905E46 2E36CE3B
    E39E772C 180E8603 9B2783A2 EC07A28F B5C55DF0 6F4C52C9
    DE2BCBF6 95581718 3995497C EA956AE5 15D22618 98FA0510
    15728E5A 8AAAC42D AD33170D 04507A33 A85521AB DF1CBA64
    ECFB8504 58DBEF0A 8AEA7157 5D060C7D B3970F85 A6E1E4C7
    ABF5AE8C DB0933D7 1E8C94E0 4A25619D CEE3D226 1AD2EE6B
    F12FFA06 D98A0864 D8760273 3EC86A64 521F2B18 177B200C
    BBE11757 7A615D6C 770988C0 BAD946E2 08E24FA0 74E5AB31
    43DB5BFC E0FD108E 4B82D120 A9210801 1A723C12 A787E6D7
    88719A10 BDBA5B26 99C32718 6AF4E23C 1A946834 B6150BDA
    2583E9CA 2AD44CE8 DBBBC2DB 04DE8EF9 2E8EFC14 1FBECAA6
    287C5947 4E6BC05D 99B2964F A090C3A2 233BA186 515BE7ED
    1F612970 CEE2D7AF B81BDD76 2170481C D0069127 D5B05AA9
    93B4EA98 8D8FDDC1 86FFB7DC 90A6C08F 4DF435C9 34028492
    36C3FAB4 D27C7026 C1D4DCB2 602646DE C9751E76 3DBA37BD
    F8FF9406 AD9E530E E5DB382F 413001AE B06A53ED 9027D831
    179727B0 865A8918 DA3EDBEB CF9B14ED 44CE6CBA CED4BB1B
    DB7F1447 E6CC254B 33205151 2BD7AF42 6FB8F401 378CD2BF
    5983CA01 C64B92EC F032EA15 D1721D03 F482D7CE 6E74FEF6
    D55E702F 46980C82 B5A84031 900B1C9E 59E7C97F BEC7E8F3
    23A97A7E 36CC88BE 0F1D45B7 FF585AC5 4BD407B2 2B4154AA
    CC8F6D7E BF48E1D8 14CC5ED2 0F8037E0 A79715EE F29BE328
    06A1D58B B7C5DA76 F550AA3D 8A1FBFF0 EB19CCB1 A313D55C
    DA56C9EC 2EF29632 387FE8D7 6E3C0468 043E8F66 3F4860EE
    12BF2D5B 0B7474D6 E694F91E 6DBE1159 74A3926F 12FEE5E4
    38777CB6 A932DF8C D8BEC4D0 73B931BA 3BC832B6 8D9DD300
    741FA7BF 8AFC47ED 2576F693 6BA42466 3AAB639C 5AE4F568
    3423B474 2BF1C978 238F16CB E39D652D E3FDB8BE FC848AD9
    22222E04 A4037C07 13EB57A8 1A23F0C7 3473FC64 6CEA306B
    4BCBC886 2F8385DD FA9D4B7F A2C087E8 79683303 ED5BDD3A
    062B3CF5 B3A278A6 6D2A13F8 3F44F82D DF310EE0 74AB6A36
    4597E899 A0255DC1 64F31CC5 0846851D F9AB4819 5DED7EA1
    B1D510BD 7EE74D73 FAF36BC3 1ECFA268 359046F4 EB879F92
    4009438B 481C6CD7 889A002E D5EE382B C9190DA6 FC026E47
    9558E447 5677E9AA 9E3050E2 765694DF C81F56E8 80B96E71
    60C980DD 98EDD3DF FFFFFFFF FFFFFFFF
    """
)

# RFC 5114 section 2.1: 1024-bit MODP group with 160-bit prime order subgroup (IKE group 22).
_RFC5114_1024_160 = (
    _hex(
        """
        B10B8F96 A080E01D DE92DE5E AE5D54EC 52C99FBC FB06A3C6
        9A6A9DCA 52D23B61 6073E286 75A23D18 9838EF1E 2EE652C0
        13ECB4AE A9061123 24975C3C D49B83BF ACCBDD7D 90C4BD70
        98488E9C 219A7372 4EFFD6FA E5644738 FAA31A4F F55BCCC0
        A151AF5F 0DC8B4BD 45BF37DF 365C1A65 E68CFDA7 6D4DA708
        DF1FB2BC 2E4A4371
        """
    ),
    _hex(
        """
        A4D1CBD5 C3FD3412 6765A442 EFB99905 F8104DD2 58AC507F
        D6406CFF 14266D31 266FEA1E 5C41564B 777E690F 5504F213
        160217B4 B01B886A 5E91547F 9E2749F4 D7FBD7D3 B9A92EE1
        909D0D22 63F80A76 A6A24C08 7A091F53 1DBF0A01 69B6A28A
        D662A4D1 8E73AFA3 2D779D59 18D08BC8 858F4DCE F97C2A24
        855E6EEB 22B3B2E5
        """
    ),
    _hex("F518AA87 81A8DF27 8ABA4E7D 64B7CB9D 49462353"),
)

# RFC 5114 section 2.2: 2048-bit MODP group with 224-bit prime order subgroup (IKE group 23).
_RFC5114_2048_224 = (
    _hex(
        """
        AD107E1E 9123A9D0 D660FAA7 9559C51F A20D64E5 683B9FD1
        B54B1597 B61D0A75 E6FA141D F95A56DB AF9A3C40 7BA1DF15
        EB3D688A 309C180E 1DE6B85A 1274A0A6 6D3F8152 AD6AC212
        9037C9ED EFDA4DF8 D91E8FEF 55B7394B 7AD5B7D0 B6C12207
        C9F98D11 ED34DBF6 C6BA0B2C 8BBC27BE 6A00E0A0 B9C49708
        B3BF8A31 70918836 81286130 BC8985DB 1602E714 415D9330
        278273C7 DE31EFDC 7310F712 1FD5A074 15987D9A DC0A486D
        CDF93ACC 44328387 315D75E1 98C641A4 80CD86A1 B9E587E8
        BE60E69C C928B2B9 C52172E4 13042E9B 23F10B0E 16E79763
        C9B53DCF 4BA80A29 E3FB73C1 6B8E75B9 7EF363E2 FFA31F71
        CF9DE538 4E71B81C 0AC4DFFE 0C10E64F
        """
    ),
    _hex(
        """
        AC4032EF 4F2D9AE3 9DF30B5C 8FFDAC50 6CDEBE7B 89998CAF
        74866A08 CFE4FFE3 A6824A4E 10B9A6F0 DD921F01 A70C4AFA
        AB739D77 00C29F52 C57DB17C 620A8652 BE5E9001 A8D66AD7
        C1766910 1999024A F4D02727 5AC1348B B8A762D0 521BC98A
        E2471504 22EA1ED4 09939D54 DA7460CD B5F6C6B2 50717CBE
        F180EB34 118E98D1 19529A45 D6F83456 6E3025E3 16A330EF
        BB77A86F 0C1AB15B 051AE3D4 28C8F8AC B70A8137 150B8EEB
        10E183ED D19963DD D9E263E4 770589EF 6AA21E7F 5F2FF381
        B539CCE3 409D13CD 566AFBB4 8D6C0191 81E1BCFE 94B30269
        EDFE72FE 9B6AA4BD 7B5A0F1C 71CFFF4C 19C418E1 F6EC0179
        81BC087F 2A7065B3 84B890D3 191F2BFA
        """
    ),
    _hex("801C0D34 C58D93FE 99717710 1F80535A 4738CEBC BF389A99 B36371EB"),
)

# RFC 5114 section 2.3: 2048-bit MODP group with 256-bit prime order subgroup (IKE group 24).
_RFC5114_2048_256 = (
    _hex(
        """
        87A8E61D B4B6663C FFBBD19C 65195999 8CEEF608 660DD0F2
        5D2CEED4 435E3B00 E00DF8F1 D61957D4 FAF7DF45 61B2AA30
        16C3D911 34096FAA 3BF4296D 830E9A7C 209E0C64 97517ABD
        5A8A9D30 6BCF67ED 91F9E672 5B4758C0 22E0B1EF 4275BF7B
        6C5BFC11 D45F9088 B941F54E B1E59BB8 BC39A0BF 12307F5C
        4FDB70C5 81B23F76 B63ACAE1 CAA6B790 2D525267 35488A0E
        F13C6D9A 51BFA4AB 3AD83477 96524D8E F6A167B5 A41825D9
        67E144E5 14056425 1CCACB83 E6B486F6 B3CA3F79 71506026
        C0B857F6 89962856 DED4010A BD0BE621 C3A3960A 54E710C3
        75F26375 D7014103 A4B54330 C198AF12 6116D227 6E11715F
        693877FA D7EF09CA DB094AE9 1E1A1597
        """
    ),
    _hex(
        """
        3FB32C9B 73134D0B 2E775066 60EDBD48 4CA7B18F 21EF2054
        07F4793A 1A0BA125 10DBC150 77BE463F FF4FED4A AC0BB555
        BE3A6C1B 0C6B47B1 BC3773BF 7E8C6F62 901228F8 C28CBB18
        A55AE313 41000A65 0196F931 C77A57F2 DDF463E5 E9EC144B
        777DE62A AAB8A862 8AC376D2 82D6ED38 64E67982 428EBC83
        1D14348F 6F2F9193 B5045AF2 767164E1 DFC967C1 FB3F2E55
        A4BD1BFF E83B9C80 D052B985 D182EA0A DB2A3B73 13D3FE14
        C8484B1E 052588B9 B7D2BBD2 DF016199 ECD06E15 57CD0915
        B3353BBB 64E0EC37 7FD02837 0DF92B52 C7891428 CDC67EB6
        184B523D 1DB246C3 2F630784 90F00EF8 D647D148 D4795451
        5E2327CF EF98C582 664B4C0F 6CC41659
        """
    ),
    _hex("8CF83642 A709A097 B4479976 40129DA2 99B1A47D 1EB3750B A308B0FE 64F5FBD3"),
)


def _modp(
    group_id: int, name: str, rfc: str, prime: int, generator: int = 2, order: int | None = None
) -> DhGroup:
    size = (prime.bit_length() + 7) // 8
    return DhGroup(group_id, name, GroupKind.MODP, size, size, prime, generator, order, rfc=rfc)


def _ecp(
    group_id: int, name: str, curve: Callable[[], ec.EllipticCurve], field_bytes: int, rfc: str
) -> DhGroup:
    return DhGroup(group_id, name, GroupKind.ECP, 2 * field_bytes, field_bytes, curve=curve, rfc=rfc)


def _montgomery(group_id: int, name: str, size: int) -> DhGroup:
    return DhGroup(group_id, name, GroupKind.MONTGOMERY, size, size, rfc="RFC 8031")


GROUPS: dict[int, DhGroup] = {
    g.id: g
    for g in (
        _modp(1, "modp768", "RFC 2409 s6.1", _MODP_768),
        _modp(2, "modp1024", "RFC 2409 s6.2", _MODP_1024),
        _modp(5, "modp1536", "RFC 3526 s2", _MODP_1536),
        _modp(14, "modp2048", "RFC 3526 s3", _MODP_2048),
        _modp(15, "modp3072", "RFC 3526 s4", _MODP_3072),
        _modp(16, "modp4096", "RFC 3526 s5", _MODP_4096),
        _modp(17, "modp6144", "RFC 3526 s6", _MODP_6144),
        _modp(18, "modp8192", "RFC 3526 s7", _MODP_8192),
        _ecp(19, "ecp256", ec.SECP256R1, 32, "RFC 5903"),
        _ecp(20, "ecp384", ec.SECP384R1, 48, "RFC 5903"),
        _ecp(21, "ecp521", ec.SECP521R1, 66, "RFC 5903"),
        _modp(22, "modp1024s160", "RFC 5114 s2.1", *_RFC5114_1024_160),
        _modp(23, "modp2048s224", "RFC 5114 s2.2", *_RFC5114_2048_224),
        _modp(24, "modp2048s256", "RFC 5114 s2.3", *_RFC5114_2048_256),
        _ecp(25, "ecp192", ec.SECP192R1, 24, "RFC 5114 s2.4"),
        _ecp(26, "ecp224", ec.SECP224R1, 28, "RFC 5114 s2.5"),
        _ecp(28, "ecp256bp", ec.BrainpoolP256R1, 32, "RFC 6932"),
        _ecp(29, "ecp384bp", ec.BrainpoolP384R1, 48, "RFC 6932"),
        _ecp(30, "ecp512bp", ec.BrainpoolP512R1, 64, "RFC 6932"),
        _montgomery(31, "curve25519", 32),
        _montgomery(32, "curve448", 56),
    )
}

# Registered groups this module cannot compute (no implementation in cryptography/OpenSSL).
UNSUPPORTED_GROUPS: dict[int, str] = {
    3: "EC2N group on GP[2^155] (Oakley group 3)",
    4: "EC2N group on GP[2^185] (Oakley group 4)",
    27: "brainpoolP224r1",
}


def dh_group(group_id: int) -> DhGroup:
    """The table entry for an IKE group number, or ``UnsupportedAlgorithm``."""
    if isinstance(group_id, int) and group_id in GROUPS:
        return GROUPS[group_id]
    if isinstance(group_id, int) and group_id in UNSUPPORTED_GROUPS:
        raise UnsupportedAlgorithm(
            f"Diffie-Hellman group {group_id} ({UNSUPPORTED_GROUPS[group_id]}) is not supported"
        )
    raise UnsupportedAlgorithm(f"unknown Diffie-Hellman group {group_id!r}")


# --- MODP ------------------------------------------------------------------------------------


# cryptography's FFDH classes, looked up once: each lookup on the module goes through its
# deprecation shim (a warning raised and filtered), three of them per exponentiation otherwise.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)
    _DHParameterNumbers = dh.DHParameterNumbers
    _DHPublicNumbers = dh.DHPublicNumbers
    _DHPrivateNumbers = dh.DHPrivateNumbers


@cache
def _modp_parameters(group_id: int) -> dh.DHParameterNumbers:
    group = GROUPS[group_id]
    return _DHParameterNumbers(group.prime, group.generator, group.subgroup_order)


def _modp_private_exponent(group: DhGroup, private_value: bytes) -> int:
    if not 0 < len(private_value) <= group.public_length:
        raise InvalidPrivateValue(
            f"{group.name} private value must be 1 to {group.public_length} bytes, got {len(private_value)}"
        )
    exponent = int.from_bytes(private_value, "big")
    if exponent < 2:
        raise InvalidPrivateValue(f"{group.name} private value must be at least 2")
    return exponent


# Below this size Python's own modular exponentiation is faster than OpenSSL: cryptography
# checks DH parameters OpenSSL does not know by name (groups 1 and 2) on every key import,
# which costs about 40 ms per key, while ``pow`` needs 1-4 ms for these sizes.
_PYTHON_POW_MAX_BITS = 1024


def _modp_power(group: DhGroup, base: int, exponent: int) -> bytes:
    """base^exponent mod p, left-padded to the prime length.

    ``base`` has been range-checked (1 < base < p-1) by the caller. Above 1024 bits OpenSSL
    does the work: its DH derivation is exactly this exponentiation (our exponent applied to the
    peer value), and for the RFC 5114 groups it also checks base^q = 1. cryptography wants the
    public half of the private key too, but derivation never reads it; we pass the generator
    instead of computing g^x in Python (a Python ``pow`` takes about a second for group 18).
    Should a later cryptography version check that field, we compute the real value and retry.
    """
    if group.prime.bit_length() <= _PYTHON_POW_MAX_BITS and group.subgroup_order is None:
        return pow(base, exponent, group.prime).to_bytes(group.secret_length, "big")
    # IKEv1 peers negotiate these groups; cryptography's FFDH deprecation notice is not the user's concern.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        return _modp_power_openssl(group, base, exponent)


def _modp_power_openssl(group: DhGroup, base: int, exponent: int) -> bytes:
    parameters = _modp_parameters(group.id)
    try:
        peer = _DHPublicNumbers(base, parameters).public_key()
    except ValueError as error:
        raise InvalidPublicValue(f"{group.name} public value is not valid in the group: {error}") from None
    try:
        private = _DHPrivateNumbers(exponent, _DHPublicNumbers(group.generator, parameters)).private_key()
    except ValueError:
        real_public = pow(group.generator, exponent, group.prime)
        try:
            private = _DHPrivateNumbers(exponent, _DHPublicNumbers(real_public, parameters)).private_key()
        except ValueError:
            raise InvalidPrivateValue(f"{group.name} private value is not usable in the group") from None
    try:
        secret = private.exchange(peer)
    except ValueError:
        raise InvalidPublicValue(
            f"{group.name} public value is not valid in the group (out of range or not in the subgroup)"
        ) from None
    return secret.rjust(group.secret_length, b"\x00")


def _modp_peer(group: DhGroup, peer_public: bytes) -> int:
    if len(peer_public) != group.public_length:
        raise InvalidPublicValue(
            f"{group.name} public value must be {group.public_length} bytes, got {len(peer_public)}"
        )
    value = int.from_bytes(peer_public, "big")
    if not 1 < value < group.prime - 1:
        raise InvalidPublicValue(f"{group.name} public value is out of range (must be 1 < y < p-1)")
    return value


# --- ECP -------------------------------------------------------------------------------------


def _ecp_private(group: DhGroup, private_value: bytes) -> ec.EllipticCurvePrivateKey:
    assert group.curve is not None
    if not 0 < len(private_value) <= group.secret_length:
        raise InvalidPrivateValue(
            f"{group.name} private value must be 1 to {group.secret_length} bytes, got {len(private_value)}"
        )
    try:
        return ec.derive_private_key(int.from_bytes(private_value, "big"), group.curve())
    except _BackendUnsupported:
        raise UnsupportedAlgorithm(f"{group.name} is not available in this OpenSSL build") from None
    except ValueError:
        raise InvalidPrivateValue(f"{group.name} private value is out of range for the curve") from None


def _ecp_peer(group: DhGroup, peer_public: bytes) -> ec.EllipticCurvePublicKey:
    assert group.curve is not None
    if len(peer_public) != group.public_length:
        raise InvalidPublicValue(
            f"{group.name} public value must be {group.public_length} bytes (x | y), got {len(peer_public)}"
        )
    try:
        # RFC 5903 s7: x | y; SEC 1 uncompressed form adds the 0x04 prefix.
        return ec.EllipticCurvePublicKey.from_encoded_point(group.curve(), b"\x04" + peer_public)
    except _BackendUnsupported:
        raise UnsupportedAlgorithm(f"{group.name} is not available in this OpenSSL build") from None
    except ValueError:
        raise InvalidPublicValue(f"{group.name} public value is not a point on the curve") from None


# --- Curve25519 / Curve448 -------------------------------------------------------------------

X25519_GROUP = 31  # RFC 8031: the other Montgomery group is Curve448 (32)


def _montgomery_private(
    group: DhGroup, private_value: bytes
) -> x25519.X25519PrivateKey | x448.X448PrivateKey:
    if len(private_value) != group.secret_length:
        raise InvalidPrivateValue(
            f"{group.name} private value must be {group.secret_length} bytes, got {len(private_value)}"
        )
    try:
        if group.id == X25519_GROUP:
            return x25519.X25519PrivateKey.from_private_bytes(private_value)
        return x448.X448PrivateKey.from_private_bytes(private_value)
    except _BackendUnsupported:
        raise UnsupportedAlgorithm(f"{group.name} is not available in this OpenSSL build") from None


def _montgomery_shared(group: DhGroup, private_value: bytes, peer_public: bytes) -> bytes:
    private = _montgomery_private(group, private_value)
    if len(peer_public) != group.public_length:
        raise InvalidPublicValue(
            f"{group.name} public value must be {group.public_length} bytes, got {len(peer_public)}"
        )
    try:
        if isinstance(private, x25519.X25519PrivateKey):
            return private.exchange(x25519.X25519PublicKey.from_public_bytes(peer_public))
        return private.exchange(x448.X448PublicKey.from_public_bytes(peer_public))
    except ValueError:
        # RFC 7748 s6.1 / RFC 8031 s2.3: an all-zero result means a small-order peer value.
        raise InvalidPublicValue(f"{group.name} public value is a small-order point") from None


# --- Public API ------------------------------------------------------------------------------


def _need_bytes(value: object, error: type[InvalidPrivateValue | InvalidPublicValue], what: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise error(f"{what} must be bytes, not {type(value).__name__}")


def shared_secret(group_id: int, private_value: bytes, peer_public: bytes) -> bytes:
    """g^xy as IKE uses it, from our private value and the peer's KE payload data.

    MODP: big-endian, left-padded to the prime length; ECP: the x coordinate (field size);
    Curve25519 / Curve448: the 32 / 56-byte X25519 / X448 output.
    """
    group = dh_group(group_id)
    private_value = _need_bytes(private_value, InvalidPrivateValue, "private value")
    peer_public = _need_bytes(peer_public, InvalidPublicValue, "public value")
    if group.kind is GroupKind.MODP:
        exponent = _modp_private_exponent(group, private_value)
        return _modp_power(group, _modp_peer(group, peer_public), exponent)
    if group.kind is GroupKind.ECP:
        private, peer = _ecp_private(group, private_value), _ecp_peer(group, peer_public)
        try:
            return private.exchange(ec.ECDH(), peer)
        except ValueError:
            raise InvalidPublicValue(f"{group.name} public value gives no shared point") from None
    return _montgomery_shared(group, private_value, peer_public)


def public_value(group_id: int, private_value: bytes) -> bytes:
    """The KE payload data that belongs to ``private_value`` (g^x in the group's wire form)."""
    group = dh_group(group_id)
    private_value = _need_bytes(private_value, InvalidPrivateValue, "private value")
    if group.kind is GroupKind.MODP:
        exponent = _modp_private_exponent(group, private_value)
        return _modp_power(group, group.generator, exponent)
    if group.kind is GroupKind.ECP:
        # the serialization package imports its SSH key support too (~3 ms): not at every start-up
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        point = _ecp_private(group, private_value).public_key()
        return point.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
    return _montgomery_private(group, private_value).public_key().public_bytes_raw()
