"""A run imports what it uses (docs/performance.md, "Start-up"): never dpkt, X.509 only when a
certificate is read, the worker and DH-pool machinery only when processes start, the key-file
readers only for --keys / --keylog, the IKEv2 engine and checks only for a capture with IKEv2.
Checked on the modules a fresh interpreter holds after a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CAPTURES = PROJECT_ROOT / "captures"
KEYS = PROJECT_ROOT / "keys"

X509 = "cryptography.x509"
WORKER_MACHINERY = ("multiprocessing", "concurrent.futures", "ikedecode.parallel.chunk_work")
IKEV2 = ("ikedecode.ike.v2.engine", "ikedecode.ike.v2.payloads", "ikedecode.analysis.checks.ikev2")


def modules_after_run(*args: str) -> set[str]:
    """The modules loaded once ``ikedecode ARGS`` has run in a fresh interpreter."""
    code = (
        "import sys\n"
        "from ikedecode.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args, "-q", "-o", os.devnull],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return set(done.stdout.split())


def under(modules: set[str], *packages: str) -> set[str]:
    return {m for m in modules if any(m == p or m.startswith(p + ".") for p in packages)}


def test_an_esp_run_with_a_key_file_imports_neither_dpkt_nor_x509_nor_worker_machinery():
    loaded = modules_after_run(
        str(CAPTURES / "esp-aes128gcm16.pcap"),
        "--keys",
        str(KEYS / "esp-aes128gcm16.toml"),
        "--format",
        "json",
    )
    assert {"ikedecode.keys.loader", "ikedecode.render.json_report"} <= loaded  # keys read, JSON written
    assert not under(loaded, "dpkt", X509, *WORKER_MACHINERY, *IKEV2)


def test_an_ike_run_with_a_psk_imports_no_key_file_reader_and_no_x509():
    loaded = modules_after_run(str(CAPTURES / "am-aes128-sha1-modp2048.pcap"), "--psk", "x")
    assert {"ikedecode.ike.v1.engine", "ikedecode.render.text"} <= loaded  # analysed and rendered
    assert not under(loaded, "dpkt", X509, "ikedecode.keys.loader", *WORKER_MACHINERY, *IKEV2)


def test_an_ikev2_capture_brings_the_ikev2_engine_and_its_checks_in():
    loaded = modules_after_run(
        str(CAPTURES / "ikev2-psk-aes-cbc-sha256.pcap"), "--keys", str(KEYS / "ikev2-psk-aes-cbc-sha256.toml")
    )
    assert {*IKEV2, "ikedecode.analysis.checks.ikev2_failures"} <= loaded  # the IKEv2 checks ran
    assert not under(loaded, "dpkt")


def test_a_signature_checked_with_its_certificate_brings_x509_in():
    # the same laziness must not cost the check: IKEv1 RSA signatures read the CERT payload
    loaded = modules_after_run(str(CAPTURES / "mm-rsa-sig.pcap"), "--keys", str(KEYS / "mm-rsa-sig.toml"))
    assert {X509, "ikedecode.ike.certificates"} <= loaded
    assert not under(loaded, "dpkt")
