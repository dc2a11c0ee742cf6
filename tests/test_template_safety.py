"""A project's templates come with its repository, so a pull request can change them:
rendering one (`preview`, `check`, `send`, in CI too) must not run code, read files
outside the template folders, or hang. Each case is a one-line error naming the
template and its line, and nothing is written."""

import os
import time

import pytest
from conftest import NOW, SAMPLE_ARTICLE, write

from newsletter.errors import TemplateError
from newsletter.render import render_issue

ATTACKS = {
    "a shell command": (
        "{{ cycler.__init__.__globals__.os.popen('touch PWNED').read() }}",
        "unsafe",
    ),
    "Python's classes": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "unsafe"),
    "a file by its path": ("{{ articles[0].path.read_text() }}", "unsafe"),
    "a file from the article's folder": (
        "{{ articles[0].path.parent.joinpath('../newsletter.toml').read_text() }}",
        "unsafe",
    ),
    "a huge string": ("{{ 'x' * 10**9 }}", "too large"),
    "a huge power": ("{{ 2 ** 10000000 }}", "too large"),
    "a huge range": ("{% for i in range(10**9) %}{% endfor %}", "Range too big"),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_template_cannot_run_code_or_read_files(project_dir, cli, attack):
    body, words = ATTACKS[attack]
    write(project_dir / "templates" / "email.html", f"<p>Hi</p>\n{body}\n")
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: templates/email.html:2: "), line
    assert words in line and "this is a bug" not in line
    assert not (project_dir / "PWNED").exists() and not (project_dir / "out").exists()


def test_an_include_outside_the_template_folders_names_the_template_and_line(project_dir, cli):
    write(project_dir / "templates" / "email.html", "<p>Hi</p>\n{% include '/etc/passwd' %}\n")
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: templates/email.html:2: ")
    assert "/etc/passwd" in result.stderr and "root:" not in result.output


def test_a_template_folder_link_to_a_file_outside_it_is_not_followed(project_dir, cli):
    (project_dir / "templates").mkdir(exist_ok=True)
    os.symlink("/etc/passwd", project_dir / "templates" / "passwd.txt")
    write(project_dir / "templates" / "email.html", "<p>Hi</p>\n{% include 'passwd.txt' %}\n")
    result = cli("preview", SAMPLE_ARTICLE, "--output", "out")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: templates/email.html:2: ")
    assert "outside the template folders" in result.stderr and "root:" not in result.output


def test_a_template_that_works_too_long_is_stopped_naming_it(project):
    write(
        project.root / "templates" / "email.txt",
        "Hello\n{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}\n",
    )
    issue = project.read_issue([project.root / SAMPLE_ARTICLE])
    start = time.monotonic()
    with pytest.raises(TemplateError) as caught:
        render_issue(issue, project.settings.newsletter, project.template_dirs, NOW.date(),
                     time_limit=0.5)  # fmt: skip
    assert time.monotonic() - start < 3
    assert str(caught.value).startswith("templates/email.txt:2: ")
    assert "more than 0.5 s" in str(caught.value)


def test_the_default_templates_render_in_the_sandbox(project):
    issue = project.read_issue(
        [project.root / SAMPLE_ARTICLE, project.root / "articles/welcome.md"]
    )
    rendered = project.render(issue)
    assert "Chrissy Teigen" in rendered.html.source("html")
