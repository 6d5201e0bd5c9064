"""ESP packets produced by the Linux kernel's xfrm stack, with the keys that produced them.

Transcribed (data only) from secdev/scapy ``test/scapy/layers/ipsec.uts`` (GPL-2.0), whose
comments record the generating kernel and the ``ip xfrm state add`` command. Each packet is the
ESP part (SPI onward) of an IPv4 tunnel-mode SA with SPI 0x222 that carries an ICMP echo.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinuxEspVector:
    name: str
    xfrm_algorithm: str  # the name given to ``ip xfrm``
    icv_bits: int | None  # the ICV length argument of ``ip xfrm ... aead``
    key: bytes
    seq: int
    body: str  # hex of everything after SPI + sequence number
    esn_high: int | None = None


def _hex(*lines: str) -> str:
    return "".join(lines).replace(" ", "")


LINUX_ESP_VECTORS = (
    LinuxEspVector(
        "des-cbc",
        "cbc(des)",
        None,
        b"8bytekey",
        1,
        _hex(
            "0f6d2f3d1ec10bc2b68ffd6739c0962c177988f6bc4df745d8366386cd087c08",
            "2bf8a291182188d92600c52124bf8ff56c47b03a8edb7521d933855a15c63100",
            "1cef3e12ce70ec8f48c7819b66cbf53991b38e72fb7f64656cf4a9f25e632f60",
        ),
    ),
    LinuxEspVector(
        "3des-cbc",
        "cbc(des3_ede)",
        None,
        b"threedifferent8byteskeys",
        1,
        _hex(
            "365c9b4137c8591e3963e86bf70d97541384f6816619e7cb7594f10b8ea3f1a0",
            "3e8851c450d0a91f1625c6bde90bdcaef81300a38c53ee1c96c0fe9970ab9477",
            "d7c4e8fd9f9628b89520867b19bc8ff596b07ecc0483ae4da3ba1d44f0ba2ecd",
        ),
    ),
    LinuxEspVector(
        "aes-cbc",
        "cbc(aes)",
        None,
        b"sixteenbytes key",
        1,
        _hex(
            "082f94e653d88e1370e8ff615290273cf2b41f75d2a0acae1ca85e1c78214c7f",
            "c330176a8df3b1a7d1a84201d68d2d7e5d06dfaa052742b10012cfff64025a40",
            "cdca1b91baf8c859e7bd4d19b48d39256c73f12daaeee10b71cdfc111d56ce60",
            "edd23287d490c3f5314797698382 6d38",
        ),
    ),
    LinuxEspVector(
        "aes-ctr",
        "rfc3686(ctr(aes))",
        None,
        b"16bytekey+4bytenonce",
        1,
        _hex(
            "c4ca090f8bd3053dac5a2f87ca711001a795c907ccd40558652322 4b639b1fef",
            "55b91a91527600f7947b1de18e032e85addd83228ac3886e85f59beda96eb1c3",
            "78002fcd77e83eec0e7794b29b0f645e0983037d832239bb9466ae9fbf01dafb",
        ),
    ),
    LinuxEspVector(
        "blowfish-cbc",
        "cbc(blowfish)",
        None,
        b"sixteenbytes key",
        1,
        _hex(
            "939f5a10555730a0b400721e46424620bc01efc379cc3e5564ba09c26a5a5cb3",
            "ccb5d58782b00a9458fc503740e103d34a09b2235356a4454cbb811cdb31a767",
            "bd388eba55d91ff13ceb074c02b03ec5f660dd68e1d4ecee27c06d1a80e2cc7d",
        ),
    ),
    LinuxEspVector(
        "cast-cbc",
        "cbc(cast5)",
        None,
        b"sixteenbytes key",
        1,
        _hex(
            "cd4a46055154733 51dad4b10c115e270bc9c538f4d1c871ac1b0df80d10ca459",
            "e650de46db3f28c2da6c2b815e7c7b4fbc8dc16d4a2b04919ec40bba05ba3b71",
            "ace316cf7f00c5877d7248e65b431924aea62cccadbf376c6eea716773d6119f",
        ),
    ),
    LinuxEspVector(
        "aes-gcm-16",
        "rfc4106(gcm(aes))",
        128,
        b"16bytekey+4bytenonce",
        1,
        _hex(
            "66002886e9dfc524b0bdfd62617ed3767b48288e76aaea48b840308ace5071bb",
            "c0b24771d7a4a0cb0368d3165a7c378487c71959b47c76e348c0904bd23695c1",
            "b7a4b67b89e64f10aedb84474600b444e66d16555f8236a549f7528165904d28",
            "92b2e3f1a402d237ac0b7a10cf6446b9",
        ),
    ),
    LinuxEspVector(
        "aes-ccm-8",
        "rfc4309(ccm(aes))",
        64,
        b"16bytekey3bytenonce",
        1,
        _hex(
            "2e029f1fad7680588feb45f166e3ada6901b2b7dd33da45335c8fa92fdd7422f",
            "87609b46b0215e82fb2f59baf06ce551b8362088fe498660e80a3d36b58a08a9",
            "5ee387fa933fe8c2c5bfb12e6f7dc5a5d8e5f3252181431648107c043120077c",
            "7bda5d1a7245c479",
        ),
    ),
    LinuxEspVector(
        "aes-gmac",
        "rfc4543(gcm(aes))",
        128,
        b"16bytekey+4bytenonce",
        22,
        _hex(
            "54706c6a9fbaa61845000054bc5300004001a9590a7d00010a7d00020000ad53",
            "a883000102e6096400000000d90a0600000000001011121314151617 18191a1b",
            "1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363701020204",
            "9b763230f64992a88f6a20872c740c18",
        ),
    ),
    LinuxEspVector(
        "aes-gmac-esn",
        "rfc4543(gcm(aes))",
        128,
        b"16bytekey+4bytenonce",
        5,
        _hex(
            "43e6a1ce709d67f4450000542e4a40004001f7620a7d00020a7d00010800d332",
            "8f4c00028dec0964000000003c5b0300000000001011121314151617 18191a1b",
            "1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363701020204",
            "76d4939075ee3fa3f3cfcc27f55b12b6",
        ),
        esn_high=1,
    ),
)
