"""Every Markdown construct an editor writes (issue 14, item 1): GFM tables, task
lists, footnotes, bare URLs, strikethrough, code blocks and the heading scale, each
in the HTML part (email-safe, passing `check`) and in a text part that reads well."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import DATA, write

from newsletter.articles.markdown import parse_markdown
from newsletter.render.html import blocks_html
from newsletter.render.linebreak import display_width
from newsletter.render.text import LinkList, blocks_text

KITCHEN = DATA / "kitchen_sink.md"


def body(markdown: str):
    return parse_markdown(Path("a.md"), f"---\ntitle: T\n---\n{markdown}").body


def html(markdown: str) -> str:
    return str(blocks_html(body(markdown)))


def text(markdown: str) -> str:
    return blocks_text(body(markdown), LinkList())


TABLE = """\
| Plan | Readers | Price |
| :--- | ---: | :---: |
| Free | 12,400 | €0 |
| Paid | 1,310 | `€ 6` |
"""


def test_a_table_is_a_real_table_with_its_columns_aligned():
    (table,) = body(TABLE)
    assert table.kind == "table" and table.aligns == ("left", "right", "center")
    assert [s.text for cell in table.header for s in cell] == ["Plan", "Readers", "Price"]
    out = html(TABLE)
    assert '<table class="table" role="table"' in out and out.count("<tr>") == 3
    assert '<th class="th" scope="col" style="text-align:right">Readers</th>' in out
    assert '<td class="td" style="text-align:center"><code class="code">€ 6</code></td>' in out
    assert text(TABLE).split("\n") == [
        "Plan  Readers  Price",
        "----  -------  -----",
        "Free   12,400   €0",
        "Paid    1,310   € 6",  # centred in its column
    ]


def test_a_table_too_wide_for_the_text_line_is_given_row_by_row():
    wide = "| " + " | ".join(f"Column {n}" for n in range(8)) + " |\n"
    wide += "|" + "---|" * 8 + "\n| " + " | ".join(f"value {n}" for n in range(8)) + " |\n"
    out = text(wide)
    assert out.startswith("Column 0: value 0\nColumn 1: value 1\n")
    assert all(len(line) <= 72 for line in out.split("\n"))


def test_cjk_cells_are_aligned_by_their_display_width():
    out = text("| 名前 | n |\n| --- | --: |\n| 東京 | 1 |\n| ab | 22 |\n").split("\n")
    assert out[0] == "名前   n" and out[2] == "東京   1" and out[3] == "ab    22"


def test_task_lists_footnotes_and_bare_urls():
    source = "- [x] done\n- [ ] open\n\nA note.[^a] See www.example.org.\n\n[^a]: The note.\n"
    out = html(source)
    assert '<ul class="list tasks"><li class="task"><span class="box">\u2611</span> done' in out
    assert '<span class="box">\u2610</span> open' in out and "<input" not in out
    assert '<sup class="note-ref">1</sup>' in out and '<ol class="notes">' in out
    assert 'href="https://www.example.org"' in out  # a bare www address: https
    plain = text(source)
    assert "- [x] done\n- [ ] open" in plain
    assert "A note.[^1] See www.example.org [1]." in plain and "[^1] The note." in plain


def test_a_code_block_keeps_its_lines_and_indentation_without_white_space():
    out = html("```\ndef f():\n    return  1\n\n  x = '<'\n```\n")
    assert out == (
        '<div class="pre"><div class="code-line" style="padding-left:2.4em">def f():</div>'
        '<div class="code-line" style="padding-left:4.8em">return&nbsp; 1</div>'
        '<div class="code-line" style="padding-left:2.4em">&nbsp;</div>'
        '<div class="code-line" style="padding-left:3.6em">x = &#39;&lt;&#39;</div></div>'
    )  # each line's indentation a padding; a wrapped line hangs 4 characters deeper
    css = (Path(__file__).resolve().parent.parent / "newsletter/templates/email.css").read_text()
    assert ".code-line { text-indent: -2.4em; }" in css  # the hang, back to the line's start
    assert text("```\ndef f():\n    return  1\n```\n") == "    def f():\n        return  1"


def test_strikethrough_and_inline_code_read_well_in_text():
    code = "`" + " ".join(["word"] * 12) + "`"
    out = text(f"Some ~~old~~ new text, and then a long bit of inline code: {code} ends it.")
    assert "~~old~~" in out
    assert " ".join(["word"] * 12) in out  # on one line: inline code is never split


def test_each_heading_level_looks_different():
    css = (Path(__file__).resolve().parent.parent / "newsletter/templates/email.css").read_text()
    sizes = {}
    for level in range(2, 7):
        rule = re.search(rf"^\.h{level} {{([^}}]*)}}", css, re.M)
        assert rule, level
        sizes[level] = re.sub(r"\s+", " ", rule.group(1))
    assert len(set(sizes.values())) == 5


def test_the_kitchen_sink_passes_check_with_no_error_and_no_warning(project_dir, cli):
    shutil.copy(KITCHEN, project_dir / "articles" / "kitchen_sink.md")
    settings = project_dir / "newsletter.toml"
    public = "https://news.example.com/unsubscribe"  # a real send's link: no warning for it
    write(settings, settings.read_text().replace("http://127.0.0.1:8025/unsubscribe", public))
    result = cli("check", "articles/kitchen_sink.md", "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 0, result.stdout
    assert [f for f in report["findings"] if f["severity"] != "note"] == []


JAPANESE = (
    "日本語の段落です。スペースのない長い文章でも、行の幅に収まるように折り返されなければなりません。"
    * 2
)
THAI = "ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ " * 6


def test_lines_without_spaces_wrap_by_their_columns_and_the_line_breaking_rules():
    from newsletter.render.linebreak import display_width
    from newsletter.render.text import wrap

    for paragraph in (JAPANESE, THAI):
        lines = wrap(paragraph).split("\n")
        assert len(lines) > 1
        assert all(display_width(line) <= 72 for line in lines), lines
        assert "".join(lines).replace(" ", "") == paragraph.replace(" ", "")
    thai = wrap(THAI).split("\n")  # broken between its words, never inside one
    words = ("ภาษาไทย", "เป็น", "ภาษา", "ที่", "ไม่มี", "การ", "เว้นวรรค", "ระหว่าง", "คำ")
    assert all(any(line.endswith(w) for w in words) for line in thai), thai
    assert all(any(line.startswith(w) for w in words) for line in thai), thai


def test_without_icu_chinese_and_japanese_still_wrap_never_before_closing_punctuation(
    monkeypatch,
):
    from newsletter.render import linebreak
    from newsletter.render.text import wrap

    monkeypatch.setattr(linebreak, "_icu_line_breaker", lambda: None)
    lines = wrap(JAPANESE).split("\n")
    assert len(lines) > 1 and all(linebreak.display_width(line) <= 72 for line in lines)
    assert not any(line[0] in "、。」" for line in lines)


def test_inline_code_and_urls_stay_whole_in_a_wrapped_cjk_line():
    from newsletter.render.text import wrap

    url = "https://example.com/a/path/that/is/long/enough/0123456789"
    lines = wrap(JAPANESE[:30] + f" {url} " + JAPANESE[:30]).split("\n")
    assert any(url in line for line in lines)


# --- calls to action, image sizes and other attributes in braces (items 3 and 1) ---

BUTTON = "[Register now](https://example.com/register){.button}\n"


def test_a_link_alone_in_its_paragraph_marked_button_is_a_button():
    (button,) = body(BUTTON)
    assert button.kind == "button" and button.href == "https://example.com/register"
    assert [(s.text, s.href) for s in button.spans] == [("Register now", None)]
    assert button.plain_text == "Register now"


def test_a_button_among_other_text_stays_a_link():
    (block,) = body("Please [register now](https://example.com/r){.button} today.\n")
    assert block.kind == "paragraph" and block.plain_text == "Please register now today."
    assert [s.href for s in block.spans] == [None, "https://example.com/r", None]


def test_a_button_keeps_its_labels_styles_and_quotes():
    (button,) = body('[**Join** "us"](https://example.com/j){.button}\n')
    assert [(s.text, s.strong) for s in button.spans] == [("Join", True), (" “us”", False)]


def test_two_links_or_a_linked_image_are_not_a_button():
    two = body("[a](https://example.com/a) [b](https://example.com/b){.button}\n")
    image = body("[![logo](https://example.com/l.png)](https://example.com/){.button}\n")
    assert [b.kind for b in two] == ["paragraph"] and [b.kind for b in image] == ["image"]


def test_other_attributes_leave_no_braces_and_no_attributes_behind():
    source = (
        '[a](https://example.com/a){#top .big onclick="alert(1)" href="https://evil.example"} '
        "and `code`{.x}\n"
    )
    (block,) = body(source)
    assert block.plain_text == "a and code"
    assert [s.href for s in block.spans if s.href] == ["https://example.com/a"]
    out = html(source)
    assert "{" not in out and "evil" not in out and "onclick" not in out and 'id="top"' not in out


@pytest.mark.parametrize(
    ("attrs", "size"),
    [
        ("{width=300 height=200}", (300, 200)),
        ('{width="600"}', (600, 0)),
        ("{width=2000 height=2001}", (2000, 0)),
        ('{width=300px height="50%"}', (0, 0)),
        ("{width=0 height=-5}", (0, 0)),
        ("{width=99999999999999}", (0, 0)),
        ("", (0, 0)),
    ],
)
def test_an_images_width_and_height_are_whole_pixels_up_to_2000(attrs, size):
    (image,) = body(f"![A cat](https://example.com/cat.png){attrs}\n")
    assert image.kind == "image" and (image.width, image.height) == size
    assert image.alt == "A cat" and image.src == "https://example.com/cat.png"


def test_an_image_with_a_size_leaves_no_braces_in_the_html():
    out = html("Look: ![A cat](https://example.com/cat.png){width=300 height=200 onload=x}\n")
    assert "{" not in out and "onload" not in out


def test_a_button_in_the_text_part_is_its_label_and_its_url():
    links = LinkList()
    assert blocks_text(body(BUTTON), links) == "Register now: https://example.com/register"
    assert links.urls == []  # the button is itself the link: nothing numbered
    assert text("[Go!](https://example.com/go){.button}\n") == "Go! https://example.com/go"


def test_a_long_button_gives_its_label_then_its_url_on_a_line_of_its_own():
    url = "https://example.com/register/for/the/conference/of/the/year"
    out = text(f"[Register for the conference of the year, today]({url}){{.button}}\n")
    assert out.split("\n") == ["Register for the conference of the year, today", url]
    nested = text(f"- [Register for the conference]({url}){{.button}}\n- more\n")
    assert nested.split("\n") == ["- Register for the conference", f"  {url}", "- more"]


def test_a_buttons_relative_link_is_made_absolute():
    from newsletter.articles import Article
    from newsletter.render.links import absolute, relative_urls

    article = Article(path=Path("a.md"), title="T", body=body("[Join](/join){.button}\n"))
    assert relative_urls(article) == ["/join"]
    (button,) = absolute(article, "https://news.example.com/").body
    assert button.href == "https://news.example.com/join"


# --- the text part keeps struck text and inline code whole (item 9) ---


def test_struck_text_with_code_in_it_is_one_struck_phrase():
    out = text("Was ~~the `old` way~~, now ~~a [link](https://example.com/l) too~~.\n")
    assert out == "Was ~~the old way~~, now ~~a~~ ~~link~~ [1] ~~too~~."


def test_inline_code_is_never_broken_in_a_cjk_line():
    code = "`" + " ".join(["long-word"] * 6) + "`"
    out = text(JAPANESE[:50] + code + JAPANESE[:40] + "\n")  # the code starts mid-line
    lines = out.split("\n")
    assert any(code.strip("`") in line for line in lines), lines
    assert "".join(lines).replace(" ", "") == (
        JAPANESE[:50] + code.strip("`") + JAPANESE[:40]
    ).replace(" ", "")
    assert all(display_width(line) <= 72 for line in lines)


def test_inline_code_in_a_table_given_row_by_row_holds_together():
    code = "`" + " ".join(["word"] * 14) + "`"
    wide = "| " + " | ".join(f"Column {n}" for n in range(3)) + " |\n|---|---|---|\n"
    wide += f"| {'text ' * 9}| {code} | x |\n"
    out = text(wide)
    assert any(" ".join(["word"] * 14) in line for line in out.split("\n")), out


def test_an_image_of_a_given_size_is_shown_at_it_never_wider_than_the_column():
    small = html("![A chart](https://example.com/c.png){width=300 height=200}")
    assert 'width="300" height="200"' in small and "width:300px;max-width:300px" in small
    wide = html("![A map](https://example.com/m.png){width=1072 height=600}")
    assert 'width="536" height="300"' in wide and "width:100%;max-width:536px" in wide
    unknown = html("![A photo](https://example.com/p.jpg)")
    assert 'width="536" style' in unknown and "height=" not in unknown.split("style")[0]


def test_bare_file_names_are_not_guessed_into_links_to_other_countries_sites():
    out = html("Edit README.md, run setup.py; see main.rs, https://example.com/a, "
               "www.example.org and news@example.com.")  # fmt: skip
    assert "README.md" in out and 'href="http://README.md"' not in out
    assert "http://setup.py" not in out and "http://main.rs" not in out
    assert 'href="https://example.com/a"' in out and 'href="https://www.example.org"' in out
    assert 'href="mailto:news@example.com"' in out
