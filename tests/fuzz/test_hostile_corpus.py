"""The broken captures of tests/corpus/ through the command line, each with its expected handling.

Files that cannot be read: one line on stderr, exit 2. Everything else: exit 0 with a report whose
accounting adds up (packets = ike + esp + ah + other + malformed), whose malformed frames say
why, and which says what was wrong as findings. tests/corpus/README.md lists the files;
tests/corpus/make_corpus.py makes them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from ikedecode.capture import open_capture
from ikedecode.cli import main

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
LAB_KEYS = Path(__file__).resolve().parents[2] / "keys" / "mm-aes128-sha1-modp2048.toml"
LAB_CAPTURE = Path(__file__).resolve().parents[2] / "captures" / "mm-aes128-sha1-modp2048.pcap"
BUCKETS = ("ike", "esp", "ah", "other", "malformed")


def run(*args: object) -> tuple[int, dict | None, str]:
    """exit status, the JSON report (None without one), stderr."""
    result = CliRunner().invoke(main, [str(a) for a in args] + ["--format", "json", "-q"])
    report = json.loads(result.stdout) if result.exit_code == 0 else None
    if report is not None:
        capture = report["capture"]
        assert capture["packets"] == sum(capture[bucket] for bucket in BUCKETS)
        assert sum(capture["malformed_reasons"].values()) == capture["malformed"]
    return result.exit_code, report, result.stderr


def codes(report: dict) -> list[str]:
    return [f["code"] for f in report["findings"]]


def findings(report: dict, code: str) -> list[dict]:
    return [f for f in report["findings"] if f["code"] == code]


def messages(report: dict) -> list[dict]:
    return [m for sa in report["ike_sas"] for m in sa["messages"]]


# --- files ikedecode cannot read: one line, exit 2 -----------------------------------------------

UNREADABLE = {
    "not-a-capture.pcap": "not a pcap or pcapng file (starts with 3c 68 74 6d)",
    "empty.pcap": "empty file",
    "truncated-header.pcap": "truncated pcap file header (10 of 24 bytes)",
    "truncated-header.pcapng": "truncated pcapng section header (20 of 28 bytes)",
}


@pytest.mark.parametrize("name", sorted(UNREADABLE))
def test_a_file_that_is_no_capture_is_one_line_and_status_2(name):
    status, report, stderr = run(CORPUS / name)
    assert (status, report) == (2, None)
    assert stderr == f"ikedecode: {CORPUS / name}: {UNREADABLE[name]}\n"


def test_a_directory_a_missing_file_and_an_unreadable_file_are_one_line_and_status_2(tmp_path, monkeypatch):
    # a directory is read as every capture inside it (docs/scale.md): an empty one is an error
    assert run(tmp_path)[::2] == (2, f"ikedecode: {tmp_path}: no capture file in this directory\n")
    missing = tmp_path / "missing.pcap"
    assert run(missing)[::2] == (2, f"ikedecode: {missing}: no such file\n")
    locked = tmp_path / "locked.pcap"
    locked.write_bytes((CORPUS / "no-packets.pcap").read_bytes())
    if os.geteuid() == 0:  # root reads anything: make open() refuse as it would for a user
        real_open = open

        def refuse(path, *args, **kwargs):  # noqa: ANN001, ANN202
            if str(path) == str(locked):
                raise PermissionError(13, "Permission denied")
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr("builtins.open", refuse)
    else:
        locked.chmod(0)
    assert run(locked)[::2] == (2, f"ikedecode: {locked}: permission denied\n")


# --- files read as far as they go ----------------------------------------------------------------


def test_a_capture_without_packets_is_an_empty_report():
    status, report, _ = run(CORPUS / "no-packets.pcap")
    assert status == 0 and report["capture"]["packets"] == 0
    assert report["ike_sas"] == [] and report["findings"] == []


def test_frames_of_an_unknown_link_type_are_counted_as_other():
    status, report, _ = run(CORPUS / "unknown-linktype.pcap")
    assert status == 0
    assert (report["capture"]["packets"], report["capture"]["other"]) == (3, 3)


def test_unknown_pcapng_blocks_are_skipped_and_the_packets_around_them_decoded():
    status, report, _ = run(CORPUS / "unknown-blocks.pcapng")
    assert status == 0 and report["capture"]["ike"] == 4
    assert [m["label"] for m in messages(report)] == ["MM1", "MM2", "MM3", "MM4"]
    assert all(not m["problems"] for m in messages(report))


def test_a_gzip_compressed_capture_reads_like_the_plain_one():
    _, plain, _ = run(LAB_CAPTURE, "--keys", LAB_KEYS)
    status, gz, _ = run(CORPUS / "lab.pcap.gz", "--keys", LAB_KEYS)
    assert status == 0
    for report in (plain, gz):
        report["capture"].pop("name")
        report.pop("file", None)
    assert gz["capture"] == plain["capture"] and gz["ike_sas"] == plain["ike_sas"]
    assert gz["ipsec_sas"][0]["verified"] == 8


@pytest.mark.parametrize(
    ("name", "packets", "where"),
    [
        (
            "cut-mid-record.pcap",
            6,
            "file ends inside record 7 at byte offset 1648: header says 234 bytes, 30 present",
        ),
        ("cut-gzip-stream.pcap.gz", 16, "file ends inside record 17 at byte offset 3600"),
        ("corrupt-record-length.pcap", 2, "corrupt record 3 at byte offset 480: captured length 2147483647"),
    ],
)
def test_a_cut_or_corrupt_file_reports_what_was_read_and_where_it_stopped(name, packets, where):
    status, report, _ = run(CORPUS / name, "--keys", LAB_KEYS)
    assert status == 0 and report["capture"]["packets"] == packets
    assert report["capture"]["truncated"].startswith(where)
    truncated = findings(report, "capture-truncated")
    assert len(truncated) == 1 and where in truncated[0]["message"]
    assert truncated[0]["evidence"]["packets_read"] == packets
    if name.endswith(".gz"):
        assert "gzip decompression failed" in report["capture"]["truncated"]


# --- ISAKMP messages that lie --------------------------------------------------------------------


def test_hostile_isakmp_length_fields_are_malformed_messages_with_their_reason():
    status, report, _ = run(CORPUS / "ike-hostile-lengths.pcap")
    assert status == 0 and report["capture"]["ike"] == 6
    assert [m["problems"] for m in report["unattached_messages"]] == [
        ["20 bytes, too short for the 28-byte ISAKMP header"],
        ["length field 0 is smaller than the ISAKMP header"],
        ["length field 27 is smaller than the ISAKMP header"],
        ["truncated: length field says 4294967295 bytes, datagram has 48"],
        ["truncated: length field says 148 bytes, datagram has 48"],
    ]
    assert len(findings(report, "malformed-message")) == 5
    assert [m["label"] for m in messages(report)] == ["MM1"]  # the message with bytes after its end


def test_payload_chains_that_stop_loop_or_overrun_each_name_their_problem():
    status, report, _ = run(CORPUS / "ike-payload-chains.pcap")
    assert status == 0
    problems = [m["problems"] for m in messages(report)]
    assert problems[:6] == [
        ["Vendor ID payload at offset 28: length 0 is below 4"],
        ["Vendor ID payload at offset 28: length 3 is below 4"],
        ["Vendor ID payload at offset 28: length 4000 runs past the end (12 bytes left)"],
        ["more than 256 payloads; stopped at offset 1052"],
        ["40 trailing bytes after the last payload"],
        ["Security Association payload at offset 28: length 40285 runs past the end (64 bytes left)"],
    ]
    assert problems[6] == []  # an unassigned payload type is kept as bytes, not an error
    assert len(messages(report)[3]["payloads"]) == 256


NOTIFY_PROBLEM = (
    "Notification payload at offset 28: NOTIFY payload with a 255-byte SPI needs 263 bytes, body has 12"
)


def test_attributes_past_the_end_and_absurd_counts_are_problems_not_crashes():
    status, report, _ = run(CORPUS / "ike-attributes-overrun.pcap")
    assert status == 0
    assert [m["problems"] for m in messages(report)] == [
        ["attribute at offset 56: Encryption-Algorithm claims 65535 bytes, only 2 left"],
        ["proposal at offset 40: announces 255 transforms, holds 1"],
        ["DELETE payload at offset 28: announces 65535 SPIs of 16 bytes, only 1 fit"],
        [NOTIFY_PROBLEM],
        ["ID payload at offset 28: ID_IPV4_ADDR data is 3 bytes, expected 4"],
        ["Certificate payload at offset 28: CERT payload needs 1 bytes, body has 0"],
    ]


def test_an_encrypted_message_that_is_no_whole_number_of_blocks_is_damaged_not_a_key_problem():
    status, report, _ = run(CORPUS / "ike-encrypted-odd-length.pcap", "--keys", LAB_KEYS)
    assert status == 0
    mm5 = messages(report)[4]
    assert (mm5["label"], mm5["protection"]) == ("MM5", "undecryptable")
    assert mm5["note"] == "the encrypted part is 75 bytes, not a multiple of the 16-byte block"
    assert "wrong-keys" not in codes(report) and "psk-mismatch" not in codes(report)
    assert any("MM5" in f["message"] for f in findings(report, "malformed-message"))


def test_hostile_ike_fragments_are_bounded_findings():
    status, report, _ = run(CORPUS / "ike-fragments-hostile.pcap")
    assert status == 0 and report["capture"]["ike"] == 302
    notes = [f["message"] for f in findings(report, "ike-fragments-incomplete")]
    assert notes[:2] == [
        "IKE fragment number 0 out of range (1..64)",
        "IKE fragment number 255 out of range (1..64)",
    ]
    # 46 problems (2 numbers out of range, 44 sets pushed out): 20 described, the rest counted;
    # then the 256 sets still pending, one line each
    assert "26 more IKE fragment problems not listed" in notes
    assert len(notes) == 20 + 1 + 256


# --- bounded state: caps, findings when hit, flags to raise them ---------------------------------


def test_thousands_of_half_open_sas_are_all_reported_under_the_default_cap():
    status, report, _ = run(CORPUS / "ike-half-open-sas.pcap.gz")
    assert status == 0 and len(report["ike_sas"]) == 3000
    assert "state-cap" not in codes(report)


def test_the_ike_sa_cap_drops_the_oldest_with_one_finding():
    status, report, _ = run(CORPUS / "ike-half-open-sas.pcap.gz", "--max-ike-sas", 1000)
    assert status == 0 and len(report["ike_sas"]) == 1000
    assert report["ike_sas"][0]["initiator_cookie"] == f"{0x1000 + 2000:016x}"  # the newest 1000 kept
    (cap,) = findings(report, "state-cap")
    assert cap["evidence"]["dropped"] == 2000 and cap["evidence"]["cap"] == 1000
    assert cap["hint"] == "raise --max-ike-sas"


def test_the_phase2_cap_drops_the_oldest_exchanges_of_an_sa_with_one_finding():
    status, report, _ = run(CORPUS / "ike-many-phase2.pcap")
    assert status == 0 and len(report["ike_sas"][0]["phase2"]) == 40
    assert "state-cap-phase2" not in codes(report)
    status, report, _ = run(CORPUS / "ike-many-phase2.pcap", "--max-phase2-per-sa", 10)
    sa = report["ike_sas"][0]
    assert [ex["message_id"] for ex in sa["phase2"]] == [f"0x{0x100 + n:08x}" for n in range(30, 40)]
    (cap,) = findings(report, "state-cap-phase2")
    assert (cap["evidence"]["dropped"], cap["evidence"]["cap"]) == (30, 10)
    assert cap["hint"] == "raise --max-phase2-per-sa"


def test_the_fragment_buffer_cap_drops_the_oldest_datagrams_with_a_finding():
    status, report, _ = run(CORPUS / "ip-fragment-sets-over-cap.pcap")
    assert status == 0 and report["capture"]["malformed_reasons"] == {"incomplete IP fragment set": 40}
    assert "state-cap-fragments" not in codes(report)
    status, report, _ = run(CORPUS / "ip-fragment-sets-over-cap.pcap", "--max-fragment-buffers", 16)
    assert report["capture"]["malformed_reasons"] == {"incomplete IP fragment set": 40}
    (cap,) = findings(report, "state-cap-fragments")
    assert cap["evidence"]["dropped"] == 24 and cap["hint"] == "raise --max-fragment-buffers"


# --- IP and ESP ----------------------------------------------------------------------------------


def test_overlapping_fragments_keep_the_first_arrived_bytes_and_are_noted():
    status, report, _ = run(CORPUS / "ip-fragments-overlapping.pcap")
    assert status == 0
    assert (report["capture"]["ike"], report["capture"]["ip_fragments"]) == (4, 4)
    (mm1,) = messages(report)
    # The intruder (64 "X" at offset 32 of the UDP datagram) came second: its first half hits bytes
    # already held (dropped), its second half bytes not yet seen (kept; the real ones came later).
    # UDP offsets 64..96 are bytes 24..56 of the VID payload's data (8 + 28 + 4 bytes before it).
    assert mm1["problems"] == []
    assert bytes.fromhex(mm1["payloads"][0]["data"]) == bytes(24) + b"X" * 32 + bytes(44)
    reader = open_capture(CORPUS / "ip-fragments-overlapping.pcap")
    list(reader)
    assert reader.anomalies == {"overlapping IP fragments, first-arrived data kept": 1}


def test_a_fragment_offset_past_64k_is_malformed_and_the_next_datagram_still_read():
    status, report, _ = run(CORPUS / "ip-fragment-huge-offset.pcap")
    assert status == 0
    assert report["capture"]["malformed_reasons"] == {"IP fragment beyond the largest datagram": 2}
    assert report["capture"]["ike"] == 1


def test_ip_and_udp_headers_that_lie_are_malformed_with_their_reasons():
    status, report, _ = run(CORPUS / "ip-header-lies.pcap")
    assert status == 0
    assert report["capture"]["malformed_reasons"] == {
        "IP total length beyond the frame": 1,
        "bad IPv4 header length": 1,
        "UDP length beyond the IP payload": 1,
        "frame too short for UDP header": 1,
    }


def test_ike_cut_by_the_snapshot_length_is_malformed_with_that_reason():
    status, report, _ = run(CORPUS / "snaplen-cut-ike.pcap")
    assert status == 0 and report["capture"]["malformed_reasons"] == {"truncated by snaplen": 3}


def test_esp_shorter_than_its_header_iv_or_icv_is_counted_never_decrypted():
    status, report, _ = run(CORPUS / "esp-short.pcap", "--keys", LAB_KEYS)
    assert status == 0
    assert report["capture"]["malformed_reasons"] == {"ESP packet too short": 1, "AH header too short": 1}
    (sa,) = report["ipsec_sas"]
    assert (sa["packets"], sa["malformed"], sa["icv_failed"], sa["decrypted"], sa["verified"]) == (
        2,
        1,
        1,
        0,
        0,
    )


# --- keys: wrong ones are findings ---------------------------------------------------------------


def test_keys_of_wrong_length_or_for_another_sa_are_findings(tmp_path):
    capture = LAB_CAPTURE
    psk = "ikedecode-lab-psk-mm-aes128-sha1-modp2048"
    status, report, _ = run(capture, "--psk", psk, "--dh-secret", "0102")
    assert status == 0 and "wrong-keys" in codes(report)
    short_key = tmp_path / "short.toml"
    short_key.write_text('[[ike_sa]]\ninitiator_cookie = "bd9936526010462f"\nencryption_key = "0102030405"\n')
    status, report, _ = run(capture, "--keys", short_key)
    assert status == 0 and "wrong-keys" in codes(report)
    assert "AES-CBC key of 5 bytes" in messages(report)[4]["note"]
    other = tmp_path / "other.toml"
    other.write_text('[[ike_sa]]\ninitiator_cookie = "0000000000000001"\ndh_secret = "0102"\n')
    status, report, _ = run(capture, "--keys", other, "--psk", psk)
    assert status == 0 and messages(report)[4]["protection"] == "no-keys"
    assert all(not m["decrypted"] for m in messages(report) if m["encrypted"])


def test_an_esp_key_no_algorithm_can_use_is_a_one_line_key_file_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[ipsec_sa]]\nprotocol = "esp"\nspi = "0xf096db6e"\nencryption = "aes-cbc"\n'
        'encryption_key = "0102030405"\nintegrity = "hmac-sha1-96"\nintegrity_key = "00"\n'
    )
    status, report, stderr = run(LAB_CAPTURE, "--keys", bad)
    assert (status, report) == (2, None)
    assert stderr == f"ikedecode: {bad}:1: [[ipsec_sa]] #1: aes-cbc needs a 16/24/32-byte key, got 5 bytes\n"


def test_every_corpus_file_has_its_expectation_here():
    tested = set(UNREADABLE) | {
        "no-packets.pcap",
        "unknown-linktype.pcap",
        "unknown-blocks.pcapng",
        "lab.pcap.gz",
        "cut-mid-record.pcap",
        "cut-gzip-stream.pcap.gz",
        "corrupt-record-length.pcap",
        "ike-hostile-lengths.pcap",
        "ike-payload-chains.pcap",
        "ike-attributes-overrun.pcap",
        "ike-encrypted-odd-length.pcap",
        "ike-fragments-hostile.pcap",
        "ike-half-open-sas.pcap.gz",
        "ike-many-phase2.pcap",
        "ip-fragment-sets-over-cap.pcap",
        "ip-fragments-overlapping.pcap",
        "ip-fragment-huge-offset.pcap",
        "ip-header-lies.pcap",
        "snaplen-cut-ike.pcap",
        "esp-short.pcap",
    }
    on_disk = {p.name for p in CORPUS.iterdir() if p.suffix in (".pcap", ".pcapng", ".gz")}
    assert on_disk == tested
