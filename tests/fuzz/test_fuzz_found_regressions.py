"""What the fuzz campaigns found, kept as regression tests, and the guards and bounds behind them.

Found by ``python -m fuzz.run`` (fuzz/README.md has the campaign log):
1. the text report raised ValueError on a capture timestamp outside the calendar (pipeline), and so
   did every other output format (found by hand after it);
2. aggressive mode whose accepted transform names an unknown hash raised UnsupportedAlgorithm
   while checking HASH_R (engine-plaintext);
3. a responder SA payload arriving after the keys were derived replaced the phase-1 policy, so
   later IV and hash computations ran with an algorithm the keys were not made with;
5. an IKEv2 CERT payload whose X.509 certificate has a version field beyond v3 raised
   cryptography's ``InvalidVersion`` (not a ValueError) out of the certificate parser (v2-fragments,
   issue 14's campaign).
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.capture import CaptureReader
from ikedecode.capture.datagram import Kind
from ikedecode.cli import main
from ikedecode.esp.ciphers import EspCrypto
from ikedecode.esp.sequence import SequenceTracker
from ikedecode.ike.engine import IkeEngine
from ikedecode.ike.events import FindingRaised, IkeEvent, IkeSaClosed, MessageDecoded
from ikedecode.ike.records import IkeMessage, IkeSa, Protection
from ikedecode.ike.v1 import engine as engine_module
from ikedecode.ike.v1.fragments import MAX_PROBLEMS_KEPT, FragmentCollector
from ikedecode.ike.v1.payloads import FragmentPayload
from ikedecode.ike.v1.phase1_messages import Phase1Messages
from ikedecode.keys.loader import load_key_text
from ikedecode.pipeline import analyze
from ikedecode.render.clock import utc_moment
from ikedecode.terminal.formats import RENDERERS

ROOT = Path(__file__).resolve().parents[2]


def lab(name: str) -> tuple[list, object, bytes]:
    """IKE datagrams, KeyRing and file bytes of a lab capture."""
    data = (ROOT / "captures" / f"{name}.pcap").read_bytes()
    ring = load_key_text((ROOT / "keys" / f"{name}.toml").read_text(), name)
    ike = [d for d in CaptureReader(io.BytesIO(data)) if d.kind is Kind.IKE]
    return ike, ring, data


def decoded(events: list[IkeEvent]) -> IkeMessage | None:
    """The record of the datagram ``receive`` was given (None: nothing decoded)."""
    return next((e.message for e in events if isinstance(e, MessageDecoded)), None)


def raised(events: list[IkeEvent]) -> list:
    return [e.finding for e in events if isinstance(e, FindingRaised)]


def closed(events: list[IkeEvent]) -> list[IkeSa]:
    return [e.sa for e in events if isinstance(e, IkeSaClosed)]


def all_codes(events: list[IkeEvent]) -> list[str]:
    """Codes of the findings raised by the engine and of those its closed IKE SAs carry."""
    return [f.code for f in raised(events)] + [f.code for sa in closed(events) for f in sa.findings]


# --- 1. timestamps outside the calendar ----------------------------------------------------------


@pytest.fixture(scope="module")
def far_future_capture(tmp_path_factory) -> Path:  # noqa: ANN001
    import struct

    from capture.builders import epb, ethernet, idb, ipv4, shb, udp

    message = bytes.fromhex("11223344556677880000000000000000") + struct.pack("!BBBBII", 0, 0x10, 2, 0, 0, 28)
    frame = ethernet(ipv4("198.51.100.1", "203.0.113.1", 17, udp(500, 500, message)))
    path = tmp_path_factory.mktemp("clock") / "far-future.pcapng"
    seconds = 1 << 55  # about a billion years after 1970
    path.write_bytes(shb() + idb(1, tsresol=0) + epb(0, seconds, frame))  # if_tsresol 0: whole seconds
    return path


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
def test_a_timestamp_a_billion_years_away_renders_in_every_format(far_future_capture, fmt):
    result = CliRunner().invoke(main, [str(far_future_capture), "-q", "--format", fmt])
    assert result.exit_code == 0, result.stderr
    if fmt not in ("json", "text"):
        assert "9999-12-31" in result.stdout or "Dec 31 23:59:59" in result.stdout


def test_times_outside_the_calendar_are_clamped_to_its_ends():
    assert utc_moment(2.0**60).isoformat() == "9999-12-31T23:59:59.999999+00:00"
    assert utc_moment(-(2.0**60)).isoformat() == "0001-01-01T00:00:00+00:00"
    assert utc_moment(float("nan")).year in (1, 9999)
    assert utc_moment(1_700_000_000.25).isoformat() == "2023-11-14T22:13:20.250000+00:00"


# --- 2. an unknown hash in the accepted aggressive-mode transform --------------------------------


def test_aggressive_mode_accepting_an_unknown_hash_notes_that_hash_r_was_not_checked():
    ike, ring, _ = lab("am-aes128-sha1-modp2048")
    am2 = ike[1].payload
    sha1 = bytes.fromhex("80020002")  # Hash Algorithm = SHA (RFC 2409 Appendix A), once in AM2
    assert am2.count(sha1) == 1
    ike[1] = replace(ike[1], payload=am2.replace(sha1, bytes.fromhex("80020300")))
    engine = IkeEngine(ring)
    events = [engine.receive(d) for d in ike]
    records = [decoded(e) for e in events]
    assert "decoder-error" not in all_codes([*sum(events, []), *engine.finish()])
    assert records[1].label == "AM2"
    assert records[1].note == "HASH_R not checked: unknown IKE hash algorithm 768"


# --- 3. the policy stays the one the keys were made with -----------------------------------------


def test_a_late_responder_sa_payload_does_not_change_the_policy_of_derived_keys():
    ike, ring, _ = lab("mm-aes128-sha1-modp2048")
    mm2 = ike[1].payload
    late = mm2.replace(bytes.fromhex("80020002"), bytes.fromhex("80020300"))  # same MM2, unknown hash
    assert late != mm2
    engine = IkeEngine(ring)
    events = [event for datagram in ike[:4] for event in engine.receive(datagram)]
    chosen = next(iter(engine.v1.table)).sa.chosen
    assert chosen
    events += engine.receive(replace(ike[1], payload=late, frame=99))
    later = [engine.receive(d) for d in ike[4:]]
    records = [decoded(e) for e in later]
    events += [*sum(later, []), *engine.finish()]
    sas = closed(events)
    assert "decoder-error" not in all_codes(events)
    assert sas[0].chosen == chosen
    verified = [r.label for r in records if r.protection is Protection.VERIFIED]
    # the late MM2 counts as the responder's third message, so labels after it shift; the keys hold
    assert verified[0] == "MM5" and {"QM1", "QM2", "QM3"} <= set(verified)


# --- the guards: one bad message or packet is a finding, the rest is decoded ---------------------


def test_an_exception_inside_the_engine_becomes_a_finding_and_decoding_goes_on(monkeypatch):
    ike, ring, _ = lab("mm-aes128-sha1-modp2048")
    real = Phase1Messages.message

    def failing(self, state, msg, role, step):  # noqa: ANN001, ANN202
        if msg.label == "MM3":
            raise RuntimeError("planted")
        return real(self, state, msg, role, step)

    monkeypatch.setattr(Phase1Messages, "message", failing)
    engine = IkeEngine(ring)
    events = [engine.receive(d) for d in ike]
    records = [decoded(e) for e in events]
    finished = engine.finish()
    sas = closed(finished)
    assert all(r is not None for r in records)
    (error,) = [f for f in raised([*sum(events, []), *finished]) if f.code == "decoder-error"]
    assert error.evidence == {"frame": ike[2].frame, "exception": "RuntimeError"}
    assert "planted" not in error.message  # exception texts may carry data: only the type is shown
    assert [r.label for r in records[:2]] == ["MM1", "MM2"] and records[3].label == "MM4"
    assert sas and len(sas[0].messages) >= 10


def test_an_exception_while_concluding_an_sa_is_a_finding(monkeypatch):
    ike, ring, _ = lab("mm-aes128-sha1-modp2048")
    monkeypatch.setattr(engine_module.Ikev1Engine, "_conclude", lambda self, state: 1 / 0)
    engine = IkeEngine(ring)
    events = [event for datagram in ike for event in engine.receive(datagram)] + engine.finish()
    assert len(closed(events)) == 1
    assert [f.evidence["exception"] for f in raised(events) if f.code == "decoder-error"] == [
        "ZeroDivisionError"
    ]


def test_an_exception_on_one_esp_packet_is_one_counted_finding(monkeypatch):
    _, ring, data = lab("mm-aes128-sha1-modp2048")
    real = EspCrypto.open

    def failing(self, packet, *args):  # noqa: ANN001, ANN202
        if int.from_bytes(bytes(packet[4:8]), "big") in (3, 5):  # sequence numbers 3 and 5, both ways
            raise KeyError("planted")
        return real(self, packet, *args)

    monkeypatch.setattr(EspCrypto, "open", failing)
    monkeypatch.setattr(EspCrypto, "cbc_hmac_parts", lambda self: None)  # no inlined fast lane
    report = analyze(CaptureReader(io.BytesIO(data)), ring)
    (error,) = [f for f in report.findings if f.code == "decoder-error"]
    esp = [d for d in CaptureReader(io.BytesIO(data)) if d.kind == "esp"]
    failed = [d.frame for d in esp if int.from_bytes(d.payload[4:8], "big") in (3, 5)]
    assert len(failed) == 4
    assert error.evidence == {"first_frame": failed[0], "exception": "KeyError", "packets": 4}
    assert sum(sa.counters.verified for sa in report.ipsec_sas) == 12  # the 12 others


def test_an_exception_accounting_for_a_group_of_esp_packets_is_one_counted_finding(monkeypatch):
    _, ring, data = lab("mm-aes128-sha1-modp2048")
    real = SequenceTracker.record_run
    runs = []

    def failing(self, sequences):  # noqa: ANN001, ANN202
        runs.append(len(sequences))
        if len(runs) == 1:
            raise ZeroDivisionError("planted")
        return real(self, sequences)

    monkeypatch.setattr(SequenceTracker, "record_run", failing)
    report = analyze(CaptureReader(io.BytesIO(data)), ring)
    (error,) = [f for f in report.findings if f.code == "decoder-error"]
    assert error.evidence["exception"] == "ZeroDivisionError"
    assert error.evidence["packets"] == runs[0] > 0
    assert sum(sa.counters.verified for sa in report.ipsec_sas) == 16 - runs[0]


# --- bounds that hostile input used to grow ------------------------------------------------------


def test_dropped_ike_sas_leave_no_index_entries_behind():
    ike, _, _ = lab("mm-aes128-sha1-modp2048")
    engine = IkeEngine(max_sas=10)
    events: list[IkeEvent] = []
    for n in range(50):
        cookie = n.to_bytes(8, "big")
        events += engine.receive(replace(ike[0], payload=cookie + ike[0].payload[8:]))
    events += engine.finish()
    assert len(closed(events)) == 10
    assert len(engine.v1.table._by_initiator_cookie) == 10
    (cap,) = [f for f in raised(events) if f.code == "state-cap"]
    assert cap.evidence["dropped"] == 40


def test_ike_fragment_problems_are_described_up_to_a_bound_and_counted_beyond():
    collector = FragmentCollector()
    for n in range(1000):
        collector.add(
            b"i" * 8,
            b"r" * 8,
            FragmentPayload(
                type=132, offset=28, raw=b"", next_payload=0, fragment_id=n, number=0, flags=0, data=b""
            ),
        )
    assert len(collector.dropped) == MAX_PROBLEMS_KEPT
    notes = collector.incomplete()
    assert notes[-1] == f"{1000 - MAX_PROBLEMS_KEPT} more IKE fragment problems not listed"


@pytest.mark.parametrize("cap", [1, 3])
def test_the_phase2_cap_forgets_the_per_message_id_state_of_dropped_exchanges(cap):
    ike, ring, _ = lab("esp-rekey-delete")
    engine = IkeEngine(ring, max_phase2_per_sa=cap)
    events = [event for datagram in ike for event in engine.receive(datagram)] + engine.finish()
    sas = closed(events)
    assert sas and all(len(sa.phase2) <= cap for sa in sas)
    for state in engine.v1.table:
        assert len(state.quick_modes) <= cap and len(state.qm_initiator) <= cap
    assert "decoder-error" not in all_codes(events)


# --- 4. SA lookup by cookie pair (was a scan: quadratic under a responder-cookie flood) ----------
# The speed is measured by ``python -m fuzz.flood rcky-flood``; here the lookup's meaning.


def test_sas_are_found_by_cookie_pair_whatever_the_number_of_responder_cookies():
    import struct

    from ikedecode.capture.datagram import Datagram

    def message(icky: bytes, rcky: bytes, frame: int) -> Datagram:
        data = icky + rcky + struct.pack("!BBBBII", 0, 0x10, 2, 0, 0, 28)
        return Datagram(frame, float(frame), Kind.IKE, "198.51.100.1", "203.0.113.1", 500, 500, data)

    engine = IkeEngine()
    icky = b"A" * 8
    engine.receive(message(icky, bytes(8), 1))  # MM1: responder cookie not known yet
    for n in range(1, 501):
        engine.receive(message(icky, n.to_bytes(8, "big"), n + 1))
    engine.receive(message(icky, (7).to_bytes(8, "big"), 1000))  # the 7th pair again
    engine.receive(message(icky, bytes(8), 1001))  # a zero responder cookie: the newest SA
    sas = closed(engine.finish())
    assert len(sas) == 500
    assert sas[0].responder_cookie == (1).to_bytes(8, "big")  # the first reply completed the first SA
    assert [m.frame for m in sas[0].messages] == [1, 2]
    assert [m.frame for m in sas[6].messages] == [8, 1000]
    assert [m.frame for m in sas[-1].messages] == [501, 1001]


# --- 5. X.509 version beyond v3 in a CERT payload (InvalidVersion escaped parse_certificate) ------


def x509_version_4() -> bytes:
    """The lab's east RSA certificate with its version field set to 3 (X.509 v4, which does not exist)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = (ROOT / "keys" / "ikev2-pki" / "east-rsa.crt").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    version_v3 = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2 (v3), first in tbsCertificate
    assert der.find(version_v3) < 16
    return der.replace(version_v3, bytes.fromhex("a003020103"), 1)


def test_a_certificate_of_an_unknown_x509_version_is_a_certificate_error():
    from ikedecode.ike.certificates import CertificateError, parse_certificate

    with pytest.raises(CertificateError, match="not a readable X.509 certificate"):
        parse_certificate(x509_version_4())


def test_an_ikev2_cert_payload_of_an_unknown_x509_version_is_a_problem_not_an_exception():
    import struct

    from ikedecode.ike.v2.payloads import parse_ikev2_payloads

    body = bytes([4]) + x509_version_4()  # encoding 4: X.509 Certificate - Signature
    chain = parse_ikev2_payloads(37, struct.pack("!BBH", 0, 0, 4 + len(body)) + body, 0, inner=True)
    assert len(chain.payloads) == 1 and chain.payloads[0].info is None
    assert any("does not parse" in problem for problem in chain.problems)
