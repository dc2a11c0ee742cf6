"""X-Forwarded-* believed only from `[serve] trusted_proxies` (web/proxies.py)."""

from __future__ import annotations

import pytest

from newsletter.web.proxies import Proxies


def environ(peer: str, **headers: str) -> dict:
    found = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http", "HTTP_HOST": "10.0.0.5:8025"}
    found.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return found


FORWARDED = {"x_forwarded_for": "203.0.113.7", "x_forwarded_proto": "https",
             "x_forwarded_host": "news.example.com"}  # fmt: skip


def test_a_trusted_proxy_says_who_the_client_is_and_how_it_came():
    seen = environ("10.0.0.1", **FORWARDED)
    Proxies(["10.0.0.0/8"]).apply(seen)
    assert seen["REMOTE_ADDR"] == "203.0.113.7"
    assert seen["wsgi.url_scheme"] == "https" and seen["HTTP_HOST"] == "news.example.com"


@pytest.mark.parametrize("trusted", [[], ["10.0.0.2"], ["192.168.0.0/16"]])
def test_anyone_else_has_the_headers_dropped(trusted):
    seen = environ("10.0.0.1", **FORWARDED, forwarded="for=1.2.3.4")
    Proxies(trusted).apply(seen)
    assert seen["REMOTE_ADDR"] == "10.0.0.1" and seen["wsgi.url_scheme"] == "http"
    assert seen["HTTP_HOST"] == "10.0.0.5:8025"
    assert not [k for k in seen if "FORWARDED" in k]


def test_a_client_cannot_hide_behind_an_address_it_wrote_itself():
    # the client sent "X-Forwarded-For: 10.0.0.9" itself; the proxy appended its peer
    seen = environ("10.0.0.1", x_forwarded_for="10.0.0.9, 198.51.100.4, 10.0.0.3")
    Proxies(["10.0.0.0/8"]).apply(seen)
    assert seen["REMOTE_ADDR"] == "198.51.100.4"  # the nearest address not ours


def test_ipv6_and_ipv4_mapped_peers_and_odd_values():
    proxies = Proxies(["::1", "127.0.0.1"])
    assert proxies.trusts("::ffff:127.0.0.1") and proxies.trusts("[::1]")
    assert not proxies.trusts("not an address") and not proxies.trusts("")
    seen = environ("::1", x_forwarded_proto="gopher", x_forwarded_host="bad host\r\nX: y")
    proxies.apply(seen)
    assert seen["wsgi.url_scheme"] == "http" and seen["HTTP_HOST"] == "10.0.0.5:8025"


def test_trusted_proxies_that_are_not_addresses_are_a_settings_error(project_dir, cli):
    settings = project_dir / "newsletter.toml"
    settings.write_text(
        settings.read_text() + '\n[serve]\ntrusted_proxies = ["10.0.0.0/8", "lb"]\n'
    )
    result = cli("serve", "--port", "0")
    assert result.exit_code == 1
    assert (
        "[serve] trusted_proxies" in result.stderr and "'lb' is not an IP address" in result.stderr
    )
