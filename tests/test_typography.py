"""One quote style (issue 14, item 8): markdown-it's typographer in the article's
language for Markdown bodies, the same rules for front matter and .txt articles,
never inside code or URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import write

from newsletter.articles import read_article
from newsletter.articles.markdown import parse_markdown
from newsletter.articles.typography import quotes, typeset
from newsletter.errors import ArticleError
from newsletter.project import Project

NBSP = "\u00a0"


def article(body: str, front: str = "title: T\n", language: str = "en"):
    return parse_markdown(Path("a.md"), f"---\n{front}---\n{body}", language)


def paragraph(body: str, **kwargs: str) -> str:
    (block,) = article(body, **kwargs).body
    return block.plain_text


# --- the table ---


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", ("“", "”", "‘", "’")),
        ("de", ("„", "“", "‚", "‘")),
        ("fr", (f"«{NBSP}", f"{NBSP}»", f"‹{NBSP}", f"{NBSP}›")),
        ("es", ("«", "»", "“", "”")),
        ("pt-BR", ("“", "”", "‘", "’")),  # by its primary subtag
        ("DE-at", ("„", "“", "‚", "‘")),
        ("de-CH", ("«", "»", "‹", "›")),  # one of the few regions with marks of its own
        ("ja", ("「", "」", "『", "』")),
        ("xx", ("“", "”", "‘", "’")),  # not in the table: English
    ],
)
def test_each_language_has_its_quotation_marks(tag, expected):
    assert quotes(tag) == expected


# --- Markdown bodies ---


def test_straight_quotes_turn_curly_in_the_newsletters_language():
    source = "\"Hello,\" she said, 'it's fine.'"
    assert paragraph(source) == "“Hello,” she said, ‘it’s fine.’"
    assert paragraph(source, language="de") == "„Hello,“ she said, ‚it’s fine.‘"
    assert paragraph(source, language="fr") == (
        f"«{NBSP}Hello,{NBSP}» she said, ‹{NBSP}it’s fine.{NBSP}›"
    )
    assert paragraph(source, language="es") == "«Hello,» she said, “it’s fine.”"


def test_the_articles_own_language_wins_over_the_newsletters():
    front = "title: T\nlanguage: de-AT\n"
    assert paragraph('Er sagt "ja".', front=front, language="fr") == "Er sagt „ja“."


def test_apostrophes_and_curly_quotes_already_there():
    assert paragraph("Don't touch “these” or ‘those’, it's done.") == (
        "Don’t touch “these” or ‘those’, it’s done."
    )


def test_ellipsis_and_dashes_but_none_of_the_other_replacements():
    out = paragraph("Wait... pages 10--20 -- or --- so (a), (b), (c) +- 1!!!! use --force, ../up")
    assert out == "Wait… pages 10–20 – or — so (a), (b), (c) +- 1!!!! use --force, ../up"


def test_code_and_urls_stay_byte_identical():
    code = "`\"x\" -- y... 'z'`"
    url = "https://example.com/it's--a...b"
    source = (
        f'Run {code} at {url} or <https://example.com/"q"--r> or '
        f'[https://example.com/a--b](https://example.com/a--b) or ["this"](https://example.com/x--y...)'
    )
    (block,) = article(source).body
    texts = [span.text for span in block.spans]
    assert "\"x\" -- y... 'z'" in texts  # the code span
    assert url in texts  # a bare URL, its text as written
    assert 'https://example.com/"q"--r' in texts  # an autolink
    assert "https://example.com/a--b" in texts  # a link showing its own address
    assert "“this”" in texts  # a link's label is text
    hrefs = {span.href for span in block.spans if span.href}
    assert hrefs == {url, "https://example.com/%22q%22--r", "https://example.com/a--b",
                     "https://example.com/x--y..."}  # fmt: skip


def test_fenced_and_indented_code_blocks_stay_as_written():
    fence = "```\nprint(\"hi\") -- don't...\n```\n\n    say 'x' -- y...\n"
    blocks = article(fence).body
    assert [block.code for block in blocks] == ['print("hi") -- don\'t...', "say 'x' -- y..."]


def test_an_escaped_quote_stays_straight():
    assert paragraph('A \\"straight\\" one') == 'A "straight" one'


def test_headings_table_cells_and_image_alt_text_get_the_same_quotes():
    blocks = article('## "Big" news\n\n| "a" |\n| --- |\n| it\'s |\n\n![A "cat"...](c.png)\n').body
    heading, table, image = blocks
    assert heading.plain_text == "“Big” news"
    assert table.plain_text == "“a”\nit’s"
    assert image.alt == "A “cat”…"


def test_title_subtitle_and_summary_from_the_front_matter_get_them_too():
    front = (
        "title: '\"Don''t\" panic...'\nsubtitle: It's `don't` -- really\n"
        "summary: See https://example.com/it's 'now'\nauthor: Jo O'Neil\nlanguage: de\n"
    )
    a = article("Body.", front=front)
    assert a.title == "„Don’t“ panic…"
    assert a.subtitle == "It’s `don't` – really"  # code as written
    assert a.summary == "See https://example.com/it's ‚now‘"  # the URL as written
    assert a.author == "Jo O'Neil"  # a name is left as written


# --- plain text ---


def test_typeset_leaves_urls_code_and_curly_quotes_alone():
    text = 'He said "hi" at www.example.com/it\'s--a and `"c"` -- ok... “already” don\'t'
    assert typeset(text, "en") == (
        'He said “hi” at www.example.com/it\'s--a and `"c"` – ok… “already” don’t'
    )
    assert typeset("nothing to do", "de") == "nothing to do"


def test_a_txt_article_gets_the_newsletters_quotes_in_headline_and_paragraphs(tmp_path):
    path = write(
        tmp_path / "a.txt",
        'The "big" day\n\nShe said: "It\'s here." See https://example.com/a\'b--c.\n'
        "He said “already curly” -- fine.\n",
    )
    en = read_article(path)
    assert en.title == "The “big” day"
    assert [p.plain_text for p in en.paragraphs] == [
        "She said: “It’s here.” See https://example.com/a'b--c.",
        "He said “already curly” – fine.",
    ]
    de = read_article(path, language="de")
    assert de.title == "The „big“ day"
    assert de.paragraphs[0].plain_text.startswith("She said: „It’s here.“")


def test_a_txt_article_written_the_other_way_keeps_its_quotes(tmp_path):
    line = 'قال "مرحبا" -- اليوم.'
    path = write(tmp_path / "ar.txt", f"عنوان الخبر\n\n{line}\n")
    assert read_article(path).paragraphs[0].plain_text == line


def test_the_projects_language_reaches_the_reader(project_dir):
    settings = project_dir / "newsletter.toml"
    write(settings, settings.read_text().replace('language = "en"', 'language = "de"'))
    write(project_dir / "articles" / "zitat.md", '---\ntitle: Ein "Zitat"\n---\nEr sagt "ja".\n')
    with Project.open(project_dir) as project:
        issue = project.read_issue([project_dir / "articles" / "zitat.md"])
    (only,) = issue.articles
    assert only.title == "Ein „Zitat“"
    assert only.body[0].plain_text == "Er sagt „ja“."


# --- the credit label ---


def test_the_image_credit_label_is_carried_as_written():
    a = article(
        "Body.", front="title: T\nimage: /a.jpg\nimage_credit: Jo\nimage_credit_label: Bild\n"
    )
    assert a.image_credit_label == "Bild"
    assert article("Body.").image_credit_label == ""  # the template uses the language's


def test_a_credit_label_that_is_not_text_is_an_error_naming_the_field():
    with pytest.raises(ArticleError, match="front matter `image_credit_label` must be text"):
        article("Body.", front="title: T\nimage_credit_label: [a, b]\n")
