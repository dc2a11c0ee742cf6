"""`newsletter init`: a new project of the editor's own (their name, sender, postal
address and site; a welcome article on the article formats; a README and a
.gitignore; git when asked) that works at once."""

import json
import re
import shlex
import shutil
import subprocess
import tomllib

import pytest
from conftest import REPO, open_state

from newsletter.newproject import PLACEHOLDERS, SKELETON, inside_work_tree
from newsletter.settings import load_settings, toml_string

FOUR = {"--name": "name", "--from": "from", "--postal-address": "postal_address",
        "--site": "site_url"}  # fmt: skip
GIVEN = ["--name", "Field Notes", "--from", "Field Notes <news@fieldnotes.example>",
         "--postal-address", "1 Quay Street, Bristol, UK",
         "--site", "https://fieldnotes.example"]  # fmt: skip
git_needed = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@pytest.fixture
def no_terminal(wiring):
    wiring["terminal"] = False


@pytest.fixture
def terminal(wiring):
    wiring["terminal"] = True


def files_of(root):
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}


def test_a_new_project_is_the_editors_not_the_sample_celebrity_one(tmp_path, cli, no_terminal):
    result = cli("init", str(tmp_path / "p"))
    assert result.exit_code == 0, result.output
    made = files_of(tmp_path / "p")
    assert sorted(made) == [".gitignore", "README.md", "articles/welcome.md",
                            "newsletter.toml", "subscribers/sample.csv",
                            "templates/README.md"]  # fmt: skip
    for name, path in made.items():
        assert "Pop Culture" not in path.read_text(encoding="utf-8"), name
    settings = (tmp_path / "p" / "newsletter.toml").read_text()
    assert "Every key is described in README.md" not in settings
    assert "README.md" in settings and (tmp_path / "p" / "README.md").is_file()


def test_without_a_terminal_or_flags_init_asks_nothing_and_names_the_placeholders(
    tmp_path, cli, no_terminal, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = cli("init", "weekly")  # no input: a question would fail the command
    assert result.exit_code == 0, result.output
    said = result.stdout
    keys = "[newsletter] name, from, postal_address, site_url"
    assert f"Still to set in weekly/newsletter.toml: {keys}" in said
    assert "--name, --from, --postal-address, --site" in said
    settings = load_settings(tmp_path / "weekly" / "newsletter.toml").newsletter
    assert settings.name == PLACEHOLDERS["name"]
    assert str(settings.from_) == f"{PLACEHOLDERS['name']} <{PLACEHOLDERS['from']}>"
    assert settings.postal_address == PLACEHOLDERS["postal_address"]
    assert settings.site_url == PLACEHOLDERS["site_url"]
    text = (tmp_path / "weekly" / "newsletter.toml").read_text()
    assert text.count("# placeholder: put yours here") == 4
    assert not (tmp_path / "weekly" / ".git").exists()  # no git without --git either
    # placeholders behave as any value: check passes, the outbox send goes
    checked = cli("check", "articles/welcome.md", "--json", "--project", "weekly")
    assert checked.exit_code == 0 and json.loads(checked.stdout)["errors"] == 0, checked.output
    sent = cli("send", "articles/welcome.md", "--list", "sample", "--yes", "--project", "weekly")
    assert sent.exit_code == 0, sent.output
    assert len(list((tmp_path / "weekly" / "outbox").rglob("*.eml"))) == 2
    with open_state(tmp_path / "weekly") as state:
        assert len(state.secrets.get("unsubscribe") or "") == 64  # made once, kept there


def test_the_flags_are_written_toml_escaped_and_read_back_as_given(tmp_path, cli, no_terminal):
    name = 'Zoë\'s "Quoted" \\ Backslash # not a comment 日本'
    args = ["--name", name, "--from", "news@zoe.example",
            "--postal-address", "Straße 1\t\"Hof\", 10115 Berlin",
            "--site", "https://bücher.example/news/"]  # fmt: skip
    result = cli("init", str(tmp_path / "p"), *args)
    assert result.exit_code == 0, result.output
    assert "Still to set" not in result.stdout and f"“{name}”" in result.stdout
    path = tmp_path / "p" / "newsletter.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))["newsletter"]
    assert raw["name"] == name and raw["postal_address"] == 'Straße 1\t"Hof", 10115 Berlin'
    assert raw["site_url"] == "https://bücher.example/news/"
    settings = load_settings(path).newsletter
    assert settings.name == name
    assert settings.from_.display_name == name  # a sender without a name gets the newsletter's
    assert settings.from_.addr_spec == "news@zoe.example"
    assert settings.site_url == "https://xn--bcher-kva.example/news"
    assert "placeholder" not in path.read_text(encoding="utf-8").split("timezone")[0]


@pytest.mark.parametrize(
    "text", ['a "b" \\c', "tab\there", "ctrl \x01\x1f\x7f end", "Zoë 日本 🙂", "'single'", "#"]
)
def test_a_toml_string_reads_back_as_the_text_it_was(text):
    assert tomllib.loads(f"key = {toml_string(text)}")["key"] == text


def test_the_rest_of_the_skeleton_settings_are_kept_as_they_are(tmp_path, cli, no_terminal):
    assert cli("init", str(tmp_path / "p"), *GIVEN).exit_code == 0
    made = (tmp_path / "p" / "newsletter.toml").read_text(encoding="utf-8").splitlines()
    skeleton = (SKELETON / "newsletter.toml").read_text(encoding="utf-8").splitlines()
    changed = [line for line in made if line not in skeleton]
    assert [line.split(" = ")[0] for line in changed] == list(FOUR.values())


@pytest.mark.parametrize(
    ("flag", "value", "said"),
    [
        ("--name", "  ", "must not be empty"),
        ("--name", "two\nlines", "single line"),
        ("--from", "not an address", "expected one address"),
        ("--from", "a@b@c.example", "expected one address"),
        ("--from", "Ada <ada@localhost>", "not a valid address"),
        ("--postal-address", "", "must not be empty"),
        ("--site", "example.com", "absolute http(s) URL"),
        ("--site", "ftp://example.com", "absolute http(s) URL"),
        ("--site", "https://user:pw@example.com", "user name or password"),
    ],
)
def test_a_bad_flag_is_wrong_usage_naming_it_and_nothing_is_made(
    tmp_path, cli, no_terminal, flag, value, said
):
    result = cli("init", str(tmp_path / "p"), flag, value)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {flag}: ") and said in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def test_on_a_terminal_init_asks_and_asks_again_after_a_bad_answer(tmp_path, cli, terminal):
    answers = ["Field Notes", "nobody", "news@fieldnotes.example",
               "1 Quay Street, Bristol, UK", "fieldnotes.example",
               "https://fieldnotes.example", "n"]  # fmt: skip
    result = cli("init", str(tmp_path / "p"), input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    shown = result.output
    assert shown.count("Sender (the From address)") == 2  # asked again
    assert shown.count("Postal address") == 1
    assert shown.count("Website") == 2
    assert "expected one address" in result.stderr and "http(s) URL" in result.stderr
    assert "Make it a git repository" in shown or shutil.which("git") is None
    settings = load_settings(tmp_path / "p" / "newsletter.toml").newsletter
    assert settings.name == "Field Notes"
    assert str(settings.from_) == "Field Notes <news@fieldnotes.example>"
    assert settings.postal_address == "1 Quay Street, Bristol, UK"
    assert settings.site_url == "https://fieldnotes.example"
    assert "Still to set" not in shown
    assert not (tmp_path / "p" / ".git").exists()


def test_on_a_terminal_the_flags_given_are_not_asked_and_enter_keeps_a_placeholder(
    tmp_path, cli, terminal
):
    args = ["--name", "Field Notes", "--site", "https://fieldnotes.example", "--no-git"]
    result = cli("init", str(tmp_path / "p"), *args, input="\n\n")
    assert result.exit_code == 0, result.output
    assert "Name of the newsletter" not in result.output and "Website" not in result.output
    assert "[Field Notes <news@example.com>]" in result.output  # the default offered
    assert "Still to set in" in result.output and "from, postal_address" in result.output


def test_init_refuses_a_non_empty_folder_before_asking_anything(tmp_path, cli, terminal):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("mine\n")
    result = cli("init", str(tmp_path / "busy"), input="")
    assert result.exit_code == 1 and "not empty" in result.stderr
    assert "Name of the newsletter" not in result.output


@git_needed
def test_on_a_terminal_git_init_is_offered_yes_by_default_with_no_commit(tmp_path, cli, terminal):
    if inside_work_tree(tmp_path):
        pytest.skip("the temporary folder is inside a git work tree")
    result = cli("init", str(tmp_path / "p"), *GIVEN, input="\n")
    assert result.exit_code == 0, result.output
    assert "Make it a git repository (git init)? [Y/n]" in result.output
    assert (tmp_path / "p" / ".git").is_dir()
    assert "git add -A && git commit" in result.stdout
    head = subprocess.run(["git", "-C", str(tmp_path / "p"), "rev-parse", "--verify", "HEAD"],
                          capture_output=True)  # fmt: skip
    assert head.returncode != 0  # no commit made: that needs an identity
    ignored = subprocess.run(
        ["git", "-C", str(tmp_path / "p"), "check-ignore", ".newsletter/state.db",
         "outbox/welcome/a.eml", "preview/welcome.html", ".env"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert ignored.stdout.split() == [".newsletter/state.db", "outbox/welcome/a.eml",
                                      "preview/welcome.html", ".env"]  # fmt: skip


@git_needed
def test_without_a_terminal_git_init_only_with_git(tmp_path, cli, no_terminal):
    assert cli("init", str(tmp_path / "a"), *GIVEN).exit_code == 0
    assert not (tmp_path / "a" / ".git").exists()
    result = cli("init", str(tmp_path / "b"), *GIVEN, "--git")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "b" / ".git").is_dir()


@git_needed
def test_inside_a_git_work_tree_git_init_is_not_offered(tmp_path, cli, terminal):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    result = cli("init", str(tmp_path / "letters" / "p"), *GIVEN, input="")
    assert result.exit_code == 0, result.output
    assert "git repository" not in result.output
    assert not (tmp_path / "letters" / "p" / ".git").exists()


@pytest.mark.parametrize(("where", "flags"), [(False, ["--git"]), (True, [])])
def test_git_that_is_not_installed_is_said_and_init_still_succeeds(
    tmp_path, cli, wiring, monkeypatch, where, flags
):
    wiring["terminal"] = where
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    result = cli("init", str(tmp_path / "p"), *GIVEN, *flags, input="")
    assert result.exit_code == 0, result.output
    assert "warning: git is not installed" in result.stderr
    assert "Make it a git repository" not in result.output  # not asked: nothing to run
    assert (tmp_path / "p" / "newsletter.toml").is_file()
    assert not (tmp_path / "p" / ".git").exists()


def test_no_git_says_nothing_of_git(tmp_path, cli, terminal, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    result = cli("init", str(tmp_path / "p"), *GIVEN, "--no-git", input="")
    assert result.exit_code == 0 and "git" not in result.stderr, result.output


def test_the_next_steps_are_commands_that_work_in_the_new_project(
    tmp_path, cli, no_terminal, monkeypatch
):
    result = cli("init", str(tmp_path / "my letter"), *GIVEN)
    steps = result.stdout.split("Next:\n", 1)[1].splitlines()
    commands = [shlex.split(line) for line in steps if line.startswith("  ")]
    assert commands[0] == ["cd", str(tmp_path / "my letter")]
    monkeypatch.chdir(commands[0][1])
    for words in commands[1:]:
        assert words[0] == "newsletter"
        done = cli(*words[1:])
        assert done.exit_code == 0, (words, done.output)
    assert (tmp_path / "my letter" / "preview" / "welcome.html").is_file()


def test_the_new_readme_names_each_file_and_its_commands_are_real(tmp_path, cli, no_terminal):
    assert cli("init", str(tmp_path / "p"), *GIVEN).exit_code == 0
    readme = (tmp_path / "p" / "README.md").read_text()
    for name in ("newsletter.toml", "articles/", "subscribers/", "templates/", ".newsletter/",
                 "outbox/", "preview/", "welcome.md", "sample.csv"):  # fmt: skip
        assert f"`{name}" in readme, name
    for word in ("preview", "--test", "send", "schedule", "cron", "serve", "status",
                 "subscribers"):  # fmt: skip
        assert re.search(rf"^newsletter .*{word}", readme, re.M), word
    for line in re.findall(r"^newsletter .*$", readme, re.M):
        words = shlex.split(line, comments=True)
        command = [w for w in words[1:] if not w.startswith("-")][:1]
        helped = cli(*command, "--help")
        assert helped.exit_code == 0, line
        for option in (w.split("=")[0] for w in words if w.startswith("--")):
            assert option in helped.output, (line, option)


def test_the_welcome_article_explains_the_formats_and_passes_check(tmp_path, cli, no_terminal):
    assert cli("init", str(tmp_path / "p"), *GIVEN).exit_code == 0
    article = (tmp_path / "p" / "articles" / "welcome.md").read_text()
    for key in ("title", "subtitle", "author", "date", "image", "image_alt", "image_credit",
                "url", "summary", "tags", "display: summary", "language", "subject",
                "preheader", "number"):  # fmt: skip
        assert f"`{key}`" in article, key
    for construct in ("{.button}", "](https://", "- [x]", "[^1]", "~~", "| --- |", "```", "> "):
        assert construct in article, construct
    assert "`.txt`" in article and "Photo: CREDIT" in article and "headline" in article
    checked = cli("check", "articles/welcome.md", "--json", "--project", str(tmp_path / "p"))
    assert checked.exit_code == 0, checked.output
    found = json.loads(checked.stdout)
    assert found["errors"] == 0
    assert [f["rule"] for f in found["findings"] if f["severity"] == "warning"] == ["link-local"]


def test_the_templates_readme_is_the_one_the_repository_keeps():
    shipped = (SKELETON / "templates" / "README.md").read_bytes()
    assert (REPO / "templates" / "README.md").read_bytes() == shipped


def test_init_with_templates_copies_the_defaults_to_edit(tmp_path, cli, no_terminal):
    result = cli("init", str(tmp_path / "p"), "--templates")
    assert result.exit_code == 0
    assert (tmp_path / "p" / "templates" / "email.html").is_file()


def test_init_refuses_an_existing_project(tmp_path, cli, no_terminal):
    assert cli("init", str(tmp_path / "p")).exit_code == 0
    again = cli("init", str(tmp_path / "p"))
    assert again.exit_code == 1
    assert again.stderr.startswith("error: ") and "already" in again.stderr
