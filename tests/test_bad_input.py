"""Bad input, seen from the command line.

The contract (PRODUCT.md): bad input gets a clear one-line error naming the file,
line or setting, and a non-zero exit (1 failure, 2 wrong usage); it never crashes
with a traceback, and a setting or file that is wrong stops a send before anything
is sent. Bad rows of a subscriber list are the exception: they are reported with
their line number and skipped, and the send goes on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SAMPLE_ARTICLE, write

SETTINGS = "newsletter.toml"
PREVIEW_DIR = "out"

# --- helpers ---


def run(cli, command: str, *articles: str, extra: tuple[str, ...] = ()):
    """`send` (to the sample list, no prompt) or `preview` (to out/) of `articles`."""
    if command == "send":
        return cli("send", *articles, "--list", "sample", "--yes", *extra)
    return cli("preview", *articles, "--output", PREVIEW_DIR, *extra)


# The README's exit-code rule, checked on every error line of these tests: exit 2 is
# wrong usage, and its line starts with what to change on the command line (an option,
# an ARGUMENT, or what is missing); exit 1 is everything else that fails, and its line
# starts with the place (a file and line, a setting, the issue or address it is about).
USAGE = re.compile(r"error: (--[a-z][a-z-]*\b|missing |[A-Z]{2,}\b)")


def assert_exit_rule(code: int, line: str) -> None:
    if code == 2:
        assert USAGE.match(line), f"exit 2 but the line does not start with what to change: {line}"
    else:
        assert not USAGE.match(line), f"exit {code} for what reads as wrong usage: {line}"


def assert_one_line_error(result, code: int, *needles: str, pattern: str | None = None) -> str:
    """Exit `code`, stderr exactly one `error: ` line holding every needle, as the
    exit-code rule says; no traceback."""
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == code, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1, shown
    line = lines[0]
    assert line.startswith("error: "), shown
    assert "this is a bug" not in line and "unexpected " not in line, shown
    assert_exit_rule(result.exit_code, line)
    for needle in needles:
        assert needle in line, f"{needle!r} not in the error line\n{shown}"
    if pattern is not None:
        assert re.search(pattern, line), f"/{pattern}/ does not match the error line\n{shown}"
    return line


def assert_nothing_sent(root: Path) -> None:
    assert not (root / "outbox").exists(), sorted(str(p) for p in (root / "outbox").rglob("*"))


def assert_nothing_written(root: Path) -> None:
    assert_nothing_sent(root)
    assert not (root / PREVIEW_DIR).exists(), "a preview was written"


def sent_files(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "outbox").rglob("*.eml"))


def edit_settings(root: Path, old: str, new: str) -> None:
    path = root / SETTINGS
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in the sample {SETTINGS}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(root: Path, text: str) -> int:
    lines = (root / SETTINGS).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(text))


def at_line(file: str, line: int) -> str:
    """`file:LINE`, as every error names a place (errors.Where)."""
    return rf"{re.escape(file)}:{line}\b"


# --- settings: newsletter.toml ---

# (old text, new text, needles, the line the problem is on (a text it starts with) or None)
BAD_SETTINGS = {
    "unknown key": ('from = "', 'frm = "', ("frm", "did you mean from"), "frm ="),
    "unknown section": ("[smtp]", "[smpt]", ("[smpt]", "smtp"), "[smpt]"),
    "port not a number": ("port = 587", 'port = "x"', ("[smtp]", "port", "number"), "port ="),
    "sandbox not a boolean": (
        "sandbox = false",
        'sandbox = "yes"',
        ("[sendgrid]", "sandbox", "true or false"),
        "sandbox =",
    ),
    "from unparsable": (
        'from = "Pop Culture Weekly <news@example.com>"',
        'from = "Pop Culture Weekly news at example"',
        ("[newsletter]", "from"),
        "from =",
    ),
    "from without a domain": (
        'from = "Pop Culture Weekly <news@example.com>"',
        'from = "Pop Culture Weekly <news>"',
        ("[newsletter]", "from"),
        "from =",
    ),
    "reply_to invalid": (
        'reply_to = "editor@example.com"',
        'reply_to = "editor at example dot com"',
        ("[newsletter]", "reply_to"),
        "reply_to =",
    ),
    "transport kind unknown": (
        'kind = "outbox"',
        'kind = "pigeon"',
        ("[transport]", "kind", "pigeon", "outbox"),
        "kind =",
    ),
    "timezone unknown": (
        'timezone = "UTC"',
        'timezone = "Mars/Olympus_Mons"',
        ("[newsletter]", "timezone", "Mars/Olympus_Mons"),
        "timezone =",
    ),
    "site_url without scheme": (
        'site_url = "https://example.com"',
        'site_url = "example.com"',
        ("[newsletter]", "site_url", "example.com"),
        "site_url =",
    ),
    "language not a tag": (
        'language = "en"',
        'language = "English (UK)"',
        ("[newsletter]", "language"),
        "language =",
    ),
    "unsubscribe url not http": (
        'url = "http://127.0.0.1:8025/unsubscribe"',
        'url = "127.0.0.1:8025/unsubscribe"',
        ("[unsubscribe]", "url"),
        "url =",
    ),
    "missing from": (
        'from = "Pop Culture Weekly <news@example.com>"\n',
        "",
        ("[newsletter]", "from", "missing"),
        None,
    ),
    "missing postal_address": (
        'postal_address = "1 Example Street, Springfield, USA"\n',
        "",
        ("[newsletter]", "postal_address", "missing"),
        None,
    ),
    "empty postal_address": (
        'postal_address = "1 Example Street, Springfield, USA"',
        'postal_address = ""',
        ("[newsletter]", "postal_address"),
        "postal_address =",
    ),
}


@pytest.mark.parametrize("command", ["send", "preview"])
@pytest.mark.parametrize(
    ("old", "new", "needles", "line_start"), BAD_SETTINGS.values(), ids=BAD_SETTINGS.keys()
)
def test_wrong_setting_names_file_key_and_line_and_sends_nothing(
    project_dir, cli, command, old, new, needles, line_start
):
    edit_settings(project_dir, old, new)
    result = run(cli, command, SAMPLE_ARTICLE)
    line = line_of(project_dir, line_start) if line_start else None
    pattern = rf"{re.escape(SETTINGS)}:{line}\b" if line else None
    assert_one_line_error(result, 1, SETTINGS, *needles, pattern=pattern)
    assert_nothing_written(project_dir)


@pytest.mark.parametrize(
    ("old", "new", "line_start"),
    [
        ('name = "Pop Culture Weekly"', 'name = "Pop Culture Weekly', "name ="),  # unterminated
        ('language = "en"', 'language = "en"\nname = "Twice"', 'name = "Twice"'),  # duplicate
        ("[smtp]", "[smtp", "[smtp"),  # unclosed table header
        ("port = 587", "port = 587 587", "port ="),  # two values
    ],
    ids=["unterminated string", "duplicate key", "unclosed header", "two values"],
)
def test_settings_that_are_not_toml_name_file_and_line(project_dir, cli, old, new, line_start):
    edit_settings(project_dir, old, new)
    line = line_of(project_dir, line_start)
    result = run(cli, "send", SAMPLE_ARTICLE)
    assert_one_line_error(result, 1, SETTINGS, "TOML", pattern=at_line(SETTINGS, line))
    assert_nothing_sent(project_dir)


def test_missing_newsletter_section_is_named(project_dir, cli):
    text = (project_dir / SETTINGS).read_text(encoding="utf-8")
    start, end = text.index("[newsletter]"), text.index("[unsubscribe]")
    (project_dir / SETTINGS).write_text(text[:start] + text[end:], encoding="utf-8")
    result = run(cli, "send", SAMPLE_ARTICLE)
    assert_one_line_error(result, 1, SETTINGS, "[newsletter]", "missing")
    assert_nothing_sent(project_dir)


def test_setting_outside_any_section_names_its_own_line(project_dir, cli):
    # A key above the first [section] is a top-level key; the error must point at it,
    # not at line 1.
    edit_settings(project_dir, "[newsletter]", 'name = "Stray"\n\n[newsletter]')
    line = line_of(project_dir, 'name = "Stray"')
    assert line > 1
    result = run(cli, "send", SAMPLE_ARTICLE)
    assert_one_line_error(result, 1, SETTINGS, "name", pattern=rf"{SETTINGS}:{line}\b")
    assert_nothing_sent(project_dir)


def test_section_given_as_a_value_is_named(project_dir, cli):
    # `transport = "outbox"` above every section: a value where a table belongs.
    edit_settings(project_dir, '[transport]\nkind = "outbox"\n', "")
    edit_settings(project_dir, "[newsletter]", 'transport = "outbox"\n\n[newsletter]')
    result = run(cli, "send", SAMPLE_ARTICLE)
    assert_one_line_error(result, 1, SETTINGS, "transport", "table")
    assert_nothing_sent(project_dir)


def test_missing_settings_file_is_named_and_says_how_to_start(project_dir, cli, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--project", str(empty))
    assert_one_line_error(result, 1, str(empty / SETTINGS), "newsletter init")
    assert not (empty / "outbox").exists()
    assert list(empty.iterdir()) == []


def test_missing_project_folder_is_named(project_dir, cli, tmp_path):
    missing = tmp_path / "no-such-project"
    result = cli("preview", SAMPLE_ARTICLE, "--output", PREVIEW_DIR, "--project", str(missing))
    assert_one_line_error(result, 1, str(missing))
    assert not missing.exists()


def test_settings_not_utf8_name_file_and_line(project_dir, cli):
    path = project_dir / SETTINGS
    data = path.read_bytes().replace(b"Pop Culture Weekly", "Caf\u00e9 Weekly".encode("latin-1"), 1)
    path.write_bytes(data)
    result = run(cli, "send", SAMPLE_ARTICLE)
    assert_one_line_error(result, 1, SETTINGS, "UTF-8", pattern=at_line(SETTINGS, 4))
    assert_nothing_sent(project_dir)


def test_too_short_secret_in_environment_names_setting_and_variable(project_dir, cli, monkeypatch):
    monkeypatch.setenv("NEWSLETTER_SECRET", "short")
    result = run(cli, "send", SAMPLE_ARTICLE)
    line = assert_one_line_error(result, 1, SETTINGS, "secret_env", "NEWSLETTER_SECRET")
    assert "short" not in line.split("NEWSLETTER_SECRET", 1)[1].replace("shorter", "")
    assert_nothing_sent(project_dir)


# --- articles ---

FRONT_MATTER = "---\ntitle: A title\n{extra}---\n\nThe body.\n"

# (file name, content, needles, line or None)
BAD_ARTICLES = {
    "empty md": ("articles/empty.md", "", ("empty",), None),
    "empty txt": ("articles/empty.txt", "", ("empty",), None),
    "whitespace-only md": ("articles/blank.md", " \n\n\t \r\n", ("empty",), None),
    "whitespace-only txt": ("articles/blank.txt", "\n   \n\t\n", ("empty",), None),
    "latin-1 txt": (
        "articles/latin.txt",
        "Headline here\n\nFirst paragraph.\nCaf\u00e9 society returns.\n".encode("latin-1"),
        ("UTF-8",),
        4,
    ),
    "latin-1 md": (
        "articles/latin.md",
        "---\ntitle: Caf\u00e9\n---\n\nBody.\n".encode("latin-1"),
        ("UTF-8",),
        2,
    ),
    "broken yaml": (
        "articles/broken.md",
        "---\ntitle: Fine\nauthor: [unclosed\nsummary: x\n---\n\nBody.\n",
        ("YAML", "never closed"),
        3,  # the line that opened the bracket, which the editor must fix
    ),
    "yaml tab indent": (
        "articles/tabbed.md",
        "---\ntitle: Fine\ntags:\n\t- one\n---\n\nBody.\n",
        ("YAML",),
        4,
    ),
    "front matter not a mapping": (
        "articles/list.md",
        "---\n- one\n- two\n---\n\nBody.\n",
        ("front matter",),
        None,
    ),
    "md without title": (
        "articles/untitled.md",
        "---\nauthor: Someone\n---\n\nThe body.\n",
        ("title",),
        None,
    ),
    "md without front matter": ("articles/bare.md", "Just a body, no title.\n", ("title",), None),
    "unclosed front matter": (
        "articles/unclosed.md",
        "---\ntitle: Never closed\n\nThe body.\n",
        ("---",),
        None,
    ),
    "date not a date": (
        "articles/date.md",
        FRONT_MATTER.format(extra="date: next tuesday\n"),
        ("date", "next tuesday"),
        None,
    ),
    "date out of range": (
        "articles/date2.md",
        FRONT_MATTER.format(extra="date: 2026-13-45\n"),
        ("date",),
        None,
    ),
    "title a list": (
        "articles/listtitle.md",
        "---\ntitle: [a, b]\n---\n\nBody.\n",
        ("title",),
        None,
    ),
    "title a mapping": (
        "articles/maptitle.md",
        "---\ntitle:\n  en: Hello\n---\n\nBody.\n",
        ("title",),
        None,
    ),
    "tags a number": (
        "articles/tags.md",
        FRONT_MATTER.format(extra="tags: 5\n"),
        ("tags",),
        None,
    ),
    "author a list": (
        "articles/author.md",
        FRONT_MATTER.format(extra="author: [A, B]\n"),
        ("author",),
        None,
    ),
    "txt with only a headline": ("articles/headline.txt", "Just A Headline\n", (), None),
    "unknown extension": ("articles/story.docx", "Headline\n\nBody.\n", (".docx",), None),
}


@pytest.mark.parametrize("command", ["send", "preview"])
@pytest.mark.parametrize(
    ("name", "content", "needles", "line"), BAD_ARTICLES.values(), ids=BAD_ARTICLES.keys()
)
def test_bad_article_names_its_file_and_sends_nothing(
    project_dir, cli, command, name, content, needles, line
):
    write(project_dir / name, content)
    result = run(cli, command, name)
    pattern = at_line(name, line) if line else None
    error = assert_one_line_error(result, 1, pattern=pattern)
    # The path as the editor typed it, relative, right after `error: `.
    assert error.startswith(f"error: {name}"), error
    # What is wrong (the field, the encoding, ...) is said after the file name.
    message = error.split(name, 1)[-1]
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert_nothing_written(project_dir)


@pytest.mark.parametrize("command", ["send", "preview"])
def test_missing_article_is_named(project_dir, cli, command):
    result = run(cli, command, "articles/no-such-article.md")
    assert_one_line_error(result, 1, "articles/no-such-article.md", "no such file")
    assert_nothing_written(project_dir)


@pytest.mark.parametrize("command", ["send", "preview"])
def test_missing_article_without_extension_says_it_is_missing(project_dir, cli, command):
    result = run(cli, command, "articles/draft")
    assert_one_line_error(result, 1, "articles/draft", "no such file")
    assert_nothing_written(project_dir)


@pytest.mark.parametrize("folder", ["articles", "drafts.md"])
@pytest.mark.parametrize("command", ["send", "preview"])
def test_folder_given_as_article_says_it_is_a_folder(project_dir, cli, command, folder):
    (project_dir / folder).mkdir(exist_ok=True)
    result = run(cli, command, folder)
    error = assert_one_line_error(result, 1, folder)
    assert "folder" in error or "directory" in error, error
    assert_nothing_written(project_dir)


@pytest.mark.parametrize("command", ["send", "preview"])
def test_one_bad_article_in_a_digest_stops_the_whole_issue(project_dir, cli, command):
    write(project_dir / "articles/empty.md", "")
    result = run(cli, command, SAMPLE_ARTICLE, "articles/welcome.md", "articles/empty.md")
    assert_one_line_error(result, 1, "articles/empty.md", "empty")
    assert_nothing_written(project_dir)


# --- templates (editable project files, so bad input too) ---

BAD_TEMPLATES = {
    "syntax error": ("{{ articles[0].title }}\n{% if %}x{% endif %}\n", 2),
    "unknown filter": ("{{ articles[0].title }}\n{{ articles[0].title | shout }}\n", 2),
    "undefined name": ("{{ articles[0].title }}\n{{ no_such_thing }}\n", 2),
    "type error": ("{{ articles[0].title }}\n{{ articles[0].title + 1 }}\n", 2),
    "division by zero": ("{{ articles[0].title }}\n{{ 1 / 0 }}\n", 2),
}


@pytest.mark.parametrize("command", ["send", "preview"])
@pytest.mark.parametrize(("content", "line"), BAD_TEMPLATES.values(), ids=BAD_TEMPLATES.keys())
def test_broken_template_names_template_file_and_line(project_dir, cli, command, content, line):
    write(project_dir / "templates/subject.txt", content)
    result = run(cli, command, SAMPLE_ARTICLE)
    # Shown relative to the current folder, like every other project file.
    assert_one_line_error(result, 1, pattern=rf"^error: templates/subject\.txt:{line}\b")
    assert_nothing_written(project_dir)


# --- subscriber lists: files that cannot be a list at all ---


@pytest.mark.parametrize("command", ["send", "preview"])
def test_missing_list_names_the_list_file(project_dir, cli, command):
    # A well-formed name whose file is missing is a failure (1), like a missing article;
    # a malformed name is wrong usage (2), like a malformed --id.
    if command == "send":
        result = cli("send", SAMPLE_ARTICLE, "--list", "nope", "--yes")
    else:
        result = run(cli, command, SAMPLE_ARTICLE, extra=("--list", "nope"))
    assert_one_line_error(result, 1, "subscribers/nope.csv")
    assert_nothing_written(project_dir)


BAD_LISTS = {
    "no email column": (b"name,city\nAda,London\n", ("email",), 1),
    "email column misspelt": (b"e-mail,name\nada@example.com,Ada\n", ("email",), 1),
    "empty file": (b"", ("empty",), None),
    "only blank lines": (b"\n\n\n", ("email",), None),
    "header not utf-8": ("email,n\u00e4me\nada@example.com,Ada\n".encode("latin-1"), ("UTF-8",), 1),
    "a column twice": (
        b"email,name,Email\nada@example.com,Ada,ada@example.org\n",
        ("the column 'Email' twice (columns 1 and 3)",),
        1,
    ),
}


@pytest.mark.parametrize("command", ["send", "preview"])
@pytest.mark.parametrize(("content", "needles", "line"), BAD_LISTS.values(), ids=BAD_LISTS.keys())
def test_unreadable_list_names_list_file_and_sends_nothing(
    project_dir, cli, command, content, needles, line
):
    write(project_dir / "subscribers/bad.csv", content)
    if command == "send":
        result = cli("send", SAMPLE_ARTICLE, "--list", "bad", "--yes")
    else:
        result = run(cli, command, SAMPLE_ARTICLE, extra=("--list", "bad"))
    pattern = at_line("subscribers/bad.csv", line) if line else None
    assert_one_line_error(result, 1, "subscribers/bad.csv", *needles, pattern=pattern)
    assert "Sent issue" not in result.stdout, result.stdout
    assert_nothing_written(project_dir)


def test_unreadable_list_is_refused_by_dry_run_too(project_dir, cli):
    write(project_dir / "subscribers/bad.csv", b"name\nAda\n")
    result = cli("send", SAMPLE_ARTICLE, "--list", "bad", "--dry-run")
    assert_one_line_error(result, 1, "subscribers/bad.csv", "email")
    assert_nothing_sent(project_dir)


@pytest.mark.parametrize(
    "name", ["../secret", "../../secret", "..", "sub/sample", "/etc/passwd", ".hidden", ""]
)
def test_list_name_that_leaves_subscribers_folder_is_wrong_usage(project_dir, cli, name):
    # A file the traversal would reach if it were followed:
    write(project_dir.parent / "secret.csv", "email\nleak@example.com\n")
    write(project_dir / "subscribers/sub/sample.csv", "email\nleak@example.com\n")
    result = cli("send", SAMPLE_ARTICLE, "--list", name, "--yes")
    # A malformed option value is wrong usage (2), as for `--id a/b`.
    assert_one_line_error(result, 2, repr(name) if name else "--list")
    assert_nothing_sent(project_dir)


# --- subscriber lists: bad rows are reported and skipped, never fatal ---

GOOD_BEFORE = b"first@example.com,First\n"
GOOD_AFTER = b"last@example.com,Last\n"
BAD_ROWS = {
    "invalid address": b"not-an-email,Broken\n",
    "address without domain": b"someone@,Broken\n",
    "duplicate in other case": b"FIRST@Example.COM,Again\n",
    "missing email": b",Nobody\n",
    "blank email": b"   ,Nobody\n",
    "latin-1 row": "caf\u00e9@example.com,Caf\u00e9\n".encode("latin-1"),
    "latin-1 name": "ok-but-latin@example.com,Ren\u00e9e\n".encode("latin-1"),
    "too many columns": b"extra@example.com,Extra,surplus\n",
    "two addresses in one cell": b"a@example.com b@example.com,Two\n",
}


@pytest.mark.parametrize("row", BAD_ROWS.values(), ids=BAD_ROWS.keys())
def test_bad_row_is_reported_with_its_line_and_the_rest_is_sent(project_dir, cli, row):
    write(project_dir / "subscribers/rows.csv", b"email,name\n" + GOOD_BEFORE + row + GOOD_AFTER)
    result = cli("send", SAMPLE_ARTICLE, "--list", "rows", "--yes")
    shown = f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == 0, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert "error:" not in result.stderr, shown
    reports = [line for line in result.stderr.splitlines() if "subscribers/rows.csv:3" in line]
    assert len(reports) == 1, shown
    assert "subscribers/rows.csv:2" not in result.stderr, shown
    assert "subscribers/rows.csv:4" not in result.stderr, shown
    assert sent_files(project_dir) == ["first@example.com.eml", "last@example.com.eml"], shown


def test_every_bad_row_kind_in_one_list_is_reported_and_valid_rows_are_sent(project_dir, cli):
    rows = [b"email,name,city\n", GOOD_BEFORE]  # lines 1, 2
    rows += BAD_ROWS.values()  # lines 3 .. 11
    rows.append(GOOD_AFTER)  # line 12
    write(project_dir / "subscribers/mixed.csv", b"".join(rows))
    result = cli("send", SAMPLE_ARTICLE, "--list", "mixed", "--yes")
    shown = f"stdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == 0, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    # "too many columns" has 3 values for 3 columns here, so it is a good row.
    expected_bad = {3, 4, 5, 6, 7, 8, 9, 11}
    for number in range(1, 13):
        reported = f"subscribers/mixed.csv:{number}:" in result.stderr
        assert reported == (number in expected_bad), f"line {number}\n{shown}"
    assert sent_files(project_dir) == [
        "extra@example.com.eml",
        "first@example.com.eml",
        "last@example.com.eml",
    ], shown


def test_list_with_only_bad_rows_sends_nothing_and_reports_each_row(project_dir, cli):
    write(project_dir / "subscribers/allbad.csv", b"email\nnope\nalso-nope\n")
    result = cli("send", SAMPLE_ARTICLE, "--list", "allbad", "--yes")
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert "subscribers/allbad.csv:2:" in result.stderr, shown
    assert "subscribers/allbad.csv:3:" in result.stderr, shown
    assert sent_files(project_dir) == [], shown


# --- subscriber lists: broken quoting stops the send (the rows near it may be wrong) ---

UNCLOSED = b'email,name\nfirst@example.com,First\nada@example.com,"Ada\n' + b"".join(
    b"reader%d@example.com,Reader %d\n" % (i, i) for i in range(5)
)
RUNAWAY = (
    b'email,name\nfirst@example.com,First\nada@example.com,"Ada\n'
    + b"".join(b"reader%d@example.com,Reader %d\n" % (i, i) for i in range(40))
    + b'late@example.com,"Late" quote"\n'  # a quote that closes Ada's, 40 lines on
)
BROKEN = {"unclosed to the end": (UNCLOSED, "is never closed"),
          "runs over many lines": (RUNAWAY, "runs over 20 lines")}  # fmt: skip


@pytest.mark.parametrize(("content", "why"), BROKEN.values(), ids=BROKEN.keys())
def test_a_quote_never_closed_is_a_bad_row_and_the_send_refuses_the_list(
    project_dir, cli, content, why
):
    write(project_dir / "subscribers/broken.csv", content)
    checked = cli("subscribers", "check", "broken")
    assert checked.exit_code == 1
    assert re.search(at_line("subscribers/broken.csv", 3) + ".*" + why, checked.stdout)
    rows = content.count(b"\n") - 1  # every line after the header is read as a row
    assert f"subscribers/broken.csv: {rows:,} rows, 1 bad." in checked.stdout
    refused = cli("send", SAMPLE_ARTICLE, "--list", "broken", "--yes")
    assert_one_line_error(refused, 1, why, "--force", pattern=at_line("subscribers/broken.csv", 3))
    error = refused.stderr.splitlines()[-1]
    for command in (("--dry-run",), ("--dry-run", "--json")):  # after the check's findings
        dry = cli("send", SAMPLE_ARTICLE, "--list", "broken", *command)
        assert dry.exit_code == 1 and dry.stderr.splitlines()[-1] == error
    assert_nothing_sent(project_dir)
    assert cli("status").stdout.startswith("No issue")  # nothing was frozen
    queued = cli("schedule", SAMPLE_ARTICLE, "--list", "broken", "--now")
    assert queued.exit_code == 1  # after the check's warnings, the same one error line
    assert queued.stderr.splitlines()[-1] == error
    before = (project_dir / "subscribers/broken.csv").read_bytes()
    added = cli("subscribers", "add", "broken", "new@example.com")
    assert_one_line_error(added, 1, "fix it before changing the list",
                          pattern=at_line("subscribers/broken.csv", 3))  # fmt: skip
    write(project_dir / "export.csv", b"email\nnew@example.com\n")
    imported = cli("subscribers", "import", "broken", "export.csv")
    assert_one_line_error(imported, 1, "fix it before changing the list",
                          pattern=at_line("subscribers/broken.csv", 3))  # fmt: skip
    removed = cli("subscribers", "remove", "broken", "reader1@example.com")
    assert_one_line_error(removed, 1, "reader1@example.com is suppressed all the same",
                          pattern=at_line("subscribers/broken.csv", 3))  # fmt: skip
    assert (project_dir / "subscribers/broken.csv").read_bytes() == before
    forced = cli("send", SAMPLE_ARTICLE, "--list", "broken", "--yes", "--force")
    assert forced.exit_code == 0, forced.output
    assert "subscribers/broken.csv:3:" in forced.stderr
    sent = sent_files(project_dir)
    assert "first@example.com.eml" in sent and "reader4@example.com.eml" in sent
    assert "ada@example.com.eml" not in sent


def test_a_quoted_name_over_two_lines_is_one_good_row(project_dir, cli):
    write(project_dir / "subscribers/multi.csv",
          b'email,name\nada@example.com,"Ada\nLovelace"\nbob@example.com,Bob\n')  # fmt: skip
    result = cli("send", SAMPLE_ARTICLE, "--list", "multi", "--yes")
    assert result.exit_code == 0, result.output
    assert sent_files(project_dir) == ["ada@example.com.eml", "bob@example.com.eml"]


# --- usage ---


def test_send_without_list_or_test_is_wrong_usage(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--yes")
    assert_one_line_error(result, 2, "--list")
    assert_nothing_sent(project_dir)


@pytest.mark.parametrize("issue_id", ["a/b", "../escape", "..", ".hidden", "x" * 101, ""])
@pytest.mark.parametrize("command", ["send", "preview"])
def test_bad_issue_id_is_wrong_usage(project_dir, cli, command, issue_id):
    result = run(cli, command, SAMPLE_ARTICLE, extra=("--id", issue_id))
    assert_one_line_error(result, 2, "--id")
    assert_nothing_written(project_dir)
    assert not (project_dir.parent / "escape").exists()


def test_preview_without_output_or_open_is_wrong_usage(project_dir, cli):
    result = cli("preview", SAMPLE_ARTICLE)
    assert_one_line_error(result, 2, "--output", "--open")
    assert not (project_dir / ".newsletter" / "preview").exists()


def test_unknown_transport_is_refused_with_the_choices(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--transport", "nonsense")
    assert_one_line_error(result, 2, "nonsense", "outbox")
    assert_nothing_sent(project_dir)


def test_test_send_to_invalid_address_is_refused(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--test", "not an address")
    assert_one_line_error(result, 2, "--test", "not an address")
    assert_nothing_sent(project_dir)


def test_preview_as_someone_not_on_the_list_is_refused(project_dir, cli):
    result = cli(
        "preview", SAMPLE_ARTICLE, "--list", "sample", "--as", "stranger@example.com", "-o", "out"
    )
    assert_one_line_error(result, 1, "subscribers/sample.csv", "stranger@example.com", "--as")
    assert_nothing_written(project_dir)


@pytest.mark.parametrize(
    "args",
    [
        ("send", "--list", "sample", "--yes"),  # no article
        ("send", SAMPLE_ARTICLE, "--lsit", "sample"),  # misspelt option
        ("send", SAMPLE_ARTICLE, "--list"),  # option without its value
        ("preview", SAMPLE_ARTICLE, "--output"),
    ],
    ids=["no article", "misspelt option", "list without value", "output without value"],
)
def test_command_line_parse_errors_exit_2_without_traceback(project_dir, cli, args):
    result = cli(*args)
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == 2, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.stderr.strip(), shown
    assert_nothing_written(project_dir)


def test_init_into_an_existing_project_refuses_and_changes_nothing(project_dir, cli):
    before = (project_dir / SETTINGS).read_bytes()
    result = cli("init", str(project_dir))
    assert_one_line_error(result, 1, str(project_dir), SETTINGS)
    assert (project_dir / SETTINGS).read_bytes() == before
    assert not (project_dir / "templates").exists()


def test_init_into_a_file_refuses(project_dir, cli):
    # Refused by the command-line parser (FOLDER is file_okay=False): click's own
    # usage message, exit 2, no traceback.
    target = write(project_dir / "notes.txt", "not a folder\n")
    result = cli("init", str(target))
    shown = f"exit {result.exit_code}\nstdout: {result.stdout!r}\nstderr: {result.stderr!r}"
    assert result.exit_code == 2, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert "notes.txt" in result.stderr.strip().splitlines()[-1], shown
    assert target.read_text(encoding="utf-8") == "not a folder\n"


def test_init_into_a_non_empty_folder_refuses(project_dir, cli, tmp_path):
    target = tmp_path / "busy"
    write(target / "keep.txt", "mine\n")
    result = cli("init", str(target))
    assert_one_line_error(result, 1, str(target), "empty")
    assert sorted(p.name for p in target.iterdir()) == ["keep.txt"]


# --- the state file (issue 12: only a missing state is a new one) ---


def _foreign_sqlite(path: Path) -> bytes:
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    return path.read_bytes()


STATE_FILES = {
    "empty": lambda path: b"",
    "not a database": lambda path: b"this is not a database" * 100,
    "another program's database": _foreign_sqlite,
}


@pytest.mark.parametrize("kind", sorted(STATE_FILES))
def test_a_state_file_that_is_not_ours_is_never_taken_for_a_new_one(project_dir, cli, kind):
    """A finished issue must not go again, nor suppressions vanish, because the state
    file was emptied or replaced: the send stops and the file stays as it is."""
    state = project_dir / ".newsletter" / "state.db"
    state.parent.mkdir()
    content = STATE_FILES[kind](state)
    state.write_bytes(content)
    for command in (("send", SAMPLE_ARTICLE, "--list", "sample", "--yes"), ("status",),
                    ("subscribers", "list"), ("cron",)):  # fmt: skip
        result = cli(*command)
        assert_one_line_error(result, 1, ".newsletter/state.db", "backup")
    assert_nothing_sent(project_dir)
    assert state.read_bytes() == content


# --- six paths that were "unexpected ... this is a bug" (issue 12, item 9) ---


def test_a_time_past_the_years_a_zone_can_show_is_refused_and_shown_if_kept(
    project_dir, cli, project
):
    """The last hours of the year 9999 exist in UTC but not east of it."""
    settings = project_dir / SETTINGS
    settings.write_text(settings.read_text().replace('timezone = "UTC"', "") .replace(
        "[newsletter]", '[newsletter]\ntimezone = "Europe/Berlin"', 1))  # fmt: skip
    far = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "9999-12-31T23:30Z")
    assert_one_line_error(far, 2, "--at '9999-12-31T23:30Z'", "more than 10 years from now")
    beyond = cli("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "9999-12-31T23:30-05:00")
    assert_one_line_error(beyond, 2, "out of the range of dates")
    # an entry an earlier release let in, shown after the zone moved to UTC+14
    from datetime import UTC, datetime

    at = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)
    project.state.queue.add("far", "sample", [SAMPLE_ARTICLE], None, at, "9999-12-31T23:30Z",
                            project.clock.now())  # fmt: skip
    text = settings.read_text().replace("Europe/Berlin", "Pacific/Kiritimati")
    settings.write_text(text)
    for command in (("status",), ("status", "--json"), ("schedule", "--list-queued")):
        shown = cli(*command)
        assert shown.exit_code == 0 and "Traceback" not in shown.output, shown.output
        assert "9999-12-31" in shown.stdout
    assert "9999-12-31 23:30 UTC" in cli("schedule", "--list-queued").stdout


def test_settings_nested_thousands_deep_name_the_line(project_dir, cli):
    settings = project_dir / SETTINGS
    lines = settings.read_text().count("\n")
    settings.write_text(settings.read_text() + "\n[deep]\nx = " + "[" * 5000 + "]" * 5000 + "\n")
    result = cli("status")
    assert_one_line_error(result, 1, "nested too deeply", pattern=at_line(SETTINGS, lines + 3))


def test_a_stored_secret_that_is_not_utf8_names_the_file(project_dir, cli, monkeypatch):
    monkeypatch.delenv("NEWSLETTER_SECRET")
    write(project_dir / ".newsletter" / "secret", b"\xff\xfe\x00 not text")
    result = run(cli, "send", SAMPLE_ARTICLE)
    assert_one_line_error(result, 1, "not UTF-8", pattern=at_line(".newsletter/secret", 1))
    assert_nothing_sent(project_dir)


def without_root_powers() -> None:
    """For a subprocess: file permissions bind it even when the tests run as root (the
    capabilities that let root ignore them are dropped from what it can ever have)."""
    import ctypes

    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def newsletter(project_dir: Path, *args: str, before=without_root_powers, timeout=120):
    """`newsletter ARGS` in a process of its own, in the project."""
    return subprocess.run([sys.executable, "-m", "newsletter", *args], cwd=project_dir,
                          capture_output=True, text=True, preexec_fn=before,
                          timeout=timeout)  # fmt: skip


def state_dump(project_dir: Path) -> list[str]:
    import sqlite3

    db = sqlite3.connect(f"file:{project_dir / '.newsletter' / 'state.db'}?mode=ro", uri=True)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_a_read_only_state_is_a_one_line_error_and_stays_as_it_was(project_dir, cli):
    assert cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes").exit_code == 0
    before = state_dump(project_dir)
    target = project_dir / ".newsletter" / "state.db"
    target.chmod(0o444)
    try:
        for args in (("send", "articles/welcome.md", "--list", "sample", "--yes"),
                     ("subscribers", "remove", "sample", "ada@example.com"),
                     ("schedule", "articles/welcome.md", "--list", "sample", "--now")):  # fmt: skip
            result = newsletter(project_dir, *args)
            assert result.returncode == 1, result.stderr
            error = result.stderr.splitlines()[-1]
            assert error.startswith("error: .newsletter/state.db: ") and "read-only" in error
            assert "Traceback" not in result.stderr and "this is a bug" not in result.stderr
        shown = newsletter(project_dir, "status")  # reading still works
        assert shown.returncode == 0 and ISSUE_DONE in shown.stdout, shown.stderr
    finally:
        target.chmod(0o644)
    assert state_dump(project_dir) == before


ISSUE_DONE = "000_1718b35f7cc77fd8"


def test_an_unwritable_locks_folder_is_a_one_line_error(project_dir, cli):
    assert cli("subscribers", "list").exit_code == 0  # the state and its folders exist
    locks = project_dir / ".newsletter" / "locks"
    locks.mkdir(exist_ok=True)
    locks.chmod(0o500)
    try:
        sent = newsletter(project_dir, "send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
        added = newsletter(project_dir, "subscribers", "add", "sample", "new@example.com")
    finally:
        locks.chmod(0o700)
    for result, needle in ((sent, "cannot take the send lock"), (added, "the list's lock")):
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.splitlines()) == 1 and "this is a bug" not in result.stderr
        assert needle in result.stderr and "Permission denied" in result.stderr
    assert sent.stderr.startswith("error: .newsletter/locks: ")
    assert added.stderr.startswith("error: subscribers/sample.csv: ")
    assert_nothing_sent(project_dir)
    assert "new@example.com" not in (project_dir / "subscribers" / "sample.csv").read_text()


def test_a_disk_that_fills_during_a_send_is_a_one_line_error_and_the_send_resumes(project_dir, cli):
    """A file size limit stands in for a full disk: SQLite's write fails the same way
    (the state is written as one batch after another goes out)."""
    import resource
    import signal

    rows = "".join(f"reader{i}@example.com,Reader {i}\n" for i in range(3000))
    write(project_dir / "subscribers" / "big.csv", "email,name\n" + rows)
    assert cli("subscribers", "list").exit_code == 0  # the state made, before the limit

    def full() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))

    args = ("send", SAMPLE_ARTICLE, "--list", "big", "--yes")
    stopped = newsletter(project_dir, *args, before=full)
    assert stopped.returncode == 1
    assert stopped.stderr.startswith("error: .newsletter/state.db: cannot read or write")
    assert len(stopped.stderr.splitlines()) == 1, stopped.stderr
    status = json.loads(cli("status", "--json").stdout)
    assert status[0]["state"] == "sending" and 0 < status[0]["accepted"] < 3000
    # the batch whose answer could not be recorded was in flight: held, then resent
    resumed = cli("send", "--id", ISSUE_DONE, "--yes", "--retry-ambiguous")
    assert resumed.exit_code == 0, resumed.output
    (done,) = json.loads(cli("status", "--json").stdout)
    assert (done["state"], done["accepted"]) == ("done", 3000)
    assert len(sent_files(project_dir)) == 3000


def test_init_that_cannot_write_names_the_file_and_takes_back_what_it_made(tmp_path):
    import resource
    import signal

    def full() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))  # the first big file fails

    result = newsletter(tmp_path, "init", "news", before=full)
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert re.match(r"error: news/\S+: cannot create the project: File too large", result.stderr)
    assert not (tmp_path / "news").exists()
    (tmp_path / "empty").mkdir()
    again = newsletter(tmp_path, "init", "empty", before=full)
    assert again.returncode == 1 and list((tmp_path / "empty").iterdir()) == []
    assert newsletter(tmp_path, "init", "news").returncode == 0


# --- smaller ones (issue 12, item 10) ---


@pytest.mark.parametrize(
    ("fifo", "args"),
    [
        ("articles/pipe.md", ("send", "articles/pipe.md", "--list", "sample", "--yes")),
        ("subscribers/pipe.csv", ("send", SAMPLE_ARTICLE, "--list", "pipe", "--yes")),
        ("subscribers/pipe.csv", ("subscribers", "add", "pipe", "x@example.com")),
        ("templates/email.html", ("preview", SAMPLE_ARTICLE, "--output", PREVIEW_DIR)),
    ],
)
def test_a_pipe_where_a_file_should_be_is_refused_not_waited_on(project_dir, fifo, args):
    path = project_dir / fifo
    path.parent.mkdir(exist_ok=True)
    os.mkfifo(path)
    result = newsletter(project_dir, *args, before=None, timeout=30)  # a hang fails here
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: {fifo}: not a regular file (a pipe, device or socket)" + (
        "; give a file\n" if not fifo.startswith("templates") else "\n"
    )
    assert_nothing_written(project_dir)


@pytest.mark.parametrize("command", ["send", "preview"])
def test_an_article_too_large_for_an_email_says_so(project_dir, cli, command):
    write(project_dir / "articles/huge.md", "# Huge\n\n" + "word " * 500_000 + "\n")  # 2.5 MB
    result = run(cli, command, "articles/huge.md")
    assert_one_line_error(result, 1, "articles/huge.md: is 2.5 MB, over 2 MB", "Gmail clips")
    assert_nothing_written(project_dir)


@pytest.mark.parametrize("command", ["send", "preview"])
def test_a_nul_byte_in_an_article_is_refused_with_its_line(project_dir, cli, command):
    write(project_dir / "articles/nul.md", b"# Nul\n\nfine\n\nthen \x00 this\n")
    result = run(cli, command, "articles/nul.md")
    assert_one_line_error(result, 1, "NUL byte", pattern=at_line("articles/nul.md", 5))
    assert_nothing_written(project_dir)


def dead_pid() -> int:
    for pid in range(4_000_000, 3_000_000, -1):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            continue
    raise AssertionError("no free pid")


def test_a_killed_list_writers_temporary_file_is_cleaned_and_never_readable(project_dir, cli):
    folder = project_dir / "subscribers"
    leftover = write(folder / f".sample.csv.{dead_pid()}.tmp", "email\nada@example.com\n")
    mine = write(folder / f".sample.csv.{os.getpid()}.tmp.keep", "not ours\n")
    assert cli("subscribers", "add", "sample", "new@example.com").exit_code == 0
    assert not leftover.exists() and mine.exists()
    assert (folder / "sample.csv").stat().st_mode & 0o777 == 0o644  # as it was

    from newsletter.files import atomic

    with atomic(folder / "sample.csv", text=True) as handle:
        (temporary,) = folder.glob(".sample.csv.*.tmp")
        assert temporary.stat().st_mode & 0o777 == 0o600  # addresses: only ours meanwhile
        handle.write("email\n")
    assert (folder / "sample.csv").stat().st_mode & 0o777 == 0o644


def test_front_matter_nested_thousands_deep_is_a_broken_front_matter(project_dir, cli):
    write(project_dir / "articles/deep.md", "---\ntitle: Deep\nx: " + "[" * 5000 + "]" * 5000
          + "\n---\n\nHello\n")  # fmt: skip
    result = run(cli, "preview", "articles/deep.md")
    assert_one_line_error(result, 1, "broken YAML front matter: nested too deeply",
                          pattern=at_line("articles/deep.md", 2))  # fmt: skip


def test_stray_quotes_that_close_each_other_never_swallow_a_row(project_dir, cli):
    write(project_dir / "subscribers/pairs.csv",
          'email,name\na@example.com,"Ann\nb@example.com,"Bob\nc@example.com,"Cy\n'
          'd@example.com,"Dee\ne@example.com,Eve\n')  # fmt: skip
    checked = cli("subscribers", "check", "pairs")
    assert checked.exit_code == 1
    assert "subscribers/pairs.csv: 5 rows, 4 bad." in checked.stdout
    assert "subscribers/pairs.csv:2: a quoted field opens on this line and takes in line 3" in (
        checked.stdout
    )
    refused = cli("send", SAMPLE_ARTICLE, "--list", "pairs", "--yes")
    where = at_line("subscribers/pairs.csv", 2)
    assert_one_line_error(refused, 1, "takes in line 3", pattern=where)
    assert_nothing_sent(project_dir)


def test_a_unix_socket_as_an_article_is_not_a_regular_file(project_dir, cli, tmp_path):
    import socket

    path = project_dir / "articles" / "sock.md"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        result = run(cli, "preview", "articles/sock.md")
    assert_one_line_error(result, 1, "articles/sock.md: not a regular file")


def test_a_send_of_an_issue_queued_for_another_list_is_refused(project_dir, cli):
    write(project_dir / "subscribers/other.csv", "email\nx@example.com\n")
    at = ("--at", "2027-01-05T09:00")
    assert cli("schedule", SAMPLE_ARTICLE, "--list", "sample", *at).exit_code == 0
    other = cli("send", SAMPLE_ARTICLE, "--list", "other", "--yes")
    assert_one_line_error(other, 1, "is queued for list sample", "schedule --cancel")
    assert_nothing_sent(project_dir)
    assert "2027-01-05" in cli("schedule", "--list-queued").stdout  # still queued
    same = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert same.exit_code == 0 and "was queued for 2027-01-05 09:00 UTC" in same.stderr
    assert "cron will not send it again" in same.stderr
    assert cli("schedule", "--list-queued").stdout == "Nothing is queued.\n"


@pytest.mark.parametrize(
    "args",
    [
        ("send", SAMPLE_ARTICLE, "--list", "sample", "--where", 'city == "London"', "--where",
         'city == "Malmö"', "--yes"),
        ("send", SAMPLE_ARTICLE, "--id", "a", "--id=b", "--test", "a@example.com"),
        ("schedule", SAMPLE_ARTICLE, "--list", "sample", "--at", "2030-01-01T09:00Z",
         "--at", "2030-01-02T09:00Z"),
        ("preview", SAMPLE_ARTICLE, "--as", "ada@example.com", "--as", "tom@example.net",
         "--output", "out"),
        ("subscribers", "add", "sample", "new@example.com", "--name", "A", "--name", "B"),
    ],
    ids=["send --where", "send --id", "schedule --at", "preview --as", "subscribers --name"],
)  # fmt: skip
def test_an_option_of_one_value_given_twice_is_wrong_usage(project_dir, cli, args):
    """click kept the last one silently: `--where a --where b` sent to b's. (`--list`
    is repeatable: tests/test_targeting.py.)"""
    before = (project_dir / "subscribers" / "sample.csv").read_bytes()
    result = cli(*args)
    options = [a.split("=")[0] for a in args if a.startswith("--")]
    twice = next(o for o in options if options.count(o) > 1)
    assert_one_line_error(result, 2, f"{twice} is given 2 times")
    assert_nothing_sent(project_dir)
    assert (project_dir / "subscribers" / "sample.csv").read_bytes() == before
    assert not (project_dir / "out").exists()


# --- a single-value option given twice ---


def every_command(group=None, path=()):
    from typer.main import get_command

    from newsletter.cli import app

    group = group or get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name), command


OPTIONS = [
    (path, option)
    for path, command in every_command()
    for option in command.params
    if option.param_type_name == "option" and not option.is_flag
]
REPEATABLE = {"--list", "--exclude-list", "--test", "--field"}


def test_only_the_options_that_gather_values_are_repeatable():
    assert {o.opts[0] for _, o in OPTIONS if o.multiple} == REPEATABLE


@pytest.mark.parametrize(
    ("path", "option"),
    [(p, o) for p, o in OPTIONS if not o.multiple],
    ids=[f"{' '.join(p)} {o.opts[0]}" for p, o in OPTIONS if not o.multiple],
)
def test_every_single_value_option_given_twice_is_wrong_usage(project_dir, cli, path, option):
    long, last = option.opts[0], option.opts[-1]  # `--project`, and `-p` where there is one
    for given in ([long, "1", last, "2"], [f"{long}=1", last, "2"], [last, "1", f"{long}=2"]):
        result = cli(*path, *given)
        assert_one_line_error(result, 2, f"{long} is given 2 times")
    assert not (project_dir / "outbox").exists()


def test_options_given_twice_are_counted_as_click_reads_them(project_dir, cli):
    """Joined short options count (`-pDIR`); a value that looks like an option is a
    value (`--test --id` is one address, not a second --id); after `--` nothing is an
    option."""
    joined = cli("status", f"-p{project_dir}", "--project", str(project_dir))
    assert_one_line_error(joined, 2, "--project is given 2 times")
    value = cli("send", SAMPLE_ARTICLE, "--id", "x", "--test", "--id", "--dry-run")
    assert value.exit_code == 2 and "error: --test '--id':" in value.stderr, value.output
    assert "given 2 times" not in value.stderr
    after = cli("send", "--id", "x", "--", "--id", "y")
    assert "given 2 times" not in after.stderr and after.exit_code != 0
