"""libreswan pluto debug logs as a key source (``--keylog FILE``, or ``--keys`` by content).

libreswan keeps its IKE keys inside NSS and never prints SKEYID.. or g^xy; with
``plutodebug="all crypt private"`` (libreswan 4.x) its log does hold, as ``| ``-prefixed hex dumps
(rows of 16 bytes in groups of four)::

    | User PSK:                                   (also "| PreShared Key")
    |   69 6b 65 64  65 63 6f 64  ...   ikedecode-lab-ps
    | protocol: 0x03
    | SPI
    |   a0 11 d5 5d
    | NSS.ikev1_section_5_keymat() returns:       (RFC 2409 section 5.5 KEYMAT for that SPI)
    |   34 04 8d 1d  7b cc 31 11  ...
    | ESP KEYMAT
    |   inbound:                                  (then "outbound:")

and the SA's algorithms and addresses on ``kernel: looking for alg with encrypt: AES_CBC keylen:
128 integ: HMAC_SHA1_96``, ``kernel: add_sa() ... ->192.0.2.1[3264c8ed]=espinudp==>192.0.2.2-...``,
``IPsec SA established ... xfrm=AES_CBC_128-HMAC_SHA1_96`` and the ``sending ... from A:p to B:p``
lines. KEYMAT is split encryption key first, integrity key second (as the kernel gets them).
So a pluto log gives the preshared key (enough for the IKE SA together with the peer's g^xy or a
DH value) and every ESP/AH SA's keys. Pure text in, KeyRing out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ikedecode.esp.algorithms import UnknownAlgorithm, resolve_encryption
from ikedecode.esp.sa import InvalidSa, IpsecSa
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import KeyRing, PresharedKey, is_address

# libreswan algorithm names (lib/libswan/ike_alg_*.c "fqn") -> project names
LIBRESWAN_ENCRYPTION = {
    "NULL": "null",
    "3DES_CBC": "3des-cbc",
    "AES_CBC": "aes-cbc",
    "AES_CTR": "aes-ctr",
    "AES_GCM_8": "aes-gcm-8",
    "AES_GCM_12": "aes-gcm-12",
    "AES_GCM_16": "aes-gcm-16",
    "AES_CCM_8": "aes-ccm-8",
    "AES_CCM_12": "aes-ccm-12",
    "AES_CCM_16": "aes-ccm-16",
    "NULL_AUTH_AES_GMAC": "aes-gmac",
    "CAMELLIA_CBC": "camellia-cbc",
    "CHACHA20_POLY1305": "chacha20-poly1305",
}
LIBRESWAN_INTEGRITY = {
    "NONE": "null",
    "HMAC_MD5_96": "hmac-md5-96",
    "HMAC_SHA1_96": "hmac-sha1-96",
    "HMAC_SHA2_256_128": "hmac-sha2-256-128",
    "HMAC_SHA2_384_192": "hmac-sha2-384-192",
    "HMAC_SHA2_512_256": "hmac-sha2-512-256",
    "AES_XCBC_96": "aes-xcbc-mac-96",
    "AES_CMAC_96": "aes-cmac-96",
}
PSK_LABELS = ("User PSK:", "PreShared Key")
KEYMAT_LABEL = "NSS.ikev1_section_5_keymat() returns:"
IPSEC_PROTOCOL_IDS = {2: "ah", 3: "esp"}  # RFC 2407 section 4.4.1

_PREFIX = re.compile(r"^(?:\w{3} [ \d]\d [\d:.]+: |.*?\bpluto\[\d+\]: )?(?P<body>.*)$")
_HEX_ROW = re.compile(r"^\|\s{2,}(?P<hex>[0-9a-f]{2}(?: {1,2}[0-9a-f]{2}){0,15})(?:\s{3,}.*)?$")
_PROTOCOL = re.compile(r"^\| protocol: 0x(?P<id>[0-9a-f]{2})\s*$")
_LOOKING_FOR_ALG = re.compile(
    r"kernel: looking for alg with encrypt: (?P<enc>\S+) keylen: (?P<bits>\d+) integ: (?P<integ>\S+)"
)
_ENC_LENGTH = re.compile(r"compute_proto_keymat: needed_len \(after (?:ESP|AH) enc\)=(?P<n>\d+)")
_ADD_SA = re.compile(
    r"kernel: add_sa\(\) .*?(?P<dir>inbound|outbound) (?P<mode>tunnel|transport) .*?->(?P<src>[0-9a-fA-F.:]+)"
    r"\[(?P<spi>[0-9a-f]{8})\]=\S*?==>(?P<dst>[0-9a-fA-F.:]+?)-"
)
_XFRM = re.compile(r"(?:xfrm|proposal)=(?P<xfrm>[A-Z0-9_]+-[A-Z0-9_]+)")
_ENDPOINT = r"\[?(?P<{}>[0-9a-fA-F.:]+?)\]?:\d+"  # 192.0.2.1:4500 or [2001:db8::1]:500
_SENDING = re.compile(
    r"sending \d+ bytes for .* from " + _ENDPOINT.format("local") + " to " + _ENDPOINT.format("remote")
)
_RECEIVED = re.compile(
    r"received \d+ bytes from " + _ENDPOINT.format("remote") + r" on \S+ " + _ENDPOINT.format("local")
)


@dataclass(slots=True, eq=False)
class _Child:
    line: int
    protocol: str = "esp"
    keymat_spi: list[tuple[bytes, int]] = field(default_factory=list)  # (KEYMAT, SPI)
    directions: dict[str, bytes] = field(default_factory=dict)  # inbound/outbound -> KEYMAT
    encryption: tuple[str, int | None] | None = None  # (libreswan name, key bits)
    integrity: str | None = None
    encryption_bytes: int | None = None  # "needed_len (after ESP enc)"
    addresses: dict[int, tuple[str, str, str]] = field(default_factory=dict)  # SPI -> (src, dst, mode)
    local: str | None = None
    remote: str | None = None


@dataclass(slots=True)
class _Dump:
    label: str
    line: int
    data: bytearray = field(default_factory=bytearray)


def looks_like_pluto_log(text: str) -> bool:
    head = text[:500_000]
    return ("| " in head and ("pluto" in head.lower() or "Libreswan" in head)) and bool(
        re.search(r"^(?:.*?: )?\| ", head, re.MULTILINE)
    )


class PlutoLogParser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.psks: dict[bytes, int] = {}  # secret -> first line
        self.children: list[_Child] = []
        self.child: _Child | None = None
        self.dump: _Dump | None = None
        self.spi: int | None = None
        self.protocol: int | None = None
        self.keymat_block: str | None = None  # "esp"/"ah" after "ESP KEYMAT"
        self.local: str | None = None
        self.remote: str | None = None
        self.proposal: tuple[tuple[str, int | None], str] | None = None  # "proposal=" of the next quick mode

    def feed(self, number: int, raw: str) -> None:
        body = _PREFIX.match(raw.rstrip("\r\n"))["body"]  # type: ignore[index]
        if self.dump is not None:
            row = _HEX_ROW.match(body)
            if row is not None:
                self.dump.data.extend(bytes.fromhex(row["hex"].replace(" ", "")))
                return
            self._dumped(self.dump)
            self.dump = None
        if body.startswith("| "):
            self._debug(body, number)
        else:
            self._message(body)

    def _debug(self, body: str, number: int) -> None:
        text = body[2:]
        label = text.strip()
        if label in PSK_LABELS or label in (KEYMAT_LABEL, "SPI") or label in ("inbound:", "outbound:"):
            if label in ("inbound:", "outbound:") and self.keymat_block is None:
                return
            self.dump = _Dump(label, number)
            return
        if label in ("ESP KEYMAT", "AH KEYMAT"):
            self.keymat_block = label.split()[0].lower()
            return
        protocol = _PROTOCOL.match(body)
        if protocol is not None:
            self.protocol = int(protocol["id"], 16)
            return
        for pattern in (_SENDING, _RECEIVED):
            found = pattern.search(text)
            if found is not None and is_address(found["local"]) and is_address(found["remote"]):
                self.local, self.remote = found["local"], found["remote"]
                return
        if self.child is None:
            return
        alg = _LOOKING_FOR_ALG.search(text)
        if alg is not None:
            self.child.encryption = (alg["enc"], int(alg["bits"]) or None)
            self.child.integrity = alg["integ"]
            return
        enc_length = _ENC_LENGTH.search(text)
        if enc_length is not None:
            self.child.encryption_bytes = int(enc_length["n"])
            return
        add_sa = _ADD_SA.search(text)
        if add_sa is not None:
            self.child.addresses[int(add_sa["spi"], 16)] = (add_sa["src"], add_sa["dst"], add_sa["mode"])

    def _message(self, body: str) -> None:
        """``initiating Quick Mode ... proposal=AES_CBC_128-HMAC_SHA1_96`` (before its KEYMAT) or
        ``IPsec SA established ... xfrm=...`` (after it)."""
        xfrm = _XFRM.search(body)
        if xfrm is None:
            return
        encryption, _, integrity = xfrm["xfrm"].partition("-")
        algorithms = (_split_key_size(encryption), integrity)
        if "initiating Quick Mode" in body:
            self.proposal = algorithms  # for the quick mode whose KEYMAT comes next
        elif self.child is not None and self.child.encryption is None:
            self.child.encryption, self.child.integrity = algorithms

    def _current_child(self, line: int) -> _Child:
        child = self.child
        if child is None or {"inbound", "outbound"} <= set(child.directions):
            child = self.child = _Child(line, local=self.local, remote=self.remote)
            if self.proposal is not None:
                child.encryption, child.integrity = self.proposal
                self.proposal = None
            self.children.append(child)
        return child

    def _dumped(self, dump: _Dump) -> None:
        value = bytes(dump.data)
        if dump.label in PSK_LABELS:
            if value:
                self.psks.setdefault(value, dump.line)
        elif dump.label == "SPI":
            self.spi = int.from_bytes(value, "big") if len(value) == 4 else None
        elif dump.label == KEYMAT_LABEL:
            child = self._current_child(dump.line)
            if self.spi is not None:
                child.keymat_spi.append((value, self.spi))
            if self.protocol in IPSEC_PROTOCOL_IDS:
                child.protocol = IPSEC_PROTOCOL_IDS[self.protocol]
        elif dump.label in ("inbound:", "outbound:"):
            child = self._current_child(dump.line)
            child.directions[dump.label[:-1]] = value
            child.protocol = self.keymat_block or child.protocol
            if {"inbound", "outbound"} <= set(child.directions):
                self.keymat_block = None

    def finish(self) -> None:
        if self.dump is not None:
            self._dumped(self.dump)
            self.dump = None

    def keyring(self) -> KeyRing:
        self.finish()
        ring = KeyRing()
        for secret, line in self.psks.items():
            ring.psks.append(PresharedKey(secret, f"{self.source} line {line} (pluto preshared key)"))
        for child in self.children:
            ring.ipsec_sas.extend(self._child_sas(child))
        if ring.empty:
            raise KeyFileError(
                'no key material in this pluto log (it needs plutodebug="all crypt private")', self.source
            )
        return ring

    def _child_sas(self, child: _Child) -> list[IpsecSa]:
        spi_of = {keymat: spi for keymat, spi in child.keymat_spi}
        out: list[IpsecSa] = []
        for direction, keymat in child.directions.items():
            spi = spi_of.get(keymat)
            if spi is None:
                continue
            src, dst, mode = child.addresses.get(spi, (None, None, None))
            if src is None and child.local and child.remote:
                src, dst = (
                    (child.remote, child.local) if direction == "inbound" else (child.local, child.remote)
                )
            origin = f"{self.source} line {child.line} ({direction} KEYMAT, SPI 0x{spi:08x})"
            try:
                encryption, integrity, split = self._algorithms(child, keymat)
                out.append(
                    IpsecSa(
                        child.protocol,  # type: ignore[arg-type]
                        spi,
                        src,
                        dst,
                        encryption=encryption,
                        encryption_key=keymat[:split],
                        integrity=integrity,
                        integrity_key=keymat[split:],
                        mode=mode,  # type: ignore[arg-type]
                        origin=origin,
                    )
                )
            except (UnknownAlgorithm, InvalidSa) as exc:
                raise KeyFileError(
                    f"{direction} KEYMAT for SPI 0x{spi:08x}: {exc}", self.source, child.line
                ) from None
        return out

    def _algorithms(self, child: _Child, keymat: bytes) -> tuple[str, str, int]:
        """(encryption, integrity, bytes of KEYMAT for the cipher)."""
        if child.encryption is None or child.integrity is None:
            raise KeyFileError(
                "KEYMAT without its algorithms (no 'looking for alg' or 'xfrm=' line)",
                self.source,
                child.line,
            )
        name, bits = child.encryption
        if name not in LIBRESWAN_ENCRYPTION:
            raise KeyFileError(
                f"libreswan encryption algorithm {name!r} is not known", self.source, child.line
            )
        if child.integrity not in LIBRESWAN_INTEGRITY:
            raise KeyFileError(
                f"libreswan integrity algorithm {child.integrity!r} is not known", self.source, child.line
            )
        encryption = LIBRESWAN_ENCRYPTION[name]
        integrity = LIBRESWAN_INTEGRITY[child.integrity]
        if child.protocol == "ah":
            return "null", integrity, 0
        split = child.encryption_bytes
        if split is None:
            algorithm = resolve_encryption(encryption)[0]
            split = (bits // 8 if bits else algorithm.default_key_size) + algorithm.salt_size
            if algorithm.mode == "null":
                split = 0
        if split > len(keymat):
            raise KeyFileError(
                f"KEYMAT of {len(keymat)} bytes is shorter than the {split}-byte cipher key",
                self.source,
                child.line,
            )
        return encryption, integrity, split


def _split_key_size(token: str) -> tuple[str, int | None]:
    """``AES_CBC_128`` -> (AES_CBC, 128); ``3DES_CBC`` -> (3DES_CBC, None)."""
    name, _, size = token.rpartition("_")
    if size.isdigit() and name in LIBRESWAN_ENCRYPTION and int(size) in (128, 192, 256):
        return name, int(size)
    return token, None


def parse_pluto_log(text: str, source: str) -> KeyRing:
    """The preshared keys and ESP/AH SAs a pluto debug log holds."""
    parser = PlutoLogParser(source)
    for number, line in enumerate(text.splitlines(), 1):
        parser.feed(number, line)
    return parser.keyring()


__all__ = ["PlutoLogParser", "looks_like_pluto_log", "parse_pluto_log"]
