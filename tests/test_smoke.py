from conftest import SAMPLE_ARTICLE


def test_sample_send_writes_one_eml_per_valid_subscriber(project_dir, cli):
    result = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes")
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (project_dir / "outbox").rglob("*.eml"))
    assert files == [
        "ada@example.com.eml",
        "nameless@example.com.eml",
        "tom@example.net.eml",
        "zoe@example.org.eml",
    ]


def test_no_file_of_the_package_or_the_tests_is_ignored_by_git():
    """A source file git ignores never reaches a clone (a `preview/` pattern meant for
    the project's preview folder once hid newsletter/preview/files.py)."""
    import shutil
    import subprocess

    from conftest import REPO

    if not (REPO / ".git").exists() or shutil.which("git") is None:
        return  # not a checkout: nothing to compare
    ignored = subprocess.run(
        ["git", "ls-files", "--others", "--ignored", "--exclude-standard", "newsletter", "tests"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert [p for p in ignored if "__pycache__" not in p] == []
