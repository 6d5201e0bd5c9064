"""Word lists for the cracking tests: deterministic random words, the PSK at a known line."""

from __future__ import annotations

import random
import string
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CAPTURES_DIR = PROJECT_ROOT / "captures"
PROBE = "ikescan-aggressive-pskcrack"  # ike-scan --aggressive against strongSwan, 3DES/SHA1/modp1024
PROBE_PSK = b"ikedecode-lab-psk-ikescan-aggressive-pskcrack"  # keys/ikescan-aggressive-pskcrack.toml


def write_word_list(path: Path, entries: int, insert: dict[int, bytes], seed: int = 5) -> Path:
    """``entries`` lines of random lower-case words; ``insert`` maps 1-based line numbers to words."""
    rng = random.Random(seed)
    letters = string.ascii_lowercase.encode()
    lines = [
        bytes(rng.choice(letters) for _ in range(rng.randint(6, 14))) for _ in range(entries - len(insert))
    ]
    for line, word in sorted(insert.items()):
        lines.insert(line - 1, word)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path
