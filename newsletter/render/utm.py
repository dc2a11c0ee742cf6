"""UTM tags on the links of the project's own site ([tracking] utm), added once per
issue when it is rendered, so the HTML part, the text part and every recipient's copy
carry the same tagged URLs.

Only a link (an article's link, button or linked image, its "read on the web" URL, a
template's `href`) is tagged, never an image, and only when it goes to the site: http
or https, its host `[newsletter] site_url`'s or `[archive] url`'s (www. or not, an
internationalised name in Unicode or in its xn-- form). Everything else is left as it
is: other sites, mailto:, and the reader's own pages (unsubscribe, preferences,
signup): their links in an email are placeholders when the issue is rendered, and a
link an editor writes to the pages of `newsletter serve` (beside `[unsubscribe] url`)
is left alone too. A link keeps its query
(byte for byte, a subscriber's field in it too) and its fragment; a utm_ key it has
already wins over ours.
"""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

SCHEMES = ("http", "https")
PAGES = ("unsubscribe", "preferences", "subscribe/")  # newsletter serve's, beside its url
_HREF = re.compile(r"""(\shref\s*=\s*)(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def site_host(url: str) -> str:
    """A URL's host as two links to one site share it: lower case, its IDNA (xn--)
    form, without a leading "www." ("" when it has none)."""
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:  # a malformed port or bracket
        return ""
    host = host.rstrip(".")
    with contextlib.suppress(UnicodeError):  # not a name IDNA takes: compared as written
        host = host.encode("idna").decode("ascii")
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


@dataclass(frozen=True)
class Utm:
    """[tracking] utm as a render takes it: the (key, value) pairs, the URLs whose
    hosts are the site's (`[newsletter] site_url`, `[archive] url`) and `[unsubscribe]
    url` (newsletter serve's pages are beside it)."""

    pairs: tuple[tuple[str, str], ...] = ()
    sites: tuple[str, ...] = ()
    serve_url: str = ""

    def tagger(self, issue_id: str) -> Tagger:
        """The tags of one issue ({issue} filled in)."""
        return Tagger.of(self.pairs, issue_id, self.sites, self.serve_url)


@dataclass(frozen=True)
class Tagger:
    """The tags of one issue: `pairs` are (utm key, value) with {issue} filled in,
    `hosts` the site's hosts (as site_host gives them)."""

    pairs: tuple[tuple[str, str], ...]
    hosts: frozenset[str]
    pages: tuple[tuple[str, str], ...] = ()  # (host, path prefix) never tagged

    @classmethod
    def of(
        cls,
        utm: Iterable[tuple[str, str]],
        issue_id: str,
        sites: Iterable[str],
        serve_url: str = "",
    ) -> Tagger:
        """`sites`: the URLs whose hosts are the site's; `serve_url`: `[unsubscribe]
        url`, beside which newsletter serve's pages are."""
        pairs = tuple((key, value.replace("{issue}", issue_id)) for key, value in utm)
        pages: tuple[tuple[str, str], ...] = ()
        if serve_url:
            folder = urlsplit(serve_url).path.rsplit("/", 1)[0] + "/"
            pages = tuple((site_host(serve_url), folder + page) for page in PAGES)
        return cls(pairs, frozenset(h for h in map(site_host, sites) if h), pages)

    def __bool__(self) -> bool:
        return bool(self.pairs and self.hosts)

    def own(self, url: str) -> bool:
        """The link goes to the project's site."""
        try:
            scheme = urlsplit(url.strip()).scheme.lower()
        except ValueError:
            return False
        host = site_host(url)
        if scheme not in SCHEMES or host not in self.hosts:
            return False
        path = urlsplit(url.strip()).path
        return not any(host == h and path.startswith(p) for h, p in self.pages)

    def __call__(self, url: str) -> str:
        """The link with the issue's UTM tags, or as it is (not the site's, already
        tagged with every key we have)."""
        if not self or not url or not self.own(url):
            return url
        return tagged(url, self.pairs)

    def html(self, part: str) -> str:
        """A rendered HTML part with every `href` of the site tagged (the template's own
        links: the masthead, the footer, "View in browser"; an article's links are
        tagged before they are rendered and are left as they are here)."""
        if not self:
            return part

        def one(match: re.Match[str]) -> str:
            quoted = match.group(2) is not None
            raw = match.group(2) if quoted else match.group(3)
            url = html.unescape(raw)
            new = self(url)
            if new == url:
                return match.group(0)
            shown = html.escape(new, quote=True)
            return f'{match.group(1)}"{shown}"' if quoted else f"{match.group(1)}'{shown}'"

        return _HREF.sub(one, part)

    def text_lines(self, part: str, urls: Iterable[str]) -> str:
        """A rendered text part with each of `urls` (the links the HTML part has) that
        stands on a line of its own tagged as in the HTML: the links a template writes
        itself. A URL inside prose is left as it is (it is no link in the HTML either,
        and the line was wrapped to its width)."""
        wanted = {url: self(url) for url in urls}
        wanted = {url: new for url, new in wanted.items() if new != url}
        if not wanted:
            return part
        lines = []
        for line in part.split("\n"):
            core = line.strip()
            if core in wanted:
                line = line.replace(core, wanted[core])
            lines.append(line)
        return "\n".join(lines)


def hrefs(part: str) -> list[str]:
    """Every href of an HTML part, unescaped, in order."""
    return [html.unescape(m.group(2) if m.group(2) is not None else m.group(3))
            for m in _HREF.finditer(part)]  # fmt: skip


def tagged(url: str, pairs: Iterable[tuple[str, str]]) -> str:
    """`url` with `utm_KEY=VALUE` added for every pair whose utm_KEY its query does not
    hold already (in any case), values percent-encoded; the query it has is kept as
    written and the fragment stays last."""
    rest, hash_, fragment = url.partition("#")
    base, _, query = rest.partition("?")
    if not urlsplit(base).path:  # https://example.com -> https://example.com/?utm_...
        base += "/"
    have = {unquote(item.split("=", 1)[0]).strip().lower() for item in query.split("&") if item}
    added = [
        f"utm_{key}={quote(value, safe='')}"
        for key, value in pairs
        if f"utm_{key}" not in have and value != ""
    ]
    if not added:
        return url
    joined = "&".join(added)
    query = f"{query}&{joined}" if query and not query.endswith("&") else query + joined
    return f"{base}?{query}{hash_}{fragment}"
