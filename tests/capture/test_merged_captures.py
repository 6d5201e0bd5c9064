"""Several captures read as one (capture/merge.py): mergecap's order and frame numbers, one report.

Acceptance: a real capture cut into files (a rotation, or two sensors taking turns) and merged
again gives the report of the uncut capture, frame for frame; and the merged frames are the frames
of ``mergecap -w`` over the same files.
"""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ikedecode.capture import open_capture
from ikedecode.capture.merge import MergedCaptureReader, open_captures
from ikedecode.keys.keyring import KeyRing
from ikedecode.keys.loader import load_key_file
from ikedecode.pipeline import analyze
from ikedecode.render.json_report import report_to_dict

from .builders import epb, idb, ipv4, isakmp, pcap, shb, udp
from .splitting import alternate, is_esp, pcap_records, split_at, split_pcap

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
KEYS = ROOT / "keys"
# IKE and its ESP, rekeys and deletes, NAT-T, PFS, an aggressive mode
REAL = ["esp-rekey-delete", "esp-rekey-simultaneous", "nat-t", "qm-pfs-modp2048", "am-aes128-sha1-modp2048"]


def report_json(reader, keyring: KeyRing) -> dict:  # noqa: ANN001
    data = report_to_dict(analyze(reader, keyring))
    data["capture"].pop("name")
    data.pop("sources")
    return data


def tagged(tag: str, seconds: list[float]) -> bytes:
    """A pcap of raw-IP frames whose payload says which file and which record it is."""
    return pcap([(int(t * 1e9), f"{tag}{i}".encode().ljust(24, b".")) for i, t in enumerate(seconds)], 101)


def record_tags(reader) -> list[str]:  # noqa: ANN001
    return [record[2][:2].decode() for record in reader.records]


@pytest.mark.parametrize("name", REAL)
@pytest.mark.parametrize("cut", ["rotation", "two-sensors"])
def test_a_capture_cut_into_two_files_merges_back_to_the_same_report(tmp_path, name, cut):
    capture = CAPTURES / f"{name}.pcap"
    keys = load_key_file(str(KEYS / f"{name}.toml"))
    _, records = pcap_records(capture)
    choose = split_at(len(records) // 2) if cut == "rotation" else alternate
    parts = split_pcap(capture, tmp_path, 2, choose)
    whole = report_json(open_capture(capture), keys)
    merged = report_json(open_captures(parts), keys)
    assert merged == whole
    assert whole["ipsec_sas"] and any(sa["verified"] for sa in whole["ipsec_sas"])


def test_ike_in_one_file_and_its_esp_in_the_next_are_tied_together(tmp_path):
    capture = CAPTURES / "esp-rekey-delete.pcap"
    _, records = pcap_records(capture)
    first_esp = next(i for i, r in enumerate(records) if is_esp(r))
    ike_file, esp_file = split_pcap(capture, tmp_path, 2, split_at(first_esp))
    report = analyze(open_captures([ike_file, esp_file]), load_key_file(str(KEYS / "esp-rekey-delete.toml")))
    assert report.ipsec_sas and all(sa.counters.packets == sa.counters.verified for sa in report.ipsec_sas)
    assert sum(sa.counters.verified for sa in report.ipsec_sas) == report.stats.esp
    assert not report.unknown_spis


def test_equal_times_go_to_the_file_given_last_like_mergecap(tmp_path):
    # mergecap takes the earliest next record; on a tie its comparison keeps the later file.
    (tmp_path / "a.pcap").write_bytes(tagged("a", [1, 3, 3, 2, 5]))  # times going backwards too
    (tmp_path / "b.pcap").write_bytes(tagged("b", [3, 1, 4, 3]))
    a, b = tmp_path / "a.pcap", tmp_path / "b.pcap"
    assert record_tags(open_captures([a, b])) == ["a0", "b0", "b1", "a1", "a2", "a3", "b2", "b3", "a4"]
    assert record_tags(open_captures([b, a])) == ["a0", "a1", "a2", "a3", "b0", "b1", "b2", "b3", "a4"]


@pytest.mark.skipif(shutil.which("mergecap") is None, reason="mergecap (Wireshark) not installed")
def test_frame_n_of_a_merge_is_frame_n_of_mergecaps_output(tmp_path):
    # two sensors taking turns, a gzip file, a pcapng with two interfaces (Ethernet in microseconds,
    # raw IP in nanoseconds) and records with equal times: every frame where mergecap puts it
    capture = CAPTURES / "esp-rekey-simultaneous.pcap"
    odd, even = split_pcap(capture, tmp_path, 2, alternate)
    zipped = tmp_path / "even.pcap.gz"
    zipped.write_bytes(gzip.compress(even.read_bytes()))
    _, records = pcap_records(capture)
    start = int.from_bytes(records[10][:4], "little") * 10**9  # during the negotiation
    packet = ipv4("198.51.100.1", "198.51.100.2", 17, udp(500, 500, isakmp(exchange=2)))
    pcapng = tmp_path / "two-interfaces.pcapng"
    pcapng.write_bytes(
        shb()
        + idb(1)
        + idb(101, tsresol=9)
        + epb(0, start // 1000 + 250_000, bytes(12) + b"\x08\x00" + packet)
        + epb(1, start + 250_000_000, packet)  # the same instant on the other interface
        + epb(1, start + 900_000_123, packet)
    )
    inputs = [odd, zipped, pcapng]
    merged_file = tmp_path / "mergecap.pcapng"
    subprocess.run(["mergecap", "-w", str(merged_file), *map(str, inputs)], check=True, capture_output=True)
    ours = [(r[0], r[1], r[2]) for r in open_captures(inputs).records]
    theirs = [(r[0], r[1], r[2]) for r in open_capture(merged_file).records]
    assert len(ours) == len(records) + 3
    assert ours == theirs
    keys = load_key_file(str(KEYS / "esp-rekey-simultaneous.toml"))
    assert report_json(open_captures(inputs), keys) == report_json(open_capture(merged_file), keys)


def test_rotated_captures_are_read_one_open_file_at_a_time(tmp_path):
    capture = CAPTURES / "esp-rekey-delete.pcap"
    _, records = pcap_records(capture)
    n = len(records)
    parts = split_pcap(capture, tmp_path, 4, lambda i, _n: i * 4 // n)
    reader = open_captures(parts)
    assert isinstance(reader, MergedCaptureReader)
    most_open = 0
    for _record in reader.records:
        most_open = max(most_open, sum(m.stream is not None for m in reader._members))
    assert most_open == 1
    assert all(m.stream is None and m.records is None for m in reader._members)  # closed at their end


def test_the_sources_describe_every_file(tmp_path):
    capture = CAPTURES / "mm-aes128-sha1-modp2048.pcap"
    (tmp_path / "a.pcap.gz").write_bytes(gzip.compress(capture.read_bytes()))
    cut = tmp_path / "cut.pcap"
    cut.write_bytes((CAPTURES / "nat-t.pcap").read_bytes()[:-10])
    report = analyze(open_captures([tmp_path / "a.pcap.gz", cut]), KeyRing())
    first, second = report.sources
    assert (first.name, first.format, first.compressed, first.frames) == (
        str(tmp_path / "a.pcap.gz"),
        "pcap",
        True,
        27,
    )
    assert first.first_time == report.stats.first_time and first.truncated is None
    assert (second.format, second.compressed, second.frames) == ("pcap", False, 26)
    assert second.truncated.startswith("file ends inside record 27")
    assert report.stats.truncated == f"{cut}: {second.truncated}"
    assert report.stats.packets == first.frames + second.frames
    assert report.capture_name == f"{tmp_path / 'a.pcap.gz'} + {cut}"
    codes = [f.code for f in report.findings]
    assert "capture-truncated" in codes


def test_one_file_is_read_as_before(captures_dir):
    path = captures_dir / "nat-t.pcap"
    reader = open_captures([path])
    assert type(reader).__name__ == "CaptureReader"
    report = analyze(reader, KeyRing())
    assert [s.name for s in report.sources] == [str(path)] and report.sources[0].frames == 27
    data = report_to_dict(report)
    assert data["sources"] == [
        {
            "name": str(path),
            "format": "pcap",
            "compressed": False,
            "frames": 27,
            "first_time": data["capture"]["first_time"],
            "last_time": data["capture"]["last_time"],
            "truncated": None,
        }
    ]
    assert json.loads(json.dumps(data)) == data


def test_an_unreadable_file_among_several_is_the_usual_one_line_error(tmp_path, captures_dir):
    from ikedecode.capture import CaptureError

    bogus = tmp_path / "notes.pcap"
    bogus.write_text("not a capture\n")
    with pytest.raises(CaptureError, match=r"notes\.pcap: not a pcap or pcapng file"):
        open_captures([captures_dir / "nat-t.pcap", bogus])
    with pytest.raises(CaptureError, match="no such file"):
        open_captures([captures_dir / "nat-t.pcap", tmp_path / "missing.pcap"])
