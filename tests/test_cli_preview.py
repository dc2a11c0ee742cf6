"""`newsletter preview`: the issue as one subscriber gets it, written to files."""

import email
import json
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
    """A fact of the list, not wrong usage: exit 1, naming the list's file."""
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out", "--as", "nobody@example.com")
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: subscribers/sample.csv: nobody@example.com is not on this list (--as)"
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


def test_several_lists_and_no_default_preview_a_sample_reader_and_say_so(project_dir, cli):
    """preview and check refused to run without --list once a project had two lists."""
    (project_dir / "subscribers" / "other.csv").write_text("email\nx@example.com\n")
    for command in ("preview", "check"):
        args = ("--output", "out") if command == "preview" else ()
        result = cli(command, SAMPLE_ARTICLE, *args)
        assert result.exit_code == 0, result.output
        assert (
            "note: this project has 2 lists (other, sample) and no [newsletter] default_list: "
            "made for a sample reader (the template's fallbacks for the name and fields); "
            "--list LIST picks a list"
        ) in result.stderr
    text = (project_dir / "out" / "000_1718b35f7cc77fd8.txt").read_text()
    assert "Hi there," in text  # the template's fallback for the name
    checked = cli("check", SAMPLE_ARTICLE, "--json")
    assert json.loads(checked.stdout)["recipient"] == "reader@example.com"
    named = cli("preview", SAMPLE_ARTICLE, "--output", "out", "--list", "other")
    assert named.exit_code == 0 and "note:" not in named.stderr


def test_default_list_is_what_preview_check_and_a_test_copy_use(project_dir, cli):
    (project_dir / "subscribers" / "other.csv").write_text("email,name\nx@example.com,Xavier\n")
    settings = project_dir / "newsletter.toml"
    text = settings.read_text()
    settings.write_text(text.replace("[newsletter]\n", '[newsletter]\ndefault_list = "other"\n'))
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 0 and "note:" not in result.stderr
    assert "Hi Xavier," in (project_dir / "out" / "000_1718b35f7cc77fd8.txt").read_text()
    checked = json.loads(cli("check", SAMPLE_ARTICLE, "--json").stdout)
    assert checked["recipient"] == "x@example.com" and checked["note"] is None
    test = cli("send", SAMPLE_ARTICLE, "--test", "x@example.com")
    assert test.exit_code == 0, test.output
    assert "to x@example.com via outbox" in test.stdout
    assert test.stdout.rstrip().endswith("as their copy on list other.")
    real = cli("send", SAMPLE_ARTICLE, "--yes")  # a real send still names its list
    assert real.exit_code == 2 and "missing --list LIST" in real.stderr


def test_a_default_list_that_is_not_there_names_the_setting(project_dir, cli):
    settings = project_dir / "newsletter.toml"
    text = settings.read_text()
    settings.write_text(text.replace("[newsletter]\n", '[newsletter]\ndefault_list = "main"\n'))
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: newsletter.toml: [newsletter] default_list: names subscribers/main.csv, "
        "which does not exist\n"
    )
    settings.write_text(text.replace("[newsletter]\n", '[newsletter]\ndefault_list = "../x"\n'))
    bad = cli("check", SAMPLE_ARTICLE)
    assert bad.exit_code == 1 and "[newsletter] default_list: expected a list's name" in bad.stderr


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
