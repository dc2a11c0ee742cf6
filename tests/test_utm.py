"""[tracking] utm: UTM tags on the links of the project's own site, added at render."""

from __future__ import annotations

import email
import html as html_module
import re
from email import policy

import pytest

from newsletter.render.utm import Tagger, site_host, tagged

UTM = (("source", "newsletter"), ("medium", "email"), ("campaign", "{issue}"))
TAGS = "utm_source=newsletter&utm_medium=email&utm_campaign=2026-12"


def tagger(*sites: str, serve: str = "") -> Tagger:
    return Tagger.of(UTM, "2026-12", sites or ("https://example.com",), serve)


def test_a_link_of_the_site_gets_the_tags_in_order_with_issue_filled_in():
    assert tagger()("https://example.com/a") == f"https://example.com/a?{TAGS}"


def test_the_links_own_parameters_are_kept_as_written_and_ours_come_after():
    url = "https://example.com/a?b=1&c=%20x&d"
    assert tagger()(url) == f"https://example.com/a?b=1&c=%20x&d&{TAGS}"


def test_the_fragment_stays_last():
    assert tagger()("https://example.com/a?b=1#part") == f"https://example.com/a?b=1&{TAGS}#part"
    assert tagger()("https://example.com/a#part") == f"https://example.com/a?{TAGS}#part"


def test_a_utm_key_the_link_has_wins_and_is_never_doubled():
    url = "https://example.com/a?UTM_Source=twitter&utm_campaign=spring"
    assert tagger()(url) == url + "&utm_medium=email"


def test_a_link_tagged_with_every_key_is_left_as_it_is():
    url = f"https://example.com/a?{TAGS}"
    assert tagger()(url) == url


def test_tagging_twice_is_tagging_once():
    once = tagger()("https://example.com/a?x=1#f")
    assert tagger()(once) == once


@pytest.mark.parametrize(
    "url",
    [
        "https://other.example/a",
        "https://example.com.evil.example/a",
        "https://notexample.com/a",
        "mailto:editor@example.com",
        "ftp://example.com/file",
        "%%nlabc.h.unsubscribe_url%%",
        "/relative",
        "",
    ],
)
def test_what_is_not_a_link_of_the_site_is_untouched(url):
    assert tagger()(url) == url


def test_www_and_the_bare_host_are_one_site_and_http_counts_too():
    assert (
        tagger("https://www.example.com")("http://example.com/a") == f"http://example.com/a?{TAGS}"
    )
    assert tagger()("https://WWW.Example.COM/a").endswith(f"/a?{TAGS}")


def test_a_host_alone_gets_a_slash_before_the_query():
    assert tagger()("https://example.com") == f"https://example.com/?{TAGS}"


def test_an_internationalised_host_matches_in_either_form():
    unicode_site = tagger("https://bücher.example")
    assert (
        unicode_site("https://xn--bcher-kva.example/a") == f"https://xn--bcher-kva.example/a?{TAGS}"
    )
    assert unicode_site("https://BÜCHER.example/a") == f"https://BÜCHER.example/a?{TAGS}"
    assert site_host("https://www.bücher.example:8443/x") == "xn--bcher-kva.example"


def test_the_archive_host_is_the_site_too():
    both = tagger("https://example.com", "https://archive.example.org")
    assert (
        both("https://archive.example.org/2026-12/")
        == f"https://archive.example.org/2026-12/?{TAGS}"
    )


def test_values_are_percent_encoded():
    odd = Tagger.of(
        (("source", "news letter"), ("campaign", "{issue}")), "a&b=c/d", ["https://example.com"]
    )
    assert (
        odd("https://example.com/")
        == "https://example.com/?utm_source=news%20letter&utm_campaign=a%26b%3Dc%2Fd"
    )


def test_the_pages_of_newsletter_serve_are_never_tagged():
    same_host = tagger(serve="https://example.com/news/unsubscribe")
    for page in ("unsubscribe?l=x", "preferences?t=y", "subscribe/weekly"):
        url = f"https://example.com/news/{page}"
        assert same_host(url) == url
    assert same_host("https://example.com/news/posts").endswith(TAGS)


def test_no_utm_or_no_site_is_no_tagging():
    assert not Tagger.of((), "x", ["https://example.com"])
    assert Tagger.of(UTM, "x", [""])("https://example.com/a") == "https://example.com/a"


def test_tagged_keeps_an_empty_query_mark():
    assert (
        tagged("https://example.com/a?", UTM[:1]) == "https://example.com/a?utm_source=newsletter"
    )


def test_html_tags_hrefs_and_never_images():
    part = (
        '<a href="https://example.com/a?x=1&amp;y=2">a</a>'
        '<img src="https://example.com/i.png">'
        "<a href='https://other.example/'>b</a>"
    )
    assert tagger().html(part) == (
        f'<a href="https://example.com/a?x=1&amp;y=2&amp;{TAGS.replace("&", "&amp;")}">a</a>'
        '<img src="https://example.com/i.png">'
        "<a href='https://other.example/'>b</a>"
    )


def test_text_lines_tags_a_link_on_a_line_of_its_own_only():
    text = "Pop\nhttps://example.com\nsee https://example.com in prose\n"
    assert tagger().text_lines(text, ["https://example.com"]) == (
        f"Pop\nhttps://example.com/?{TAGS}\nsee https://example.com in prose\n"
    )


# --- end to end: the rendered issue, as preview writes it ---

ARTICLE = """---
title: Tagged links
url: /posts/tagged
---
Read [our post](https://example.com/a?x=1#top), [a tagged one](https://example.com/b?utm_source=social),
[another site](https://other.example/c), [write to us](mailto:editor@example.com) and
[the archive](https://www.example.com/issues/).

[Read it all](https://example.com/all){.button}

![A picture](https://example.com/pic.png)
"""
TRACKING = '\n[tracking]\nutm = { source = "newsletter", medium = "email", campaign = "{issue}" }\n'


def _preview(project_dir, cli, tracking: str):
    (project_dir / "articles" / "tagged.md").write_text(ARTICLE)
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write(tracking)
    result = cli("preview", "articles/tagged.md", "--output", "out")
    assert result.exit_code == 0, result.output
    out = project_dir / "out"
    message = email.message_from_bytes((out / "tagged.eml").read_bytes(), policy=policy.default)
    return (out / "tagged.html").read_text(), (out / "tagged.txt").read_text(), message


def test_preview_carries_the_same_tagged_links_in_html_and_text(project_dir, cli):
    html, text, message = _preview(project_dir, cli, TRACKING)
    tags = "utm_source=newsletter&utm_medium=email&utm_campaign=tagged"
    expected = [
        f"https://example.com/a?x=1&{tags}#top",
        "https://example.com/b?utm_source=social&utm_medium=email&utm_campaign=tagged",
        f"https://example.com/posts/tagged?{tags}",
        f"https://www.example.com/issues/?{tags}",
        f"https://example.com/all?{tags}",
        f"https://example.com/?{tags}",  # the footer's link to the site
    ]
    for url in expected:
        assert f'href="{url.replace("&", "&amp;")}"' in html, url
        assert url in text, url
    assert 'href="https://other.example/c"' in html and "https://other.example/c\n" in text
    assert 'href="mailto:editor@example.com"' in html
    assert 'src="https://example.com/pic.png"' in html and "https://example.com/pic.png\n" in text
    assert "utm_" not in message["List-Unsubscribe"]
    unsubscribe = [line for line in text.splitlines() if "/unsubscribe?" in line]
    assert unsubscribe and all("utm_" not in line for line in unsubscribe)
    in_html = {html_module.unescape(u) for u in re.findall(r'href="([^"]*utm_[^"]*)"', html)}
    assert in_html == set(re.findall(r"https?://\S*utm_\S*", text)) == set(expected)


def test_without_tracking_utm_no_link_is_tagged(project_dir, cli):
    html, text, _ = _preview(project_dir, cli, "")
    assert "utm_" not in html.replace("utm_source=social", "")
    assert "utm_" not in text.replace("utm_source=social", "")
    assert 'href="https://example.com/a?x=1#top"' in html


def test_every_recipient_s_copy_carries_the_same_tagged_links(project_dir, cli):
    """Tagged once, when the issue is rendered: only the reader's own links differ."""
    (project_dir / "articles" / "tagged.md").write_text(ARTICLE)
    with (project_dir / "newsletter.toml").open("a") as settings:
        settings.write(TRACKING)
    result = cli("send", "articles/tagged.md", "--list", "sample", "--yes")
    assert result.exit_code == 0, result.output
    links = []
    for path in sorted((project_dir / "outbox" / "tagged").glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        html = message.get_body(("html",)).get_content()
        text = message.get_body(("plain",)).get_content()
        tagged_html = {u for u in re.findall(r'href="([^"]*utm_[^"]*)"', html)}
        tagged_text = set(re.findall(r"https?://\S*utm_\S*", text))
        links.append((frozenset(tagged_html), frozenset(tagged_text)))
    assert len(links) == 4 and len(set(links)) == 1
    assert links[0][0] and all("/unsubscribe" not in u for u in links[0][0] | links[0][1])
