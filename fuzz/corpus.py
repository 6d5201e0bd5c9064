"""Seed material for fuzzing: the real captures, their IKE sessions, ESP packets and keys.

Everything is read once per process (``sessions()`` is cached). A *session* is one capture read
the way the pipeline reads it: its IKE datagrams in order, its ESP/AH datagrams, the text of its
key files, and what a clean run with those keys decrypted (IKE plaintexts with the cipher, key
and IV that opened them; ESP packets with the SA, sequence number and inner payload), so that
targets can mutate plaintext and encrypt it again: the only way mutations reach the decoders
that sit behind a successful decryption.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from ikedecode.capture import CaptureError, CaptureReader
from ikedecode.capture.datagram import Datagram, Kind
from ikedecode.esp.processor import EspProcessor
from ikedecode.esp.sadb import SaDatabase
from ikedecode.ike.engine import IkeEngine
from ikedecode.ike.events import IpsecSaKeyed
from ikedecode.ike.v1 import decryption as decryption_module
from ikedecode.ike.v1 import protection as protection_module
from ikedecode.ike.v1.protection import Decryption
from ikedecode.ike.v2 import keying as ikev2_keying_module
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.loader import load_key_text

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CAPTURES_DIR = PROJECT_ROOT / "captures"
KEYS_DIR = PROJECT_ROOT / "keys"
REFERENCE_DIR = Path(  # as tests/conftest.py: worktrees sit one level deeper than the main checkout
    os.environ.get("IKEDECODE_REFERENCE_DIR") or PROJECT_ROOT.parent / "shared" / "reference"
)

# Reference captures (present on developer/CI machines only) and the key tables that open them.
REFERENCE_SESSIONS: dict[str, tuple[str, ...]] = {
    "wireshark/captures/ikev1-certs.pcap": ("wireshark/config/ikev1_decryption_table",),
    "wireshark/captures/ikev1-bug-12610.pcapng.gz": ("wireshark/config/ikev1_decryption_table",),
    "wireshark/captures/ikev1-bug-12620.pcapng.gz": ("wireshark/config/ikev1_decryption_table",),
    "wireshark/captures/esp-bug-12671.pcapng.gz": ("wireshark/config/esp_sa",),
    **{
        f"wireshark/captures/ikev2-decrypt-{suite}": ("wireshark/config/ikev2_decryption_table",)
        for suite in (
            "3des-sha1_160.pcap",
            "aes128ccm12.pcap",
            "aes192ctr.pcap",
            "aes256cbc.pcapng",
            "aes256ccm16.pcapng",
            "aes256gcm16.pcap",
            "aes256gcm8.pcap",
        )
    },
    "wireshark-wiki/ikev1_main_mode_nokeys/attachment_ikev1_main_mode.pcap": (),
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1/capture.pcap": (
        "wireshark-wiki/ipsec_esp/ipsec_esp_capture_1/esp_sa",
    ),
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_3/capture.pcap": (
        "wireshark-wiki/ipsec_esp/ipsec_esp_capture_3/esp_sa",
    ),
    "wireshark-wiki/ipsec_esp/ipsec_esp_capture_5/capture.pcap": (
        "wireshark-wiki/ipsec_esp/ipsec_esp_capture_5/esp_sa",
    ),
    "wireshark-wiki/ipsec_ikev2_esp_nat_t/capture.pcapng": ("wireshark-wiki/ipsec_ikev2_esp_nat_t/esp_sa",),
}
MAX_ESP_PER_SESSION = 64  # ESP packets kept per session (the long captures repeat themselves)


@dataclass(frozen=True, slots=True)
class IkePlaintext:
    """How a clean run opened one encrypted IKE message (RFC 2409 Appendix B CBC)."""

    cipher_id: int
    key: bytes
    iv: bytes
    plaintext: bytes  # padding included


@dataclass(frozen=True, slots=True)
class Ikev2Plaintext:
    """How a clean run opened one IKEv2 SK / SKF payload (RFC 7296 3.14, RFC 7383 2.5): the
    sender's keys, where the payload starts, and the inner chain it held."""

    sk_offset: int
    fragment: bool
    encr_id: int
    sk_e: bytes
    integ_id: int | None
    sk_a: bytes
    iv: bytes
    next_payload: int
    plaintext: bytes  # padding removed
    fragment_number: int | None = None
    total_fragments: int | None = None

    @property
    def head_size(self) -> int:
        return self.sk_offset + (8 if self.fragment else 4)


@dataclass(frozen=True, slots=True)
class EspPlaintext:
    """An ESP packet a clean run verified: enough to build a mutated one that verifies too."""

    index: int  # into Session.esp
    spi: int
    seq: int
    next_header: int
    payload: bytes  # the inner packet or upper-layer data, ESP trailer removed


@dataclass(slots=True)
class Session:
    name: str
    capture: bytes  # the capture file as stored (possibly gzip)
    key_texts: tuple[str, ...]
    ike: list[Datagram]
    esp: list[Datagram]
    ike_plaintexts: dict[int, IkePlaintext] = field(default_factory=dict)  # index into ike
    esp_plaintexts: list[EspPlaintext] = field(default_factory=list)
    ikev2_plaintexts: dict[int, Ikev2Plaintext] = field(default_factory=dict)  # index into ike

    @property
    def ikev2(self) -> bool:
        """Whether any IKE message of the session is IKEv2 (major version 2, RFC 7296 3.1)."""
        return any(len(d.payload) >= 28 and d.payload[17] >> 4 == 2 for d in self.ike)

    def keyring(self) -> KeyRing:
        """A fresh KeyRing (SA objects carry counters, so every input gets new ones)."""
        ring = KeyRing()
        for number, text in enumerate(self.key_texts, 1):
            ring.merge(load_key_text(text, f"{self.name}.keys{number}"))
        return ring

    @property
    def secrets(self) -> list[bytes]:
        """The secrets of the key files (PSKs, DH secrets, IKE and ESP keys), for redaction checks."""
        ring = self.keyring()
        out: list[bytes] = [k.secret for k in ring.psks] + [s.value for s in ring.dh_secrets]
        for k in ring.phase1_keys:
            out += [v for v in (k.encryption_key, k.skeyid, k.skeyid_d, k.skeyid_a, k.skeyid_e) if v]
        for sa in ring.ipsec_sas:
            out += [v for v in (sa.encryption_key, sa.integrity_key) if v]
        for material in ring.ikev2_keys:
            out += material.values
        return [s for s in out if len(s) >= 8]


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _datagrams(capture: bytes, name: str) -> tuple[list[Datagram], list[Datagram]]:
    try:
        reader = CaptureReader(io.BytesIO(capture), name)
    except CaptureError:
        return [], []
    ike, esp = [], []
    for datagram in reader:
        if datagram.kind is Kind.IKE:
            ike.append(datagram)
        elif datagram.kind in (Kind.ESP, Kind.AH):
            esp.append(datagram)
    return ike, esp


def _record_ike_plaintexts(session: Session) -> None:
    """Run the engine with the real keys and note which cipher/key/IV opened each message.

    Every IKEv1 message is opened by ``ike.v1.protection.open_blocks``: called by
    ``protection.try_decrypt`` (an SA's first message, the key candidates and fallback IVs) and by
    the engine's decryption directly (every later message, the adopted key and the chained IV). It
    is watched under both names."""
    opened: dict[int, IkePlaintext] = {}
    current: list[int] = [0]
    original = protection_module.open_blocks

    def opening(cipher_id: int, key: bytes, iv: bytes, ciphertext: bytes, first_payload: int, block: int):  # noqa: ANN202
        result = original(cipher_id, key, iv, ciphertext, first_payload, block)
        if isinstance(result, Decryption) and current[0] not in opened:
            opened[current[0]] = IkePlaintext(cipher_id, key, iv, result.plaintext)
        return result

    engine = IkeEngine(session.keyring())
    with (
        mock.patch.object(protection_module, "open_blocks", opening),
        mock.patch.object(decryption_module, "open_blocks", opening),
    ):
        for index, datagram in enumerate(session.ike):
            current[0] = index
            engine.receive(datagram)
    session.ike_plaintexts = opened


def _record_ikev2_plaintexts(session: Session) -> None:
    """Run the engine with the real keys and note which keys opened each IKEv2 SK / SKF payload."""
    opened: dict[int, Ikev2Plaintext] = {}
    current: list[int] = [0]

    original = ikev2_keying_module.open_encrypted

    def opener(  # noqa: ANN202 - protection.open_encrypted, as the engine calls it
        message: bytes,
        offset: int,
        fragment: bool,
        encr_id: int,
        sk_e: bytes,
        integ_id: int | None,
        sk_a: bytes,
        check_icv: bool = True,
    ):
        result = original(message, offset, fragment, encr_id, sk_e, integ_id, sk_a, check_icv)
        if result.ok and current[0] not in opened:
            opened[current[0]] = Ikev2Plaintext(
                offset,
                fragment,
                encr_id,
                bytes(sk_e),
                integ_id,
                bytes(sk_a),
                result.iv,
                result.next_payload,
                result.plaintext,
                result.fragment_number,
                result.total_fragments,
            )
        return result

    engine = IkeEngine(session.keyring())
    with mock.patch.object(ikev2_keying_module, "open_encrypted", opener):
        for index, datagram in enumerate(session.ike):
            current[0] = index
            engine.receive(datagram)
    session.ikev2_plaintexts = opened


def _record_esp_plaintexts(session: Session) -> None:
    ring = session.keyring()
    engine = IkeEngine(ring)
    sadb = SaDatabase(ring.ipsec_sas)
    processor = EspProcessor(sadb)
    from ikedecode.analysis.keying import ipsec_sa_from_child

    for datagram in session.ike:  # quick modes key SAs the key file may not list
        for event in engine.receive(datagram):
            if type(event) is IpsecSaKeyed:
                try:
                    sadb.add(ipsec_sa_from_child(event.keys))
                except ValueError:
                    pass
    for index, datagram in enumerate(session.esp):
        result = processor.process(datagram)
        if result is None or result.sa is None or result.status != "verified" or result.payload is None:
            continue
        if result.protocol != "esp" or result.spi is None or result.seq is None:
            continue
        session.esp_plaintexts.append(
            EspPlaintext(index, result.spi, result.seq, result.next_header or 0, result.payload)
        )


def _session(name: str, capture: bytes, key_texts: tuple[str, ...]) -> Session | None:
    ike, esp = _datagrams(capture, name)
    if not ike and not esp:
        return None
    session = Session(name, capture, key_texts, ike, esp[:MAX_ESP_PER_SESSION])
    if key_texts:
        if session.ikev2:
            _record_ikev2_plaintexts(session)
        _record_ike_plaintexts(session)
        _record_esp_plaintexts(session)
    return session


@functools.cache
def sessions() -> tuple[Session, ...]:
    """Every lab capture with its key file, then the reference captures when present."""
    out: list[Session] = []
    for path in sorted(CAPTURES_DIR.glob("*.pcap")):
        key_path = KEYS_DIR / f"{path.stem}.toml"
        key_texts = (key_path.read_text(),) if key_path.is_file() else ()
        session = _session(path.stem, path.read_bytes(), key_texts)
        if session is not None:
            out.append(session)
    if REFERENCE_DIR.is_dir():
        for relative, key_files in REFERENCE_SESSIONS.items():
            capture = _read(REFERENCE_DIR / relative)
            texts = [_read(REFERENCE_DIR / k) for k in key_files]
            if capture is None or any(t is None for t in texts):
                continue
            session = _session(relative, capture, tuple(t.decode() for t in texts if t is not None))
            if session is not None:
                out.append(session)
    return tuple(out)


@functools.cache
def capture_files() -> tuple[bytes, ...]:
    """Capture files as plain bytes (gzip undone): the sessions' and every other reference capture."""
    files = [s.capture for s in sessions()]
    if REFERENCE_DIR.is_dir():
        for path in sorted(REFERENCE_DIR.rglob("*")):
            if path.suffix in (".pcap", ".pcapng", ".gz") and path.stat().st_size <= 200_000:
                files.append(path.read_bytes())
    plain = []
    for data in files:
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        plain.append(data)
    return tuple(dict.fromkeys(plain))


@functools.cache
def ike_messages() -> tuple[bytes, ...]:
    """Every distinct ISAKMP message of the captures, plus ike-scan's recorded responses."""
    messages = [d.payload for s in sessions() for d in s.ike if not d.nat_keepalive]
    packet_dir = REFERENCE_DIR / "ike-scan" / "pkt"
    if packet_dir.is_dir():
        for path in sorted(packet_dir.glob("*.dat")):
            data = path.read_bytes()
            messages.append(data[4:] if data.startswith(bytes(4)) else data)
    return tuple(dict.fromkeys(messages))


def keyed_sessions() -> tuple[Session, ...]:
    return tuple(s for s in sessions() if s.key_texts)


def ikev2_sessions(keyed: bool = False) -> tuple[Session, ...]:
    return tuple(s for s in sessions() if s.ike and s.ikev2 and (s.key_texts or not keyed))


@functools.cache
def payload_chains() -> tuple[tuple[int, bytes, bool], ...]:
    """(first payload type, chain bytes, padded) of every clear message and every decrypted one."""
    chains: list[tuple[int, bytes, bool]] = []
    for message in ike_messages():
        if len(message) >= 28 and not message[19] & 1:
            chains.append((message[16], message[28:], False))
    for session in sessions():
        for index, opened in session.ike_plaintexts.items():
            chains.append((session.ike[index].payload[16], opened.plaintext, True))
    return tuple(dict.fromkeys(chains))


@functools.cache
def ikev2_payload_chains() -> tuple[tuple[int, bytes, bool], ...]:
    """(first payload type, chain bytes, inner) of every clear IKEv2 message (the SK payload at
    its end included) and of every decrypted SK / SKF plaintext."""
    chains: list[tuple[int, bytes, bool]] = []
    for session in ikev2_sessions():
        for datagram in session.ike:
            message = datagram.payload
            if len(message) >= 28 and message[17] >> 4 == 2:
                chains.append((message[16], message[28:], False))
        for opened in session.ikev2_plaintexts.values():
            if opened.next_payload:
                chains.append((opened.next_payload, opened.plaintext, True))
    return tuple(dict.fromkeys(chains))


MAX_LOG_BYTES = 160 * 1024  # the smaller daemon logs: a mutated 700 kB log is slow to fuzz


@functools.cache
def daemon_logs() -> tuple[tuple[str, str], ...]:
    """(capture name, text) of the charon logs the lab key files were taken from, the small ones."""
    logs = []
    for path in sorted(KEYS_DIR.glob("*.log.gz")):
        text = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
        if len(text) <= MAX_LOG_BYTES:
            logs.append((path.name.split(".")[0], text))
    return tuple(logs)
