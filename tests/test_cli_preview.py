"""`newsletter preview`: the issue as one subscriber gets it, written to files."""

import email
from email import policy

from conftest import DATA, SAMPLE_ARTICLE, SECRET


def test_preview_writes_html_text_and_eml_for_the_first_subscriber(project_dir, cli):
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 0, result.output
    names = ["out/000_1718b35f7cc77fd8." + ext for ext in ("html", "txt", "eml")]
    assert result.stdout.split() == names
    html = (project_dir / names[0]).read_text()
    assert "Hi Ada Lovelace," in html and "%%nl" not in html
    message = email.message_from_bytes((project_dir / names[2]).read_bytes(), policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "ada@example.com"


def test_preview_as_a_given_subscriber(project_dir, cli):
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out", "--as", "TOM@example.net")
    assert result.exit_code == 0, result.output
    text = (project_dir / "out" / "000_1718b35f7cc77fd8.txt").read_text()
    assert "Hi Tom <b>Bold</b> & Sons," in text


def test_preview_as_someone_not_on_the_list_is_an_error(project_dir, cli):
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out", "--as", "nobody@example.com")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: --as nobody@example.com: not a subscriber of list sample"
    )


def test_preview_of_an_article_outside_the_project_says_what_it_guessed(project_dir, cli):
    result = cli("preview", str(DATA / "cnn.txt"), "--output", "out")
    assert result.exit_code == 0
    assert "no headline line" in result.stderr
    assert (project_dir / "out" / "cnn.html").exists()


def test_preview_needs_somewhere_to_go(project_dir, cli):
    result = cli("preview", SAMPLE_ARTICLE)
    assert result.exit_code == 2
    assert "--output" in result.stderr


def test_as_is_normalised_like_the_list(project_dir, cli):
    (project_dir / "subscribers" / "sample.csv").write_text("email,name\nhans@bücher.de,Hans\n")
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out", "--as", "HANS@BÜCHER.DE")
    assert result.exit_code == 0, result.output
    assert "Hi Hans," in (project_dir / "out" / "000_1718b35f7cc77fd8.txt").read_text()


def test_as_an_invalid_address_is_wrong_usage(project_dir, cli):
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out", "--as", "not an address")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --as 'not an address': ")


def test_several_lists_need_a_list_option(project_dir, cli):
    (project_dir / "subscribers" / "other.csv").write_text("email\nx@example.com\n")
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: say which list with --list (lists here: other, sample)"
    )


def test_open_without_a_browser_says_so_and_fails(cli, project_dir, monkeypatch):
    """`preview --open` on a machine with no browser (a server, CI) used to exit 0
    having opened nothing."""
    import webbrowser

    monkeypatch.setenv("NEWSLETTER_SECRET", SECRET)
    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: opened.append(url) and False)
    result = cli("preview", SAMPLE_ARTICLE, "--open")
    assert result.exit_code == 1, result.output
    assert "no web browser to open here; the preview is written: " in result.output
    assert opened and opened[0].startswith("file://") and opened[0].endswith(".html")
    assert (project_dir / ".newsletter" / "preview").is_dir()
