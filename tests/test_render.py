"""Rendering an issue once: the default template, CSS inlining, the text part."""

import re
from datetime import date

import pytest
from conftest import DATA, REPO, SAMPLE_ARTICLE, compose, write

from newsletter.articles import read_article
from newsletter.articles.issue import Issue
from newsletter.render import render_issue

GOLDEN = REPO / "tests" / "golden"


@pytest.fixture
def rendered(project):
    return compose(project, [project.root / SAMPLE_ARTICLE])[1]


def html_of(rendered):
    return rendered.html.source("html")


def text_of(rendered):
    return rendered.text.source("text")


def test_headline_ampersand_is_escaped_once(rendered):
    html = html_of(rendered)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
    assert h1 == "Chrissy Teigen Says Miles Is Almost Walking &amp; Where Has The Time Gone"
    assert "&amp;amp;" not in html
    assert html.count("<h1") == 1
    assert "Walking & Where" in text_of(rendered)
    assert rendered.subject.source("text") == (
        "Chrissy Teigen Says Miles Is Almost Walking & Where Has The Time Gone"
    )


def test_credit_is_a_caption_and_the_body_has_every_paragraph(rendered):
    html = html_of(rendered)
    assert re.search(r'<p class="credit"[^>]*>Photo: Kathy Hutchins/Shutterstock</p>', html)
    assert html.count('<p class="p"') == 12
    assert "More from Pop Culture" not in html and "R29 Original Series" not in html


def test_every_style_is_inlined_except_the_media_rules(rendered):
    """One <style> block is left: the @media rules; and the client resets, which
    premailer leaves alone (selectors for what only some clients add)."""
    html = html_of(rendered)
    outside_mso = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html, flags=re.S)
    styles = re.findall(r"<style[^>]*>(.*?)</style>", outside_mso, re.S)
    assert len(styles) == 2
    css, resets = styles
    assert "data-premailer" not in html  # premailer took the mark off
    assert "a[x-apple-data-detectors]" in resets and "u + #body a" in resets
    assert "[data-ogsc] .content" in resets and "[data-ogsb] .container" in resets
    outside_media = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", css).strip()
    assert outside_media == ""
    assert "@media only screen and (max-width: 620px)" in css
    assert "@media (prefers-color-scheme: dark)" in css
    assert "!important" in css  # premailer must not strip it
    assert 'style="margin:0 0 18px 0"' in html  # paragraphs got their inline style
    assert "<link" not in html and "@import" not in html


def test_template_follows_the_email_checklist(rendered):
    html = html_of(rendered)
    unsubscribe = re.escape(rendered.html.token("unsubscribe_url", "html"))
    assert html.startswith("<!DOCTYPE html>")
    assert re.search(r'<html lang="en" dir="ltr"', html)
    assert '<meta charset="utf-8">' in html
    assert 'name="viewport"' in html and "x-apple-disable-message-reformatting" in html
    assert 'name="color-scheme" content="light dark"' in html
    assert "<title>Chrissy Teigen Says Miles Is Almost Walking &amp; Where" in html
    body = html.split("<body", 1)[1]
    assert body.split(">", 1)[1].lstrip().startswith('<div class="preheader" style="display:none')
    assert 'role="presentation"' in html
    assert "<!--[if mso]><table" in html and "<![endif]-->" in html
    assert "max-width:600px" in html
    assert "1 Example Street, Springfield, USA" in html
    assert re.search(rf'<a class="footer-link" href="{unsubscribe}"[^>]*>Unsubscribe', html)
    assert "<script" not in html.lower()


def test_preheader_is_the_opening_text_not_the_headline(rendered):
    assert rendered.preheader.startswith("Chrissy Teigen has big news to announce")
    assert len(rendered.preheader) <= 91
    assert "Where Has The Time Gone" not in rendered.preheader


def test_text_part_is_wrapped_and_ends_with_unsubscribe_and_postal_address(rendered):
    text = text_of(rendered)
    for line in text.splitlines():
        assert len(line) <= 72 or re.fullmatch(r"(\[\d+\] )?https?://\S+", line), line
    assert text.count("If Teigen embracing motherhood") == 1
    tail = text.rstrip().splitlines()[-5:]
    assert "1 Example Street, Springfield, USA" in tail
    assert tail[-2:] == ["Unsubscribe:", rendered.text.token("unsubscribe_url", "text")]
    assert "<" not in text.replace("<b>", "")  # no HTML leaked into the text part


def test_markdown_links_are_listed_at_the_end_of_the_text_part(project, tmp_path):
    article = write(
        tmp_path / "links.md",
        "---\ntitle: Links\n---\nSee [the docs](https://example.com/docs) and "
        "[the blog](https://example.com/blog), and [the docs](https://example.com/docs) again.\n",
    )
    rendered = compose(project, [article])[1]
    text = text_of(rendered)
    assert "See the docs [1] and the blog [2], and the docs [1] again." in text
    assert "[1] https://example.com/docs\n[2] https://example.com/blog" in text
    assert 'href="https://example.com/docs"' in html_of(rendered)


def test_raw_html_in_an_article_never_reaches_the_email_as_markup(project, tmp_path):
    article = write(
        tmp_path / "x.md",
        "---\ntitle: <b>T</b> & <script>alert(1)</script>\n---\n"
        '<img src=x onerror=alert(1)> <a href="javascript:alert(1)">x</a>\n\n'
        "[click](javascript:alert(1))\n",
    )
    html = html_of(compose(project, [article])[1])
    assert "<script" not in html.lower() and "<img src=x" not in html
    assert not re.search(r"<a\s[^>]*href=\"javascript:", html)
    assert not re.search(r"<img\s[^>]*onerror", html)
    assert "&lt;b&gt;T&lt;/b&gt; &amp; &lt;script&gt;" in html
    # shown as text, inert (its quotes typeset as any text's are)
    assert "&lt;a href=\u201cjavascript:alert(1)\u201d&gt;" in html


def test_several_articles_make_one_digest_issue(project, tmp_path):
    paths = [project.root / SAMPLE_ARTICLE, project.root / "articles" / "welcome.md"]
    issue, rendered = compose(project, paths)
    assert issue.id == "000_1718b35f7cc77fd8__welcome"
    subject = rendered.subject.source("text")
    assert subject.startswith("Chrissy Teigen") and subject.endswith(" and 1 more")
    html = html_of(rendered)
    assert html.count('<h2 class="headline digest-headline"') == 2
    assert html.count("<h1") == 1 and '<h1 class="brand"' in html  # the newsletter's name
    assert html.count('class="divider"') == 1


def test_right_to_left_article_is_marked_rtl(project):
    rendered = compose(project, [DATA / "arabic.txt"])[1]
    assert '<div class="article rtl" dir="rtl"' in html_of(rendered)


def test_project_template_overrides_the_default(project):
    write(project.root / "templates" / "subject.txt", "Weekly: {{ articles[0].title }}")
    rendered = compose(project, [project.root / SAMPLE_ARTICLE])[1]
    assert rendered.subject.source("text").startswith("Weekly: Chrissy Teigen")


def test_article_text_that_looks_like_a_placeholder_stays_text(project, tmp_path):
    article = write(tmp_path / "p.txt", "Headline\n\nHi %%nlt.email%% there.\n")
    rendered = compose(project, [article])[1]
    assert "Hi %%nlt.email%% there." in html_of(rendered)
    assert rendered.html.keys.count("email") == 1  # only the footer's


def test_template_testing_a_subscriber_field_names_the_template(project):
    write(project.root / "templates" / "subject.txt", "{% if subscriber.name %}Hi{% endif %}")
    from newsletter.errors import TemplateError

    with pytest.raises(TemplateError, match=r"subject.txt:1: subscriber field 'name' is filled"):
        compose(project, [project.root / SAMPLE_ARTICLE])


def test_css_is_inlined_once_per_issue(project, monkeypatch):
    import premailer

    calls = []
    real = premailer.Premailer.transform

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(premailer.Premailer, "transform", counting)
    article = read_article(project.root / SAMPLE_ARTICLE)
    render_issue(Issue("x", (article,)), project.settings.newsletter)
    assert len(calls) == 1


GOLDEN_ISSUES = {  # name -> (issue id, articles: relative to the project, or absolute)
    "sample": ("000_1718b35f7cc77fd8", [SAMPLE_ARTICLE]),
    "kitchen": ("kitchen_sink", [DATA / "kitchen_sink.md"]),
    "digest": ("digest", sorted((DATA / "digest").glob("*.md"))),
}


@pytest.mark.parametrize("name", GOLDEN_ISSUES)
def test_the_email_matches_the_golden_files(project, name):
    """The rendered sample, kitchen sink (tests/data/kitchen_sink.md) and three-article
    digest (tests/data/digest/), HTML and text with placeholders, are committed as
    tests/golden/NAME.html and NAME.txt: template changes show in review. Refresh with
    `UPDATE_GOLDEN=1 pytest tests/test_render.py -k golden`."""
    import os

    issue_id, paths = GOLDEN_ISSUES[name]
    articles = tuple(read_article(project.root / path) for path in paths)
    assert len(articles) == (3 if name == "digest" else 1)
    rendered = render_issue(Issue(issue_id, articles), project.settings.newsletter,
                            today=date(2026, 12, 7), prefix="%%nl")  # fmt: skip
    outputs = {f"{name}.html": html_of(rendered), f"{name}.txt": text_of(rendered)}
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.mkdir(exist_ok=True)
        for file, content in outputs.items():
            (GOLDEN / file).write_text(content, encoding="utf-8")
    for file, content in outputs.items():
        golden = GOLDEN / file
        assert golden.exists(), f"{file} missing: run with UPDATE_GOLDEN=1"
        assert content == golden.read_text(encoding="utf-8"), f"{file} changed"


def test_nested_markdown_renders_in_order_in_both_parts(project, tmp_path):
    from test_articles import NESTED

    rendered = compose(project, [write(tmp_path / "n.md", NESTED)])[1]
    text = text_of(rendered)
    assert (
        "1. one\n\n   second paragraph of one\n\n       code in the item\n\n"
        "2. two\n\n   [Image: img] [1]\n\n   1. nested ordered\n\n"
        "> quote\n>\n> - list in the quote\n\n[Image: linked] [2]"
    ) in text
    html = re.sub(r' style="[^"]*"|\n', "", html_of(rendered))
    assert '<ol class="list"><li class="li">one<p class="li-p">second paragraph of one</p>' in html
    assert '<ol class="list"><li class="li">nested ordered</li></ol></li></ol>' in html
    assert '<blockquote class="quote"><p class="quote-p">quote</p><ul class="list">' in html
    assert '<a href="https://e.com/target"><img class="img" src="https://e.com/l.png"' in html


def test_relative_links_and_images_are_made_absolute_with_the_site_url(project, tmp_path):
    article = write(
        tmp_path / "r.md",
        "---\ntitle: R\nurl: /posts/r\nimage: img/hero.jpg\n---\n"
        "See [about](/about) and [docs](docs/x?a=1) and ![p](/p.png) and "
        "[mail](mailto:ed@example.com).\n",
    )
    rendered = compose(project, [article])[1]
    html = html_of(rendered)
    for url in (
        "https://example.com/posts/r",
        "https://example.com/img/hero.jpg",
        "https://example.com/about",
        "https://example.com/docs/x?a=1",
        "https://example.com/p.png",
        "mailto:ed@example.com",
    ):
        assert url in html, url
    assert 'href="/' not in html and 'src="/' not in html and 'src="img/' not in html
    assert "[1] https://example.com/about" in text_of(rendered)


@pytest.mark.parametrize("field", ["url", "image"])
def test_front_matter_links_with_unsafe_schemes_are_refused(project, tmp_path, field):
    from newsletter.errors import ArticleError

    article = write(tmp_path / "u.md", f"---\ntitle: U\n{field}: javascript:alert(1)\n---\nx\n")
    with pytest.raises(ArticleError, match=f"`{field}` must be an http"):
        compose(project, [article])


def test_issue_id_keeps_sub_folders_of_articles(project):
    from newsletter.articles.issue import issue_id

    articles = project.root / "articles"
    assert issue_id([articles / "2025" / "welcome.md"], articles) == "2025-welcome"
    assert issue_id([articles / "2026" / "welcome.md"], articles) == "2026-welcome"
    assert issue_id([project.root / "elsewhere" / "welcome.md"], articles) == "welcome"


def test_a_title_taken_from_the_opening_sentence_is_not_shown_twice(project):
    single = compose(project, [DATA / "cnn.txt"])[1]
    assert "<h1" not in html_of(single) and '<h2 class="headline' not in html_of(single)
    assert text_of(single).count("Are you in the grips of the wintry storm") == 1
    assert single.subject.source("text").startswith("Are you in the grips")
    digest = compose(project, [DATA / "cnn.txt", project.root / SAMPLE_ARTICLE])[1]
    assert html_of(digest).count('<h2 class="headline digest-headline"') == 2


@pytest.mark.parametrize(
    "subject",
    [
        "{{ subscriber.name|title }}",
        "{{ subscriber.name|int }}",
        "{{ subscriber.name|wordcount }}",
        "{{ subscriber.name|replace('a', 'e') }}",
        "{% if subscriber.name is defined %}x{% endif %}",
        "{{ (subscriber.name ~ '')[4:] }}",
        "{{ (subscriber.name ~ '')|upper }}",
    ],
)
def test_templates_cannot_change_subscriber_fields(project, subject):
    from newsletter.errors import TemplateError

    write(project.root / "templates" / "subject.txt", subject)
    with pytest.raises(TemplateError, match="subscriber field"):
        compose(project, [project.root / SAMPLE_ARTICLE])


def test_default_filter_gives_a_field_its_fallback(project):
    from newsletter.audience.lists import Subscriber
    from newsletter.personalise import Personaliser, personalise
    from newsletter.signing import Links

    write(
        project.root / "templates" / "subject.txt",
        'For {{ subscriber.name|default("you") }} and {{ subscriber.get("city", "all")|e }}',
    )
    rendered = compose(project, [project.root / SAMPLE_ARTICLE])[1]
    audience = Links("https://example.com/u", b"k" * 32, "sample")
    nameless = Personaliser(rendered, audience).recipient(
        Subscriber("x@example.com", "", {"city": "Oslo"})
    )
    copy = personalise(rendered.subject, rendered.html, rendered.text, nameless)
    assert copy.subject == "For you and Oslo"


def test_a_field_inside_css_is_an_error_not_a_silent_loss(project):
    from newsletter.errors import TemplateError
    from newsletter.render import PACKAGE_TEMPLATES

    html = (PACKAGE_TEMPLATES / "email.html").read_text()
    html = html.replace(
        '<p class="greeting">', '<p class="greeting" style="color: {{ subscriber.city }}">'
    )
    write(project.root / "templates" / "email.html", html)
    with pytest.raises(TemplateError, match=r"email\.html: a subscriber field inside CSS"):
        compose(project, [project.root / SAMPLE_ARTICLE])


@pytest.mark.parametrize("bad", ["x..y", "x.", "../x", ".x", "a/b", "", "x" * 101])
def test_issue_ids_that_could_not_be_a_folder_or_message_id_are_refused(bad):
    from newsletter.articles.issue import check_issue_id
    from newsletter.errors import UsageError

    with pytest.raises(UsageError):
        check_issue_id(bad)


def test_derived_issue_ids_have_no_double_or_trailing_dots(tmp_path):
    from newsletter.articles.issue import ID_PATTERN, issue_id

    derived = issue_id([tmp_path / "a..b.md", tmp_path / "c. .md"])
    assert ID_PATTERN.fullmatch(derived), derived


def test_the_email_names_itself_and_its_language_where_webmail_drops_html(rendered):
    html = html_of(rendered)
    wrapper = re.search(r'<div role="article" aria-roledescription="email" [^>]*>', html)
    assert wrapper and 'lang="en"' in wrapper.group(0) and 'dir="ltr"' in wrapper.group(0)
    assert 'aria-label="Chrissy Teigen Says Miles' in wrapper.group(0)
    assert html.index('class="preheader"') < wrapper.start()  # the preview line comes first
    assert '<body class="body" id="body"' in html  # for Gmail's `u + #body` reset


def test_inlining_gives_what_premailer_gives_and_follows_a_changed_style(project):
    """render/inline.py keeps premailer's rules of a style block for the process:
    the email must be byte for byte premailer's, and a changed CSS its own."""
    import logging

    import premailer

    from newsletter.render.inline import inline_css

    def shipped(html: str) -> str:
        return premailer.Premailer(
            html, strip_important=False, allow_network=False,
            cssutils_logging_level=logging.CRITICAL, keep_style_tags=False,
            remove_classes=False, disable_validation=True, cache_css_parsing=True,
            disable_basic_attributes=["width", "height"],
        ).transform()  # fmt: skip

    page = ('<html><head><style>.a {{ color: {0}; }} @media (prefers-color-scheme: dark) '
            '{{ .a {{ color: {1} !important; }} }}</style></head><body><p class="a">x</p>'
            "</body></html>")  # fmt: skip
    for colours in [("#123456", "#abcdef"), ("#654321", "#fedcba"), ("#123456", "#abcdef")]:
        html = page.format(*colours)
        assert inline_css(html) == inline_css(html) == shipped(html)
        assert f"color:{colours[0]}" in inline_css(html).replace(" ", "")
        assert colours[1] in inline_css(html)
    sample = html_of(compose(project, [project.root / SAMPLE_ARTICLE])[1])
    assert "<style>" in sample and 'class="body"' in sample  # a real email went through
