"""The proxy in front of `serve`: its X-Forwarded-* headers, believed only from the
addresses of `[serve] trusted_proxies` (anyone else could write them).

From a trusted peer, X-Forwarded-For gives REMOTE_ADDR (the nearest address in it that
is not itself a trusted proxy: a client can put anything at the front), X-Forwarded-Proto
`wsgi.url_scheme` and X-Forwarded-Host HTTP_HOST. From any other peer, the headers are
dropped, so nothing after this can be fooled by them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
             "HTTP_FORWARDED")  # fmt: skip


class Proxies:
    def __init__(self, trusted: Sequence[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(item, strict=False) for item in trusted
        )

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def apply(self, environ: dict[str, Any]) -> None:
        """`environ` as the client sent it to the proxy (or with the headers gone)."""
        if not self.trusts(environ.get("REMOTE_ADDR", "")):
            for name in FORWARDED:
                environ.pop(name, None)
            return
        chain = [a.strip() for a in environ.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        for address in reversed(chain):  # nearest first; the first one not ours is the client
            environ["REMOTE_ADDR"] = address
            if not self.trusts(address):
                break
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
        if proto in ("http", "https"):
            environ["wsgi.url_scheme"] = proto
        host = environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip()
        if host and all(c.isalnum() or c in ".-:[]" for c in host):
            environ["HTTP_HOST"] = host


def behind(
    app: Callable[[dict[str, Any], Any], Iterable[bytes]], proxies: Proxies
) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    def wrapped(environ: dict[str, Any], start: Any) -> Iterable[bytes]:
        proxies.apply(environ)
        return app(environ, start)

    return wrapped
