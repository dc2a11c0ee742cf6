"""`check --online`: do the email's links answer? The one part of `check` that uses
the network, and only when asked. HEAD first, GET when a server refuses HEAD."""

from __future__ import annotations

import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from newsletter import __version__
from newsletter.check.rules import Finding

TIMEOUT = 10.0
WORKERS = 8
AGENT = f"newsletter-check/{__version__} (link check)"


def broken_links(urls: list[str], timeout: float = TIMEOUT) -> list[Finding]:
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        answers = list(pool.map(lambda url: _problem(url, timeout), urls))
    return [
        Finding("link-broken", "error", f"{url} {problem}")
        for url, problem in zip(urls, answers, strict=True)
        if problem
    ]


def _problem(url: str, timeout: float) -> str | None:
    """None when the link answers 2xx/3xx, else what went wrong."""
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method, headers={"User-Agent": AGENT})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read(0)
                return None
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue  # some servers refuse HEAD; ask again with GET
            return f"answered {exc.code} {exc.reason}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            return f"did not answer ({reason})"
    return None
