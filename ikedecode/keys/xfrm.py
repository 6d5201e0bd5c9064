"""``ip xfrm state`` (and ``ip -s xfrm state``, ``ip -o xfrm state``) output as ESP/AH keys.

iproute2 (ip/ipxfrm.c) prints one SA per block::

    src 192.0.2.1 dst 192.0.2.2
        proto esp spi 0xf096db6e reqid 1 mode tunnel
        replay-window 0 flag af-unspec esn
        auth-trunc hmac(sha1) 0x28c0d4d4...0800 96
        enc cbc(aes) 0x0eb6e13b...1f92
        encap type espinudp sport 4500 dport 4500 addr 0.0.0.0
        sel src 10.1.0.0/24 dst 10.2.0.0/24

Algorithm lines are ``enc NAME 0xKEY``, ``auth NAME 0xKEY``, ``auth-trunc NAME 0xKEY BITS`` and
``aead NAME 0xKEY ICV-BITS`` (with ``-s`` a ``(N bits)`` key size follows the key; ``-o`` joins a
block's lines with backslashes). With ESN (``flag esn``) ``ip -s xfrm state`` prints the
replay state's ``seq-hi`` (inbound) and ``oseq-hi`` (outbound) high 32 bits (RFC 4303 2.2.1):
the SA's starting high bits are taken from them (one of the two is the SA's direction, the other
0). A plain ``auth`` line means the kernel's default truncation
(net/xfrm/xfrm_algo.c ``icv_truncbits``). GCM/CCM/CTR keys include the salt, as the kernel wants.
IPComp and other non-ESP/AH states are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ikedecode.esp.algorithms import UnknownAlgorithm, resolve_encryption, resolve_integrity
from ikedecode.esp.sa import InvalidSa, IpsecSa
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import is_address

# Linux's default ICV truncation for ``auth`` (not ``auth-trunc``) algorithms, in bits.
KERNEL_DEFAULT_TRUNCATION = {
    "digest_null": 0,
    "hmac(md5)": 96,
    "hmac(sha1)": 96,
    "hmac(sha256)": 96,
    "hmac(sha384)": 192,
    "hmac(sha512)": 256,
    "hmac(rmd160)": 96,
    "xcbc(aes)": 96,
    "cmac(aes)": 96,
}
IPSEC_PROTOCOLS = ("esp", "ah")
XFRM_MODES = {"tunnel": "tunnel", "transport": "transport"}  # beet, ro, in_trigger: left to the packets

_SA_START = re.compile(r"^\s*src (?P<src>\S+) dst (?P<dst>\S+)\s*$")
_PROTO = re.compile(r"^\s*proto (?P<proto>\S+)(?: spi 0x(?P<spi>[0-9a-fA-F]+))?")
_MODE = re.compile(r"\bmode (?P<mode>\S+)")
_ALGORITHM = re.compile(
    r"^\s*(?P<kind>enc|auth-trunc|auth|aead|comp) (?P<name>\S+) (?P<key>\S+)"
    r"(?: \((?P<bits>\d+) bits\))?(?: (?P<length>\d+))?\s*$"
)
_FLAGS = re.compile(r"^\s*replay-window \d+.*\bflag\b(?P<flags>.*)$")
_SEQ_HI = re.compile(r"\b(?:o?seq-hi) (?P<value>0x[0-9a-fA-F]+|\d+)")


@dataclass(slots=True)
class _State:
    line: int
    src: str
    dst: str
    protocol: str | None = None
    spi: int | None = None
    mode: str | None = None
    esn: bool = False
    seq_hi: int = 0
    algorithms: dict[str, tuple[str, bytes, int | None, int]] = field(default_factory=dict)


def looks_like_xfrm_state(text: str) -> bool:
    """A ``src A dst B`` line followed by a ``proto esp|ah spi 0x..`` line."""
    lines = _split_lines(text[:100_000])
    for (_, first), (_, second) in zip(lines, lines[1:], strict=False):
        if _SA_START.match(first) and is_address(first.split()[1]) and _PROTO.match(second):
            return True
    return False


def _split_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line); ``ip -o`` blocks (fields joined by backslashes) become lines again."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        for part in line.split("\\"):
            if part.strip():
                out.append((number, part.rstrip()))
    return out


def _key(text: str, source: str, number: int) -> bytes:
    if not text.lower().startswith("0x"):
        raise KeyFileError(f"key {text!r} does not start with 0x", source, number)
    digits = text[2:]
    if len(digits) % 2:
        raise KeyFileError(f"key {text!r} has an odd number of hex digits", source, number)
    try:
        return bytes.fromhex(digits)
    except ValueError:
        bad = next((c for c in digits if c not in "0123456789abcdefABCDEF"), "?")
        raise KeyFileError(f"key {text!r} is not hex (character {bad!r})", source, number) from None


def parse_xfrm_state(text: str, source: str) -> list[IpsecSa]:
    """Every ESP/AH state with its keys; a malformed line raises ``KeyFileError`` (file, line)."""
    states: list[_State] = []
    current: _State | None = None
    for number, line in _split_lines(text):
        start = _SA_START.match(line)
        if start is not None:
            if not (is_address(start["src"]) and is_address(start["dst"])):
                raise KeyFileError(f"{start['src']} / {start['dst']}: not IP addresses", source, number)
            current = _State(number, start["src"], start["dst"])
            states.append(current)
            continue
        if current is None:
            continue
        proto = _PROTO.match(line)
        if proto is not None:
            current.protocol = proto["proto"].lower()
            current.spi = int(proto["spi"], 16) if proto["spi"] else None
            mode = _MODE.search(line)
            current.mode = XFRM_MODES.get(mode["mode"]) if mode is not None else None
            continue
        flags = _FLAGS.match(line)
        if flags is not None:
            current.esn = "esn" in flags["flags"].split()
            continue
        high_bits = _SEQ_HI.findall(line)
        if high_bits:
            current.seq_hi = max(current.seq_hi, *(int(value, 0) for value in high_bits))
            continue
        if "<<Keys hidden>>" in line:
            raise KeyFileError(
                "keys are hidden in this output (list the states without 'nokeys')", source, number
            )
        algorithm = _ALGORITHM.match(line)
        if algorithm is not None:
            kind = algorithm["kind"]
            key = _key(algorithm["key"], source, number)
            if algorithm["bits"] is not None and int(algorithm["bits"]) != len(key) * 8:
                raise KeyFileError(
                    f"{kind} key has {len(key) * 8} bits, the line says {algorithm['bits']}", source, number
                )
            length = int(algorithm["length"]) if algorithm["length"] else None
            current.algorithms["integrity" if kind.startswith("auth") else kind] = (
                algorithm["name"],
                key,
                length,
                number,
            )
    sas = [sa for sa in (_ipsec_sa(state, source) for state in states) if sa is not None]
    if not sas:
        raise KeyFileError("no ESP or AH state with keys in this 'ip xfrm state' output", source)
    return sas


def _ipsec_sa(state: _State, source: str) -> IpsecSa | None:
    if state.protocol not in IPSEC_PROTOCOLS:
        return None  # IPComp, route2, hao: nothing to decrypt
    encryption, encryption_key, integrity, integrity_key = "null", b"", "null", b""
    line = state.line
    try:
        if "aead" in state.algorithms:
            name, encryption_key, icv_bits, line = state.algorithms["aead"]
            if icv_bits is None or icv_bits % 8:
                raise KeyFileError(f"aead {name}: ICV length in bits missing or odd", source, line)
            encryption = resolve_encryption(name, icv_bits // 8)[0].name
        elif "enc" in state.algorithms:
            name, encryption_key, _, line = state.algorithms["enc"]
            encryption = resolve_encryption(name)[0].name
        if "integrity" in state.algorithms:
            name, integrity_key, trunc_bits, line = state.algorithms["integrity"]
            if trunc_bits is None:
                trunc_bits = KERNEL_DEFAULT_TRUNCATION.get(name.lower())
            if trunc_bits is not None and trunc_bits % 8:
                raise KeyFileError(
                    f"{name}: truncation of {trunc_bits} bits is not whole bytes", source, line
                )
            integrity = resolve_integrity(name, trunc_bits // 8 if trunc_bits else None).name
        line = state.line
        return IpsecSa(
            state.protocol,  # type: ignore[arg-type]
            state.spi,
            state.src,
            state.dst,
            encryption=encryption,
            encryption_key=encryption_key,
            integrity=integrity,
            integrity_key=integrity_key,
            mode=state.mode,  # type: ignore[arg-type]
            esn=state.esn,
            initial_seq_hi=state.seq_hi if state.esn else 0,
            origin=f"{source} line {state.line}",
        )
    except (UnknownAlgorithm, InvalidSa) as exc:
        raise KeyFileError(str(exc), source, line) from None


__all__ = ["looks_like_xfrm_state", "parse_xfrm_state"]
