"""Every Markdown construct an editor writes (issue 14, item 1): GFM tables, task
lists, footnotes, bare URLs, strikethrough, code blocks and the heading scale, each
in the HTML part (email-safe, passing `check`) and in a text part that reads well."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from conftest import DATA, write

from newsletter.articles.markdown import parse_markdown
from newsletter.render.html import blocks_html
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
    out = html("```\ndef f():\n    return  1\n```\n")
    assert out == '<div class="pre">def f():<br>&nbsp;&nbsp;&nbsp;&nbsp;return&nbsp; 1</div>'
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
