"""The default email as a newsletter (issue 14): masthead and brand, [theme], words
in the project's language, digests that read as one issue, calls to action, the
footer, and the issue's own subject, preheader and number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import NOW, REPO, SAMPLE_ARTICLE, SECRET, write

from newsletter.clock import FixedClock
from newsletter.colours import contrast
from newsletter.errors import ArticleError, SettingsError
from newsletter.project import Project
from newsletter.render.issue_view import IssueFields, preheader_of
from newsletter.settings import load_settings

ARTICLE = """\
---
title: {title}
author: Jane Doe
date: 2026-12-07
{extra}
---
{body}
"""


def article(root: Path, name: str, title: str = "A story", body: str = "Some text.",
            **extra: object) -> Path:  # fmt: skip
    lines = "\n".join(f"{key}: {json.dumps(value)}" for key, value in extra.items())
    return write(root / "articles" / name, ARTICLE.format(title=title, extra=lines, body=body))


def settings(root: Path, newsletter: str = "", theme: str = "") -> None:
    """Add lines to [newsletter] (after its first line) and a [theme] table."""
    path = root / "newsletter.toml"
    text = path.read_text().replace("[newsletter]\n", f"[newsletter]\n{newsletter}\n", 1)
    if theme:
        text += f"\n[theme]\n{theme}\n"
    path.write_text(text)


def render(root: Path, *names: str, overrides: IssueFields | None = None):
    with Project.open(root, clock=FixedClock(NOW)) as project:
        issue = project.read_issue([root / "articles" / n for n in names])
        rendered = project.render(issue, overrides)
    return rendered, rendered.html.source("html"), rendered.text.source("text")


def visible(html: str) -> str:
    """The HTML's text, tags and the preheader out, spaces squashed."""
    body = html.split('<div role="article"', 1)[-1]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


# --- settings: each wrong value is one line naming its key --------------------------


@pytest.mark.parametrize(
    ("lines", "theme", "key", "says"),
    [
        ('logo = "http://example.com/logo.png"', "", "[newsletter] logo", "https"),
        ('logo = "logo.png"', "", "[newsletter] logo", "absolute"),
        ('web_url = "https://example.com/{id}"', "", "[newsletter] web_url", "{issue}"),
        ('web_url = "example.com/issues"', "", "[newsletter] web_url", "absolute"),
        ("logo_width = 2000", "", "[newsletter] logo_width", "16 to 536"),
        ("", 'accent = "red"', "[theme] accent", "#0b5cad"),
        ("", 'accent = "#fc0"', "[theme] accent", "#0b5cad"),
        ("", 'accent = "#ffcc00"', "[theme] accent", "too light"),
        ("", 'body_font = "Comic Sans"', "[theme] body_font", "sans, serif"),
        ("", 'header = "right"', "[theme] header", "left, center"),
        ("", 'colour = "#000000"', "[theme] colour", "unknown setting"),
    ],
)
def test_a_wrong_design_setting_is_one_line_naming_it(project_dir, lines, theme, key, says):
    settings(project_dir, lines, theme)
    with pytest.raises(SettingsError) as caught:
        load_settings(project_dir / "newsletter.toml")
    message = str(caught.value)
    assert key in message and says in message, message
    assert "\n" not in message


def test_a_language_cldr_does_not_know_is_refused(project_dir):
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text().replace('language = "en"', 'language = "xx"'))
    with pytest.raises(SettingsError, match=r"\[newsletter\] language.*'xx' is not a language"):
        load_settings(path)


# --- the masthead and the brand --------------------------------------------------------


def test_the_masthead_shows_the_logo_the_issue_number_and_date_and_a_web_link(project_dir):
    settings(
        project_dir,
        'logo = "https://example.com/logo.png"\nlogo_alt = "PCW logo"\nlogo_width = 200\n'
        'web_url = "https://example.com/issues/{issue}"',
        'accent = "#9a3412"\nheader = "center"',
    )
    article(project_dir, "one.md", number=42)
    _, html, text = render(project_dir, "one.md")
    logo = re.search(r'<img class="logo[^"]*"[^>]*>', html).group(0)
    assert 'src="https://example.com/logo.png"' in logo and 'alt="PCW logo"' in logo
    assert 'width="200"' in logo
    masthead = re.search(r'<td class="masthead[^"]*"[^>]*>.*?</td>', html, re.S).group(0)
    assert 'align="center"' in masthead
    assert "Issue 42 · November 25, 2026" in visible(masthead)
    assert html.count('href="https://example.com/issues/one"') == 2  # top and footer
    assert "View in browser:\nhttps://example.com/issues/one" in text
    assert "Issue 42 · November 25, 2026" in text
    assert 'bgcolor="#9a3412"' in html  # the accent bar


def test_without_a_logo_the_name_is_the_brand_and_nothing_links_to_a_web_copy(project):
    html = project.render(project.read_issue([project.root / SAMPLE_ARTICLE])).html.source("html")
    brand = re.search(r'<p class="brand"[^>]*>(.*?)</p>', html, re.S).group(1)
    assert ">Pop Culture Weekly</a>" in brand
    assert '<img class="logo' not in html
    assert "View in browser" not in html
    assert "Issue " not in visible(html)  # no number given


def test_a_linked_headline_and_a_byline_with_the_date(project_dir):
    article(project_dir, "one.md", url="https://example.com/one")
    _, html, text = render(project_dir, "one.md")
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1)
    assert re.search(
        r'<a class="headline-link" href="https://example.com/one"[^>]*>A story</a>', h1
    )
    assert "By Jane Doe · December 7, 2026" in visible(html)
    assert "By Jane Doe · December 7, 2026" in text


def test_the_accent_colours_links_and_buttons_and_a_lighter_one_reads_in_dark_mode(project_dir):
    settings(project_dir, theme='accent = "#9a3412"')
    article(project_dir, "one.md", body="[A link](https://example.com/x)\n\n"
            "[Sign up](https://example.com/signup){.button}")  # fmt: skip
    _, html, _ = render(project_dir, "one.md")
    link = re.search(r'<a class="link"[^>]*style="([^"]*)"', html).group(1)
    assert "color:#9a3412" in link.replace(" ", "")
    dark = re.search(r"\.link, \.contents-link\s*\{\s*color: (#[0-9a-f]{6}) !important", html)
    assert dark and contrast(dark.group(1), "#262a31") >= 4.5
    assert dark.group(1) != "#9a3412"


# --- calls to action -----------------------------------------------------------------


def test_a_button_link_is_a_bulletproof_button_in_html_and_a_line_in_text(project_dir):
    article(
        project_dir, "one.md", body="Join us.\n\n[Register now](https://example.com/r){.button}"
    )
    _, html, text = render(project_dir, "one.md")
    box = re.search(r'<div class="button-box".*?</div>', html, re.S).group(0)
    cell = re.search(r'<td class="button-td"[^>]*style="([^"]*)"', box).group(1)
    assert "mso-padding-alt" in cell and "background-color:#0b5cad" in cell.replace(" ", "")
    anchor = re.search(
        r'<a class="button-a" href="https://example.com/r"[^>]*>Register now</a>', box
    )
    assert anchor and "padding:12px 24px" in anchor.group(0).replace(": ", ":")
    assert 'role="presentation"' in box
    assert "Register now: https://example.com/r" in text
    assert "{.button}" not in html + text


# --- digests -------------------------------------------------------------------------


def digest(root: Path) -> tuple[str, ...]:
    article(
        root,
        "01_lead.md",
        "The lead story",
        url="https://example.com/lead",
        summary="Why the lead story matters.",
        display="summary",
        body="Not in the email.",
    )
    article(
        root,
        "02_charts.md",
        "Three charts",
        url="https://example.com/charts",
        body="A chart or three.",
    )
    article(root, "03_letters.md", "Letters", body="Your letters.")  # no url
    return "01_lead.md", "02_charts.md", "03_letters.md"  # fmt: skip


def test_a_digest_lists_what_is_in_it_and_each_article_is_a_section(project_dir):
    rendered, html, text = render(project_dir, *digest(project_dir))
    contents = re.search(r'<table role="presentation" class="contents".*?</table>', html, re.S)
    assert contents, "no In this issue box"
    box = contents.group(0)
    assert "In this issue" in box
    assert '<a class="contents-link" href="https://example.com/lead"' in box
    assert re.search(r'<span class="contents-text"[^>]*>Letters</span>', box)  # no url: no link
    assert len(re.findall(r'<h2 class="headline digest-headline"', html)) == 3
    assert "In this issue:\n1. The lead story\n2. Three charts\n3. Letters" in text
    assert rendered.subject.source("text") == "The lead story and 2 more"
    assert rendered.preheader == "The lead story · Three charts · Letters"


def test_an_article_in_summary_mode_shows_its_summary_and_a_read_more_button(project_dir):
    _, html, text = render(project_dir, *digest(project_dir))
    assert "Why the lead story matters." in html and "Not in the email." not in html
    assert re.search(
        r'<a class="button-a" href="https://example.com/lead"[^>]*>Read more</a>', html
    )
    assert "Read more:\nhttps://example.com/lead" in text
    assert "Not in the email." not in text
    assert "Read it on the web:\nhttps://example.com/charts" in text  # whole: a link


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({"display": "teaser"}, "`display` must be full or summary"),
        ({"display": "summary", "url": "https://example.com/x"}, "needs a `summary` too"),
        ({"display": "summary"}, "needs a `summary` and `url` too"),
        ({"display": "summary", "summary": "Short."}, "needs a `url`"),
        ({"number": "twelve"}, "`number` must be a whole number"),
        ({"number": 0}, "`number` must be a whole number"),
        ({"subject": ["a", "list"]}, "`subject` must be text"),
        ({"subject": "x" * 201}, "at most 200"),
    ],
)
def test_wrong_issue_front_matter_names_the_file_and_field(project_dir, extra, says):
    article(project_dir, "bad.md", **extra)
    with pytest.raises(ArticleError) as caught:
        render(project_dir, "bad.md")
    assert says in str(caught.value) and "bad.md" in str(caught.value)


# --- the issue's subject, preheader and number --------------------------------------


def test_the_first_articles_front_matter_sets_subject_preheader_and_number(project_dir):
    article(project_dir, "one.md", subject="Issue 12: the big one", preheader="Read this first.",
            number=12)  # fmt: skip
    article(project_dir, "two.md", "Second", subject="Not this one")
    rendered, html, _ = render(project_dir, "one.md", "two.md")
    assert rendered.subject.source("text") == "Issue 12: the big one"
    assert rendered.preheader == "Read this first."
    assert "Issue 12 ·" in visible(html)


def test_the_command_line_wins_over_the_front_matter(project_dir):
    article(project_dir, "one.md", subject="From the article", number=12)
    rendered, html, _ = render(
        project_dir, "one.md", overrides=IssueFields(subject="From --subject", number=13)
    )
    assert rendered.subject.source("text") == "From --subject"
    assert "Issue 13 ·" in visible(html)


def test_preview_and_send_take_subject_and_number(cli, project_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    article(project_dir, "one.md")
    done = cli("preview", "articles/one.md", "--subject", "  Hello   there ", "--number", "7",
               "--output", str(tmp_path))  # fmt: skip
    assert done.exit_code == 0, done.output
    eml = next(tmp_path.glob("*.eml")).read_text()
    assert "Subject: Hello there" in eml
    assert "Issue 7 ·" in next(tmp_path.glob("*.txt")).read_text()
    empty = cli("preview", "articles/one.md", "--subject", " ", "--output", str(tmp_path))
    assert empty.exit_code == 2 and "--subject: must not be empty" in empty.output
    for number in ("0", "x", "1.5", "-3"):
        bad = cli("send", "articles/one.md", "--list", "sample", "--number", number, "--dry-run")
        assert bad.exit_code == 2, bad.output
        said = f"error: --number: expected a whole number from 1 to 1,000,000, got {number!r}"
        assert bad.output.strip() == said


def test_a_scheduled_issue_is_sent_with_the_subject_it_was_queued_with(
    cli, project_dir, monkeypatch, wiring
):
    from newsletter.clock import FixedClock as Clock

    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    wiring["clock"] = Clock(NOW)
    article(project_dir, "one.md")
    queued = cli("schedule", "articles/one.md", "--list", "sample", "--now", "--subject",
                 "Queued subject", "--number", "3")  # fmt: skip
    assert queued.exit_code == 0, queued.output
    listed = json.loads(cli("schedule", "--list-queued", "--json").stdout)
    assert listed[0]["subject"] == "Queued subject" and listed[0]["number"] == 3
    assert "  number: 3, subject: Queued subject" in cli("schedule", "--list-queued").stdout
    sent = cli("cron")
    assert sent.exit_code == 0, sent.output
    mails = sorted((project_dir / "outbox").rglob("*.eml"))
    assert mails, "cron sent nothing"
    assert all("Subject: Queued subject" in m.read_text() for m in mails)


def test_a_resume_refuses_a_new_subject(cli, project_dir, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    done = cli("send", "--id", "anything", "--subject", "New")
    assert done.exit_code == 2 and "for a new issue" in done.output


def test_the_preheader_ends_at_a_sentence_or_a_word_never_mid_word(project):
    issue = project.read_issue([project.root / SAMPLE_ARTICLE])
    first = preheader_of(issue)
    assert len(first) <= 91
    opening = " ".join(issue.articles[0].paragraphs[0].plain_text.split())
    assert opening.startswith(first.removesuffix("…").rstrip())
    cut = first.removesuffix("…")
    following = opening[len(cut) : len(cut) + 1]
    assert first.endswith((".", "!", "?")) or following in (" ", ",", ""), (first, following)


# --- the footer ----------------------------------------------------------------------


def test_the_footer_says_why_and_holds_unsubscribe_address_site_and_copyright(project):
    html = project.render(project.read_issue([project.root / SAMPLE_ARTICLE])).html.source("html")
    footer = visible(re.search(r'<td class="footer".*?</td>', html, re.S).group(0))
    assert "Just reply to this email." in footer  # the sample has a reply_to
    assert "is subscribed to Pop Culture Weekly" in footer
    assert "Unsubscribe" in footer and "1 Example Street, Springfield, USA" in footer
    assert "example.com · © 2026 Pop Culture Weekly" in footer


def test_without_reply_to_the_footer_does_not_invite_replies(project_dir):
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text().replace('reply_to = "editor@example.com"\n', ""))
    article(project_dir, "one.md")
    _, html, text = render(project_dir, "one.md")
    assert "reply" not in visible(html).lower() and "Just reply" not in text


# --- the email's words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("de", ["Hallo Ada Lovelace,", "Von Jane Doe · 7. Dezember 2026", "Abmelden",
                "In dieser Ausgabe", "Weiterlesen"]),
        ("fr", ["Bonjour Ada Lovelace,", "Par Jane Doe · 7 décembre 2026", "Se désabonner",
                "Dans ce numéro", "Lire la suite"]),
        ("es", ["¡Hola, Ada Lovelace!", "Por Jane Doe · 7 de diciembre de 2026",
                "Darse de baja", "En este número", "Seguir leyendo"]),
    ],
)  # fmt: skip
def test_every_word_of_the_template_is_in_the_projects_language(project_dir, language, words):
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text().replace('language = "en"', f'language = "{language}"'))
    names = digest(project_dir)
    with Project.open(project_dir, clock=FixedClock(NOW)) as project:
        from newsletter.preview import make_sample

        sample = make_sample(project, [project_dir / "articles" / n for n in names])
    html, text = visible(sample.copy.html), sample.copy.text
    for word in words:
        assert word in html, (word, language)
    for english in ("In this issue", "Read more", "Unsubscribe", "By Jane", "You are receiving"):
        assert english not in html and english not in text, english


def test_an_article_in_another_language_has_its_byline_and_buttons_in_it(project_dir):
    article(project_dir, "one.md", language="de", url="https://example.com/x",
            summary="Kurz.", display="summary")  # fmt: skip
    article(project_dir, "two.md", "Two")
    _, html, _ = render(project_dir, "one.md", "two.md")
    text = visible(html)
    assert "Von Jane Doe · 7. Dezember 2026" in text and "Weiterlesen" in text
    assert "By Jane Doe · December 7, 2026" in text  # the English one keeps its words
    assert "In this issue" in text


def test_a_project_changes_a_word_or_adds_a_language_with_its_own_words_file(project_dir):
    write(project_dir / "templates" / "words" / "en.toml", 'read_on_web = "Open the web copy"\n')
    article(project_dir, "one.md", url="https://example.com/x")
    _, html, text = render(project_dir, "one.md")
    assert "Open the web copy" in html and "Open the web copy:" in text
    assert "Unsubscribe" in html  # the other words stay the package's


def test_a_custom_template_uses_the_same_catalog_and_an_unknown_word_is_named(project_dir):
    from newsletter.errors import TemplateError

    write(
        project_dir / "templates" / "subject.txt", '{{ t("read_more") }}: {{ articles[0].title }}'
    )
    article(project_dir, "one.md")
    rendered, _, _ = render(project_dir, "one.md")
    assert rendered.subject.source("text") == "Read more: A story"
    write(project_dir / "templates" / "subject.txt", '{{ t("no_such_word") }}')
    with pytest.raises(TemplateError, match="no word 'no_such_word'"):
        render(project_dir, "one.md")


def test_a_broken_words_file_is_one_line_naming_it(project_dir):
    from newsletter.errors import TemplateError

    write(project_dir / "templates" / "words" / "en.toml", "read_more = \n")
    article(project_dir, "one.md")
    with pytest.raises(TemplateError) as caught:
        render(project_dir, "one.md")
    assert "words/en.toml" in str(caught.value) and "\n" not in str(caught.value)


def test_the_credit_label_comes_from_the_front_matter_or_the_language(project_dir):
    article(project_dir, "one.md", image="https://example.com/a.jpg", image_credit="A. B.",
            image_credit_label="Illustration")  # fmt: skip
    _, html, text = render(project_dir, "one.md")
    assert "Illustration: A. B." in visible(html) and "Illustration: A. B." in text
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text().replace('language = "en"', 'language = "de"'))
    article(project_dir, "two.md", image="https://example.com/a.jpg", image_credit="A. B.")
    _, html, _ = render(project_dir, "two.md")
    assert "Foto: A. B." in visible(html)


def test_check_warns_when_the_words_of_a_language_would_be_english(cli, project_dir, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    article(project_dir, "one.md", language="ja")
    done = cli("check", "articles/one.md")
    assert "warning: words: the template has no words in 'ja'" in done.output
    write(project_dir / "templates" / "words" / "ja.toml", 'read_more = "続きを読む"\n')
    partly = cli("check", "articles/one.md").output
    assert "no words in 'ja' for by, colon, confirm_button" in partly  # the mails' words too
    assert "read_more" not in partly
    english = (REPO / "newsletter" / "templates" / "words" / "en.toml").read_text()
    write(project_dir / "templates" / "words" / "ja.toml", english)  # every key (in English)
    assert "words:" not in cli("check", "articles/one.md").output


def test_a_credit_without_its_image_is_shown_only_when_the_text_has_it(project_dir):
    article(project_dir, "one.md", image_credit="A. B.")  # front matter, no image
    _, html, text = render(project_dir, "one.md")
    assert "A. B." not in visible(html) and "A. B." not in text
    write(project_dir / "articles" / "two.txt", "A headline\nPhoto: C. D.\nA paragraph of it.\n")
    _, html, text = render(project_dir, "two.txt")
    assert "Photo: C. D." in visible(html) and "Photo: C. D." in text


def test_in_a_digest_an_articles_headings_go_under_its_headline(project_dir):
    article(project_dir, "one.md", body="## A section\n\nText.\n\n### A part\n\nMore.")
    article(project_dir, "two.md", "Two")
    _, html, _ = render(project_dir, "one.md", "two.md")
    assert re.search(r'<h3 class="h3"[^>]*>A section</h3>', html)
    assert re.search(r'<h4 class="h4"[^>]*>A part</h4>', html)
    _, alone, _ = render(project_dir, "one.md")
    assert re.search(r'<h2 class="h2"[^>]*>A section</h2>', alone)


def test_an_article_language_cldr_does_not_know_is_refused(project_dir):
    article(project_dir, "one.md", language="qq")
    with pytest.raises(ArticleError, match=r"`language`: 'qq' is not a language CLDR knows"):
        render(project_dir, "one.md")


def test_the_issues_subject_and_preheader_get_the_languages_quotes(project_dir):
    article(project_dir, "one.md", subject='We\'re "live"', preheader="Don't miss it.")
    rendered, _, _ = render(project_dir, "one.md")
    assert rendered.subject.source("text") == "We’re “live”"
    assert rendered.preheader == "Don’t miss it."
    given, _, _ = render(project_dir, "one.md", overrides=IssueFields(subject='A "new" one'))
    assert given.subject.source("text") == "A “new” one"


def test_a_started_issue_refuses_a_new_subject_even_with_its_articles(
    cli, project_dir, monkeypatch
):
    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    article(project_dir, "one.md")
    first = cli("send", "articles/one.md", "--list", "sample", "--subject", "First", "--yes")
    assert first.exit_code == 0, first.output
    again = cli("send", "articles/one.md", "--list", "sample", "--subject", "Second", "--dry-run")
    assert again.exit_code == 1 and "frozen" in again.output and "another --id" in again.output
    mails = sorted((project_dir / "outbox").rglob("*.eml"))
    assert mails and all("Subject: First" in m.read_text() for m in mails)


def test_the_masthead_date_is_the_day_in_the_newsletters_time_zone(project_dir):
    from datetime import UTC, datetime

    path = project_dir / "newsletter.toml"
    path.write_text(
        path.read_text().replace('timezone = "UTC"', 'timezone = "America/Los_Angeles"')
    )
    article(project_dir, "one.md")
    late = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)  # still December 31 in Los Angeles
    with Project.open(project_dir, clock=FixedClock(late)) as project:
        html = project.render(project.read_issue([project_dir / "articles" / "one.md"]))
    text = visible(html.html.source("html"))
    assert "December 31, 2026" in text and "© 2026 Pop Culture Weekly" in text


@pytest.mark.parametrize(
    ("text", "preheader"),
    [
        ("We spoke with the director of the film, Dr. Jones, to talk about the sequel and "
         "what comes after it next year.",
         "We spoke with the director of the film, Dr. Jones, to talk about the sequel and "
         "what…"),  # "Dr." ends no sentence
        ("日本語のテキストはスペースがありません。" * 6,
         "日本語のテキストはスペースがありません。" * 4),
        ("ภาษาไทยไม่มีช่องว่างระหว่างคำ" * 6, "ภาษาไทยไม่มีช่องว่างระหว่างคำ" * 3 + "…"),
        ("A short first sentence. Then a much longer second one that runs past the limit of "
         "ninety characters.",
         "A short first sentence. Then a much longer second one that runs past the limit of "
         "ninety…"),  # the first sentence is too thin alone
    ],
)  # fmt: skip
def test_the_preheader_is_cut_at_a_sentence_or_between_words_in_any_script(
    project_dir, text, preheader
):
    article(project_dir, "one.md", summary=text)
    rendered, _, _ = render(project_dir, "one.md")
    assert rendered.preheader == preheader


def test_a_language_tag_in_any_case_finds_its_words(project_dir):
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text().replace('language = "en"', 'language = "DE-at"'))
    assert load_settings(path).newsletter.language == "de-AT"
    article(project_dir, "one.md")
    article(project_dir, "two.md", "Two", language="FR")
    _, html, _ = render(project_dir, "one.md", "two.md")
    assert "Hallo" in visible(html) and "Par Jane Doe" in visible(html)
    assert 'lang="fr"' in html


@pytest.mark.parametrize("word", ['"Yo {nmae},"', '"Yo {},"', '"Yo {name:>20"'])
def test_a_wrong_name_in_a_word_is_one_line_naming_its_file_and_key(project_dir, word):
    from newsletter.errors import TemplateError

    write(project_dir / "templates" / "words" / "en.toml", f"greeting = {word}\n")
    article(project_dir, "one.md")
    with pytest.raises(TemplateError) as caught:
        render(project_dir, "one.md")
    message = str(caught.value)
    assert "templates/words/en.toml" in message and "'greeting'" in message, message
    assert "{name}" in message and "\n" not in message and "Error" not in message


def test_a_web_url_is_kept_in_ascii_with_its_issue(project_dir):
    settings(project_dir, 'web_url = "https://bücher.example/ausgabe/{issue}"')
    assert load_settings(project_dir / "newsletter.toml").newsletter.web_url == (
        "https://xn--bcher-kva.example/ausgabe/{issue}"
    )
    article(project_dir, "one.md")
    _, html, _ = render(project_dir, "one.md")
    assert 'href="https://xn--bcher-kva.example/ausgabe/one"' in html


def test_a_logo_for_dark_mode_takes_the_others_place_there(project_dir):
    settings(project_dir, 'logo = "https://example.com/logo.png"\n'
             'logo_dark = "https://example.com/logo-dark.png"')  # fmt: skip
    article(project_dir, "one.md")
    _, html, _ = render(project_dir, "one.md")
    light = re.search(r'<img class="logo logo-light"[^>]*>', html).group(0)
    dark = re.search(r'<img class="logo logo-dark"[^>]*>', html).group(0)
    assert 'src="https://example.com/logo.png"' in light and "display:block" in light
    assert 'src="https://example.com/logo-dark.png"' in dark and "display:none" in dark
    media = html.split("prefers-color-scheme: dark", 1)[1]
    assert re.search(r"\.logo-light\s*\{\s*display: none !important", media)
    assert re.search(r"\.logo-dark\s*\{\s*display: block !important", media)
    # not in Outlook.com's dark mode: a display rule there would be one Gmail lacks
    assert "[data-ogsc] .logo" not in html
    path = project_dir / "newsletter.toml"
    path.write_text(path.read_text().replace("https://example.com/logo-dark", "http://e.com/d"))
    with pytest.raises(
        SettingsError, match=r"\[newsletter\] logo_dark: expected an absolute https"
    ):
        load_settings(project_dir / "newsletter.toml")
