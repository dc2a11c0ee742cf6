"""Reading articles: the plain-text news format, Markdown with front matter, errors."""

from pathlib import Path

import pytest
from conftest import DATA, REPO, SAMPLE_ARTICLE, write

from newsletter.articles import read_article
from newsletter.articles.typography import typeset
from newsletter.errors import ArticleError

SAMPLE_TITLE = "Chrissy Teigen Says Miles Is Almost Walking & Where Has The Time Gone"


@pytest.fixture(scope="module")
def sample():
    return read_article(REPO / SAMPLE_ARTICLE)


def test_sample_headline_is_the_first_line_with_a_plain_ampersand(sample):
    assert sample.title == SAMPLE_TITLE


def test_sample_photo_line_is_the_image_credit_not_a_paragraph(sample):
    assert sample.image_credit == "Kathy Hutchins/Shutterstock"
    assert not any("Photo:" in p.plain_text for p in sample.paragraphs)


def test_sample_body_is_every_line_between_credit_and_navigation(sample):
    texts = [p.plain_text for p in sample.paragraphs]
    # The file holds 12 paragraph lines between the credit and the navigation.
    assert len(texts) == 12
    assert texts[0].startswith("Chrissy Teigen has big news")
    assert texts[-1] == (
        "If Teigen embracing motherhood means more cute videos of Miles, we’re totally in."
    )
    assert all(block.kind == "paragraph" for block in sample.body)


def test_sample_trailing_navigation_is_not_body_text(sample):
    body = " ".join(p.plain_text for p in sample.paragraphs)
    assert "More from Pop Culture" not in body
    assert "R29 Original Series" not in body


def test_sample_curly_quotes_and_no_break_space_survive(sample):
    body = " ".join(p.plain_text for p in sample.paragraphs)
    assert "John’s WHOLE face" in body
    assert "I don’t think" in body
    assert "completely —\u00a0until" in body


def test_article_without_headline_keeps_every_paragraph_and_derives_a_title():
    article = read_article(DATA / "cnn.txt")
    source = [line for line in (DATA / "cnn.txt").read_text().split("\n") if line.strip()]
    assert [p.plain_text for p in article.paragraphs] == [typeset(line, "en") for line in source]
    assert article.paragraphs[1].plain_text.startswith("(CNN) \u2013 The Pennsylvania official")
    assert article.title == (
        "Are you in the grips of the wintry storm sweeping across the country?"
    )
    assert article.notes and "no headline" in article.notes[0]


def test_arabic_article_reads_right_to_left_with_every_paragraph():
    article = read_article(DATA / "arabic.txt")
    source = [line for line in (DATA / "arabic.txt").read_text().split("\n") if line.strip()]
    assert [p.plain_text for p in article.paragraphs] == source
    assert article.direction == "rtl"


def test_question_headline_is_still_a_headline(tmp_path):
    path = write(tmp_path / "q.txt", "Will winds whip parade balloons?\n\nThe answer is no.\n")
    article = read_article(path)
    assert article.title == "Will winds whip parade balloons?"
    assert [p.plain_text for p in article.paragraphs] == ["The answer is no."]


def test_windows_line_endings_and_bom_are_read(tmp_path):
    path = write(tmp_path / "w.txt", "\ufeffHeadline\r\n\r\nA paragraph.\r\nAnother one.\r\n")
    article = read_article(path)
    assert article.title == "Headline"
    assert len(article.paragraphs) == 2


MARKDOWN = """---
title: Tom & Jerry’s “Big” Day
subtitle: A subtitle
author: Ada
date: 2026-11-20
tags: [cats, mice]
image: https://example.com/hero.jpg
image_alt: A cat
url: https://example.com/big-day
category: cartoons
---
Hello **bold**, *em* and a [link](https://example.com/a?b=1&c=2).

<script>alert(1)</script> and [bad](javascript:alert(1))

## Section

1. one
2. two
   - nested

> quoted

![Alt text](https://example.com/i.png)
"""


def test_markdown_front_matter_fields_reach_the_model(tmp_path):
    article = read_article(write(tmp_path / "a.md", MARKDOWN))
    assert article.title == "Tom & Jerry’s “Big” Day"
    assert (article.subtitle, article.author, article.image_alt) == ("A subtitle", "Ada", "A cat")
    assert str(article.date) == "2026-11-20"
    assert article.tags == ("cats", "mice")
    assert article.extra == {"category": "cartoons"}


def test_markdown_body_becomes_blocks_with_links_and_no_raw_html(tmp_path):
    article = read_article(write(tmp_path / "a.md", MARKDOWN))
    kinds = [block.kind for block in article.body]
    assert kinds == ["paragraph", "paragraph", "heading", "list", "quote", "image"]
    first = article.body[0]
    assert [s.href for s in first.spans if s.href] == ["https://example.com/a?b=1&c=2"]
    second = article.body[1].plain_text
    assert "<script>alert(1)</script>" in second  # kept as text, escaped when rendered
    assert all(s.href is None for s in article.body[1].spans)  # javascript: is not a link
    items = article.body[3].items
    assert [b.kind for b in items[1].blocks] == ["paragraph", "list"]
    assert items[1].blocks[1].items[0].blocks[0].plain_text == "nested"
    assert article.body[5].src == "https://example.com/i.png"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", "", "is empty"),
        ("blank.md", "  \n\n", "is empty"),
        ("latin1.txt", "Caf\xe9 news\n\nA paragraph.\n".encode("latin-1"), "not UTF-8"),
        ("broken.md", "---\ntitle: [oops\n---\nbody\n", "broken.md:2: broken YAML front matter"),
        ("untitled.md", "---\nauthor: me\n---\nbody\n", "no title"),
        ("unclosed.md", "---\ntitle: x\nbody\n", "no closing ---"),
        ("list-title.md", "---\ntitle: [a, b]\n---\nbody\n", "`title` must be text"),
        ("bad-date.md", "---\ntitle: x\ndate: someday\n---\nbody\n", "`date` must be"),
        ("notes.docx", "whatever", "unknown article format"),
        ("headline-only.txt", "Just a headline\n", "no paragraphs"),
    ],
)
def test_unreadable_article_is_one_line_naming_the_file(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(ArticleError) as caught:
        read_article(path, f"articles/{name}")
    text = str(caught.value)
    assert text.startswith(f"articles/{name}:")  # and the line, when there is one
    assert message in text
    assert "\n" not in text


def test_missing_article_names_the_file(tmp_path):
    with pytest.raises(ArticleError, match=r"^articles/gone.md: no such file$"):
        read_article(tmp_path / "gone.md", "articles/gone.md")


def test_folder_given_as_article_names_it(tmp_path):
    (tmp_path / "dir.md").mkdir()
    with pytest.raises(ArticleError, match="is a folder"):
        read_article(Path(tmp_path / "dir.md"))


NESTED = """---
title: Nested
---
1. one

   second paragraph of one

   ```
   code in the item
   ```
2. two ![img](https://e.com/i.png)
   1. nested ordered

> quote
>
> - list in the quote

[![linked](https://e.com/l.png)](https://e.com/target)
"""


def test_markdown_keeps_nested_blocks_in_place(tmp_path):
    article = read_article(write(tmp_path / "n.md", NESTED))
    outer, quote, image = article.body
    first, second = outer.items
    assert outer.ordered and [b.kind for b in first.blocks] == ["paragraph", "paragraph", "code"]
    assert [b.kind for b in second.blocks] == ["paragraph", "image", "list"]
    assert second.blocks[2].ordered
    assert [b.kind for b in quote.children] == ["paragraph", "list"]
    assert (image.src, image.href) == ("https://e.com/l.png", "https://e.com/target")


def test_every_photo_line_is_a_credit_never_body_text(tmp_path):
    path = write(tmp_path / "p.txt", "Headline\n\nPhoto: A\nBody one.\nPhoto: B\nBody two.\n")
    article = read_article(path)
    assert article.image_credit == "A; B"
    assert [p.plain_text for p in article.paragraphs] == ["Body one.", "Body two."]


def test_an_image_taken_out_of_a_line_leaves_one_space(tmp_path):
    path = write(
        tmp_path / "i.md", "---\ntitle: T\n---\nText ![a](https://e.com/a.png) on `a  b`.\n"
    )
    paragraph, image = read_article(path).body
    assert paragraph.plain_text == "Text on a  b."
    assert image.src == "https://e.com/a.png"


@pytest.mark.parametrize(
    ("front", "line", "says"),
    [
        ("title: Hello\nauthor: [unclosed\ndate: 2026-12-01\n", 3, "a [ that is never closed"),
        ('title: "Hello\nauthor: x\n', 2, "a quote that is never closed"),
        ("title: Hello\ntags: {a: 1\nauthor: x\n", 3, "a { that is never closed"),
        ("title: Hello\nsubtitle: a: b\n", 3, "mapping values are not allowed"),
    ],
)
def test_a_yaml_error_names_the_line_to_fix(tmp_path, front, line, says):
    """YAML finds an unclosed bracket or quote only where a later line starts: the
    error names the line that opened it (it was one line off)."""
    path = tmp_path / "a.md"
    path.write_text(f"---\n{front}---\nBody.\n")
    with pytest.raises(ArticleError) as caught:
        read_article(path)
    assert caught.value.where.line == line and says in str(caught.value), str(caught.value)


def test_a_markdown_article_may_start_with_its_title_heading_and_no_front_matter(tmp_path):
    path = tmp_path / "a.md"
    path.write_text("# My first issue\n\nHello, *readers*.\n\n## A section\n\nMore.\n")
    article = read_article(path)
    assert article.title == "My first issue"
    assert [b.kind for b in article.body] == ["paragraph", "heading", "paragraph"]
    assert article.body[1].level == 2  # the title is not repeated, the sections keep h2
    path.write_text("Hello without a title.\n")
    with pytest.raises(ArticleError, match=r"start the article with a `# Title` line"):
        read_article(path)
