"""``--format html``: one self-contained file (inline CSS and SVG, no script, nothing external) that
headless Chromium renders into a non-blank page.

The screenshot test needs Debian's ``chromium`` (installed by .ci/run); it is skipped without it.
The PNG is read with a small decoder here (zlib + the five PNG row filters) to count colours.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter

import pytest

from ikedecode.keys.loader import load_key_file
from ikedecode.render.html import render_html
from tests.conftest import CAPTURES_DIR, KEYS_DIR, analyze_path

NAME = "esp-rekey-delete"  # phase 1, phase 2 (and a rekey), ESP both ways, deletes


def _html(name: str = NAME) -> str:
    return render_html(
        analyze_path(CAPTURES_DIR / f"{name}.pcap", load_key_file(str(KEYS_DIR / f"{name}.toml")))
    )


def test_html_is_self_contained():
    html = _html()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<style>" in html and "<svg" in html
    lowered = html.lower()
    for external in ("<script", "<link", "<img", "<iframe", "http://", "https://", "@import", "src="):
        assert external not in lowered, external
    # the only url() references are the arrow markers of the inline SVG
    assert set(re.findall(r"url\((.*?)\)", html)) <= {
        f"#sa1-{k}" for k in ("ike", "retransmission", "unreadable", "esp")
    }


def test_html_has_the_ladder_messages_sas_and_findings():
    html = _html()
    assert html.count("<svg") == 1
    svg = html[html.index("<svg") : html.index("</svg>")]
    # 15 IKE messages (frames 1-9, 86, 87, 90, 129, 146, 147) + 4 ESP flows, plus the two lifelines
    assert svg.count("<line") - 2 == 15 + 4
    assert ">QM1 0x33e1503d: HASH, SA SPI 0xeb54990a ESP_AES-CBC-128" in svg
    assert '<span class="label">QM3</span>' in html
    assert "<h2>Findings</h2>" in html and "0xea520561" in html
    assert '<p class="verdict ok">Verdict: The tunnel came up' in html


def test_html_escapes_text(tmp_path):
    odd = tmp_path / "a<b>&'quote'.pcap"  # a capture name that is markup
    shutil.copyfile(CAPTURES_DIR / "fail-psk-mismatch.pcap", odd)
    html = render_html(analyze_path(odd, load_key_file(str(KEYS_DIR / "fail-psk-mismatch.toml"))))
    assert "a&lt;b&gt;&amp;&#x27;quote&#x27;.pcap" in html and "a<b>" not in html
    assert "draft-ietf-ipsec-nat-t-ike-02 (newline variant)" in html  # the VID named in words
    assert "ike-02\\n" not in html
    assert '<p class="verdict bad">Verdict: The tunnel did not come up' in html


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, pixels) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, header = 8, b"", None
    while position < len(data):
        (length,) = struct.unpack_from("!I", data, position)
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack("!IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    assert header is not None
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0
    size = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * size
    previous = bytearray(stride)
    pixels: list[bytes] = []
    for row in range(height):
        kind, line = (
            raw[row * (stride + 1)],
            bytearray(raw[row * (stride + 1) + 1 : (row + 1) * (stride + 1)]),
        )
        for i in range(stride):
            left = line[i - size] if i >= size else 0
            up, corner = previous[i], previous[i - size] if i >= size else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        pixels.extend(bytes(line[i : i + 3]) for i in range(0, stride, size))
        previous = line
    return width, height, pixels


@pytest.fixture
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)")
    return found


def test_headless_chromium_renders_a_non_blank_page(chromium, tmp_path):
    page = tmp_path / "report.html"
    page.write_text(_html(), encoding="utf-8")
    shot = tmp_path / "report.png"
    profile = tmp_path / "profile"
    result = subprocess.run(
        [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--hide-scrollbars", "--window-size=1000,1400", "--enable-logging=stderr", "--v=0",
            f"--screenshot={shot}", page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert ":CONSOLE" not in result.stderr  # page errors (scripts, CSP, ...) are logged as CONSOLE lines
    width, height, pixels = png_pixels(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    colours = Counter(pixels)
    white = colours[b"\xff\xff\xff"]
    assert len(colours) > 50  # text antialiasing, the verdict box, the coloured arrows
    assert 0.02 < 1 - white / len(pixels) < 0.9  # something is drawn, and it is a page, not a solid block
    green_verdict = sum(n for c, n in colours.items() if c[1] > 230 and c[0] < 240 and c[2] < 240)
    assert green_verdict > 1000  # the "came up" box (#e3f9e5) is on screen
