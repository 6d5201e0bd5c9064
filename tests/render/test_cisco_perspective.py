"""``--as initiator|responder|ADDRESS`` and ``--output`` for the Cisco-style formats, via the CLI."""

from __future__ import annotations

from click.testing import CliRunner

from ikedecode.cli import main

NAME = "case-3des-sha1-modp768"


def run(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def capture_args(captures_dir, keys_dir) -> list[str]:  # noqa: ANN001
    return [str(captures_dir / f"{NAME}.pcap"), "--keys", str(keys_dir / f"{NAME}.toml")]


def test_as_address_is_the_same_as_the_role_of_that_peer(captures_dir, keys_dir):
    base = capture_args(captures_dir, keys_dir)
    for fmt in ("cisco", "show"):
        by_role = run(*base, "--format", fmt, "--as", "responder").stdout
        by_address = run(*base, "--format", fmt, "--as", "192.0.2.2").stdout
        # only the header comment names the perspective differently
        assert by_role.splitlines()[1:] == by_address.splitlines()[1:], fmt
        assert (
            "received packet from 192.0.2.1 (N) NEW SA"
            in run(*base, "--format", "cisco", "--as", "192.0.2.2").stdout
        )


def test_default_perspective_is_the_initiator(captures_dir, keys_dir):
    base = capture_args(captures_dir, keys_dir)
    assert (
        run(*base, "--format", "cisco").stdout == run(*base, "--format", "cisco", "--as", "initiator").stdout
    )
    assert "beginning Main Mode exchange" in run(*base, "--format", "cisco").stdout


def test_an_address_that_is_no_peer_is_a_one_line_error(captures_dir, keys_dir):
    result = run(*capture_args(captures_dir, keys_dir), "--format", "cisco", "--as", "198.51.100.7")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "ikedecode: --as 198.51.100.7: not a peer of any IKE SA in the capture (peers: 192.0.2.1, 192.0.2.2)"
    ]


def test_a_value_that_is_neither_role_nor_address_is_a_one_line_error(captures_dir, keys_dir):
    result = run(*capture_args(captures_dir, keys_dir), "--format", "show", "--as", "east")
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "--as 'east'" in result.stderr


def test_output_file_gets_any_new_format(captures_dir, keys_dir, tmp_path):
    base = capture_args(captures_dir, keys_dir)
    for fmt in ("cisco", "show", "timeline", "markdown", "html"):
        target = tmp_path / f"report.{fmt}"
        result = run(*base, "--format", fmt, "--output", str(target))
        assert result.exit_code == 0 and result.stdout == "", fmt
        assert target.read_text(encoding="utf-8") == run(*base, "--format", fmt).stdout, fmt


def test_no_secret_in_the_new_formats(captures_dir, keys_dir, lab_keys):
    keys = lab_keys(NAME)
    sa = keys["ike_sa"][0]
    secrets = [keys["psk"][0]["secret"], sa["dh_secret"], sa["skeyid"], sa["skeyid_e"], sa["encryption_key"]]
    secrets += [s["encryption_key"] for s in keys["ipsec_sa"]] + [
        s["integrity_key"] for s in keys["ipsec_sa"]
    ]
    base = capture_args(captures_dir, keys_dir)
    for fmt in ("cisco", "show", "timeline", "markdown", "html"):
        for perspective in ("initiator", "responder"):
            out = run(*base, "--format", fmt, "--as", perspective).stdout.lower()
            for secret in secrets:
                assert secret.lower() not in out, (fmt, secret[:6])
