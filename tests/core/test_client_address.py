"""The trusted-proxy rule (usetix.client_address) and its settings, admin_ui.trusted_proxies
and gateway.trusted_proxies."""

from __future__ import annotations

import pytest

from usetix.client_address import LOOPBACK, client_address, parse_networks
from usetix.config import ConfigError, load_settings

GATEWAY = parse_networks(["10.0.0.0/24", "::1"])
DEFAULT = parse_networks(LOOPBACK)

CASES = {
    # name: (socket peer, X-Forwarded-For lines, trusted, the client address)
    "trusted peer: the forwarded address": ("10.0.0.5", ["203.0.113.9"], GATEWAY, "203.0.113.9"),
    "trusted peer, no header: the peer": ("10.0.0.5", [], GATEWAY, "10.0.0.5"),
    "trusted peer: only the last value of a list": (
        "10.0.0.5", ["198.51.100.1, 203.0.113.9"], GATEWAY, "203.0.113.9"),
    "trusted peer: only the last of several lines": (
        "10.0.0.5", ["198.51.100.1", "203.0.113.9"], GATEWAY, "203.0.113.9"),
    "trusted peer: junk last, an earlier value is not used instead": (
        "10.0.0.5", ["203.0.113.9, junk"], GATEWAY, "10.0.0.5"),
    "trusted peer: not an address": ("10.0.0.5", ["unknown"], GATEWAY, "10.0.0.5"),
    "trusted peer: address with a port": ("10.0.0.5", ["203.0.113.9:443"], GATEWAY, "10.0.0.5"),
    "trusted peer: trailing comma": ("10.0.0.5", ["203.0.113.9,"], GATEWAY, "10.0.0.5"),
    "trusted peer: empty header": ("10.0.0.5", [""], GATEWAY, "10.0.0.5"),
    # Several trusted hops (a load balancer in front of the gateway, and so on): read from
    # the right, skipping trusted proxies; the first other address is the client.
    "chain: a trusted hop is skipped": (
        "10.0.0.5", ["198.51.100.1, 10.0.0.9"], GATEWAY, "198.51.100.1"),
    "chain: what the client typed left of itself is not believed": (
        "10.0.0.5", ["6.6.6.6, 198.51.100.1, 10.0.0.9"], GATEWAY, "198.51.100.1"),
    "chain: across header lines": (
        "10.0.0.5", ["198.51.100.1", "10.0.0.9"], GATEWAY, "198.51.100.1"),
    "chain: every value trusted, the leftmost": (
        "10.0.0.5", ["10.0.0.8, 10.0.0.9"], GATEWAY, "10.0.0.8"),
    "chain: junk left of a trusted hop, that hop": (
        "10.0.0.5", ["junk, 10.0.0.9"], GATEWAY, "10.0.0.9"),
    "chain: an IPv6 trusted hop": ("10.0.0.5", ["2001:db8::7, ::1"], GATEWAY, "2001:db8::7"),
    "untrusted peer: the header is ignored": ("10.0.1.5", ["203.0.113.9"], GATEWAY, "10.0.1.5"),
    "nobody trusted": ("127.0.0.1", ["203.0.113.9"], (), "127.0.0.1"),
    "default: loopback gateway": ("127.0.0.1", ["203.0.113.9"], DEFAULT, "203.0.113.9"),
    "default: IPv6 loopback gateway": ("::1", ["2001:db8::7"], DEFAULT, "2001:db8::7"),
    "default: another loopback address is not the gateway": (
        "127.0.0.2", ["203.0.113.9"], DEFAULT, "127.0.0.2"),
    "IPv4-mapped peer is its IPv4 address": (
        "::ffff:127.0.0.1", ["203.0.113.9"], DEFAULT, "203.0.113.9"),
    "IPv4-mapped peer, untrusted": ("::ffff:192.0.2.1", ["203.0.113.9"], DEFAULT, "192.0.2.1"),
    "forwarded address in canonical form": (
        "::1", ["2001:DB8:0:0::7"], DEFAULT, "2001:db8::7"),
    "forwarded IPv4-mapped address": ("::1", ["::ffff:203.0.113.9"], DEFAULT, "203.0.113.9"),
    "whitespace around the value": ("::1", [" 203.0.113.9 "], DEFAULT, "203.0.113.9"),
    "no peer (not a TCP socket)": (None, ["203.0.113.9"], DEFAULT, "unknown"),
    "empty peer": ("", ["203.0.113.9"], DEFAULT, "unknown"),
}


@pytest.mark.parametrize("case", CASES)
def test_client_address(case: str) -> None:
    remote, forwarded_for, trusted, expected = CASES[case]
    assert client_address(remote, forwarded_for, trusted) == expected


def test_the_default_trusts_loopback_only() -> None:
    assert load_settings({}).admin_ui.trusted_proxies == ("127.0.0.1/32", "::1/128")


def test_the_gateway_trusts_no_one_by_default() -> None:
    assert load_settings({}).gateway.trusted_proxies == ()


SECTIONS = ["admin_ui", "gateway"]


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.0.0.0/8, 192.168.1.7,fd00::/8", ("10.0.0.0/8", "192.168.1.7", "fd00::/8")), ("", ())],
)
def test_environment_override_is_a_comma_list(
    section: str, value: str, expected: tuple[str, ...]
) -> None:
    settings = load_settings({f"USETIX_{section.upper()}_TRUSTED_PROXIES": value})
    assert getattr(settings, section).trusted_proxies == expected


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("bad", ["10.0.0.300", "10.0.0.7/24", "gateway", "10.0.0.0/33", "*"])
def test_an_invalid_entry_refuses_the_config_naming_the_key(section: str, bad: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({f"USETIX_{section.upper()}_TRUSTED_PROXIES": f"127.0.0.1,{bad}"})
    assert f"{section}.trusted_proxies" in str(refused.value)
    assert repr(bad) in str(refused.value)


@pytest.mark.parametrize("section", SECTIONS)
def test_a_file_entry_is_validated_too(tmp_path, section: str) -> None:
    path = tmp_path / "proxies.toml"
    path.write_text(f'[{section}]\ntrusted_proxies = ["10.0.0.0/8", "not-an-ip"]\n')
    with pytest.raises(ConfigError, match=rf"{section}\.trusted_proxies: 'not-an-ip'"):
        load_settings({"USETIX_CONFIG": str(path)})
