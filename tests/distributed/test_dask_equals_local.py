"""``--dask``: the per-file work on a Dask cluster gives the report of the local merged run, exactly.

Runs on a real ``LocalCluster`` of two worker processes (files read by path, SAs sent to the
workers, outcomes accounted for here), on the bundled captures: whole captures together, captures
cut into files (a rotation, two sensors taking turns), ESP that arrives before the quick mode
that keys it, and IP fragments (reassembled per file, or the whole run made here when fragments
of different files could meet).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("dask.distributed", reason="Dask is not installed (pip install 'ikedecode[dask]')")

from click.testing import CliRunner  # noqa: E402

from ikedecode.capture.merge import open_captures  # noqa: E402
from ikedecode.cli import main  # noqa: E402
from ikedecode.distributed.client import analyze_on_dask  # noqa: E402
from ikedecode.keys.keyring import KeyRing  # noqa: E402
from ikedecode.keys.loader import load_key_file  # noqa: E402
from ikedecode.keys.tomlfile import parse_key_file  # noqa: E402
from ikedecode.pipeline import analyze  # noqa: E402
from ikedecode.render.json_report import render_json  # noqa: E402
from tests.capture.splitting import alternate, is_esp, pcap_records, shift_pcap, split_pcap  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CAPTURES = ROOT / "captures"
KEYS = ROOT / "keys"
CORPUS = ROOT / "tests" / "corpus"
REAL = ["esp-rekey-delete", "esp-rekey-simultaneous", "nat-t", "qm-pfs-modp2048", "xauth-modecfg"]


def keys(*names: str) -> KeyRing:
    ring = KeyRing()
    for name in names:
        if (KEYS / f"{name}.toml").exists():
            ring.merge(load_key_file(str(KEYS / f"{name}.toml")))
    return ring


def both(client, paths: list[Path], keyring: KeyRing) -> tuple[str, str, list[str]]:  # noqa: ANN001
    """The JSON report of the local merged run and of the Dask run, and the Dask run's notes."""
    notes: list[str] = []
    local = render_json(analyze(open_captures(paths), keyring))
    remote = render_json(analyze_on_dask(client, [str(p) for p in paths], keyring, note=notes.append))
    return local, remote, notes


def test_all_bundled_captures_together(client):
    paths = sorted(CAPTURES.glob("*.pcap"))
    local, remote, notes = both(client, paths, keys(*(p.stem for p in paths)))
    assert remote == local and notes == []
    report = json.loads(remote)
    assert len(report["sources"]) == len(paths) >= 20
    assert sum(sa["verified"] for sa in report["ipsec_sas"]) > 300


@pytest.mark.parametrize("name", REAL)
def test_captures_cut_by_rotation_and_by_two_sensors(client, tmp_path, name):
    capture = CAPTURES / f"{name}.pcap"
    _, records = pcap_records(capture)
    (tmp_path / "rotated").mkdir()
    (tmp_path / "sensors").mkdir()
    rotated = split_pcap(capture, tmp_path / "rotated", 3, lambda i, n: i * 3 // n)
    sensors = split_pcap(capture, tmp_path / "sensors", 2, alternate)
    for paths in (rotated, sensors, [sensors[1], sensors[0]]):
        local, remote, notes = both(client, paths, keys(name))
        assert remote == local and notes == []
    assert json.loads(local)["capture"]["packets"] == len(records)


def test_esp_before_the_quick_mode_that_keys_it_stays_unopened(client, tmp_path):
    # IKE in one file, ESP in another moved back in time so that the quick mode falls in the middle
    # of the ESP: the packets before it have no keys yet (as in one merged pass), those after verify.
    name = "esp-rekey-delete"
    capture = CAPTURES / f"{name}.pcap"
    _, records = pcap_records(capture)
    ike, esp = split_pcap(capture, tmp_path, 2, lambda i, _n: 1 if is_esp(records[i]) else 0)
    shift_pcap(esp, -8.0)
    ike_keys_only = keys(name)
    ike_keys_only.ipsec_sas.clear()  # the ESP keys come from the quick modes, when they happen
    local, remote, notes = both(client, [ike, esp], ike_keys_only)
    assert remote == local and notes == []
    report = json.loads(local)
    unopened = [sa for sa in report["ipsec_sas"] if not sa["keys_known"]]
    opened = [sa for sa in report["ipsec_sas"] if sa["keys_known"] and sa["verified"]]
    assert unopened and opened
    assert {sa["spi"] for sa in unopened} & {sa["spi"] for sa in opened}  # the same SPIs, before and after


def test_ip_fragments_within_each_file_are_reassembled_on_the_workers(client):
    paths = [CORPUS / "ip-fragments-overlapping.pcap", CAPTURES / "nat-t.pcap"]  # years apart
    local, remote, notes = both(client, paths, keys("nat-t"))
    assert remote == local and notes == []
    assert json.loads(local)["capture"]["ip_fragments"] == 4


def test_ip_fragments_that_may_span_files_are_analysed_in_one_local_pass(client, tmp_path):
    parts = split_pcap(CORPUS / "ip-fragments-overlapping.pcap", tmp_path, 2, alternate)
    local, remote, notes = both(client, [*parts, CAPTURES / "nat-t.pcap"], keys("nat-t"))
    assert remote == local
    assert len(notes) == 1 and "analysing the files in one merged pass here instead" in notes[0]
    assert json.loads(local)["capture"]["malformed"] == 0  # the datagrams were put back together


def test_the_command_line_gives_the_same_json_with_and_without_dask(client, tmp_path):
    directory = tmp_path / "captures"
    directory.mkdir()
    for name in ("mm-aes128-sha1-modp2048", "esp-rekey-delete", "fail-psk-mismatch"):
        shutil.copy(CAPTURES / f"{name}.pcap", directory)
    arguments = [str(directory), "--format", "json", "--keys", str(KEYS / "esp-rekey-delete.toml")]
    runner = CliRunner()
    local = runner.invoke(main, arguments, catch_exceptions=False)
    remote = runner.invoke(main, [*arguments, "--dask", client.scheduler.address], catch_exceptions=False)
    assert (local.exit_code, remote.exit_code) == (0, 0)
    assert remote.stdout == local.stdout
    assert len(json.loads(remote.stdout)["sources"]) == 3


def test_a_bad_scheduler_address_is_one_line_and_status_2():
    result = CliRunner().invoke(
        main, [str(CAPTURES / "nat-t.pcap"), "--dask", "nonsense://nowhere"], catch_exceptions=False
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "ikedecode: cannot reach the Dask scheduler at nonsense://"
    )


def test_hostile_and_cut_files_together(client):
    # malformed frames, unknown link types, cut files, gzip: statistics merged in the order of one
    # pass (first 100 malformed frames, reasons and link types in order of first appearance)
    names = [
        "cut-mid-record.pcap",
        "cut-gzip-stream.pcap.gz",
        "ip-header-lies.pcap",
        "esp-short.pcap",
        "snaplen-cut-ike.pcap",
        "unknown-linktype.pcap",
        "ike-hostile-lengths.pcap",
        "ike-payload-chains.pcap",
        "unknown-blocks.pcapng",
        "no-packets.pcap",
        "lab.pcap.gz",
    ]
    paths = [CORPUS / name for name in names]
    local, remote, notes = both(client, paths, KeyRing())
    assert remote == local and notes == []
    report = json.loads(local)
    assert report["capture"]["malformed"] and report["capture"]["truncated"].count(": ") >= 2
    everything = sorted(p for p in CORPUS.iterdir() if p.suffix in (".pcap", ".pcapng", ".gz"))
    readable = [p for p in everything if p.name not in ("not-a-capture.pcap", "empty.pcap")]
    readable = [p for p in readable if not p.name.startswith("truncated-header")]
    local, remote, notes = both(client, readable, KeyRing())  # with IP fragments: analysed here
    assert remote == local and len(notes) == 1


def test_an_esn_mismatch_is_diagnosed_on_dask_as_in_the_local_run(client, tmp_path):
    # mm-aes128-sha1-modp2048's ESP does not use ESN; its first [[ipsec_sa]] given with esn = true,
    # the capture cut in two: the diagnosis needs the SA's first ICV failure, opened on a worker.
    name = "mm-aes128-sha1-modp2048"
    text = (KEYS / f"{name}.toml").read_text()
    blocks = re.findall(r"^\[\[ipsec_sa\]\]\n(?:(?!\n\n|\n#|\n\[).)*", text, re.M | re.S)
    ring = parse_key_file("\n\n".join([blocks[0] + "\nesn = true", *blocks[1:]]) + "\n", "esn.toml").keyring
    for cut in (lambda i, n: i * 2 // n, alternate):
        (tmp_path / "parts").mkdir()
        paths = split_pcap(CAPTURES / f"{name}.pcap", tmp_path / "parts", 2, cut)
        local, remote, notes = both(client, paths, ring)
        assert remote == local and notes == []
        shutil.rmtree(tmp_path / "parts")
    mismatch = [f for f in json.loads(remote)["findings"] if f["code"] == "esp-esn-mismatch"]
    assert len(mismatch) == 1 and mismatch[0]["evidence"]["verifies_with"] == "no esn"
