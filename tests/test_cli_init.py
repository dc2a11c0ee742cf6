"""`newsletter init`: a new project that works at once, like this repository."""

from conftest import REPO, SAMPLE_ARTICLE, open_state

from newsletter.project import SKELETON


def test_repository_sample_project_is_the_skeleton_init_copies():
    for source in SKELETON.rglob("*"):
        if source.is_file():
            relative = source.relative_to(SKELETON)
            assert (REPO / relative).read_bytes() == source.read_bytes(), relative


def test_init_creates_a_project_that_sends_right_away(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("init", "weekly")
    assert result.exit_code == 0, result.output
    root = tmp_path / "weekly"
    for name in ("newsletter.toml", SAMPLE_ARTICLE, "subscribers/sample.csv", ".gitignore"):
        assert (root / name).is_file(), name
    sent = cli("send", SAMPLE_ARTICLE, "--list", "sample", "--yes", "--project", "weekly")
    assert sent.exit_code == 0, sent.output
    assert len(list((root / "outbox").rglob("*.eml"))) == 4
    with open_state(root) as state:
        assert len(state.secrets.get("unsubscribe") or "") == 64  # made once, kept there
    assert ".newsletter/" in (root / ".gitignore").read_text()


def test_init_with_templates_copies_the_defaults_to_edit(tmp_path, cli):
    result = cli("init", str(tmp_path / "p"), "--templates")
    assert result.exit_code == 0
    assert (tmp_path / "p" / "templates" / "email.html").is_file()


def test_init_refuses_an_existing_project(tmp_path, cli):
    assert cli("init", str(tmp_path / "p")).exit_code == 0
    again = cli("init", str(tmp_path / "p"))
    assert again.exit_code == 2
    assert again.stderr.startswith("error: ") and "already" in again.stderr
