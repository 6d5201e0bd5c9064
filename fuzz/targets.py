"""Fuzz targets: one function per entry point, bytes in, an exception only for a real defect.

Each target decodes its input (the first ``protect`` bytes choose a session, a message, options;
the rest is the data under test), drives one ikedecode entry point and checks the guarantees of
issue 7: nothing raises but the documented errors (``CaptureError`` for a file that is no
capture, ``KeyFileError`` for a key file that cannot be read, ``MalformedMessage`` from
``parse_header``), the accounting adds up, every malformed frame has a reason, the engines'
guards never had to catch anything (a ``decoder-error`` finding is a bug found), output renders
and leaks no secret without ``show_keys``. A broken guarantee raises ``FuzzFailure``.

Targets work the same under the campaign runner (``fuzz/run.py``), atheris, and hypothesis
(``tests/fuzz/``).
"""

from __future__ import annotations

import atexit
import gzip
import io
import json
import os
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace

from ikedecode.analysis.keying import ipsec_sa_from_child
from ikedecode.analysis.report import Report
from ikedecode.capture import CaptureError, CaptureReader
from ikedecode.capture.datagram import CaptureStats, Datagram, Kind
from ikedecode.esp.algorithms import ENCRYPTION_ALGORITHMS, INTEGRITY_ALGORITHMS
from ikedecode.esp.encoder import EspEncoder
from ikedecode.esp.processor import EspProcessor, EspStatus
from ikedecode.esp.sa import IpsecSa
from ikedecode.esp.sadb import SaDatabase
from ikedecode.ike import ciphers
from ikedecode.ike.engine import IkeEngine
from ikedecode.ike.errors import MalformedMessage
from ikedecode.ike.events import FindingRaised, IkeSaClosed, IpsecSaKeyed, MessageDecoded
from ikedecode.ike.header import HEADER_LENGTH, IsakmpHeader, parse_header
from ikedecode.ike.v1.payloads import MAX_PAYLOADS, parse_payloads
from ikedecode.keys.errors import KeyFileError
from ikedecode.keys.keyring import DhPrivate, DhSecret, KeyRing, Phase1KeyMaterial, PresharedKey
from ikedecode.keys.loader import load_key_text
from ikedecode.pipeline import Options, analyze
from ikedecode.render.json_report import render_json
from ikedecode.render.pcap_writer import DecryptedPcapWriter
from ikedecode.render.text import render_text

from . import corpus

GUARD_CODES = frozenset({"decoder-error", "diagnosis-error"})  # findings only a caught exception makes
MAX_REASONS = 64  # malformed reasons are fixed texts: hostile input must not invent new ones
SMALL_CAPS = (1, 2, 3, None)  # state caps tried by the targets (None: the default)


class FuzzFailure(AssertionError):
    """A guarantee does not hold for this input."""


def check(condition: object, what: str) -> None:
    if not condition:
        raise FuzzFailure(what)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    entry_point: str
    run: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    protect: int  # selector bytes at the front of an input
    max_size: int = 1 << 16


# -- shared checks --------------------------------------------------------------------------------


def check_accounting(stats: CaptureStats) -> None:
    buckets = stats.ike + stats.esp + stats.ah + stats.other + stats.malformed
    check(stats.packets == buckets, f"accounting: {stats.packets} packets, buckets sum to {buckets}")
    check(min(stats.ike, stats.esp, stats.ah, stats.other, stats.malformed) >= 0, "negative bucket")
    check(sum(stats.malformed_reasons.values()) == stats.malformed, "malformed frames without a reason")
    check(len(stats.malformed_reasons) <= MAX_REASONS, "malformed reasons are not fixed texts")
    check(all(reason.strip() for reason in stats.malformed_reasons), "empty malformed reason")
    check(len(stats.malformed_frames) <= 100, "malformed frame list grows with the input")
    check(all(text.strip() and frame >= 1 for frame, text in stats.malformed_frames), "bad malformed entry")
    check(stats.nat_keepalives <= stats.ike, "more NAT-T keepalives than IKE frames")
    if stats.truncated is not None:
        check(stats.truncated.strip() and "\n" not in stats.truncated, "truncation note not one line")


def strict_guards() -> None:
    """Make the engines' guards re-raise what they catch, so a campaign sees where it failed.

    For campaign workers and ``--replay`` only: with the guards intact (tests, users) a caught
    exception is a ``decoder-error`` finding, which the targets report as a failure too.
    """
    import ikedecode.ike.messages as messages_module
    import ikedecode.pipeline as pipeline_module

    def reraise(*args: object) -> None:
        raise args[-1]  # type: ignore[misc]

    messages_module.decoder_error_events = reraise  # type: ignore[assignment]
    messages_module.decoder_error_finding = reraise  # type: ignore[assignment]
    import ikedecode.ike.v2.engine as ikev2_engine_module

    ikev2_engine_module._decoder_error = reraise  # type: ignore[assignment]
    pipeline_module._esp_failure = reraise  # type: ignore[assignment]
    try:
        import ikedecode.analysis.diagnose as diagnose_module
    except ImportError:
        return
    catalogued = diagnose_module.finding

    def finding_or_reraise(code: str, *args: object, **kwargs: object):  # noqa: ANN202
        if code in GUARD_CODES:
            raise  # noqa: PLE0704 - called from the guard's except block: the exception it caught
        return catalogued(code, *args, **kwargs)

    diagnose_module.finding = finding_or_reraise


def check_no_guard_tripped(findings: list) -> None:  # noqa: ANN001
    for finding in findings:
        check(finding.code not in GUARD_CODES, f"a guard caught an exception: {finding.message}")


def check_one_line_error(message: str) -> None:
    check(message.strip() and "\n" not in message and "Traceback" not in message, f"bad error: {message!r}")


def all_findings(report: Report) -> list:
    return report.all_findings()


def other_renderers() -> list[tuple[str, Callable[..., str]]]:
    """Every output format the command line offers besides text and JSON (cisco, html, ...)."""
    # the table names "module:function" (lazy imports)
    from ikedecode.terminal.formats import RENDERERS, loaded

    return [(name, loaded(RENDERERS, name)) for name in sorted(RENDERERS) if name not in ("text", "json")]


def render_and_check(report: Report, show_keys: bool, secrets: list[bytes], pick: int | None = None) -> None:
    """Text and JSON, and with ``pick`` one more of the command line's formats."""
    text = render_text(report, show_keys=show_keys)
    if pick is not None and other_renderers():
        _, render = _pick(other_renderers(), pick)
        text += render(report, show_keys=show_keys)
    document = json.loads(render_json(report, show_keys=show_keys))
    check(isinstance(document, dict), "JSON report is not an object")
    if not show_keys:
        derived = []
        for sa in report.ike_sas:
            if sa.keys is not None:  # IKEv1 SKEYID.. or IKEv2 SKEYSEED, SK_*: every value is secret
                derived += [bytes.fromhex(value) for value in sa.keys.to_dict().values() if value]
        for ipsec in report.ipsec_sas:
            derived += [ipsec.encryption_key, ipsec.integrity_key]
        blob = text + json.dumps(document)
        for secret in [*secrets, *(d for d in derived if d and len(d) >= 8)]:
            check(secret.hex() not in blob, "a secret is in the output without show_keys")
            if secret.isascii() and secret.decode("ascii").isprintable():
                check(secret.decode("ascii") not in blob, "a preshared key is in the output")


def _pick(items: list | tuple, selector: int):  # noqa: ANN202
    return items[selector % len(items)]


# -- capture reading ------------------------------------------------------------------------------


def capture_reader(data: bytes) -> None:
    """``CaptureReader`` on a whole file; flags: gzip it, cut it, the reassembly cap."""
    if len(data) < 2:
        return
    flags, cut, body = data[0], data[1], data[2:]
    if flags & 1:
        body = gzip.compress(body, compresslevel=1)
    if flags & 2:
        body = body[: len(body) * cut // 256]
    buffers = (0, 1, 4, 1024)[(flags >> 2) & 3]
    try:
        reader = CaptureReader(io.BytesIO(body), "fuzz.pcap", max_fragment_buffers=buffers)
    except CaptureError as error:
        check_one_line_error(str(error))
        return
    count = 0
    for datagram in reader:
        count += 1
        check(datagram.kind in (Kind.IKE, Kind.ESP, Kind.AH), f"datagram of kind {datagram.kind}")
        check(1 <= datagram.frame <= reader.stats.packets, "datagram frame number out of range")
        check(datagram.frame in datagram.frames or not datagram.frames, "frame not among its frames")
    stats = reader.stats
    check_accounting(stats)
    check(count <= stats.ike + stats.esp + stats.ah, "more datagrams than IPsec frames")


def capture_seeds() -> list[bytes]:
    return [bytes([flags, 128]) + data for data in corpus.capture_files() for flags in (0, 1)]


# -- ISAKMP wire format ---------------------------------------------------------------------------


def ike_header(data: bytes) -> IsakmpHeader | None:
    """``parse_header``: a one-line error, or a header whose length and body fit the datagram and
    which renders (returned for further checks, ``targets_v2.ikev2_header``)."""
    try:
        header = parse_header(data)
    except MalformedMessage as error:
        check_one_line_error(str(error))
        return None
    check(HEADER_LENGTH <= header.length <= len(data), "header length outside the datagram")
    check(header.body == data[HEADER_LENGTH : header.length], "body is not bytes 28..length")
    json.dumps(header.to_dict())
    header.summary()
    return header


def header_seeds() -> list[bytes]:
    return list(corpus.ike_messages())


def ike_payloads(data: bytes) -> None:
    if len(data) < 2:
        return
    first, padded, body = data[0], bool(data[1] & 1), data[2:]
    chain = parse_payloads(first, body, 28, padded=padded)
    json.dumps(chain.to_dict())
    chain.summary()
    check(len(chain.payloads) <= MAX_PAYLOADS, "payload count beyond MAX_PAYLOADS")
    position = 28
    for payload in chain.payloads:
        payload.summary()
        payload.to_dict()
        check(payload.offset == position and payload.end <= 28 + len(body), "payload outside the chain")
        position = payload.end
    check(all(isinstance(p, str) and p for p in chain.problems), "empty problem text")


def payload_seeds() -> list[bytes]:
    return [bytes([first, int(padded)]) + body for first, body, padded in corpus.payload_chains()]


# -- the IKE engine -------------------------------------------------------------------------------


def _caps(flags: int) -> dict[str, int]:
    caps = {}
    sas = SMALL_CAPS[(flags >> 2) & 3]
    phase2 = SMALL_CAPS[(flags >> 4) & 3]
    if sas is not None:
        caps["max_sas"] = sas
    if phase2 is not None:
        caps["max_phase2_per_sa"] = phase2
    return caps


def run_session(
    session: corpus.Session, index: int, message: bytes, keyring: KeyRing, flags: int
) -> IkeEngine:
    """The session's IKE datagrams with message ``index`` replaced; flags: send it twice, caps."""
    return run_replaced(session, {index: [message]}, keyring, flags, index)


def run_replaced(
    session: corpus.Session, replacements: dict[int, list[bytes]], keyring: KeyRing, flags: int, pick: int
) -> IkeEngine:
    """The session's IKE datagrams, those at the keys of ``replacements`` replaced by the messages
    listed there (none: dropped); flags: send the first replacement twice, caps, render."""
    engine = IkeEngine(keyring, **_caps(flags))
    engine_findings: list = []
    unattached: list = []
    for position, original in enumerate(session.ike):
        messages = replacements.get(position)
        datagrams = [original]
        if messages is not None:
            datagrams = [replace(original, payload=m, nat_keepalive=False) for m in messages]
            if flags & 1 and datagrams:
                datagrams.insert(0, datagrams[0])
        for datagram in datagrams:
            events = engine.receive(datagram)
            decoded = [e for e in events if type(e) is MessageDecoded]
            check(bool(decoded) or datagram.nat_keepalive, "receive decoded nothing for a message")
            for event in events:
                if type(event) is IpsecSaKeyed:
                    try:
                        ipsec_sa_from_child(event.keys)
                    except ValueError:
                        pass  # the analysis turns this into an ipsec-sa-unkeyed finding
                elif type(event) is FindingRaised:
                    engine_findings.append(event.finding)
            unattached.extend(e.message for e in decoded if not e.attached)
    finished = engine.finish()
    sas = [e.sa for e in finished if type(e) is IkeSaClosed]
    engine_findings.extend(e.finding for e in finished if type(e) is FindingRaised)
    findings = list(engine_findings)
    for sa in sas:
        findings.extend(sa.findings)
    check_no_guard_tripped(findings)
    if flags & 2:
        report = Report("fuzz", CaptureStats(), sas, list(engine_findings), unattached)
        render_and_check(report, bool(flags & 64), [] if flags & 64 else session.secrets, pick)
    return engine


def _session_input(data: bytes, keyed: bool) -> tuple[corpus.Session, int, int, bytes] | None:
    pool = corpus.keyed_sessions() if keyed else corpus.sessions()
    pool = tuple(s for s in pool if s.ike)
    if len(data) < 3 or not pool:
        return None
    session = _pick(pool, data[0])
    return session, data[1] % len(session.ike), data[2], data[3:]


def ike_engine_clear(data: bytes) -> None:
    """The engine without keys: every clear-text path, encrypted messages left alone."""
    decoded = _session_input(data, keyed=False)
    if decoded is not None:
        session, index, flags, message = decoded
        run_session(session, index, message, KeyRing(), flags)


def ike_engine_keys(data: bytes) -> None:
    """The engine with the capture's real keys; the mutated message is ciphertext-level."""
    decoded = _session_input(data, keyed=True)
    if decoded is not None:
        session, index, flags, message = decoded
        run_session(session, index, message, session.keyring(), flags)


def _session_seeds(keyed: bool, extra: Callable[[corpus.Session, int], bytes] | None = None) -> list[bytes]:
    pool = corpus.keyed_sessions() if keyed else corpus.sessions()
    pool = tuple(s for s in pool if s.ike)
    seeds = []
    for number, session in enumerate(pool):
        for index, datagram in enumerate(session.ike):
            body = extra(session, index) if extra else datagram.payload
            seeds.append(bytes([number, index, 2 if index % 3 == 0 else 0]) + body)
    return seeds


def ike_engine_plaintext(data: bytes) -> None:
    """Real keys; the mutated *plaintext* is encrypted again with the key and IV the engine will use,
    so mutations reach the payload decoders, hash checks and quick-mode keying behind decryption.
    Input after the selector: the 28-byte ISAKMP header, then the plaintext."""
    decoded = _session_input(data, keyed=True)
    if decoded is None:
        return
    session, index, flags, body = decoded
    opened = session.ike_plaintexts.get(index)
    if opened is None or len(body) < HEADER_LENGTH:
        run_session(session, index, body, session.keyring(), flags)
        return
    header, plaintext = bytearray(body[:HEADER_LENGTH]), body[HEADER_LENGTH:]
    block = ciphers.block_size(opened.cipher_id)
    if not flags & 128:  # pad to whole blocks (else the engine must reject a partial block)
        plaintext += bytes(-len(plaintext) % block)
    whole = len(plaintext) - len(plaintext) % block
    ciphertext = ciphers.cbc_encrypt(opened.cipher_id, opened.key, opened.iv, plaintext[:whole])
    ciphertext += plaintext[whole:]
    if not flags & 32:  # keep the length field consistent
        header[24:28] = (HEADER_LENGTH + len(ciphertext)).to_bytes(4, "big")
    run_session(session, index, bytes(header) + ciphertext, session.keyring(), flags)


def plaintext_seeds() -> list[bytes]:
    def body(session: corpus.Session, index: int) -> bytes:
        opened = session.ike_plaintexts.get(index)
        message = session.ike[index].payload
        return message[:HEADER_LENGTH] + opened.plaintext if opened else message

    return _session_seeds(True, body)


def _take(data: bytes, at: int, size: int) -> tuple[bytes, int]:
    return data[at : at + size], at + size


def ike_engine_random_keys(data: bytes) -> None:
    """Random PSKs, DH secrets and private values, direct IKE keys of random lengths, scoped to
    this SA or another: wrong keys must be findings. Input after the selector: a key-spec byte,
    lengths and key bytes, then the message."""
    decoded = _session_input(data, keyed=False)
    if decoded is None or len(decoded[3]) < 4:
        return
    session, index, flags, rest = decoded
    spec, lengths, at = rest[0], rest[1:4], 4
    cookie = session.ike[0].payload[:8]
    ring = KeyRing()
    if spec & 1:
        secret, at = _take(rest, at, lengths[0] % 64 + 1)
        ring.psks.append(PresharedKey(secret, "fuzz psk"))
    if spec & 2:
        value, at = _take(rest, at, lengths[1] * 2 + 1)
        scope = cookie if spec & 8 else (bytes(8) if spec & 16 else None)
        ring.dh_secrets.append(DhSecret(value, "fuzz dh secret", initiator_cookie=scope))
    if spec & 4:
        key, at = _take(rest, at, lengths[2] % 40)
        responder = session.ike[-1].payload[8:16] if spec & 32 else None
        ring.phase1_keys.append(
            Phase1KeyMaterial(cookie, "fuzz ike keys", responder_cookie=responder, encryption_key=key)
        )
    if spec & 64:
        value, at = _take(rest, at, lengths[0] % 300 + 1)
        ring.dh_privates.append(DhPrivate(value, "fuzz dh private"))
    message = rest[at:] or session.ike[index].payload
    run_session(session, index, message, ring, flags)


def random_key_seeds() -> list[bytes]:
    rng = random.Random(7)
    seeds = []
    for seed in _session_seeds(False):
        spec = rng.randrange(128)
        keys = rng.randbytes(rng.choice((16, 64, 200, 400)))
        seeds.append(seed[:3] + bytes([spec]) + rng.randbytes(3) + keys + seed[3:])
    return seeds


# -- ESP and AH -----------------------------------------------------------------------------------


def _process(session: corpus.Session, datagrams: list[Datagram], write: bool) -> None:
    processor = EspProcessor(SaDatabase(session.keyring().ipsec_sas))
    writer = DecryptedPcapWriter(io.BytesIO()) if write else None
    for datagram in datagrams:
        layers = processor.process_nested(datagram)
        for result in layers:
            check(isinstance(result.status, EspStatus), "result without a status")
            if result.has_plaintext:
                check(isinstance(result.payload, bytes), "plaintext status without plaintext")
        if writer is not None and layers:
            writer.write_layers(layers)
    check(len(processor.malformed) <= MAX_REASONS, "ESP malformed reasons are not fixed texts")


def _esp_pool() -> tuple[corpus.Session, ...]:
    return tuple(s for s in corpus.sessions() if s.esp and s.key_texts)


def esp_processor(data: bytes) -> None:
    """ESP/AH packets of a capture, one replaced by the input, with the capture's SAs."""
    pool = _esp_pool()
    if len(data) < 3 or not pool:
        return
    session = _pick(pool, data[0])
    index, flags = data[1] % len(session.esp), data[2]
    before = session.esp[max(0, index - 3) : index] if flags & 1 else []
    mutated = replace(session.esp[index], payload=data[3:])
    _process(session, [*before, mutated], bool(flags & 2))


def esp_seeds() -> list[bytes]:
    return [
        bytes([number, index, index & 3]) + datagram.payload
        for number, session in enumerate(_esp_pool())
        for index, datagram in enumerate(session.esp)
    ]


def _plaintext_pool() -> tuple[corpus.Session, ...]:
    return tuple(s for s in _esp_pool() if s.esp_plaintexts)


def esp_plaintext(data: bytes) -> None:
    """A mutated inner packet, encrypted and authenticated again with the SA's keys, so that the
    trailer, padding and inner-packet parsers see it. After the selector: next header, flags,
    then the payload."""
    pool = _plaintext_pool()
    if len(data) < 4 or not pool:
        return
    session = _pick(pool, data[0])
    known = _pick(session.esp_plaintexts, data[1])
    next_header, flags, payload = data[2], data[3], data[4:]
    original = session.esp[known.index]
    sas = [sa for sa in session.keyring().ipsec_sas if sa.spi == known.spi and sa.dst in (None, original.dst)]
    if not sas or not sas[0].supported:
        return
    encoder = EspEncoder(sas[0])
    tfc = (flags >> 1) & 7
    padding = None
    if flags & 1:  # non-default padding bytes (RFC 4303 2.4 allows other schemes; ikedecode reports them)
        alignment = encoder.encryption.pad_alignment
        size = -(len(payload) + tfc + 2) % alignment + alignment * (flags >> 4)
        padding = (payload * size)[-size:] if size and payload else bytes(size)
    packet = encoder.encode(payload, next_header, known.seq, padding=padding, tfc_padding=tfc)
    _process(session, [replace(original, payload=packet)], bool(flags & 8))


def esp_plaintext_seeds() -> list[bytes]:
    return [
        bytes([number, position, known.next_header, 0]) + known.payload
        for number, session in enumerate(_plaintext_pool())
        for position, known in enumerate(session.esp_plaintexts)
    ]


ENCRYPTIONS = sorted(ENCRYPTION_ALGORITHMS)
INTEGRITIES = sorted(INTEGRITY_ALGORITHMS)


def esp_random_sa(data: bytes) -> None:
    """Any algorithm pair, keys of any length, any packet: an SA that cannot exist is refused
    with ValueError (the key file reader's one-line error), a packet never raises."""
    pool = _esp_pool()
    if len(data) < 6 or not pool:
        return
    session = _pick(pool, data[0])
    original = _pick(session.esp, data[1])
    encryption, integrity = _pick(ENCRYPTIONS, data[2]), _pick(INTEGRITIES, data[3])
    enc_len, int_len = data[4] % 80, data[5] % 80
    keys, packet = data[6 : 6 + enc_len + int_len], data[6 + enc_len + int_len :]
    protocol = "ah" if data[2] & 0x80 else "esp"
    spi = int.from_bytes(packet[:4], "big") if protocol == "esp" else int.from_bytes(packet[4:8], "big")
    try:
        sa = IpsecSa(
            protocol,
            spi,
            encryption="null" if protocol == "ah" else encryption,
            encryption_key=keys[:enc_len],
            integrity=integrity,
            integrity_key=keys[enc_len:],
            esn=bool(data[1] & 1),
        )
    except ValueError as error:
        check_one_line_error(str(error))
        return
    kind = Kind.AH if protocol == "ah" else Kind.ESP
    processor = EspProcessor(SaDatabase([sa]))
    for result in processor.process_nested(replace(original, payload=packet, kind=kind)):
        check(isinstance(result.status, EspStatus), "result without a status")


def random_sa_seeds() -> list[bytes]:
    rng = random.Random(11)
    seeds = []
    for number, session in enumerate(_esp_pool()):
        for index, datagram in enumerate(session.esp[:8]):
            selector = bytes([number, index, rng.randrange(256), rng.randrange(256), 16, 20])
            seeds.append(selector + rng.randbytes(36) + datagram.payload)
    return seeds


# -- key files, the whole pipeline, the command line ----------------------------------------------


def key_file(data: bytes) -> None:
    """A mutated key file: KeyFileError (one line) or a KeyRing the pipeline runs with."""
    pool = corpus.keyed_sessions()
    if len(data) < 1 or not pool:
        return
    session = _pick(pool, data[0])
    text = data[1:].decode("utf-8", "replace")
    try:
        ring = load_key_text(text, "fuzz.toml")
    except KeyFileError as error:
        check_one_line_error(str(error))
        return
    report = analyze(CaptureReader(io.BytesIO(session.capture), session.name), ring)
    check_accounting(report.stats)
    check_no_guard_tripped(all_findings(report))
    render_and_check(report, False, [], len(text))


def key_file_seeds() -> list[bytes]:
    return [
        bytes([number]) + text.encode()
        for number, session in enumerate(corpus.keyed_sessions())
        for text in session.key_texts
    ]


def key_log(data: bytes) -> None:
    """A mutated charon log (``--keylog``): KeyFileError (one line) or keys the engine runs with."""
    from ikedecode.keys.loader import load_keylog_text

    pool = corpus.keyed_sessions()
    if len(data) < 1 or not pool:
        return
    session = _pick(pool, data[0])
    try:
        ring = load_keylog_text(data[1:].decode("utf-8", "replace"), "fuzz.log")
    except KeyFileError as error:
        check_one_line_error(str(error))
        return
    run_session(session, 0, session.ike[0].payload, ring, 2)


def key_log_seeds() -> list[bytes]:
    by_name = {s.name: number for number, s in enumerate(corpus.keyed_sessions())}
    return [bytes([by_name.get(name, 0)]) + text.encode() for name, text in corpus.daemon_logs()]


def _capture_pool() -> tuple[corpus.Session, ...]:
    return tuple(s for s in corpus.sessions() if len(s.capture) <= 64 * 1024)


def pipeline(data: bytes) -> None:
    """A mutated capture through capture reading, both engines and both renderers."""
    pool = _capture_pool()
    if len(data) < 2 or not pool:
        return
    session, flags, body = _pick(pool, data[0]), data[1], data[2:]
    if flags & 1:
        body = gzip.compress(body, compresslevel=1)
    options = Options(**{k.replace("max_sas", "max_ike_sas"): v for k, v in _caps(flags).items()})
    buffers = (0, 1, 1024, 1024)[(flags >> 6) & 3]
    try:
        reader = CaptureReader(io.BytesIO(body), "fuzz.pcap", max_fragment_buffers=buffers)
    except CaptureError as error:
        check_one_line_error(str(error))
        return
    report = analyze(reader, session.keyring(), options)
    check_accounting(report.stats)
    check_no_guard_tripped(all_findings(report))
    show_keys = bool(flags & 2)
    render_and_check(report, show_keys, [] if show_keys else session.secrets, len(body))


def pipeline_seeds() -> list[bytes]:
    plain = []
    for number, session in enumerate(_capture_pool()):
        data = session.capture
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        plain.append(bytes([number, 0]) + data)
    return plain


_WORKDIR: list[str] = []


def _workdir() -> str:
    if not _WORKDIR:
        _WORKDIR.append(tempfile.mkdtemp(prefix="ikedecode-fuzz-"))
        atexit.register(shutil.rmtree, _WORKDIR[0], True)
    return _WORKDIR[0]


def cli(data: bytes) -> None:
    """``ikedecode FILE --keys KEYS`` end to end: exit 0 with a report, or 2 with one line; never 3."""
    from click.testing import CliRunner

    from ikedecode.cli import main

    pool = _capture_pool()
    if len(data) < 2 or not pool:
        return
    session, flags, body = _pick(pool, data[0]), data[1], data[2:]
    workdir = _workdir()
    capture = os.path.join(workdir, "capture.pcap")
    keys = os.path.join(workdir, "keys.toml")
    with open(capture, "wb") as out:
        out.write(gzip.compress(body, compresslevel=1) if flags & 1 else body)
    with open(keys, "w", encoding="utf-8") as out:
        out.write(session.key_texts[0] if session.key_texts else "")
    formats = ["json", "text", *(name for name, _ in other_renderers())]
    fmt = _pick(formats, flags >> 4) if flags & 2 else "text"
    args = [capture, "--format", fmt, "-q"]
    if session.key_texts:
        args += ["--keys", keys]
    if flags & 4:
        args += ["--max-ike-sas", "1", "--max-phase2-per-sa", "1", "--max-fragment-buffers", "1"]
    if flags & 8:
        args += ["--write-decrypted", os.path.join(workdir, "out.pcap")]
    result = CliRunner().invoke(main, args, env={"IKEDECODE_DEBUG": ""})
    check(
        result.exit_code in (0, 2), f"exit status {result.exit_code}: {result.stderr!r} {result.exception!r}"
    )
    if result.exit_code == 2:
        check_one_line_error(result.stderr.removesuffix("\n"))
        check(result.stderr.startswith("ikedecode: "), "error without the program name")
    else:
        check(result.stdout, "exit 0 without a report")
        if fmt == "json":
            json.loads(result.stdout)


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("capture", "capture.CaptureReader", capture_reader, capture_seeds, 2, 1 << 20),
        Target("header", "ike.header.parse_header", ike_header, header_seeds, 0),
        Target("payloads", "ike.payloads.parse_payloads", ike_payloads, payload_seeds, 2),
        Target(
            "engine-clear",
            "ike.engine.IkeEngine.receive (no keys)",
            ike_engine_clear,
            lambda: _session_seeds(False),
            3,
        ),
        Target(
            "engine-keys",
            "ike.engine.IkeEngine.receive (real keys)",
            ike_engine_keys,
            lambda: _session_seeds(True),
            3,
        ),
        Target(
            "engine-plaintext",
            "ike.engine.IkeEngine.receive (re-encrypted plaintext)",
            ike_engine_plaintext,
            plaintext_seeds,
            3,
        ),
        Target(
            "engine-random-keys",
            "ike.engine.IkeEngine.receive (random keys)",
            ike_engine_random_keys,
            random_key_seeds,
            3,
        ),
        Target("esp", "esp.processor.EspProcessor.process_nested", esp_processor, esp_seeds, 3),
        Target(
            "esp-plaintext",
            "esp.processor (re-encrypted inner packet)",
            esp_plaintext,
            esp_plaintext_seeds,
            4,
        ),
        Target("esp-random-sa", "esp.processor (random SA)", esp_random_sa, random_sa_seeds, 6),
        Target("key-file", "keys.loader.load_key_text + pipeline", key_file, key_file_seeds, 1),
        Target("key-log", "keys.loader.load_keylog_text + engine", key_log, key_log_seeds, 1, 1 << 18),
        Target("pipeline", "pipeline.analyze + renderers", pipeline, pipeline_seeds, 2, 1 << 17),
        Target("cli", "cli.main (CliRunner)", cli, pipeline_seeds, 2, 1 << 17),
    )
}

from . import targets_v2  # noqa: E402 - the IKEv2 targets use the shared checks above

# importing targets_v2 first runs this module before its targets exist: it then registers them itself
TARGETS.update(getattr(targets_v2, "IKEV2_TARGETS", {}))
